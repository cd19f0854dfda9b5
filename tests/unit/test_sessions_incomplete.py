"""A session file that was cut off or is partly unreadable still loads, and says so."""

from __future__ import annotations

from pathlib import Path

from agents.qualify.baseline import qualify_baseline
from tests.fixtures.qualify_repos import python_bugfix
from tests.fixtures.sessions import (
    Prompt,
    SessionSpec,
    cline_storage,
    write_claude_code_session,
    write_cline_task,
    write_codex_rollout,
)
from tools.repos.git import RepoCache
from tools.sessions.intake import load_sessions


def _spec(workspace: str = "/home/alice/src/app") -> SessionSpec:
    return SessionSpec(
        workspace=workspace, steps=[Prompt(text="fix the export"), Prompt(text="and the header")]
    )


def test_a_claude_code_session_cut_off_mid_line_is_flagged(tmp_path: Path) -> None:
    path = write_claude_code_session(tmp_path / "projects", _spec())
    path.write_text(path.read_text() + '{"type": "user", "message": {"ro')
    [candidate] = load_sessions([tmp_path / "projects"]).candidates
    assert candidate.follow_ups == ["and the header"]
    assert candidate.incomplete == [
        "the file ends in half a line: it was cut off while being written"
    ]


def test_unreadable_lines_in_a_codex_rollout_are_counted(tmp_path: Path) -> None:
    path = write_codex_rollout(tmp_path / "sessions", _spec())
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(2, "not json at all\n")
    path.write_text("".join(lines))
    [candidate] = load_sessions([tmp_path / "sessions"]).candidates
    assert candidate.incomplete == ["1 unreadable line(s) skipped"]


def test_a_cline_task_with_a_truncated_ui_file_is_read_from_its_api_history(
    tmp_path: Path,
) -> None:
    task = write_cline_task(cline_storage(tmp_path / "cline"), _spec())
    ui = task / "ui_messages.json"
    ui.write_text(ui.read_text()[: len(ui.read_text()) // 2])
    result = load_sessions([tmp_path / "cline"])
    assert result.errors == []
    [candidate] = result.candidates
    assert candidate.first_prompt == "fix the export"
    assert candidate.incomplete and "ui_messages.json could not be read" in candidate.incomplete[0]


def test_a_session_read_in_part_is_flagged_in_its_qualification(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(update={"incomplete": ["2 unreadable line(s)"]})
    qualification, _ = qualify_baseline(candidate, RepoCache(tmp_path / "cache"))
    assert qualification.verdict == "qualified"
    assert "session_incomplete" in qualification.codes()
    assert "2 unreadable line(s)" in qualification.check("session_complete").reason
