"""One build run of the factory: sessions in, validated Harbor tasks out (``harness.build``).

``run_build`` settles the run's inputs (a rerun of a run folder re-reads the inputs it
recorded; a new run without inputs builds the bundled examples), opens the run's ledger,
loads the sessions, drives every candidate through the stages (``Pipeline``), and writes
summary.json and report.html, also when the run is interrupted.

A rerun may change what decides qualification without a new run folder: a different
``--repo-map``, or ``--requalify``, takes every candidate back to the start with its
session read afresh (earlier decisions at the gates no longer count: they were about the
old qualification). Inputs that yield no candidate at all are an error naming why, not an
empty run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agents.context import CandidateWorkspace
from agents.factory.approvals import ApprovalGate
from agents.factory.ledger import Ledger
from agents.factory.pipeline import Pipeline
from agents.factory.policies import make_policies
from agents.factory.records import BuildConfig, StageOutcome
from agents.factory.summary import summarize_run
from harness.errors import ConfigError
from harness.executors.base import Executor, ExecutorConfig, make_executor
from harness.fsio import write_model
from harness.llm import BASELINE
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from tools.report.html import write_reports
from tools.report.records import BuildSummary
from tools.repos.examples import ensure_example_repos, example_repo_map
from tools.sessions.intake import IntakeError, IntakeResult, load_sessions
from tools.sessions.records import Candidate

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SESSIONS = REPO_ROOT / "examples" / "sessions"


def run_build(
    config: BuildConfig,
    run_dir: Path,
    executor_config: ExecutorConfig,
    *,
    concurrency_given: bool,
    console: Console,
    candidates: list[Candidate] | None = None,
) -> BuildSummary:
    """Build every candidate of ``config`` into ``run_dir`` (resumed if it exists).

    ``candidates`` given (a replay) are built instead of the sessions of ``config.inputs``.
    """
    if config.model:
        config.model.require_api_key()
        require_countable_budget(config)
    settings = Settings.from_env()
    engine = DockerEngine.connect()
    runner: Executor | None = None
    ledger: Ledger | None = None
    new_run = not run_dir.exists()
    try:
        # The cluster first: an unreachable one must not leave a run folder behind.
        runner = make_executor(executor_config, run_id=config.run_id)
        ledger = Ledger(run_dir)
        if settings.reap_at_start:
            engine.reap_orphans()  # containers a crashed earlier run left behind
        stored = ledger.config()
        given_map = dict(config.repo_map)
        if candidates is None:
            _settle_inputs(config, stored, settings, console)
        requalify = config.requalify or _repo_map_changed(stored, given_map)
        ledger.set_meta("config", config.model_copy(update={"requalify": False}).model_dump_json())
        policies = make_policies(
            config.model,
            max_steps=config.max_steps,
            role_budget_usd=config.role_budget_usd,
            role_budget_tokens=config.role_budget_tokens,
            replay=config.replay_of is not None,
        )
        gate = ApprovalGate(config.approve, ledger, console=console)
        if gate.mode != config.approve:
            console.print(
                "[yellow]no terminal: approvals are queued (python -m harness.approve)[/yellow]"
            )
        if not concurrency_given:
            config.concurrency = runner.slots()
        pipeline = Pipeline(
            config, run_dir, policies, engine, settings, ledger, gate,
            executor=runner, on_stage=_stage_printer(console),
        )  # fmt: skip
        loaded = (
            IntakeResult(candidates=candidates)
            if candidates is not None
            else load_sessions(
                [Path(path) for path in config.inputs],
                config.repo_map,
                format_hint=config.source_format,  # type: ignore[arg-type]
            )
        )
        for error in loaded.errors:
            console.print(f"[red]skipped[/red] {error.source}: {error.message}", highlight=False)
        if not loaded.candidates and not ledger.candidate_ids():
            raise _nothing_to_build(config, loaded.errors)
        if requalify:
            _start_over(run_dir, ledger, loaded.candidates, console)
        todo = pipeline.register(loaded.candidates)
        known = {candidate.id for candidate in todo}
        # Candidates of earlier runs whose sessions are gone still finish.
        todo += [c for c in pipeline.stored_candidates() if c.id not in known]
        console.print(
            f"kettle build: {len(todo)} candidate(s), builder {policies.builder_name}, "
            f"executor {runner.name} ({config.concurrency} at once), run folder {run_dir}"
        )
        try:
            pipeline.run(todo)
        finally:
            summary = summarize_run(
                run_dir, ledger, config.run_id, policies.builder_name, loaded.errors
            )
            summary_path, report_path = write_reports(run_dir, summary)
    except NothingToBuildError:
        if ledger is not None:
            ledger.close()
            ledger = None
        if new_run:
            shutil.rmtree(run_dir, ignore_errors=True)  # the folder this call created
        raise
    finally:
        if runner is not None:
            runner.close()
        if ledger is not None:
            ledger.close()
        engine.close()
    Console().print(summary_table(summary))
    console.print(f"summary: {summary_path}\nreport:  {report_path}")
    if pipeline.out_of_time:
        console.print(
            f"[yellow]the run's wall-time budget (--budget-minutes) ended it[/yellow]: "
            f"rerun with --out {run_dir} to continue"
        )
    if summary.counts.get("parked"):
        console.print(
            f"{summary.counts['parked']} candidate(s) wait for a reviewer: "
            f"python -m harness.approve {run_dir}, then rerun with --out {run_dir}"
        )
    return summary


def require_countable_budget(config: BuildConfig) -> None:
    """A dollar budget over calls nobody can price would silently not hold: refuse it."""
    model = config.model
    wants_dollars = config.budget_usd is not None or config.role_budget_usd is not None
    if model is None or not wants_dollars or model.price_known():
        return
    if config.budget_tokens is not None and config.role_budget_usd is None:
        return  # the token budget holds where dollars cannot be counted
    option = "--budget-usd" if config.budget_usd is not None else "--role-budget-usd"
    raise ConfigError(
        f"{option} cannot be held: no price is known for {model.requested}",
        "give its price with --price-in/--price-out (USD per million tokens) or --prices "
        "FILE, or cap tokens with --budget-tokens instead",
    )


def _settle_inputs(
    config: BuildConfig, stored: dict[str, object], settings: Settings, console: Console
) -> None:
    """A rerun without inputs reads the run's own inputs again; a new run without inputs
    builds the bundled examples over team-written repositories."""
    if stored:
        stored_model = BuildConfig.model_validate({**stored, "run_id": config.run_id}).model
        if _model_name(stored_model) != _model_name(config.model):
            raise ConfigError(
                f"this run folder was built with --model {_model_name(stored_model)}",
                "use the same --model to resume, or a new --out",
            )
    if not config.inputs and stored.get("inputs"):
        config.inputs = list(stored["inputs"])  # type: ignore[call-overload]
        config.repo_map = {**dict(stored.get("repo_map") or {}), **config.repo_map}  # type: ignore[call-overload]
        config.source_format = config.source_format or stored.get("source_format")  # type: ignore[assignment]
    if not config.inputs:
        console.print(f"no sessions given: building the bundled examples ({EXAMPLE_SESSIONS})")
        config.inputs = [str(EXAMPLE_SESSIONS)]
    if str(EXAMPLE_SESSIONS) in config.inputs:
        repos_dir = settings.home / "example-repos"
        ensure_example_repos(repos_dir)
        config.repo_map = {**example_repo_map(repos_dir), **config.repo_map}


class NothingToBuildError(ConfigError):
    """The inputs yielded no candidate at all."""


def _nothing_to_build(config: BuildConfig, errors: list[IntakeError]) -> NothingToBuildError:
    reasons = "; ".join(error.message for error in errors[:3])
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    given = ", ".join(config.inputs[:3]) or "no inputs"
    return NothingToBuildError(
        f"no candidate in {given}: " + (reasons + more if errors else "no sessions found there"),
        "check the paths given to --sessions / --candidates",
    )


def _repo_map_changed(stored: dict[str, object], given: dict[str, str]) -> bool:
    """A rerun given a --repo-map entry that the run was not built with."""
    if not stored or not given:
        return False
    before = dict(stored.get("repo_map") or {})  # type: ignore[call-overload]
    return any(before.get(old) != new for old, new in given.items())


def _start_over(
    run_dir: Path, ledger: Ledger, candidates: list[Candidate], console: Console
) -> None:
    """Qualify again from fresh intake: every stage of every known candidate goes back to
    pending; the candidates read now replace their stored records."""
    fresh = {candidate.id: candidate for candidate in candidates}
    known = ledger.candidate_ids()
    for candidate_id in {*known, *fresh}:
        workspace = CandidateWorkspace(run_dir, candidate_id)
        if candidate_id in fresh:
            write_model(workspace.candidate_path, fresh[candidate_id])
        workspace.qualification_path.unlink(missing_ok=True)
        for record in ledger.stages(candidate_id):
            ledger.finish(candidate_id, record.stage, "pending", detail="requalify")
    console.print(f"requalifying {len({*known, *fresh})} candidate(s) from the start")


def _model_name(model: object) -> str:
    return getattr(model, "requested", None) or BASELINE


def _stage_printer(console: Console) -> Callable[[str, str, StageOutcome, float], None]:
    def printed(candidate_id: str, stage: str, outcome: StageOutcome, duration: float) -> None:
        color = {"done": "green", "failed": "red", "parked": "yellow"}[outcome.status]
        detail = f" — {outcome.detail}" if outcome.detail else ""
        console.print(
            f"  {candidate_id} [{color}]{stage} {outcome.status}[/{color}] "
            f"({duration:.1f}s){detail}",
            highlight=False,
            soft_wrap=True,
        )

    return printed


def summary_table(summary: BuildSummary) -> Table:
    table = Table(title=f"kettle build {summary.run_id} — {summary.builder}")
    for column in ("candidate", "verdict", "state", "time", "cost", "task"):
        table.add_column(column)
    for candidate in summary.candidates:
        cost = f"${candidate.cost_usd:.4f}" if candidate.cost_usd is not None else "-"
        task = Path(candidate.published).name if candidate.published else ""
        table.add_row(
            candidate.candidate_id,
            candidate.verdict or "-",
            candidate.state,
            f"{candidate.duration_sec:.0f}s",
            cost,
            task,
        )
    counts = ", ".join(f"{key} {value}" for key, value in summary.counts.items())
    table.caption = counts
    return table
