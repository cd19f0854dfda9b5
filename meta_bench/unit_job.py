"""One builder × seed × repeat as a unit of work: build the environment, then score it.

The same function runs in the driver's process (``--executor local``) or on a Ray node
with the unit's folder shipped there and back (``--executor ray``); the driver alone
writes the run's ledger. Hidden assets (variants, the upstream fix) travel inside the job
to the node's host process and, as everywhere, never into a builder's sandbox.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import KettleError
from harness.fsio import read_model, write_model, write_text_atomic
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.builders import Builder, BuildJob
from meta_bench.judge import AlignmentJudge
from meta_bench.materialize import materialize
from meta_bench.records import BuildOutcome, HiddenAssets, Seed, UnitReply
from meta_bench.score import (
    ScoreJob,
    qualification_check,
    score_environment,
    score_qualification_only,
)

BUILD_RECORD = "build.json"
CRASH_FILE = "crash.txt"


@dataclass(frozen=True)
class UnitJob:
    builder: Builder
    seed: Seed
    hidden: HiddenAssets  # variants and the ideal tests: for the scorer and the controls only
    repeat: int
    run_id: str
    reruns: int
    variant_reruns: int
    trial_workers: int
    judge: AlignmentJudge | None
    rebuild: bool = True  # False: the build is on record, only scoring is left
    probes: bool = True  # False: no exploit battery (M5 absent)


def run_unit(
    folder: Path,
    job: UnitJob,
    engine: DockerEngine,
    settings: Settings,
    *,
    on_built: Callable[[str], None] | None = None,
) -> UnitReply:
    """Build (unless on record) and score one unit in ``folder``; never raises for the
    unit's own failures, so one broken unit does not take the others down."""
    try:
        return _build_and_score(folder, job, engine, settings, on_built)
    except KettleError as error:
        return UnitReply.failed(error)
    except Exception as error:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / CRASH_FILE, traceback.format_exc())
        return UnitReply(
            status="failed",
            detail=f"internal error: {error!r}",
            line=f"[red]internal error[/red]: {error!r} (see {folder / CRASH_FILE})",
        )


def run_unit_here(folder: Path, job: UnitJob) -> UnitReply:
    """``run_unit`` with this node's own Docker engine and settings."""
    settings = Settings.from_env()
    engine = DockerEngine.connect()
    try:
        return run_unit(folder, job, engine, settings)
    finally:
        engine.close()


def _build_and_score(
    folder: Path,
    job: UnitJob,
    engine: DockerEngine,
    settings: Settings,
    on_built: Callable[[str], None] | None,
) -> UnitReply:
    materialized = materialize(job.seed, settings)
    build_path = folder / BUILD_RECORD
    if job.rebuild or not build_path.is_file():
        outcome = job.builder.build(
            BuildJob(
                job.seed,
                materialized,
                folder / "build",
                engine,
                settings,
                job.run_id,
                hidden=job.hidden,
            )
        )
        write_model(build_path, outcome)
        if on_built is not None:
            on_built(outcome.message)
    outcome = read_model(build_path, BuildOutcome)
    m0, check = qualification_check(job.seed, materialized, outcome)
    score_job = ScoreJob(
        builder=job.builder.name,
        seed=job.seed,
        materialized=materialized,
        variants=job.hidden.variants,
        task_dir=Path(outcome.task_dir) if outcome.task_dir else None,
        out_dir=folder / "score",
        repeat=job.repeat,
        reruns=job.reruns,
        variant_reruns=job.variant_reruns,
        workers=job.trial_workers,
        judge=job.judge,
        qualification=(m0, check),
        probes=None if job.probes else [],
    )
    if check is not None and (m0 == 0.0 or outcome.status == "refused"):
        score = score_qualification_only(score_job, m0 or 0.0, check, folder / "score")
    else:
        score = score_environment(score_job, engine, settings, run_id=job.run_id)
    score.cost.usd = outcome.cost_usd
    score.cost.prompt_tokens = outcome.prompt_tokens
    score.cost.completion_tokens = outcome.completion_tokens
    score.cost.build_wall_sec = outcome.wall_sec
    write_model(folder / "score" / "score.json", score)
    qualified = "" if score.m0_qualification is None else f"M0 {score.m0_qualification:.0f} "
    line = (
        f"EnvScore {score.env_score:.3f} ({qualified}M1 {score.m1_validity:.0f} "
        f"M4 {format_metric(score.m4_f1)} M5 {format_metric(score.m5_exploit_resistance)} "
        f"M6 {score.m6_leak_free:.0f} "
        f"M7 {score.m7_determinism:.0f})"
    )
    return UnitReply(status="done", detail=score.message, line=line)


def format_metric(value: float | None) -> str:
    """A metric for tables: two decimals, or a dash when it does not apply."""
    return "—" if value is None else f"{value:.2f}"
