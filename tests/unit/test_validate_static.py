"""Checks that need no image: the Dockerfile's leak patterns and the instruction's text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.task.folder import HarborTask
from tests.conftest import EXAMPLE_TASKS
from tools.validation.diffs import diffs_in_script
from tools.validation.records import HiddenFacts
from tools.validation.static import (
    check_dockerfile,
    check_instruction_keeps_request,
    check_instruction_quotes_fix,
    check_instruction_secrets,
    parse_dockerfile,
    shared_runs,
)

FIX_COMMIT = "3f9c2e81d04b7a6655e1c0f2a9b8d7e6c5b4a392"
START_COMMIT = "b41d7e0a9c3f2e1d0c9b8a7f6e5d4c3b2a190807"


def _task(tmp_path: Path, name: str = "stash-kwargs-cache-key") -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLE_TASKS / name, target)
    return target


def _hidden(task_dir: Path, **extra: object) -> HiddenFacts:
    diff = diffs_in_script((task_dir / "solution" / "solve.sh").read_text())
    return HiddenFacts(fix_diff=diff, fix_commit=FIX_COMMIT, start_commit=START_COMMIT, **extra)


@pytest.mark.parametrize("name", sorted(p.parent.name for p in EXAMPLE_TASKS.glob("*/task.toml")))
def test_example_instructions_and_dockerfiles_pass_every_static_check(name: str) -> None:
    task_dir = EXAMPLE_TASKS / name
    task, hidden = HarborTask.load(task_dir), _hidden(task_dir)
    for check in (
        check_dockerfile(task),
        check_instruction_quotes_fix(task, hidden),
        check_instruction_secrets(task, hidden),
    ):
        assert check.passed, check.message


def test_instruction_quoting_the_fix_fails_and_reports_the_shared_text(tmp_path: Path) -> None:
    task_dir = _task(tmp_path)
    instruction = task_dir / "instruction.md"
    instruction.write_text(
        instruction.read_text() + "\nHint: in keys.py the line should read\n"
        "`key   += _KWARGS_MARK + tuple(sorted(kwargs.items()))`.\n"
    )
    check = check_instruction_quotes_fix(HarborTask.load(task_dir), _hidden(task_dir))
    assert not check.passed and check.category == "leak"
    shared = check.evidence["shared_text"][0]
    # Whitespace is normalized on both sides, so re-indenting the code does not hide it.
    assert "_KWARGS_MARK + tuple(sorted(kwargs.items()))" in shared
    assert len(shared) >= 40
    assert "quotes the fix" in check.message and "\n" not in check.message


def test_instruction_quoting_only_the_buggy_line_passes(tmp_path: Path) -> None:
    task_dir = _task(tmp_path)
    instruction = task_dir / "instruction.md"
    instruction.write_text(
        instruction.read_text() + "\nI think `key += _KWARGS_MARK + tuple(sorted(kwargs))` is it.\n"
    )
    assert check_instruction_quotes_fix(HarborTask.load(task_dir), _hidden(task_dir)).passed


def test_instruction_naming_a_commit_prefix_fails_but_other_hex_passes(tmp_path: Path) -> None:
    task_dir = _task(tmp_path)
    instruction = task_dir / "instruction.md"
    base = instruction.read_text()
    instruction.write_text(base + "\nColours #a1b2c3d4e5 and build deadbee5 are unrelated.\n")
    assert check_instruction_secrets(HarborTask.load(task_dir), _hidden(task_dir)).passed

    instruction.write_text(base + f"\nThis broke after {START_COMMIT[:7].upper()}.\n")
    check = check_instruction_secrets(HarborTask.load(task_dir), _hidden(task_dir))
    assert not check.passed
    assert check.evidence["commit_hashes"] == [f"{START_COMMIT[:7].upper()} (start_commit)"]


def test_instruction_naming_a_hidden_test_or_secret_fails(tmp_path: Path) -> None:
    task_dir = _task(tmp_path)
    instruction = task_dir / "instruction.md"
    instruction.write_text(
        instruction.read_text()
        + "\nMake test_invalidate_forgets_only_the_named_call pass; see ISSUE-4242.\n"
    )
    check = check_instruction_secrets(
        HarborTask.load(task_dir), _hidden(task_dir, extra_secrets=["issue-4242"])
    )
    assert not check.passed
    assert check.evidence["test_names"] == ["test_invalidate_forgets_only_the_named_call"]
    assert check.evidence["secrets"] == ["issue-4242"]


def test_long_js_test_titles_count_as_hidden_test_names(tmp_path: Path) -> None:
    task_dir = _task(tmp_path, "renewals-month-end")
    instruction = task_dir / "instruction.md"
    instruction.write_text(
        instruction.read_text()
        + "\nAdding months ends on the last day of a month that is too short.\n"
    )
    check = check_instruction_secrets(HarborTask.load(task_dir), _hidden(task_dir))
    assert not check.passed
    assert check.evidence["test_names"] == [
        "adding months ends on the last day of a month that is too short"
    ]


def test_shared_runs_are_maximal_and_at_least_the_threshold() -> None:
    source = "the quick brown fox jumps over the lazy dog"
    assert shared_runs("say: the quick brown fox jumps! ok", source, 10) == [
        "the quick brown fox jumps"
    ]
    assert shared_runs("quick brown", source, 20) == []


def test_dockerfile_parser_joins_continuations_and_drops_comments() -> None:
    text = "ARG X=1\n# a comment\nRUN apt-get update \\\n    # inline comment\n    && echo hi\n"
    parsed = parse_dockerfile(text)
    assert [(i.line, i.keyword, i.arguments) for i in parsed] == [
        (1, "ARG", "X=1"),
        (3, "RUN", "apt-get update && echo hi"),
    ]


def test_a_test_file_copied_into_the_context_and_taken_in_by_copy_is_an_error(
    tmp_path: Path,
) -> None:
    task_dir = _task(tmp_path)
    shutil.copy(task_dir / "tests" / "test_stash.py", task_dir / "environment" / "app" / "t.py")
    check = check_dockerfile(HarborTask.load(task_dir))
    assert not check.passed and check.severity == "error"
    assert "environment/app/t.py is a copy of tests/test_stash.py" in check.message
    assert check.message.startswith("Dockerfile line ")


def test_a_context_copy_that_no_copy_instruction_takes_in_is_only_a_warning(
    tmp_path: Path,
) -> None:
    task_dir = _task(tmp_path)
    (task_dir / "environment" / "notes").mkdir()
    shutil.copy(task_dir / "tests" / "test_stash.py", task_dir / "environment" / "notes" / "t.py")
    check = check_dockerfile(HarborTask.load(task_dir))
    assert not check.passed and check.severity == "warning"

    (task_dir / "environment" / "notes").rename(task_dir / "environment" / "app" / "notes")
    (task_dir / "environment" / ".dockerignore").write_text("app/notes\n")
    check = check_dockerfile(HarborTask.load(task_dir))
    assert check.severity == "warning", ".dockerignore keeps it out of the image"


@pytest.mark.parametrize(
    ("line", "finding"),
    [
        ("RUN git clone https://example.com/r.git /src", "git clone"),
        ("RUN git init /app && git -C /app add -A", "git init"),
        ("RUN git -c safe.directory=/app -C /app init -q", "git init"),
        ("RUN git --no-pager clone --depth 1 https://example.com/r.git", "git clone"),
        ("COPY tests/ /app/tests/", "looks like tests or a solution"),
        ("COPY --chown=1000 solve.sh /", "looks like tests or a solution"),
    ],
)
def test_dockerfile_leak_patterns_are_warnings(tmp_path: Path, line: str, finding: str) -> None:
    task_dir = _task(tmp_path)
    dockerfile = task_dir / "environment" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + line + "\n")
    check = check_dockerfile(HarborTask.load(task_dir))
    assert not check.passed and check.severity == "warning"
    assert finding in check.message


def test_git_clone_whose_history_is_removed_passes(tmp_path: Path) -> None:
    task_dir = _task(tmp_path)
    dockerfile = task_dir / "environment" / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text() + "RUN git clone https://example.com/r.git /src \\\n"
        "    && rm -rf /src/.git\n"
    )
    assert check_dockerfile(HarborTask.load(task_dir)).passed


def test_a_dockerfile_ignoring_the_base_image_argument_is_warned(tmp_path: Path) -> None:
    task_dir = _task(tmp_path)
    dockerfile = task_dir / "environment" / "Dockerfile"
    body = dockerfile.read_text().replace("FROM ${BASE_IMAGE}", "FROM python:3.12-slim")
    dockerfile.write_text(body)
    check = check_dockerfile(HarborTask.load(task_dir))
    assert check.severity == "warning" and "ignores kettle's base image" in check.message


def test_an_instruction_that_clarifies_the_users_request_keeps_it(tmp_path: Path) -> None:
    task_dir = _task(tmp_path)
    request = (task_dir / "instruction.md").read_text()
    (task_dir / "instruction.md").write_text(
        request + "\nTo be precise: calls that differ in any keyword value are different calls.\n"
    )
    check = check_instruction_keeps_request(
        HarborTask.load(task_dir), _hidden(task_dir, user_request=request)
    )
    assert check.passed, check.message
    assert check.evidence["kept_words"] == check.evidence["request_words"]


def test_an_instruction_rewritten_to_something_else_no_longer_carries_the_request(
    tmp_path: Path,
) -> None:
    task_dir = _task(tmp_path)
    request = (task_dir / "instruction.md").read_text()
    (task_dir / "instruction.md").write_text(
        "Improve the caching library's performance and add type hints everywhere.\n"
    )
    check = check_instruction_keeps_request(
        HarborTask.load(task_dir), _hidden(task_dir, user_request=request)
    )
    assert not check.passed and check.name == "static:instruction_request"
    assert "no longer carries the user's request" in check.message
    assert "keep the user's own words" in check.message.lower()
    assert check.evidence["missing"] and check.evidence["user_request"] == request
