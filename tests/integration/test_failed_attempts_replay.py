"""The session's own failed attempt, replayed in validation (real Docker, real verifier).

A Claude Code session over the stash example: the agent drops the sorting of keyword
names (wrong: values still do not count), the user interrupts it, the agent then writes
the real fix. The interrupted work is rebuilt on the start commit and replayed: the
example's verifier scores it 0; a too-weak verifier that only checks that keys.py changed
rewards it, and validation fails naming the attempt.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.factory.stages import session_near_misses
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from tests.conftest import EXAMPLE_TASKS, TEST_RUN_ID
from tests.fixtures.sessions import Edit, Interrupt, Prompt, SessionSpec, write_session
from tools.repos.builder import build_repo
from tools.repos.git import open_repo
from tools.repos.records import CommitSpec
from tools.sessions.intake import load_sessions
from tools.validation.records import HiddenFacts, NearMiss
from tools.validation.validate import validate_task

TASK = EXAMPLE_TASKS / "stash-kwargs-cache-key"
ORIGINAL = "key += _KWARGS_MARK + tuple(sorted(kwargs))"
WRONG = "key += _KWARGS_MARK + tuple(kwargs)"
RIGHT = "key += _KWARGS_MARK + tuple(sorted(kwargs.items()))"
WEAK_TEST = """#!/bin/bash
# Too weak: rewards any change to keys.py, whatever it does.
mkdir -p /logs/verifier
if cmp -s /app/src/stash/keys.py /tests/keys_start.py; then
    echo 0 > /logs/verifier/reward.txt
else
    echo 1 > /logs/verifier/reward.txt
fi
"""


@pytest.fixture(scope="module")
def near_misses(tmp_path_factory: pytest.TempPathFactory) -> list[NearMiss]:
    """The session, read by intake; its failed attempt, rebuilt on the start commit."""
    root = tmp_path_factory.mktemp("replay")
    app = TASK / "environment" / "app"
    files = {
        path.relative_to(app).as_posix(): path.read_text()
        for path in app.rglob("*")
        if path.is_file()
    }
    [start] = build_repo(root / "stash", [CommitSpec(message="stash 1.0", files=files)])
    spec = SessionSpec(
        workspace="/home/alice/src/stash",
        started_at=datetime(2025, 1, 10, 10, 0, tzinfo=UTC),
        steps=[
            Prompt(text="Cached calls ignore the values of keyword arguments."),
            Edit(path="src/stash/keys.py", old=ORIGINAL, new=WRONG),
            Interrupt(),
            Prompt(text="No: f(a=1) and f(a=2) must get different keys."),
            Edit(path="src/stash/keys.py", old=WRONG, new=RIGHT),
        ],
    )
    write_session("claude_code", root / "sessions", spec)
    [candidate] = load_sessions([root / "sessions"]).candidates
    with open_repo(str(root / "stash"), root / "cache") as repo:
        return session_near_misses(candidate, repo, start)


def _validate(engine: DockerEngine, task: Path, out: Path, near: list[NearMiss]):
    return validate_task(
        engine,
        Settings.from_env(),
        task,
        hidden=HiddenFacts(near_misses=near),
        out_dir=out,
        run_id=TEST_RUN_ID,
        repeats=1,
        checks={"start_state", "oracle", "replay"},
    )


def test_the_interrupted_work_is_the_near_miss(near_misses: list[NearMiss]) -> None:
    [near] = near_misses
    assert near.name == "failed_attempt_1"
    assert WRONG in (near.files["src/stash/keys.py"] or "")
    assert "interrupt" in near.note


def test_the_failed_attempt_scores_zero_under_the_published_verifier(
    docker_engine: DockerEngine, near_misses: list[NearMiss], tmp_path: Path
) -> None:
    report = _validate(docker_engine, TASK, tmp_path / "out", near_misses)
    replay = report.check("replay:failed_attempt_1")
    assert replay.passed, replay.message
    assert replay.evidence["reward"] == 0.0
    assert report.passed


def test_a_verifier_too_weak_to_reject_the_failed_attempt_is_caught(
    docker_engine: DockerEngine, near_misses: list[NearMiss], tmp_path: Path
) -> None:
    weak = tmp_path / "weak"
    shutil.copytree(TASK, weak)
    (weak / "tests" / "test.sh").write_text(WEAK_TEST)
    shutil.copy(
        TASK / "environment" / "app" / "src" / "stash" / "keys.py", weak / "tests" / "keys_start.py"
    )
    report = _validate(docker_engine, weak, tmp_path / "out", near_misses)
    assert report.check("oracle").passed and report.check("start_state").passed
    replay = report.check("replay:failed_attempt_1")
    assert not replay.passed
    assert "too weak" in replay.message and "interrupt" in replay.message
    assert not report.passed
