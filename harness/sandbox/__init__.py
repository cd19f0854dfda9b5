"""Sandboxes on Docker: the protocol and spec (``records``), a container (``container``), the
daemon connection (``engine``), who owns what (``ownership``), image builds, archives, and
cleaning up after crashed runs (``cleanup``).
"""
