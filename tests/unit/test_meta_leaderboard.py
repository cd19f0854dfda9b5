"""The leaderboard: ranking on the common seeds, reference, control and calibration rows,
n/a and failed units, per-class results, intervals and paired comparisons, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meta_bench.leaderboard import build_leaderboard, render_markdown, write_leaderboard
from meta_bench.ledger import RunLedger
from meta_bench.records import (
    BuilderInfo,
    BuildOutcome,
    ClassResult,
    EnvScore,
    ScoreCheck,
    SeedInfo,
    UnitResult,
)

SEEDS = [
    SeedInfo(id=f"seed-{n}", title=f"seed {n}", language=lang, kind="example", visibility=vis)
    for n, lang, vis in ((1, "python", "factory"), (2, "javascript", "factory"),
                         (3, "python", "intent_only"))
]  # fmt: skip


def info(name: str, role: str = "contestant", kind: str = "baseline") -> BuilderInfo:
    return BuilderInfo(
        name=name,
        role=role,
        kind=kind,
        kettle_version="0.1.0",
        code_revision="abc",  # type: ignore[arg-type]
    )


def scored(
    builder: str, seed: str, value: float, *, failing: str | None = None, repeat: int = 1
) -> UnitResult:
    score = EnvScore(
        repeat=repeat,
        classes={
            "correct_accepted": ClassResult(total=2, right=2),
            "correct_rejected": ClassResult(total=2, right=round(2 * value)),
            "wrong_missed": ClassResult(total=2, right=0),
        },
        builder=builder,
        seed_id=seed,
        status="scored",
        m1_validity=1.0,
        m2_recall=value,
        m3_kill_rate=1.0,
        m4_f1=value,
        m5_exploit_resistance=1.0,
        m6_leak_free=1.0,
        m7_determinism=1.0,
        env_score=value,
        message=f"EnvScore {value}",
    )
    if failing:
        score.checks.append(
            ScoreCheck(name=failing, metric="M2", passed=False, message="rejected",
                       evidence={"verifier_output": "AssertionError: helper name"})
        )  # fmt: skip
    build = BuildOutcome(builder=builder, seed_id=seed, status="built", cost_usd=0.5, wall_sec=60)
    return UnitResult(
        builder=builder, seed_id=seed, repeat=repeat, state="scored", build=build, score=score
    )


def units() -> list[UnitResult]:
    return [
        scored("baseline", "seed-1", 1.0),
        scored("baseline", "seed-2", 0.5, failing="correct:other_names"),
        UnitResult(
            builder="baseline",
            seed_id="seed-3",
            repeat=1,
            state="not_applicable",
            detail="intent_only",
        ),
        scored("gpt-x", "seed-1", 0.25),
        UnitResult(builder="gpt-x", seed_id="seed-2", repeat=1, state="failed", detail="boom"),
        scored("gpt-x", "seed-3", 0.75),
        scored("reference", "seed-1", 1.0),
        scored("reference", "seed-2", 1.0),
        scored("reference", "seed-3", 1.0),
        scored("null", "seed-1", 0.0),
        scored("null", "seed-2", 0.0),
        scored("null", "seed-3", 0.0),
    ]


def board():  # type: ignore[no-untyped-def]
    builders = [
        info("null", "control", "null"),
        info("reference", "reference", "reference"),
        info("gpt-x", kind="model"),
        info("baseline"),
    ]
    return build_leaderboard("run-1", "python -m meta_bench.run ...", SEEDS, builders, units())


def test_contestants_are_ranked_and_reference_and_control_rows_are_not() -> None:
    rows = board().rows
    assert [(r.builder, r.rank) for r in rows] == [
        ("baseline", 1),
        ("gpt-x", 2),
        ("reference", None),
        ("null", None),
    ]


def test_every_row_is_scored_on_the_seeds_every_builder_applies_to() -> None:
    whole = board()
    assert whole.common_seeds == ["seed-1", "seed-2"]  # baseline does not apply to seed-3
    baseline, _model, reference, null = whole.rows
    assert baseline.meta_score == 0.75 and baseline.own_score == 0.75
    assert reference.meta_score == 1.0 and null.meta_score == 0.0
    assert baseline.seeds_scored == 2 and baseline.seeds_not_applicable == 1
    assert baseline.ci_low is not None and baseline.ci_low <= 0.75 <= baseline.ci_high  # type: ignore[operator]
    assert baseline.cost.usd == 1.0 and baseline.cost.build_wall_sec == 120


def test_a_failed_unit_counts_zero_and_is_shown_as_failed() -> None:
    model = board().rows[1]
    assert model.seeds_failed == 1
    assert model.meta_score == 0.125  # (0.25 + 0) / 2 on the common seeds
    assert model.own_score == pytest.approx((0.25 + 0 + 0.75) / 3)
    failed = next(c for c in model.cells if c.seed_id == "seed-2")
    assert failed.state == "failed" and failed.env_score == 0.0 and failed.detail == "boom"


def test_a_failed_repeat_counts_zero_within_its_seed() -> None:
    units = [
        scored("gpt-x", "seed-1", 1.0, repeat=1),
        UnitResult(builder="gpt-x", seed_id="seed-1", repeat=2, state="failed", detail="lost"),
    ]
    row = build_leaderboard("r", "c", SEEDS[:1], [info("gpt-x", kind="model")], units).rows[0]
    cell = row.cells[0]
    assert cell.env_score == 0.5 and cell.failed_repeats == 1 and cell.repeats == [1.0]
    assert row.meta_score == 0.5 and "lost" in cell.detail


def test_per_class_results_show_which_class_a_builder_loses_on() -> None:
    baseline = board().rows[0]
    assert baseline.classes["correct_accepted"] == 1.0
    assert baseline.classes["correct_rejected"] == 0.75  # 2/2 on seed-1, 1/2 on seed-2
    assert baseline.classes["wrong_missed"] == 0.0
    assert baseline.classes["wrong_caught"] is None  # no seed has one
    cell = next(c for c in baseline.cells if c.seed_id == "seed-2")
    assert cell.classes["correct_rejected"].right == 1


def test_rows_are_compared_with_the_reference_and_with_the_next_contestant_down() -> None:
    whole = board()
    pairs = {(c.a, c.b): c for c in whole.comparisons}
    assert set(pairs) == {
        ("reference", "baseline"),
        ("reference", "gpt-x"),
        ("reference", "null"),
        ("baseline", "gpt-x"),
    }
    versus_null = pairs[("reference", "null")]
    assert versus_null.diff == 1.0 and versus_null.significant and versus_null.seeds == 2
    assert pairs[("baseline", "gpt-x")].diff == pytest.approx(0.625)


def test_a_failed_check_keeps_its_evidence_in_the_drill_down() -> None:
    baseline = board().rows[0]
    cell = next(c for c in baseline.cells if c.seed_id == "seed-2")
    assert cell.failed_checks[0].name == "correct:other_names"
    assert "helper name" in cell.failed_checks[0].evidence


def test_markdown_html_and_json_are_written_from_the_same_board(tmp_path: Path) -> None:
    paths = write_leaderboard(board(), tmp_path)
    markdown = paths["md"].read_text()
    assert "| 1 | `baseline` | contestant | 0.750 [" in markdown
    assert "| seed-3 (python) | n/a | 0.750 | 1.000 | 0.000 |" in markdown
    assert "| seed-2 (javascript) | 0.500 | 0.000 (failed) | 1.000 | 0.000 |" in markdown
    assert "## Paired comparisons" in markdown and "| `reference` | `null` | +1.000" in markdown
    assert render_markdown(board()).splitlines()[4:] == markdown.splitlines()[4:]
    html = paths["html"].read_text()
    assert html.count('data-builder="') == 4 and "<script>" in html
    assert 'id="comparisons"' in html and 'data-class="correct_rejected"' in html
    assert json.loads(paths["json"].read_text())["rows"][0]["builder"] == "baseline"


def test_the_run_ledger_resumes_interrupted_units_and_keeps_finished_ones(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path)
    ledger.add("baseline", "seed-1", 1)
    ledger.add("baseline", "seed-2", 1)
    ledger.mark("baseline", "seed-1", 1, "building")
    ledger.mark("baseline", "seed-1", 1, "done", "EnvScore 1")
    ledger.mark("baseline", "seed-2", 1, "building")
    ledger.mark("baseline", "seed-2", 1, "failed", "boom")
    ledger.close()
    again = RunLedger(tmp_path)
    again.add("baseline", "seed-1", 1)
    assert again.unit("baseline", "seed-1", 1).status == "done"
    assert again.unit("baseline", "seed-1", 1).attempts == 1
    assert again.reopen_failed() == 1
    assert again.unit("baseline", "seed-2", 1).status == "pending"


def test_a_seed_that_cannot_be_fetched_is_skipped_with_its_reason_never_scored(
    tmp_path: Path,
) -> None:
    whole = board()
    whole.skipped_seeds = {"far-away": "cannot clone https://example.invalid/x: no network"}
    markdown = write_leaderboard(whole, tmp_path)["md"].read_text()
    assert "- far-away: cannot clone https://example.invalid/x: no network" in markdown
    assert "far-away" not in {seed.id for seed in whole.seeds}
    assert "far-away" in (tmp_path / "leaderboard.html").read_text()
