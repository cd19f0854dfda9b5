"""The trial/job runner: a solver in a task's container, then its verifier (``trial``, ``verify``),
many trials as a job (``job``, ``launch``), the container lockdown (``hardening``,
``integrity``), and the built-in solvers.
"""
