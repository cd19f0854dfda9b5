"""python -m harness.run — run a solver (oracle, nop, terminus) on Harbor tasks.

    python -m harness.run --task examples/tasks --agent oracle --jobs-dir jobs

``--task`` takes a task folder or a folder of task folders, and may repeat. Exits 0 when
the job ran, whatever the rewards; non-zero with a one-line reason when it could not run.
``--resume --job-name NAME`` reruns a job folder's errored and unfinished trials and keeps
the finished ones. ``--verifier-mode separate`` verifies every trial in a fresh container
started from a snapshot of the agent's final filesystem. Containers left by crashed kettle
runs on this machine are removed at start (``KETTLE_REAP_AT_START=0`` keeps them; see also
``python -m harness.gc``).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from harness.cli import run_cli
from harness.loop import Budgets
from harness.runner.launch import launch_job

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def main(
    task: list[Path] = typer.Option(..., "--task", "-t", help="Task folder or folder of tasks."),
    agent: str = typer.Option("oracle", "--agent", "-a", help="oracle | nop | terminus"),
    model: str | None = typer.Option(
        None, "--model", "-m", help="For terminus: alias or litellm name."
    ),
    api_base: str | None = typer.Option(None, "--api-base", help="OpenAI-compatible endpoint."),
    max_steps: int = typer.Option(100, "--max-steps", min=1, help="Model turns per trial."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Dollars per trial."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Tokens per trial."),
    context_window: int | None = typer.Option(
        None, "--context-window", help="Override the model's context window (tokens)."
    ),
    trials: int = typer.Option(1, "--trials", "-k", min=1, help="Trials per task."),
    concurrency: int = typer.Option(1, "-n", "--concurrency", min=1, help="Trials at once."),
    jobs_dir: Path = typer.Option(Path("jobs"), "--jobs-dir", help="Where job folders go."),
    job_name: str | None = typer.Option(None, "--job-name", help="Job folder name."),
    resume: bool = typer.Option(
        False, "--resume", help="Rerun the job folder's errored and unfinished trials."
    ),
    verifier_mode: str | None = typer.Option(
        None,
        "--verifier-mode",
        help="shared | separate (a fresh container from a snapshot of the agent's filesystem); "
        "default: each task's [verifier].environment_mode, else shared.",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Run a solver on tasks and score each trial with the task's verifier."""
    console = Console(stderr=True)

    def work() -> None:
        launch_job(
            task,
            agent=agent,
            model=model,
            api_base=api_base,
            budgets=Budgets(max_steps=max_steps, max_cost_usd=max_cost, max_tokens=max_tokens),
            context_window=context_window,
            trials=trials,
            concurrency=concurrency,
            jobs_dir=jobs_dir.resolve(),
            job_name=job_name,
            resume=resume,
            verifier_mode=verifier_mode,
            console=console,
        )

    run_cli(work, debug=debug)


if __name__ == "__main__":
    app()
