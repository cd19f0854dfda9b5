"""Intake of real coding work: agent sessions and candidates.jsonl, normalized to Candidates.

``intake`` finds and loads sessions (``discover``, ``load_sessions``); one module per
source format parses them (``cline``, ``claude_code``, ``codex``, ``candidates_jsonl``);
``workspace`` resolves repo and start commit from a session's working directory.
"""
