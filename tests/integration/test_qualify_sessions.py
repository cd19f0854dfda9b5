"""Phase 1 through the command line: sessions in every real format, over real git
repositories, qualified by `python -m harness.build --stages qualify` with `baseline`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.fixtures.qualify_repos import SESSION_START, python_bugfix
from tests.fixtures.qualify_scenarios import (
    EXPECTED,
    FORMATS,
    SCENARIOS,
    SECRET,
    write_scenario_sessions,
)
from tests.fixtures.sessions import SessionSpec, write_claude_code_session


@pytest.fixture(scope="module")
def qualify_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, str]]:
    """Write every scenario in every format, qualify them all in one CLI run."""
    root = tmp_path_factory.mktemp("phase1")
    sessions, expected_by_workspace = write_scenario_sessions(root)
    run_dir = root / "run"
    completed = subprocess.run(
        [sys.executable, "-m", "harness.build", "--sessions", str(sessions), "--stages", "qualify",
         "--approve", "queue", "--out", str(run_dir), "-n", "4"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "KETTLE_HOME": str(root / "home")},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    by_candidate: dict[str, str] = {}
    for candidate in summary["candidates"]:
        stored = json.loads(
            (run_dir / "candidates" / candidate["candidate_id"] / "candidate.json").read_text()
        )
        workspace = stored.get("workspace_path") or stored.get("repo")
        by_candidate[candidate["candidate_id"]] = expected_by_workspace[workspace]
    return {"summary": summary, "run_dir": run_dir}, by_candidate


def test_every_format_and_scenario_became_a_candidate(qualify_run) -> None:
    result, by_candidate = qualify_run
    formats = {c["source_format"] for c in result["summary"]["candidates"]}
    assert formats == set(FORMATS)
    assert len(by_candidate) == len(FORMATS) * len(SCENARIOS)
    assert not result["summary"]["intake_errors"]


def test_baseline_classifies_every_scenario_right_with_its_reasons(qualify_run) -> None:
    result, by_candidate = qualify_run
    run_dir: Path = result["run_dir"]
    wrong = []
    for candidate in result["summary"]["candidates"]:
        scenario = by_candidate[candidate["candidate_id"]]
        verdict, codes = EXPECTED[scenario]
        qualification = json.loads(
            (run_dir / "candidates" / candidate["candidate_id"] / "qualification.json").read_text()
        )
        found = {f["code"] for f in qualification["disqualifiers"] + qualification["flags"]}
        if qualification["verdict"] != verdict or not codes <= found:
            wrong.append((candidate["source_format"], scenario, qualification["verdict"], found))
        assert all(check["reason"] for check in qualification["evidence"])
    assert not wrong, wrong


def test_secrets_never_reach_the_run_folder(qualify_run) -> None:
    result, _ = qualify_run
    run_dir: Path = result["run_dir"]
    for path in run_dir.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".html", ".md"):
            assert SECRET not in path.read_text(errors="replace"), path


def test_qualification_stops_after_the_qualify_stage(qualify_run) -> None:
    result, _ = qualify_run
    for candidate in result["summary"]["candidates"]:
        statuses = {stage["stage"]: stage["status"] for stage in candidate["stages"]}
        assert statuses["qualify"] == "done"
        assert statuses["reconstruct"] in ("pending", "skipped")


def _build(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.build", "--stages", "qualify", "--approve", "queue",
         *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "KETTLE_HOME": str(home)},
    )  # fmt: skip


def test_inputs_without_any_candidate_are_an_error_not_an_empty_run(tmp_path: Path) -> None:
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "broken.jsonl").write_text("{not json\n")
    for given in (tmp_path / "mistyped" / "path", unreadable):
        run_dir = tmp_path / f"run-{given.name}"
        completed = _build("--sessions", str(given), "--out", str(run_dir), home=tmp_path)
        assert completed.returncode != 0
        assert "no candidate in" in completed.stderr
        assert str(given) in completed.stderr
        assert not run_dir.exists()


def test_a_rerun_with_a_corrected_repo_map_requalifies_in_the_same_run_folder(
    tmp_path: Path,
) -> None:
    scenario = python_bugfix(tmp_path / "repos" / "calc")
    spec = SessionSpec.simple(
        "/home/alice/src/calc",
        scenario.candidate.first_prompt,
        files=["src/calc/parse.py"],
        started_at=SESSION_START,
    )
    write_claude_code_session(tmp_path / "projects", spec)
    run_dir = tmp_path / "run"
    wrong = _build(
        "--sessions", str(tmp_path / "projects"), "--out", str(run_dir),
        "--repo-map", f"/home/alice/src={tmp_path / 'nowhere'}", home=tmp_path,
    )  # fmt: skip
    assert wrong.returncode == 0, wrong.stderr
    [first] = json.loads((run_dir / "summary.json").read_text())["candidates"]
    assert first["verdict"] == "disqualified"
    fixed = _build(
        "--out", str(run_dir), "--repo-map", f"/home/alice/src={tmp_path / 'repos'}",
        home=tmp_path,
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    assert "requalifying 1 candidate(s)" in fixed.stderr
    [again] = json.loads((run_dir / "summary.json").read_text())["candidates"]
    assert again["verdict"] == "qualified"
    qualification = json.loads(
        (run_dir / "candidates" / again["candidate_id"] / "qualification.json").read_text()
    )
    assert qualification["fix_commit"] == scenario.shas["fix"]
