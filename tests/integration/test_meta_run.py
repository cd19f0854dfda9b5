"""A small offline meta-benchmark run: baseline, null and reference on one seed, with the
leaderboard written, rendered in headless Chromium, and resumed without redoing work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from harness.machine.browser import ensure_chromium
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.builders import make_builder
from meta_bench.materialize import SEEDS_DIR
from meta_bench.records import RunOptions
from meta_bench.run import MetaRun

SEED = "timebox-compound-durations"


def meta_run(out: Path, engine: DockerEngine, run_id: str) -> MetaRun:
    options = RunOptions(
        builders=["baseline", "null", "reference"],
        seeds_dir=str(SEEDS_DIR),
        seeds=[SEED],
        concurrency=2,
        reruns=2,
        variant_reruns=1,
    )
    builders = [make_builder(name) for name in options.builders]
    return MetaRun(
        out,
        options,
        builders,
        engine,
        Settings.from_env(),
        command="pytest",
        run_id=run_id,
        console=Console(quiet=True),
    )


@pytest.mark.slow
def test_null_scores_zero_and_baseline_and_reference_score_above_zero(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    ensure_chromium(lambda _message: None)
    out = tmp_path / "meta"
    board = meta_run(out, docker_engine, test_run_id).run()
    rows = {row.builder: row for row in board.rows}
    assert [row.builder for row in board.rows][-2:] == ["reference", "null"]
    assert rows["null"].meta_score == 0.0 and rows["null"].rank is None
    assert rows["baseline"].meta_score and rows["baseline"].meta_score > 0
    assert rows["baseline"].rank == 1
    assert rows["reference"].meta_score and rows["reference"].meta_score > 0
    null_cell = rows["null"].cells[0]
    assert "start" in {check.name for check in null_cell.failed_checks}
    assert rows["baseline"].info.code_revision and rows["baseline"].cost.usd == 0.0
    for name in ("leaderboard.json", "leaderboard.md", "leaderboard.html", "run.json"):
        assert (out / name).is_file(), name
    assert board.render_check is not None and board.render_check.passed, board.render_check
    assert "Chromium" in (board.render_check.browser or "")
    saved = json.loads((out / "leaderboard.json").read_text())
    assert saved["render_check"]["passed"] is True
    for name in ("baseline", "null", "reference"):
        folder = out / name / SEED / "r1"
        assert (folder / "build.json").is_file() and (folder / "score" / "score.json").is_file()

    again = meta_run(out, docker_engine, test_run_id)
    assert [unit.attempts for unit in again.ledger.units()] == [1, 1, 1]
    rerun = again.run()
    assert [unit.attempts for unit in again.ledger.units()] == [1, 1, 1]
    assert [r.meta_score for r in rerun.rows] == [r.meta_score for r in board.rows]
