"""tools.sessions.codex: Codex CLI rollout files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import SessionFormatError
from tests.fixtures.sessions import (
    Deny,
    Edit,
    Feedback,
    Interrupt,
    Prompt,
    SessionSpec,
    UserEdit,
    write_codex_rollout,
)
from tools.sessions.codex import parse_codex_rollout

WORKSPACE = "/home/alice/src/widgets"
COMMIT = "9b7e0d4c" * 5


def _write(tmp_path: Path, *steps, **fields) -> Path:
    fields.setdefault("git_commit", COMMIT)
    fields.setdefault("git_remote", "git@github.com:acme/widgets.git")
    spec = SessionSpec(workspace=WORKSPACE, steps=list(steps), **fields)
    return write_codex_rollout(tmp_path / "sessions", spec)


def test_rollout_is_filed_by_date(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"))
    assert path.relative_to(tmp_path / "sessions").parts[:3] == ("2025", "01", "01")
    assert path.name.startswith("rollout-2025-01-01T00-30-00-")


def test_repo_start_commit_and_branch_come_from_session_meta(tmp_path):
    candidate = parse_codex_rollout(_write(tmp_path, Prompt(text="fix it"), branch="main"))
    assert candidate.repo == "git@github.com:acme/widgets.git"
    assert candidate.start_commit == COMMIT
    assert candidate.hints.branch == "main"
    assert candidate.workspace_path == WORKSPACE
    assert candidate.id == "codex-5d6c8a8e-2f0b-4c36-9a51-7e1f2b3c4d5e"


def test_prompts_skip_the_injected_environment_context(tmp_path):
    path = _write(tmp_path, Prompt(text="fix the export"), Edit(path="a.py"), Prompt(text="more"))
    candidate = parse_codex_rollout(path)
    assert candidate.first_prompt == "fix the export"
    assert candidate.follow_ups == ["more"]


def test_an_interrupted_turn_is_an_interrupt(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Interrupt(), Prompt(text="only the export"))
    candidate = parse_codex_rollout(path)
    assert [i.kind for i in candidate.user_interventions] == ["interrupt"]
    assert candidate.follow_ups == ["only the export"]


def test_a_rejected_patch_is_a_denied_action_and_touches_nothing(tmp_path):
    candidate = parse_codex_rollout(_write(tmp_path, Prompt(text="fix it"), Deny(path="src/db.py")))
    assert [(i.kind, i.text) for i in candidate.user_interventions] == [
        ("denied_action", "apply_patch src/db.py")
    ]
    assert candidate.files_touched == []


def test_a_message_sent_while_the_agent_works_is_feedback(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Feedback(text="use the csv module"))
    candidate = parse_codex_rollout(path)
    assert [(i.kind, i.text) for i in candidate.user_interventions] == [
        ("feedback", "use the csv module")
    ]
    assert candidate.follow_ups == ["use the csv module"]


def test_a_message_after_the_agent_answered_is_a_plain_follow_up(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Edit(path="a.py"), Prompt(text="thanks, more"))
    assert parse_codex_rollout(path).user_interventions == []


def test_files_touched_come_from_both_forms_of_apply_patch(tmp_path):
    path = _write(
        tmp_path,
        Prompt(text="fix it"),
        Edit(path="src/export.py"),
        Edit(path="tests/test_export.py", create=True),
        UserEdit(path="src/util.py"),
        Deny(path="src/db.py"),
    )
    candidate = parse_codex_rollout(path)
    assert candidate.files_touched == ["src/export.py", "tests/test_export.py", "src/util.py"]


def test_timestamps_and_intervention_times(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Deny(path="a.py"), Interrupt())
    candidate = parse_codex_rollout(path)
    spec = SessionSpec(workspace=WORKSPACE, steps=[Prompt(text="x")])
    assert candidate.started_at == spec.started_at
    assert candidate.ended_at is not None and candidate.ended_at > candidate.started_at
    times = [i.at for i in candidate.user_interventions]
    assert all(times) and times == sorted(times)


def test_a_rollout_without_git_meta_has_no_repo(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), git_commit=None, git_remote=None)
    candidate = parse_codex_rollout(path)
    assert (candidate.repo, candidate.start_commit) == (None, None)


def test_old_rollouts_without_record_envelopes_are_read(tmp_path):
    path = tmp_path / "rollout-2025-05-01-abc.jsonl"
    lines = [
        {
            "id": "abc",
            "timestamp": "2025-05-01T10:00:00Z",
            "instructions": None,
            "git": {"commit_hash": COMMIT, "repository_url": "https://github.com/acme/w"},
        },
        {"record_type": "state"},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "<environment_context>x</environment_context>"}
            ],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix it"}]},
        {
            "type": "function_call",
            "name": "shell",
            "call_id": "c1",
            "arguments": json.dumps(
                {
                    "command": [
                        "apply_patch",
                        "*** Begin Patch\n*** Update File: a.py\n*** End Patch",
                    ]
                }
            ),
        },
        {"type": "function_call_output", "call_id": "c1", "output": "Done!"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    candidate = parse_codex_rollout(path)
    assert candidate.first_prompt == "fix it"
    assert candidate.start_commit == COMMIT
    assert candidate.files_touched == ["a.py"]
    assert candidate.id == "codex-abc"


def test_a_failed_patch_touches_no_file(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Edit(path="a.py"))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        payload = line["payload"]
        if payload.get("type") == "custom_tool_call_output":
            payload["output"] = json.dumps({"output": "error", "metadata": {"exit_code": 1}})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert parse_codex_rollout(path).files_touched == []


def test_a_file_that_does_not_start_with_session_meta_is_a_format_error(tmp_path):
    path = tmp_path / "rollout-x.jsonl"
    path.write_text(json.dumps({"type": "event_msg", "payload": {}}) + "\n")
    with pytest.raises(SessionFormatError, match="session_meta"):
        parse_codex_rollout(path)


def test_a_rollout_without_user_messages_is_a_format_error(tmp_path):
    path = tmp_path / "rollout-x.jsonl"
    meta = {"timestamp": "2025-01-01T00:00:00Z", "type": "session_meta", "payload": {"id": "x"}}
    path.write_text(json.dumps(meta) + "\n")
    with pytest.raises(SessionFormatError, match="no user message"):
        parse_codex_rollout(path)
