"""tools.sessions.intake: discovering sessions and loading them, one failure at a time."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.fixtures.sessions import (
    Edit,
    Prompt,
    SessionSpec,
    claude_project_dir,
    cline_storage,
    write_candidates_jsonl,
    write_claude_code_session,
    write_cline_task,
    write_codex_rollout,
    write_session,
)
from tools.sessions import intake
from tools.sessions.intake import discover, load_sessions

WORKSPACE = "/home/alice/src/widgets"
CANDIDATE = {
    "id": "acme-1",
    "repo": "https://github.com/acme/widgets",
    "start_commit": "3f2c1a9",
    "prompts": ["fix it"],
}


def _spec(**fields) -> SessionSpec:
    return SessionSpec.simple(WORKSPACE, "fix the export", files=["src/export.py"], **fields)


def _home(tmp_path: Path) -> dict[str, Path]:
    """A user's home with every kind of session in its usual place."""
    storage = tmp_path / "Code" / "User" / "globalStorage"
    paths = {
        "cline": write_cline_task(cline_storage(storage, "cline"), _spec()),
        "roo": write_cline_task(cline_storage(storage, "roo"), _spec(), flavor="roo"),
        "kilo": write_cline_task(
            cline_storage(storage, "kilo"), _spec(session_id="kilo-task-1"), flavor="kilo"
        ),
        "claude_code": write_claude_code_session(tmp_path / ".claude" / "projects", _spec()),
        "codex": write_codex_rollout(tmp_path / ".codex" / "sessions", _spec()),
        "candidates_jsonl": write_candidates_jsonl(tmp_path / "candidates.jsonl", [CANDIDATE]),
    }
    return paths


def test_a_home_folder_yields_every_session_with_its_format(tmp_path):
    paths = _home(tmp_path)
    found = discover([tmp_path])
    assert found.errors == []
    assert {(s.format, Path(s.path)) for s in found.sessions} == {
        (fmt, path.resolve()) for fmt, path in paths.items()
    }


def test_each_session_loads_as_one_candidate(tmp_path):
    _home(tmp_path)
    result = load_sessions([tmp_path])
    assert result.errors == []
    assert sorted(c.source_format for c in result.candidates) == sorted(
        ["cline", "roo", "kilo", "claude_code", "codex", "candidates_jsonl"]
    )
    assert all(c.first_prompt in ("fix the export", "fix it") for c in result.candidates)


def test_single_files_and_task_folders_can_be_given_directly(tmp_path):
    paths = _home(tmp_path)
    given = [
        paths["claude_code"],
        paths["codex"],
        paths["cline"],
        paths["roo"] / "ui_messages.json",
        paths["candidates_jsonl"],
    ]
    found = discover(given)
    assert found.errors == []
    assert [s.format for s in found.sessions] == [
        "claude_code",
        "codex",
        "cline",
        "roo",
        "candidates_jsonl",
    ]


def test_one_bad_session_does_not_stop_the_others(tmp_path):
    projects = tmp_path / "projects"
    good = write_claude_code_session(projects, _spec())
    broken = write_claude_code_session(projects, _spec(session_id="broken-1"))
    lines = broken.read_text().splitlines()
    broken.write_text("\n".join(line for line in lines if '"type": "user"' not in line) + "\n")
    result = load_sessions([projects])
    assert [c.source_path for c in result.candidates] == [str(good.resolve())]
    [error] = result.errors
    assert error.source == str(broken.resolve())
    assert str(broken.resolve()) in error.message and "\n" not in error.message


def test_a_garbage_file_among_sessions_is_reported_by_name(tmp_path):
    sessions = tmp_path / "sessions"
    write_codex_rollout(sessions, _spec())
    garbage = sessions / "2025" / "01" / "01" / "rollout-garbage.jsonl"
    garbage.write_bytes(os.urandom(2000).replace(b"\n", b"x"))
    result = load_sessions([sessions])
    assert len(result.candidates) == 1
    [error] = result.errors
    assert "rollout-garbage.jsonl" in error.message


def test_an_unknown_jsonl_file_is_an_error_and_other_files_are_ignored(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "data.json").write_text("{}")
    (tmp_path / "events.jsonl").write_text(json.dumps({"event": "click"}) + "\n")
    found = discover([tmp_path])
    assert found.sessions == []
    [error] = found.errors
    assert "events.jsonl" in error.message and "--format" in error.message


def test_format_hint_names_a_jsonl_file_the_content_cannot(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"event": "click"}) + "\n")
    [session] = discover([path], format_hint="claude_code").sessions
    assert session.format == "claude_code"


def test_format_hint_names_a_kilo_task_outside_its_storage_folder(tmp_path):
    task = write_cline_task(cline_storage(tmp_path / "s", "kilo"), _spec(), flavor="kilo")
    copied = shutil.copytree(task, tmp_path / "copied" / task.name)
    assert discover([copied]).sessions[0].format == "roo"
    assert discover([copied], format_hint="kilo").sessions[0].format == "kilo"


def test_missing_paths_and_explicit_non_sessions_are_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    found = discover([tmp_path / "nope", tmp_path / "notes.txt"])
    assert [e.message.split(": ", 1)[1] for e in found.errors] == [
        "no such file or directory",
        "not a session (expected a .jsonl file or a task folder)",
    ]


def test_an_empty_file_is_reported_as_empty(tmp_path):
    path = tmp_path / "session.jsonl"
    path.write_text("")
    result = load_sessions([path])
    assert [e.message for e in result.errors] == [f"{path}: file is empty"]


def test_files_over_the_size_limit_are_refused_without_reading(tmp_path):
    path = write_claude_code_session(tmp_path, _spec())
    result = load_sessions([path], max_bytes=100)
    [error] = result.errors
    assert "over the 100-byte limit" in error.message


def test_invalid_utf8_does_not_lose_the_session(tmp_path):
    path = write_claude_code_session(tmp_path, _spec())
    path.write_bytes(path.read_bytes().replace(b"fix the export", b"fix the \xff export"))
    [candidate] = load_sessions([path]).candidates
    assert candidate.first_prompt == "fix the \ufffd export"


def test_deeply_nested_json_is_a_format_error_not_a_crash(tmp_path):
    task = write_cline_task(cline_storage(tmp_path), _spec())
    (task / "api_conversation_history.json").write_text("[" * 200_000 + "]" * 200_000)
    # The ui messages still tell the session; the unreadable file is noted on it.
    [candidate] = load_sessions([task]).candidates
    assert "nested too deeply" in candidate.incomplete[0]
    (task / "ui_messages.json").write_text("[" * 200_000 + "]" * 200_000)
    [error] = load_sessions([task]).errors
    assert "nested too deeply" in error.message


def test_symlinks_out_of_the_walked_folder_are_reported_not_followed(tmp_path):
    outside = tmp_path / "outside"
    secret = write_claude_code_session(outside, _spec(session_id="secret"))
    root = tmp_path / "root"
    write_claude_code_session(root, _spec())
    (root / "linked-file.jsonl").symlink_to(secret)
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    found = discover([root])
    assert [Path(s.path).name for s in found.sessions] == [f"{_spec().session_id}.jsonl"]
    assert sorted(Path(e.source).name for e in found.errors) == ["linked-dir", "linked-file.jsonl"]
    assert all("outside" in e.message for e in found.errors)


def test_a_symlink_inside_the_folder_is_read_once(tmp_path):
    path = write_claude_code_session(tmp_path / "root", _spec())
    (tmp_path / "root" / "alias.jsonl").symlink_to(path)
    found = discover([tmp_path / "root"])
    assert len(found.sessions) == 1 and found.errors == []


def test_dot_dot_in_a_given_path_is_resolved(tmp_path):
    path = write_claude_code_session(tmp_path / "projects", _spec())
    roundabout = tmp_path / "projects" / ".." / "projects"
    [session] = discover([roundabout]).sessions
    assert session.path == str(path.resolve())


def test_subagent_logs_and_index_files_are_skipped(tmp_path):
    projects = tmp_path / "projects"
    session = write_claude_code_session(projects, _spec())
    folder = claude_project_dir(projects, WORKSPACE)
    shutil.copy(session, folder / "agent-1a2b3c4d.jsonl")
    (folder / session.stem / "subagents").mkdir(parents=True)
    shutil.copy(session, folder / session.stem / "subagents" / "agent-x.jsonl")
    (tmp_path / "history.jsonl").write_text(json.dumps({"display": "fix", "project": "/x"}) + "\n")
    summary_only = folder / "0000-summary.jsonl"
    summary_only.write_text(json.dumps({"type": "summary", "summary": "s", "leafUuid": "u"}) + "\n")
    found = discover([tmp_path])
    assert [Path(s.path) for s in found.sessions] == [session.resolve()]
    assert found.errors == []


def test_the_same_session_twice_gets_distinct_ids(tmp_path):
    path = write_claude_code_session(tmp_path / "a", _spec())
    copy = tmp_path / "b" / path.name
    copy.parent.mkdir()
    shutil.copy(path, copy)
    ids = [c.id for c in load_sessions([tmp_path]).candidates]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert all(part.replace("-", "").replace("_", "").isalnum() for part in ids)


def test_a_parser_bug_costs_one_session_not_the_run(tmp_path, monkeypatch):
    write_claude_code_session(tmp_path, _spec())
    write_codex_rollout(tmp_path, _spec())

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(intake, "parse_codex_rollout", explode)
    result = load_sessions([tmp_path])
    assert [c.source_format for c in result.candidates] == ["claude_code"]
    [error] = result.errors
    assert "RuntimeError" in error.message and "boom" in error.message


def test_a_bad_line_in_candidates_jsonl_is_one_error_among_good_candidates(tmp_path):
    path = write_candidates_jsonl(
        tmp_path / "c.jsonl", [CANDIDATE, {"id": "x", "repo": "r", "prompts": ["p"]}]
    )
    result = load_sessions([path])
    assert [c.id for c in result.candidates] == ["acme-1"]
    [error] = result.errors
    assert f"{path.resolve()}:2:" in error.message


def test_cline_tasks_are_not_searched_for_nested_sessions(tmp_path):
    task = write_cline_task(cline_storage(tmp_path), _spec())
    (task / "checkpoints").mkdir()
    (task / "checkpoints" / "notes.jsonl").write_text("garbage\n")
    found = discover([tmp_path])
    assert len(found.sessions) == 1 and found.errors == []


@pytest.mark.parametrize("steps", [[Prompt(text="fix"), Edit(path="a.py")]])
def test_candidates_round_trip_through_json(tmp_path, steps):
    write_cline_task(cline_storage(tmp_path), SessionSpec(workspace=WORKSPACE, steps=steps))
    [candidate] = load_sessions([tmp_path]).candidates
    assert type(candidate).model_validate_json(candidate.model_dump_json()) == candidate


def test_a_file_that_is_one_enormous_line_is_sniffed_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b'{"x": "' + b"a" * (9 * 1024 * 1024))
    [error] = discover([path]).errors
    assert "not a recognised session format" in error.message


def test_many_cline_tasks_share_one_read_of_the_history_index(tmp_path):
    storage = cline_storage(tmp_path)
    for minute in range(3):
        spec = _spec(started_at=_spec().started_at.replace(minute=minute))
        write_cline_task(storage, spec)
    result = load_sessions([storage])
    assert [c.workspace_path for c in result.candidates] == [WORKSPACE] * 3


@pytest.mark.parametrize("source_format", ["cline", "roo", "kilo", "claude_code", "codex"])
def test_every_agent_format_carries_the_same_story(tmp_path, source_format):
    spec = SessionSpec(
        workspace=WORKSPACE,
        steps=[
            Prompt(text="fix the export"),
            Edit(path="src/export.py"),
            Prompt(text="also keep the header"),
            Edit(path="tests/test_export.py", create=True),
        ],
    )
    write_session(source_format, tmp_path, spec)
    [candidate] = load_sessions([tmp_path]).candidates
    assert candidate.source_format == source_format
    assert candidate.prompts == [spec.first_prompt, *spec.follow_ups]
    assert candidate.files_touched == spec.files_edited
    assert candidate.workspace_path == WORKSPACE
    assert candidate.started_at == spec.started_at
    assert candidate.ended_at is not None and candidate.ended_at < spec.ends_before
