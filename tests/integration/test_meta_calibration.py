"""Calibration: builders with known defects must land where their defects put them.

On a small slice of the starter pack (two team-written seeds, Python and JavaScript, each
presented as a session over a history with a fix-worded distractor, five variants of the
four classes, no exploit battery), the reference, the ideal control, null and the five
calibration builders are built, scored and ranked for real. The ideal control must beat
the reference, and the reference must beat every calibration builder, each by a paired
comparison that is significant (its interval excludes 0), because every defect shows on
every seed of the slice; the per-class results must say which class each one loses on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.builders import make_builder
from meta_bench.controls import CALIBRATION
from meta_bench.records import RunOptions
from meta_bench.run import MetaRun
from tests.fixtures.meta_seeds import session_seed


@pytest.mark.slow
@pytest.mark.timeout(3600)  # 16 units, about 90 trials: minutes on a quiet machine
def test_the_leaderboard_orders_the_calibration_builders_as_their_defects_imply(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    seeds = tmp_path / "seeds"
    session_seed(seeds, "timebox-compound-durations", "claude_code")
    session_seed(seeds, "pagewise-last-page", "codex")
    names = ["reference", "ideal", "null", *CALIBRATION]
    options = RunOptions(
        builders=names,
        seeds_dir=str(seeds),
        concurrency=2,
        reruns=2,
        # Every defect shows on every variant it concerns, so one run of each suffices; the
        # start and the oracle run twice, where cal-flaky's disagreement must show.
        variant_reruns=1,
        probes=False,
    )
    settings = Settings.from_env().model_copy(update={"home": tmp_path / "home"})
    run = MetaRun(
        tmp_path / "meta",
        options,
        [make_builder(name) for name in names],
        docker_engine,
        settings,
        command="pytest",
        run_id=test_run_id,
        console=Console(quiet=True),
    )
    board = run.run()
    rows = {row.builder: row for row in board.rows}
    score = {name: row.meta_score for name, row in rows.items()}
    pairs = {(c.a, c.b): c for c in board.comparisons}

    assert len(board.common_seeds) == 2 and all(r.seeds_failed == 0 for r in board.rows)
    assert score["null"] == 0.0
    assert score["ideal"] == pytest.approx(1.0)
    assert pairs[("ideal", "reference")].diff > 0 and pairs[("ideal", "reference")].significant
    for name in CALIBRATION:
        comparison = pairs[("reference", name)]
        assert comparison.diff > 0 and comparison.significant, (name, comparison, score)
        assert comparison.p_a_not_better == 0.0

    # Which class each one loses on.
    assert rows["reference"].classes == {
        "correct_accepted": 1.0,
        "correct_rejected": 0.0,
        "wrong_caught": 1.0,
        "wrong_missed": 0.0,
    }
    assert set(rows["ideal"].classes.values()) == {1.0}
    assert rows["cal-overprescriptive"].classes["correct_accepted"] == 0.0  # other layouts
    assert rows["cal-weak"].classes["wrong_caught"] == 0.0  # only the start state fails
    assert rows["cal-weak"].classes["correct_rejected"] == 1.0
    assert rows["cal-leaky"].metrics["M6"] == 0.0 and rows["cal-leaky"].metrics["M2"] is not None
    # Three verdicts in four thrown away: repeated states disagree (M7) or the oracle fails
    # (M1) on some seed; both whole would take all four oracle runs passing (p = 1/256).
    assert rows["cal-flaky"].metrics["M7"] < 1.0 or rows["cal-flaky"].metrics["M1"] < 1.0
    assert rows["cal-wrong-fix"].qualification == 0.0
    assert all(rows[name].qualification == 1.0 for name in ("reference", "ideal", "cal-weak"))
    wrong_fix = rows["cal-wrong-fix"].cells[0]
    assert any("distractor" in check.message for check in wrong_fix.failed_checks)
