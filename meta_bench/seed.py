"""python -m meta_bench.seed — draft and check meta-benchmark seeds.

    python -m meta_bench.seed new --repo R --start S --fix F [--out DIR]
    python -m meta_bench.seed check meta_bench/seeds/<seed-id> [SEED_DIR ...]

``new`` writes a draft seed (seed.toml; hidden/wrong/ holds the mutants of the fix that the
upstream tests reject). ``check`` proves every hidden variant's class twice: against the
upstream tests (each variant gets the verdict its ``upstream`` field declares) and against
the ideal control (it accepts every correct variant and the upstream fix, and rejects every
wrong one and the start state); a session seed's session must read back through the
factory's intake. It prints one row per variant and exits 1 when any seed has a failed
finding (see ``meta_bench.check``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from harness.cli import run_cli
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.check import check_seed
from meta_bench.draft import draft_seed
from meta_bench.materialize import meta_home
from meta_bench.records import SeedCheckReport

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def new(
    repo: str = typer.Option(..., "--repo", help="git URL or local path of the repository."),
    start: str = typer.Option(..., "--start", help="The commit with the bug."),
    fix: str = typer.Option(..., "--fix", help="The upstream commit that fixed it."),
    out: Path | None = typer.Option(None, "--out", help="Seed folder (default seeds/<id>)."),
    seed_id: str | None = typer.Option(None, "--id", help="The seed's id."),
    language: str | None = typer.Option(None, "--language"),
    license_id: str = typer.Option("NOASSERTION", "--license", help="SPDX id of the project."),
    max_mutants: int = typer.Option(12, "--max-mutants", min=1),
    keep: int = typer.Option(5, "--keep", min=1, help="Wrong variants to keep at most."),
    workers: int = typer.Option(2, "-n", "--workers", min=1, help="Trials at once."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Draft a seed from a fix: seed.toml and the mutants its tests reject."""
    console = Console()

    def work() -> None:
        from meta_bench.materialize import SEEDS_DIR

        settings = Settings.from_env()
        target = out or SEEDS_DIR / (seed_id or f"draft-{fix[:8]}")
        engine = DockerEngine.connect()
        try:
            report = draft_seed(
                repo,
                start,
                fix,
                target,
                engine,
                settings,
                run_id=f"seed-new-{os.getpid()}",
                seed_id=seed_id,
                language=language,
                license_id=license_id,
                max_mutants=max_mutants,
                keep=keep,
                workers=workers,
            )
        finally:
            engine.close()
        table = Table(title=f"mutants of {report.seed_id}")
        for column in ("mutant", "technique", "upstream tests", "what"):
            table.add_column(column)
        for mutant in report.mutants:
            verdict = {True: "reject (kept)", False: "pass", None: "error"}[mutant.rejected]
            if mutant.rejected and mutant.name not in report.kept:
                verdict = "reject"
            table.add_row(mutant.name, mutant.technique, verdict, mutant.description)
        console.print(table)
        console.print(f"{report.message}\nseed: {report.seed_dir}\nreport: {report.work_dir}")

    run_cli(work, debug=debug)


@app.command()
def check(
    seed_dirs: list[Path] = typer.Argument(..., help="Seed folders (with seed.toml)."),
    out: Path | None = typer.Option(None, "--out", help="Where reports and trials go."),
    reruns: int = typer.Option(1, "--reruns", min=1, help="Runs of each state."),
    workers: int = typer.Option(2, "-n", "--workers", min=1, help="Trials at once."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Check seeds against their upstream tests and ideal control; exit 1 if any fails."""
    console = Console()
    reports: list[SeedCheckReport] = []

    def work() -> None:
        settings = Settings.from_env()
        root = out or meta_home(settings) / "checks" / time.strftime("%Y%m%d-%H%M%S")
        engine = DockerEngine.connect()
        try:
            for seed_dir in seed_dirs:
                report = check_seed(
                    seed_dir,
                    engine,
                    settings,
                    root / seed_dir.name,
                    run_id=f"seed-check-{os.getpid()}",
                    reruns=reruns,
                    workers=workers,
                )
                reports.append(report)
                _print(console, report, root / seed_dir.name)
        finally:
            engine.close()

    run_cli(work, debug=debug)
    if any(not report.passed for report in reports):
        raise typer.Exit(1)


def _print(console: Console, report: SeedCheckReport, folder: Path) -> None:
    table = Table(title=f"seed {report.seed_id}", show_lines=False)
    table.add_column("check")
    table.add_column("", justify="center")
    table.add_column("finding")
    for finding in report.findings:
        mark = "[green]ok[/green]" if finding.passed else "[red]FAIL[/red]"
        table.add_row(finding.name, mark, finding.message)
    console.print(table)
    if report.variants:
        classes = Table(title=f"seed {report.seed_id}: variants", show_lines=False)
        for column in ("state / variant", "class", "upstream tests", "ideal tests", ""):
            classes.add_column(column)
        for row in report.variants:
            mark = "[green]ok[/green]" if row.passed else "[red]FAIL[/red]"
            classes.add_row(row.name, row.declared or row.kind, row.upstream, row.ideal, mark)
        console.print(classes)
    for finding in report.failures:
        tail = str(finding.evidence.get("verifier_output") or "")[-400:]
        if tail:
            console.print(f"[dim]{finding.name}: verifier output (tail)[/dim]\n{tail}")
    if any(not row.passed for row in report.variants):
        console.print(
            f"[dim]trials: {folder / 'score' / 'trials'} (upstream), "
            f"{folder / 'ideal-score' / 'trials'} (ideal)[/dim]"
        )
    verdict = "[green]passed[/green]" if report.passed else "[red]failed[/red]"
    console.print(
        f"seed {report.seed_id}: {verdict} in {report.duration_sec:.0f}s — {folder / 'check.json'}"
    )


if __name__ == "__main__":
    app()
