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
from tests.fixtures.qualify_scenarios import (
    EXPECTED,
    FORMATS,
    SCENARIOS,
    SECRET,
    write_scenario_sessions,
)


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
