"""python -m tools.validation — validate one Harbor task folder and print the feedback.

    python -m tools.validation examples/tasks/stash-kwargs-cache-key --out /tmp/v \\
        --fix-from-solution

Exits 1 when a check fails; ``validation.json`` and the trials land in ``--out``.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from harness.cli import run_cli
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from tools.validation.records import HiddenFacts
from tools.validation.validate import HARBOR_PARITY, validate_task

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def main(
    task: Path = typer.Argument(..., help="The task folder to validate."),
    out: Path = typer.Option(..., "--out", "-o", help="Where validation.json and trials go."),
    fix_diff: Path | None = typer.Option(None, "--fix-diff", help="The upstream fix (a diff)."),
    fix_from_solution: bool = typer.Option(
        False, "--fix-from-solution", help="Take the fix from the diffs in solution/solve.sh."
    ),
    fix_commit: str | None = typer.Option(None, "--fix-commit"),
    start_commit: str | None = typer.Option(None, "--start-commit"),
    secret: list[str] = typer.Option([], "--secret", help="A string that must not leak."),
    repeats: int = typer.Option(3, "--repeats", min=1),
    check: list[str] = typer.Option([], "--check", help="Only these checks (or categories)."),
    fail_fast: bool = typer.Option(False, "--fail-fast"),
    harbor_parity: bool = typer.Option(
        False, "--harbor-parity", help="Probe without the runner undoing tool tampering."
    ),
    concurrency: int = typer.Option(2, "-n", "--concurrency", min=1),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Validate a task; print the feedback; exit 1 when it fails."""
    outcome: list[bool] = []

    def work() -> None:
        diff = fix_diff.read_text(encoding="utf-8") if fix_diff else None
        if fix_from_solution and diff is None:
            from tools.validation.diffs import diffs_in_script

            diff = diffs_in_script((task / "solution" / "solve.sh").read_text(encoding="utf-8"))
        hidden = HiddenFacts(
            fix_diff=diff or None,
            fix_commit=fix_commit,
            start_commit=start_commit,
            extra_secrets=secret,
        )
        engine = DockerEngine.connect()
        try:
            report = validate_task(
                engine,
                Settings.from_env(),
                task,
                hidden=hidden,
                out_dir=out,
                run_id=f"validate-{task.name}-{int(time.time())}",
                repeats=repeats,
                checks=set(check) or None,
                fail_fast=fail_fast,
                concurrency=concurrency,
                probe_options=HARBOR_PARITY if harbor_parity else None,
            )
        finally:
            engine.close()
        print(report.feedback())
        outcome.append(report.passed)

    run_cli(work, debug=debug)
    if outcome and not outcome[0]:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
