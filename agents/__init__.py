"""The factory and its roles (import ``tools`` and ``harness``): one folder per role (``qualify``,
``reconstruct``, ``verifier``) with both policies, and the factory itself (``factory``).
"""
