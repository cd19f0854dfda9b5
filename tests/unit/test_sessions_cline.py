"""tools.sessions.cline: Cline, Roo Code and Kilo Code task folders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
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
    cline_storage,
    write_cline_task,
)
from tools.sessions.cline import detect_flavor, parse_cline_task

WORKSPACE = "/home/alice/src/widgets"


def _spec(*steps, **fields) -> SessionSpec:
    return SessionSpec(workspace=WORKSPACE, steps=list(steps), **fields)


def _write(tmp_path: Path, spec: SessionSpec, flavor: str = "cline", **options) -> Path:
    return write_cline_task(cline_storage(tmp_path, flavor), spec, flavor=flavor, **options)


@pytest.mark.parametrize("flavor", ["cline", "roo", "kilo"])
def test_first_prompt_is_the_task_block_of_the_first_message(tmp_path, flavor):
    spec = _spec(Prompt(text="The CSV export drops the last row.\nFix it."), Edit(path="a.py"))
    candidate = parse_cline_task(_write(tmp_path, spec, flavor))
    assert candidate.first_prompt == "The CSV export drops the last row.\nFix it."
    assert candidate.source_format == flavor


@pytest.mark.parametrize("flavor", ["cline", "roo"])
def test_follow_ups_are_every_later_message_of_the_user_in_order(tmp_path, flavor):
    spec = _spec(
        Prompt(text="fix the export"),
        Edit(path="src/export.py"),
        Prompt(text="also keep the header"),
        Deny(path="src/db.py", feedback="leave the db alone"),
        Prompt(text="thanks, now add a test"),
    )
    candidate = parse_cline_task(_write(tmp_path, spec, flavor))
    assert candidate.follow_ups == [
        "also keep the header",
        "leave the db alone",
        "thanks, now add a test",
    ]


@pytest.mark.parametrize("flavor", ["cline", "roo"])
def test_a_denied_edit_is_a_denied_action_and_touches_no_file(tmp_path, flavor):
    spec = _spec(Prompt(text="fix it"), Deny(path="src/db.py"), Edit(path="src/export.py"))
    candidate = parse_cline_task(_write(tmp_path, spec, flavor))
    denials = [i for i in candidate.user_interventions if i.kind == "denied_action"]
    assert len(denials) == 1
    assert "src/db.py" in denials[0].text
    assert candidate.files_touched == ["src/export.py"]


@pytest.mark.parametrize("flavor", ["cline", "roo"])
def test_feedback_given_with_a_denial_is_the_denials_text(tmp_path, flavor):
    spec = _spec(Prompt(text="fix it"), Deny(path="src/db.py", feedback="not the db"))
    candidate = parse_cline_task(_write(tmp_path, spec, flavor))
    [denial] = candidate.user_interventions
    assert (denial.kind, denial.text) == ("denied_action", "not the db")
    assert denial.at is not None


@pytest.mark.parametrize("flavor", ["cline", "roo"])
def test_a_users_change_to_a_proposed_edit_is_a_user_edit(tmp_path, flavor):
    spec = _spec(Prompt(text="fix it"), UserEdit(path="src/export.py"))
    candidate = parse_cline_task(_write(tmp_path, spec, flavor))
    assert [(i.kind, i.text) for i in candidate.user_interventions] == [
        ("user_edit", "src/export.py")
    ]
    assert candidate.files_touched == ["src/export.py"]


@pytest.mark.parametrize("flavor", ["cline", "roo"])
def test_cancelling_a_request_is_an_interrupt(tmp_path, flavor):
    spec = _spec(Prompt(text="fix it"), Edit(path="a.py"), Interrupt(), Prompt(text="go on"))
    candidate = parse_cline_task(_write(tmp_path, spec, flavor))
    assert [i.kind for i in candidate.user_interventions] == ["interrupt"]
    assert candidate.follow_ups == ["go on"]


@pytest.mark.parametrize("flavor", ["cline", "roo"])
def test_feedback_on_an_approved_action_is_feedback(tmp_path, flavor):
    spec = _spec(Prompt(text="fix it"), Feedback(text="use the csv module"))
    candidate = parse_cline_task(_write(tmp_path, spec, flavor))
    assert [(i.kind, i.text) for i in candidate.user_interventions] == [
        ("feedback", "use the csv module")
    ]
    assert candidate.follow_ups == ["use the csv module"]


def test_interventions_are_in_time_order_with_timestamps(tmp_path):
    spec = _spec(
        Prompt(text="fix it"),
        Deny(path="b.py", feedback="no"),
        UserEdit(path="a.py"),
        Feedback(text="faster"),
        Interrupt(),
    )
    candidate = parse_cline_task(_write(tmp_path, spec))
    kinds = [i.kind for i in candidate.user_interventions]
    assert kinds == ["denied_action", "user_edit", "feedback", "interrupt"]
    times = [i.at for i in candidate.user_interventions]
    assert all(times) and times == sorted(times)
    assert all(spec.started_at <= at <= candidate.ended_at for at in times)


def test_without_per_message_times_denials_take_the_time_of_their_request(tmp_path):
    spec = _spec(Prompt(text="fix it"), Edit(path="a.py"), Deny(path="b.py"))
    candidate = parse_cline_task(_write(tmp_path, spec, api_timestamps=False))
    [denial] = candidate.user_interventions
    assert denial.at is not None
    assert spec.started_at < denial.at <= candidate.ended_at


def test_files_touched_are_workspace_relative_in_first_touched_order(tmp_path):
    spec = _spec(
        Prompt(text="fix it"),
        Edit(path="src/b.py"),
        Edit(path="src/a.py", create=True),
        Edit(path="src/b.py"),
    )
    candidate = parse_cline_task(_write(tmp_path, spec))
    assert candidate.files_touched == ["src/b.py", "src/a.py"]


def test_timestamps_are_the_first_and_last_ui_messages(tmp_path):
    spec = _spec(Prompt(text="fix it"), Edit(path="a.py"), Prompt(text="more"))
    candidate = parse_cline_task(_write(tmp_path, spec))
    assert candidate.started_at == datetime(2025, 1, 1, 0, 30, tzinfo=UTC)
    assert candidate.ended_at is not None
    assert candidate.started_at < candidate.ended_at <= spec.ends_before


def test_workspace_comes_from_the_task_history_index(tmp_path):
    candidate = parse_cline_task(_write(tmp_path, _spec(Prompt(text="fix it"))))
    assert candidate.workspace_path == WORKSPACE


def test_workspace_comes_from_the_environment_details_without_an_index(tmp_path):
    task_dir = _write(tmp_path, _spec(Prompt(text="fix it")))
    (task_dir.parent.parent / "state" / "taskHistory.json").unlink()
    assert parse_cline_task(task_dir).workspace_path == WORKSPACE


def test_roo_workspace_comes_from_its_history_item(tmp_path):
    candidate = parse_cline_task(_write(tmp_path, _spec(Prompt(text="fix it")), "roo"))
    assert candidate.workspace_path == WORKSPACE


def test_repo_and_start_commit_come_from_the_workspace_configuration(tmp_path):
    spec = _spec(
        Prompt(text="fix it"),
        git_commit="3f2c1a9e" * 5,
        git_remote="https://github.com/acme/widgets.git",
    )
    candidate = parse_cline_task(_write(tmp_path, spec))
    assert candidate.repo == "https://github.com/acme/widgets.git"
    assert candidate.start_commit == "3f2c1a9e" * 5


def test_without_workspace_configuration_repo_and_commit_stay_unknown(tmp_path):
    candidate = parse_cline_task(_write(tmp_path, _spec(Prompt(text="fix it"))))
    assert (candidate.repo, candidate.start_commit) == (None, None)


def test_ids_are_flavor_and_task_id(tmp_path):
    spec = _spec(Prompt(text="fix it"))
    assert parse_cline_task(_write(tmp_path, spec)).id == "cline-1735691400000"
    assert parse_cline_task(_write(tmp_path, spec, "roo")).id == f"roo-{spec.session_id}"


def test_flavor_is_read_from_the_storage_folder(tmp_path):
    spec = _spec(Prompt(text="fix it"))
    assert detect_flavor(_write(tmp_path, spec, "kilo")) == "kilo"
    assert detect_flavor(_write(tmp_path, spec, "roo")) == "roo"
    assert detect_flavor(_write(tmp_path, spec, "cline")) == "cline"


def test_flavor_is_guessed_from_content_outside_a_storage_folder(tmp_path):
    spec = _spec(Prompt(text="fix it"), Edit(path="a.py"))
    roo_dir = _write(tmp_path, spec, "roo")
    cline_dir = _write(tmp_path, spec, "cline")
    moved_roo = roo_dir.rename(tmp_path / "copied-roo-task")
    moved_cline = cline_dir.rename(tmp_path / "1735691400000")
    assert detect_flavor(moved_roo) == "roo"
    assert detect_flavor(moved_cline) == "cline"


def test_only_api_history_is_enough(tmp_path):
    spec = _spec(Prompt(text="fix it"), Edit(path="a.py"), Deny(path="b.py"), Prompt(text="more"))
    task_dir = _write(tmp_path, spec)
    (task_dir / "ui_messages.json").unlink()
    candidate = parse_cline_task(task_dir)
    assert candidate.first_prompt == "fix it"
    assert candidate.follow_ups == ["more"]
    assert [i.kind for i in candidate.user_interventions] == ["denied_action"]
    assert candidate.files_touched == ["a.py"]


def test_only_ui_messages_are_enough(tmp_path):
    spec = _spec(Prompt(text="fix it"), Edit(path="a.py"), Prompt(text="more"))
    task_dir = _write(tmp_path, spec)
    (task_dir / "api_conversation_history.json").unlink()
    candidate = parse_cline_task(task_dir)
    assert (candidate.first_prompt, candidate.follow_ups) == ("fix it", ["more"])
    assert candidate.files_touched == ["a.py"]


def test_edits_outside_the_workspace_are_not_files_touched(tmp_path):
    spec = _spec(Prompt(text="fix it"), Edit(path="../other/x.py"), Edit(path="/etc/hosts"))
    assert parse_cline_task(_write(tmp_path, spec)).files_touched == []


def test_a_folder_without_transcripts_is_a_format_error(tmp_path):
    with pytest.raises(SessionFormatError, match="neither"):
        parse_cline_task(tmp_path)


def test_a_transcript_that_is_not_a_list_is_a_format_error(tmp_path):
    (tmp_path / "ui_messages.json").write_text(json.dumps({"ts": 1}))
    with pytest.raises(SessionFormatError, match="JSON array"):
        parse_cline_task(tmp_path)


def test_a_task_without_any_prompt_is_a_format_error(tmp_path):
    (tmp_path / "ui_messages.json").write_text(json.dumps([{"ts": 1, "type": "say"}]))
    with pytest.raises(SessionFormatError, match="no task prompt"):
        parse_cline_task(tmp_path)


def test_a_multi_root_workspace_takes_repo_and_commit_of_the_tasks_root(tmp_path):
    task_dir = _write(tmp_path, _spec(Prompt(text="fix it")))
    roots = {
        "/home/alice/src/docs": {
            "hint": "docs",
            "associatedRemoteUrls": ["origin: https://github.com/acme/docs.git"],
            "latestGitCommitHash": "1" * 40,
        },
        WORKSPACE: {
            "hint": "widgets",
            "associatedRemoteUrls": [
                "upstream: https://github.com/upstream/widgets.git",
                "origin: https://github.com/acme/widgets.git",
            ],
            "latestGitCommitHash": "2" * 40,
        },
    }
    api_path = task_dir / "api_conversation_history.json"
    api = json.loads(api_path.read_text())
    environment = api[0]["content"][1]
    environment["text"] = environment["text"].replace(
        "# Current Mode",
        "# Workspace Configuration\n"
        + json.dumps({"workspaces": roots}, indent=2)
        + "\n\n# Current Mode",
    )
    api_path.write_text(json.dumps(api))
    candidate = parse_cline_task(task_dir)
    assert candidate.repo == "https://github.com/acme/widgets.git"
    assert candidate.start_commit == "2" * 40
