"""tools.sessions.claude_code: Claude Code project JSONL sessions."""

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
    write_claude_code_session,
)
from tools.sessions.claude_code import parse_claude_code_session

WORKSPACE = "/home/alice/src/widgets"


def _write(tmp_path: Path, *steps, **fields) -> Path:
    spec = SessionSpec(workspace=WORKSPACE, steps=list(steps), **fields)
    return write_claude_code_session(tmp_path / "projects", spec)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _rewrite(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def test_session_file_sits_under_the_encoded_working_directory(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"))
    assert path.parent.name == "-home-alice-src-widgets"


def test_first_prompt_skips_meta_records_and_command_echoes(tmp_path):
    candidate = parse_claude_code_session(_write(tmp_path, Prompt(text="The export drops a row")))
    assert candidate.first_prompt == "The export drops a row"
    assert candidate.follow_ups == []


def test_follow_ups_are_later_user_text_not_tool_results(tmp_path):
    path = _write(
        tmp_path,
        Prompt(text="fix the export"),
        Edit(path="src/export.py"),
        Prompt(text="also keep the header"),
        Prompt(text="and add a test"),
    )
    candidate = parse_claude_code_session(path)
    assert candidate.follow_ups == ["also keep the header", "and add a test"]


def test_a_rejected_tool_use_is_a_denied_action(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Deny(path="src/db.py"))
    candidate = parse_claude_code_session(path)
    [denial] = candidate.user_interventions
    assert denial.kind == "denied_action"
    assert denial.text == "Edit src/db.py"
    assert candidate.files_touched == []


def test_what_the_user_said_when_rejecting_is_feedback_and_a_follow_up(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Deny(path="src/db.py", feedback="not the db"))
    candidate = parse_claude_code_session(path)
    assert [(i.kind, i.text) for i in candidate.user_interventions] == [
        ("denied_action", "not the db")
    ]
    assert candidate.follow_ups == ["not the db"]


def test_a_user_modified_edit_is_a_user_edit(tmp_path):
    candidate = parse_claude_code_session(
        _write(tmp_path, Prompt(text="fix it"), UserEdit(path="src/export.py"))
    )
    assert [(i.kind, i.text) for i in candidate.user_interventions] == [
        ("user_edit", "src/export.py")
    ]


def test_an_interrupted_request_is_an_interrupt(tmp_path):
    candidate = parse_claude_code_session(
        _write(tmp_path, Prompt(text="fix it"), Interrupt(), Prompt(text="only the export"))
    )
    assert [i.kind for i in candidate.user_interventions] == ["interrupt"]
    assert candidate.follow_ups == ["only the export"]


def test_a_prompt_queued_while_the_agent_works_is_feedback(tmp_path):
    candidate = parse_claude_code_session(
        _write(tmp_path, Prompt(text="fix it"), Feedback(text="use the csv module"))
    )
    assert [(i.kind, i.text) for i in candidate.user_interventions] == [
        ("feedback", "use the csv module")
    ]
    assert candidate.follow_ups == ["use the csv module"]


def test_interventions_carry_their_timestamps(tmp_path):
    path = _write(
        tmp_path,
        Prompt(text="fix it"),
        Deny(path="a.py"),
        UserEdit(path="b.py"),
        Feedback(text="hurry"),
        Interrupt(),
    )
    candidate = parse_claude_code_session(path)
    assert [i.kind for i in candidate.user_interventions] == [
        "denied_action",
        "user_edit",
        "feedback",
        "interrupt",
    ]
    times = [i.at for i in candidate.user_interventions]
    assert all(times) and times == sorted(times)


def test_files_touched_are_successful_edits_relative_to_cwd(tmp_path):
    path = _write(
        tmp_path,
        Prompt(text="fix it"),
        Edit(path="src/export.py"),
        Edit(path="tests/test_export.py", create=True),
        Deny(path="src/db.py"),
        UserEdit(path="src/export.py"),
    )
    candidate = parse_claude_code_session(path)
    assert candidate.files_touched == ["src/export.py", "tests/test_export.py"]


def test_session_metadata(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Edit(path="a.py"), branch="fix/export")
    candidate = parse_claude_code_session(path)
    spec_start = SessionSpec(workspace=WORKSPACE, steps=[Prompt(text="x")]).started_at
    assert candidate.id == "claude_code-5d6c8a8e-2f0b-4c36-9a51-7e1f2b3c4d5e"
    assert candidate.workspace_path == WORKSPACE
    assert candidate.hints.branch == "fix/export"
    assert candidate.started_at == spec_start
    assert candidate.ended_at is not None and candidate.ended_at > candidate.started_at
    assert (candidate.repo, candidate.start_commit) == (None, None)


def test_a_rewound_branch_is_not_part_of_the_session(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Prompt(text="abandoned idea"))
    records = _records(path)
    abandoned = next(r for r in records if r.get("message", {}).get("content") == "abandoned idea")
    first = next(r for r in records if r.get("message", {}).get("content") == "fix it")
    answer = next(r for r in records if r.get("parentUuid") == first["uuid"])
    retry = dict(abandoned, uuid="retry-1", parentUuid=answer["uuid"])
    retry["message"] = {"role": "user", "content": "the better idea"}
    _rewrite(path, [*records, retry])
    assert parse_claude_code_session(path).follow_ups == ["the better idea"]


def test_compaction_does_not_lose_the_first_prompt(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Prompt(text="after compaction"))
    records = _records(path)
    index = next(
        i
        for i, r in enumerate(records)
        if r.get("message", {}).get("content") == "after compaction"
    )
    boundary = {
        "type": "system",
        "subtype": "compact_boundary",
        "uuid": "boundary-1",
        "parentUuid": None,
        "logicalParentUuid": records[index]["parentUuid"],
        "sessionId": records[index]["sessionId"],
        "timestamp": records[index]["timestamp"],
        "isSidechain": False,
    }
    summary = dict(records[index], uuid="summary-1", parentUuid="boundary-1", isCompactSummary=True)
    summary["message"] = {"role": "user", "content": "This session is being continued..."}
    records[index]["parentUuid"] = "summary-1"
    _rewrite(path, [*records[:index], boundary, summary, *records[index:]])
    candidate = parse_claude_code_session(path)
    assert (candidate.first_prompt, candidate.follow_ups) == ("fix it", ["after compaction"])


def test_custom_slash_commands_carry_the_users_intent(tmp_path):
    path = _write(tmp_path, Prompt(text="placeholder"))
    records = _records(path)
    prompt = next(r for r in records if r.get("message", {}).get("content") == "placeholder")
    prompt["message"]["content"] = (
        "<command-message>fix-issue is running…</command-message>\n"
        "<command-name>/fix-issue</command-name>\n<command-args>1042</command-args>"
    )
    _rewrite(path, records)
    assert parse_claude_code_session(path).first_prompt == "/fix-issue 1042"


def test_subagent_records_are_ignored(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"))
    records = _records(path)
    sidechain = dict(records[-1], uuid="side-1", isSidechain=True, type="user")
    sidechain["message"] = {"role": "user", "content": "subagent instructions"}
    _rewrite(path, [*records, sidechain])
    assert parse_claude_code_session(path).follow_ups == []


def test_a_subagent_log_is_not_a_user_session(tmp_path):
    path = tmp_path / "agent-1a2b3c.jsonl"
    record = {
        "type": "user",
        "isSidechain": True,
        "sessionId": "s",
        "uuid": "u",
        "parentUuid": None,
    }
    path.write_text(json.dumps(record | {"message": {"role": "user", "content": "go"}}) + "\n")
    with pytest.raises(SessionFormatError, match="subagent"):
        parse_claude_code_session(path)


def test_a_summary_only_file_is_a_format_error(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"type": "summary", "summary": "x", "leafUuid": "u"}) + "\n")
    with pytest.raises(SessionFormatError, match="no user or assistant"):
        parse_claude_code_session(path)


def test_a_truncated_last_line_is_skipped(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Prompt(text="more"))
    path.write_text(path.read_text() + '{"type": "user", "message": {"role": "us')
    assert parse_claude_code_session(path).follow_ups == ["more"]


def test_a_session_with_only_tool_chatter_has_no_prompt(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"))
    records = [r for r in _records(path) if r.get("message", {}).get("content") != "fix it"]
    _rewrite(path, records)
    with pytest.raises(SessionFormatError, match="no user prompt"):
        parse_claude_code_session(path)


def test_a_prompt_queued_in_an_older_version_is_feedback_once(tmp_path):
    path = _write(tmp_path, Prompt(text="fix it"), Feedback(text="use csv"), Prompt(text="later"))
    records = _records(path)
    queued = {
        "type": "queue-operation",
        "operation": "enqueue",
        "timestamp": records[-1]["timestamp"],
        "sessionId": records[-1]["sessionId"],
    }
    _rewrite(path, [*records, queued | {"content": "use csv"}, queued | {"content": "stop that"}])
    candidate = parse_claude_code_session(path)
    assert [(i.kind, i.text) for i in candidate.user_interventions] == [
        ("feedback", "use csv"),
        ("feedback", "stop that"),
    ]
