"""python -m harness.build — the factory: agent sessions in, validated Harbor tasks out.

    python -m harness.build                                  # the bundled examples, baseline
    python -m harness.build --sessions ~/.claude/projects --model gemini-3 --out runs/r1 -n 4
    python -m harness.build --out runs/r1                    # resume an interrupted run
    python -m harness.build --executor ray --ray-address auto --out runs/r1   # on a cluster

Stages per candidate: qualify -> [approval] -> reconstruct -> verifier -> validate ->
[approval] -> publish into RUN_DIR/tasks/<task-id>/. Progress, decisions and costs are in
RUN_DIR/ledger.sqlite; RUN_DIR/summary.json and RUN_DIR/report.html say what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from agents.factory.approvals import ApprovalGate
from agents.factory.ledger import Ledger
from agents.factory.pipeline import BuildConfig, Pipeline
from agents.factory.policies import make_policies
from agents.factory.stages import STAGES, StageOutcome
from harness.cli import run_cli
from harness.errors import ConfigError
from harness.executors.base import Executor, ExecutorConfig, make_executor
from harness.llm import BASELINE, require_api_key
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from tools.report.html import BuildSummary, summarize_run, write_reports
from tools.repos.examples import ensure_example_repos, example_repo_map
from tools.sessions.intake import load_sessions
from tools.sessions.workspace import parse_repo_map

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SESSIONS = REPO_ROOT / "examples" / "sessions"


@app.command()
def main(
    sessions: list[Path] = typer.Option(
        [], "--sessions", "-s", help="Session files or folders (Cline, Claude Code, Codex)."
    ),
    candidates: Path | None = typer.Option(
        None, "--candidates", help="A candidates.jsonl file (docs/candidates-format.md)."
    ),
    model: str = typer.Option(
        BASELINE, "--model", "-m", help="baseline, an alias, or litellm name."
    ),
    api_base: str | None = typer.Option(None, "--api-base", help="OpenAI-compatible endpoint."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run folder (resumed if it exists)."),
    concurrency: int | None = typer.Option(
        None, "-n", "--concurrency", min=1, help="Candidates at once (ray: all slots)."
    ),
    executor: str = typer.Option("local", "--executor", help="local | ray"),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster (auto, HOST:6379); none: a private one."
    ),
    approve: str = typer.Option("prompt", "--approve", help="prompt | auto | queue"),
    budget_usd: float | None = typer.Option(None, "--budget-usd", help="Model spend cap."),
    budget_minutes: float | None = typer.Option(
        None, "--budget-minutes", help="Wall-time cap for the run; a rerun continues."
    ),
    stages: str = typer.Option("publish", "--stages", help="Last stage to run, e.g. qualify."),
    repo_map: list[str] = typer.Option([], "--repo-map", help="OLD=NEW workspace mapping."),
    source_format: str | None = typer.Option(None, "--format", help="cline | roo | kilo | ..."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Validation repeats."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Repeat failed stages."),
    max_steps: int = typer.Option(60, "--max-steps", min=1, help="Model turns per agent."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Turn agent sessions into validated Harbor tasks."""
    console = Console(stderr=True)

    def work() -> None:
        config, run_dir = _resolve_inputs(
            sessions, candidates, out, repo_map, model, api_base, concurrency or 1, approve,
            budget_usd, budget_minutes, stages, repeats, retry_failed, max_steps, source_format,
        )  # fmt: skip
        executor_config = _executor_config(executor, ray_address, concurrency)
        if config.model:
            require_api_key(config.model, config.api_base)
        settings = Settings.from_env()
        engine = DockerEngine.connect()
        runner: Executor | None = None
        ledger: Ledger | None = None
        try:
            # The cluster first: an unreachable one must not leave a run folder behind.
            runner = make_executor(executor_config, run_id=config.run_id)
            ledger = Ledger(run_dir)
            engine.reap_orphans()  # containers a crashed earlier run left behind
            _settle_inputs(config, ledger.config(), console)
            ledger.set_meta("config", config.model_dump_json())
            policies = make_policies(
                config.model, api_base=config.api_base, max_steps=config.max_steps
            )
            gate = ApprovalGate(config.approve, ledger, console=console)
            if gate.mode != config.approve:
                console.print(
                    "[yellow]no terminal: approvals are queued (python -m harness.approve)[/yellow]"
                )
            if concurrency is None:
                config.concurrency = runner.slots()
            pipeline = Pipeline(
                config, run_dir, policies, engine, settings, ledger, gate,
                executor=runner, on_stage=_stage_printer(console),
            )  # fmt: skip
            loaded = load_sessions(
                [Path(path) for path in config.inputs],
                config.repo_map,
                format_hint=config.source_format,  # type: ignore[arg-type]
            )
            for error in loaded.errors:
                console.print(
                    f"[red]skipped[/red] {error.source}: {error.message}", highlight=False
                )
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

    run_cli(work, debug=debug)


def _resolve_inputs(
    sessions: list[Path],
    candidates: Path | None,
    out: Path | None,
    repo_map: list[str],
    model: str,
    api_base: str | None,
    concurrency: int,
    approve: str,
    budget_usd: float | None,
    budget_minutes: float | None,
    stages: str,
    repeats: int,
    retry_failed: bool,
    max_steps: int,
    source_format: str | None,
) -> tuple[BuildConfig, Path]:
    if approve not in ("prompt", "auto", "queue"):
        raise ConfigError(f"--approve {approve!r} is not one of prompt, auto, queue")
    if stages not in STAGES:
        raise ConfigError(
            f"--stages {stages!r} is not a stage", f"choose one of: {', '.join(STAGES)}"
        )
    run_dir = out or Path("runs") / datetime.now().strftime("%Y-%m-%d__%H-%M-%S")
    config = BuildConfig(
        run_id=run_dir.name,
        inputs=[str(path) for path in [*sessions, *([candidates] if candidates else [])]],
        repo_map=parse_repo_map(repo_map),
        source_format=source_format,
        model=None if model == BASELINE else model,
        api_base=api_base,
        concurrency=concurrency,
        approve=approve,  # type: ignore[arg-type]
        budget_usd=budget_usd,
        budget_minutes=budget_minutes,
        last_stage=stages,  # type: ignore[arg-type]
        validation_repeats=repeats,
        retry_failed=retry_failed,
        max_steps=max_steps,
    )
    return config, run_dir


def _executor_config(kind: str, ray_address: str | None, concurrency: int | None) -> ExecutorConfig:
    if kind not in ("local", "ray"):
        raise ConfigError(f"--executor {kind!r} is not one of local, ray")
    return ExecutorConfig(
        kind=kind,  # type: ignore[arg-type]
        ray_address=ray_address,
        local_slots=concurrency or 1,
    )


def _settle_inputs(config: BuildConfig, stored: dict[str, object], console: Console) -> None:
    """A rerun without inputs reads the run's own inputs again; a new run without inputs
    builds the bundled examples over team-written repositories."""
    if stored and stored.get("model") != config.model:
        raise ConfigError(
            f"this run folder was built with --model {stored.get('model') or BASELINE}",
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
        repos_dir = Settings.from_env().home / "example-repos"
        ensure_example_repos(repos_dir)
        config.repo_map = {**example_repo_map(repos_dir), **config.repo_map}


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


if __name__ == "__main__":
    app()
