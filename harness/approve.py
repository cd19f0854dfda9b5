"""python -m harness.approve RUN_DIR — review the approvals a build parked.

Shows each parked item (the same panel a live run shows), records approve / reject / note
with who and when, and reopens the item so that `python -m harness.build --out RUN_DIR`
continues from there. ``--approve-all`` / ``--reject-all`` decide without asking (for
scripts); without a terminal and without those flags, nothing is decided.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from agents.factory.review import review_parked
from harness.cli import run_cli

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def main(
    run_dir: Path = typer.Argument(..., help="The run folder of a kettle build."),
    approve_all: bool = typer.Option(False, "--approve-all", help="Approve every parked item."),
    reject_all: bool = typer.Option(False, "--reject-all", help="Reject every parked item."),
    note: str | None = typer.Option(None, "--note", help="Note recorded with --*-all."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Review parked approvals of a build run."""
    console = Console(stderr=True)

    def work() -> None:
        review_parked(
            run_dir.resolve(),
            approve_all=approve_all,
            reject_all=reject_all,
            note=note,
            console=console,
        )

    run_cli(work, debug=debug)


if __name__ == "__main__":
    app()
