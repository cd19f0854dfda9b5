"""The factory: a build run (``build``), candidates through the stages (``pipeline``, ``stages``,
``remote_stage``), the ledger, approvals and review, assembling and publishing tasks
(``assemble``), the run's summary, which policy plays each role (``policies``), ``records``.
"""
