"""The qualifier: is a candidate worth an environment, and which commit fixed it. ``baseline``
(deterministic checks and rules), ``model`` (the agent loop, re-checked by ``recheck``), the
checks (``origins``, ``outcome``, ``trivial``, ``scratch``), ``records``; prompt:
prompts/qualify.md.
"""
