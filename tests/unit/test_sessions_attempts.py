"""The agent's edits are read from Cline, Claude Code and Codex sessions, and its failed
attempts — its work when the user stepped in — are rebuilt on the start state."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.sessions import (
    Deny,
    Edit,
    Interrupt,
    Prompt,
    SessionSpec,
    write_session,
)
from tools.sessions.attempts import failed_attempts
from tools.sessions.edits import patch_edits, search_replace
from tools.sessions.intake import load_sessions
from tools.sessions.records import AgentEdit, Candidate, Replacement, UserIntervention

KEYS = """def make_key(args, kwargs):
    key = tuple(args)
    if kwargs:
        key += ("|",) + tuple(sorted(kwargs))
    return key
"""
WRONG = 'key += ("|",) + tuple(kwargs)'
RIGHT = 'key += ("|",) + tuple(sorted(kwargs.items()))'
ORIGINAL = 'key += ("|",) + tuple(sorted(kwargs))'


def _session() -> SessionSpec:
    """The agent drops the sorting (wrong), the user stops it, the agent gets it right."""
    return SessionSpec(
        workspace="/home/alice/src/stash",
        started_at=datetime(2025, 1, 10, 10, 0, tzinfo=UTC),
        steps=[
            Prompt(text="Cached calls ignore the values of keyword arguments; fix make_key."),
            Edit(path="src/stash/keys.py", old=ORIGINAL, new=WRONG),
            Interrupt(),
            Prompt(text="Stop: the values matter, not the order of the names."),
            Deny(path="tests/test_keys.py", feedback="leave the tests alone"),
            Edit(path="src/stash/keys.py", old=WRONG, new=RIGHT),
            Prompt(text="thanks"),
        ],
    )


@pytest.mark.parametrize("source_format", ["cline", "roo", "claude_code", "codex"])
def test_every_format_records_the_agents_edits_in_order(tmp_path: Path, source_format: str) -> None:
    write_session(source_format, tmp_path / "sessions", _session())
    [candidate] = load_sessions([tmp_path / "sessions"]).candidates
    applied = [edit for edit in candidate.agent_edits if edit.applied]
    assert [edit.path for edit in applied] == ["src/stash/keys.py", "src/stash/keys.py"]
    first, second = applied
    assert [(r.old.strip(), r.new.strip()) for r in first.replacements] == [(ORIGINAL, WRONG)]
    assert [(r.old.strip(), r.new.strip()) for r in second.replacements] == [(WRONG, RIGHT)]
    denied = [edit for edit in candidate.agent_edits if not edit.applied]
    assert [edit.path for edit in denied] == ["tests/test_keys.py"]


@pytest.mark.parametrize("source_format", ["cline", "claude_code", "codex"])
def test_the_work_the_user_stopped_is_a_failed_attempt(tmp_path: Path, source_format: str) -> None:
    write_session(source_format, tmp_path / "sessions", _session())
    [candidate] = load_sessions([tmp_path / "sessions"]).candidates
    report = failed_attempts(candidate, {"src/stash/keys.py": KEYS}.get)
    [attempt] = report.attempts
    assert attempt.files == {"src/stash/keys.py": KEYS.replace(ORIGINAL, WRONG)}
    assert attempt.stepped_in.startswith(("interrupt", "feedback"))


def _candidate(edits: list[AgentEdit], interventions: list[UserIntervention]) -> Candidate:
    return Candidate(
        id="c",
        source_format="candidates_jsonl",
        source_path="c.jsonl",
        first_prompt="fix make_key",
        agent_edits=edits,
        user_interventions=interventions,
    )


def _at(minute: int) -> datetime:
    return datetime(2025, 1, 10, 10, minute, tzinfo=UTC)


def _edit(minute: int, old: str, new: str, path: str = "src/stash/keys.py") -> AgentEdit:
    return AgentEdit(
        path=path, at=_at(minute), applied=True, replacements=[Replacement(old=old, new=new)]
    )


def test_work_the_session_ended_with_is_accepted_not_a_failure() -> None:
    candidate = _candidate(
        [_edit(1, ORIGINAL, RIGHT)],
        [UserIntervention(kind="feedback", text="looks right", at=_at(2))],
    )
    assert failed_attempts(candidate, {"src/stash/keys.py": KEYS}.get).attempts == []


def test_an_edit_that_does_not_fit_the_start_state_is_not_replayed_but_reported() -> None:
    candidate = _candidate(
        [_edit(1, "text that is not in the file", WRONG), _edit(3, WRONG, RIGHT)],
        [UserIntervention(kind="interrupt", text="stopped the agent", at=_at(2))],
    )
    report = failed_attempts(candidate, {"src/stash/keys.py": KEYS}.get)
    assert report.attempts == []
    assert report.unreplayable == ["interrupt: stopped the agent (an edit cannot be replayed)"]


def test_changes_to_tests_alone_are_no_attempt() -> None:
    candidate = _candidate(
        [_edit(1, "x", "y", path="tests/test_keys.py"), _edit(3, ORIGINAL, RIGHT)],
        [UserIntervention(kind="interrupt", at=_at(2))],
    )
    reader = {"src/stash/keys.py": KEYS, "tests/test_keys.py": "x\n"}.get
    assert failed_attempts(candidate, reader).attempts == []


def test_apply_patch_envelopes_and_search_replace_blocks_become_replacements() -> None:
    patch = (
        "*** Begin Patch\n*** Update File: a.py\n@@ def f():\n-    return 1\n+    return 2\n"
        "*** Add File: b.py\n+x = 1\n*** Delete File: c.py\n*** End Patch\n"
    )
    update, add, delete = patch_edits(patch)
    assert update.replacements == [Replacement(old="    return 1", new="    return 2")]
    assert (add.content, delete.delete) == ("x = 1\n", True)
    roo = "<<<<<<< SEARCH\n:start_line:3\n-------\nold line\n=======\nnew line\n>>>>>>> REPLACE"
    assert search_replace(roo) == [Replacement(old="old line", new="new line")]
