"""python -m harness.gc — remove what crashed kettle runs left behind.

    python -m harness.gc [--all] [--dry-run] [--jobs-dir DIR ...]

By default only what is provably abandoned goes: kettle containers whose owning process
is gone (the owner label names host, pid and start time), snapshot images of such runs,
dangling kettle build images (an older build whose tag moved on), kettle networks and
volumes of dead owners, and kettle's staging files older than an hour in the jobs folders
(``.copy-out-*`` folders, ``.<name>.*.tmp`` files of interrupted atomic writes). ``--all``
also removes what live runs own and every kettle task image (cached builds); never the
base images. Prints a table of what it removed (or, with ``--dry-run``, would remove).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from harness.cli import run_cli
from harness.sandbox.cleanup import apply, plan, removals_table
from harness.sandbox.engine import DockerEngine

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def main(
    everything: bool = typer.Option(
        False, "--all", help="Also what live runs own, and cached task images."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed."),
    jobs_dir: list[Path] = typer.Option(
        [Path("jobs"), Path("runs")], "--jobs-dir", help="Folders to scan for staging files."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Remove containers, snapshot images and staging files that crashed runs left."""

    def work() -> None:
        engine = DockerEngine.connect()
        try:
            removals = plan(engine, jobs_dir, everything=everything)
            if dry_run:
                for removal in removals:
                    removal.done = "would remove"
            else:
                apply(engine, removals)
        finally:
            engine.close()
        Console().print(removals_table(removals, dry_run=dry_run))

    run_cli(work, debug=debug)


if __name__ == "__main__":
    app()
