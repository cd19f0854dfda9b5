"""Where units of work run: the protocol and config (``base``), this machine (``local``), a Ray
cluster (``ray``), and moving a unit's folder to a node and back.
"""
