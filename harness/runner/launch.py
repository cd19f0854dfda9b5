"""What ``python -m harness.run`` does: run a solver on task folders as one job, with
progress on the terminal, and a table of the trials at the end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.errors import ConfigError, TaskFormatError
from harness.llm import LiteLLMModel, ModelSpec
from harness.loop import Budgets
from harness.runner.job import new_job_id, run_job
from harness.runner.records import JobConfig, JobResult, TrialOptions, TrialResult
from harness.runner.solvers import BUILTIN_SOLVERS, Solver
from harness.runner.terminus import TerminusSolver
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from harness.task.records import CONFIG_FILE


def discover_tasks(paths: list[Path]) -> list[HarborTask]:
    """Load each task folder; a folder without task.toml contributes its task subfolders."""
    tasks: list[HarborTask] = []
    for path in paths:
        if not path.exists():
            raise TaskFormatError(f"{path}: no such task folder")
        if (path / CONFIG_FILE).is_file() or not path.is_dir():
            tasks.append(HarborTask.load(path))
            continue
        children = sorted(p for p in path.iterdir() if (p / CONFIG_FILE).is_file())
        if not children:
            raise TaskFormatError(f"{path}: neither a task folder nor a folder of tasks")
        tasks.extend(HarborTask.load(child) for child in children)
    ids = [task.task_id for task in tasks]
    duplicates = sorted({task_id for task_id in ids if ids.count(task_id) > 1})
    if duplicates:
        raise TaskFormatError(f"two tasks share the id {duplicates[0]!r}: rename one folder")
    return tasks


AGENTS = ("oracle", "nop", "terminus")


def solver_factory(
    agent: str,
    *,
    model: str | None = None,
    api_base: str | None = None,
    budgets: Budgets | None = None,
    context_window: int | None = None,
) -> Callable[[], Solver]:
    """A function making one fresh solver per trial."""
    if agent in BUILTIN_SOLVERS:
        if model:
            raise ConfigError(f"--model makes no sense with --agent {agent}", "drop --model")
        return BUILTIN_SOLVERS[agent]
    if agent != "terminus":
        raise ConfigError(f"unknown agent {agent!r}", f"choose one of: {', '.join(AGENTS)}")
    if not model:
        raise ConfigError("--agent terminus needs --model", "e.g. --model gemini-3")
    spec = ModelSpec.resolve(model, api_base)
    if budgets is not None and budgets.max_cost_usd is not None and not spec.price_known():
        # Unknown is not free: the first reply would end every trial.
        raise ConfigError(
            f"--max-cost cannot be held: no price is known for {spec.requested}",
            "cap --max-tokens instead",
        )

    def make_model() -> LiteLLMModel:
        return LiteLLMModel(spec, context_window=context_window)

    return lambda: TerminusSolver(make_model, budgets or Budgets())


def launch_job(
    task: list[Path],
    *,
    agent: str,
    model: str | None,
    api_base: str | None,
    budgets: Budgets,
    context_window: int | None,
    trials: int,
    concurrency: int,
    jobs_dir: Path,
    job_name: str | None,
    resume: bool,
    verifier_mode: str | None,
    console: Console,
) -> JobResult:
    """Run ``agent`` on every task ``trials`` times into ``jobs_dir/<job>``; print a table."""
    tasks = discover_tasks(task)
    make_solver = solver_factory(
        agent, model=model, api_base=api_base, budgets=budgets, context_window=context_window
    )
    settings = Settings.from_env()
    if verifier_mode not in (None, "shared", "separate"):
        raise ConfigError(f"--verifier-mode {verifier_mode!r}", "choose shared or separate")
    if resume and not job_name:
        raise ConfigError("--resume needs --job-name", "name the job folder to resume")
    job_id = job_name or new_job_id()
    config = JobConfig(
        job_id=job_id,
        task_paths=[str(t.root) for t in tasks],
        agent=agent,
        model=model,
        trials_per_task=trials,
        concurrency=concurrency,
        created_at=datetime.now(UTC),
        trial_options=TrialOptions(verifier_mode=verifier_mode),  # type: ignore[arg-type]
    )
    job_dir = jobs_dir / job_id
    if (job_dir / "result.json").exists() and not resume:
        raise ConfigError(
            f"{job_dir} already holds a job",
            "pass another --job-name, or --resume to finish it",
        )
    engine = DockerEngine.connect()
    try:
        # What crashed kettle processes left behind.
        reaped = engine.reap_orphans() if settings.reap_at_start else []
        if reaped:
            console.print(f"removed {len(reaped)} container(s) left by crashed kettle runs")
        result = _run_with_progress(
            engine, settings, tasks, make_solver, config, job_dir, console, resume=resume
        )
    finally:
        engine.close()
    Console().print(results_table(result))
    console.print(f"job folder: {job_dir}")
    return result


def _run_with_progress(
    engine: DockerEngine,
    settings: Settings,
    tasks: list[HarborTask],
    make_solver: Callable[[], Solver],
    config: JobConfig,
    job_dir: Path,
    console: Console,
    *,
    resume: bool = False,
) -> JobResult:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task(f"{config.agent} trials", total=len(tasks) * config.trials_per_task)

        def done(result: TrialResult) -> None:
            progress.advance(bar)
            verdict = f"reward {result.reward:g}" if result.reward is not None else "no reward"
            failure = f" [red]error: {result.error.message}[/red]" if result.error else ""
            progress.console.print(
                f"  {result.trial_id}: {verdict} ({result.timings.total_sec:.0f}s){failure}",
                highlight=False,
            )

        return run_job(
            engine,
            TaskImages(engine, settings),
            tasks,
            make_solver,
            config,
            job_dir,
            done,
            resume=resume,
        )


def results_table(result: JobResult) -> Table:
    table = Table(title=f"job {result.job_id} — agent {result.agent}")
    table.add_column("trial")
    table.add_column("reward", justify="right")
    table.add_column("time", justify="right")
    table.add_column("error")
    for trial in result.trials:
        reward = "-" if trial.reward is None else f"{trial.reward:g}"
        table.add_row(trial.trial_id, reward, f"{trial.duration_sec:.0f}s", trial.error or "")
    mean = "-" if result.mean_reward is None else f"{result.mean_reward:.3f}"
    table.caption = f"mean reward {mean} over {result.n_trials} trials, {result.n_errors} errors"
    return table
