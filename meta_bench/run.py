"""python -m meta_bench.run — build every seed with every builder, score, and publish a leaderboard.

    python -m meta_bench.run --builder baseline --builder null --builder reference \
        --builder ideal --out DIR
    python -m meta_bench.run --builder gpt-5.1 --repeats 3 -n 2 --judge sonnet-4.5 --out DIR
    python -m meta_bench.run --builder my-builder.toml --builder calibration --out DIR

``--builder calibration`` stands for the five calibration builders (``cal-*``, see
``meta_bench.controls``). Deterministic builders (the baseline, the controls) are built
once per seed; ``--repeats`` builds the others (models) several times, and the repeats
feed the leaderboard's intervals.

Layout of ``DIR`` (an interface, like a job folder):

    run.json                       RunRecord: options, builders (exact versions), wall time
    ledger.sqlite                  one row per builder × seed × repeat (resumable)
    <builder>/<seed>/r<k>/build/   the builder's workspace: draft/ (the task), logs, trajectories
    <builder>/<seed>/r<k>/build.json   BuildOutcome (status, cost, tokens, wall time)
    <builder>/<seed>/r<k>/score/   score.json (EnvScore), trials/, leaks/
    <builder>/<seed>/r<k>/crash.txt    only when the machinery broke on that unit
    leaderboard.json, leaderboard.md, leaderboard.html

Rerunning the same command resumes: finished units are kept, interrupted ones repeated from
the stage they were in, failed ones only with --retry-failed. With ``--executor ray`` each
unit runs on a cluster node with a free Docker slot and its folder comes back here; a run
may be begun with one executor and finished with the other.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.cli import run_cli
from harness.errors import ConfigError, ExecutorCancelled, ExecutorError
from harness.executors.base import Executor, ExecutorConfig, make_executor
from harness.executors.local import LocalExecutor
from harness.fsio import read_model, write_model
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.builders import BUILTIN_BUILDERS, Builder
from meta_bench.builders import make_builder as default_make_builder
from meta_bench.controls import CALIBRATION
from meta_bench.judge import AlignmentJudge
from meta_bench.leaderboard import build_leaderboard, check_render, write_leaderboard
from meta_bench.ledger import RunLedger
from meta_bench.materialize import SEEDS_DIR, MaterializeError, load_seeds, materialize
from meta_bench.records import (
    VARIANT_CLASSES,
    BuildOutcome,
    EnvScore,
    Leaderboard,
    RunOptions,
    RunRecord,
    Seed,
    SeedInfo,
    UnitReply,
    UnitResult,
    VariantClass,
)
from meta_bench.seed_format import load_hidden, load_seed, load_variants_file
from meta_bench.unit_job import UnitJob, format_metric, run_unit, run_unit_here


@dataclass
class _Unit:
    builder: Builder
    seed: Seed
    seed_dir: Path
    repeat: int

    @property
    def key(self) -> tuple[str, str, int]:
        return self.builder.name, self.seed.id, self.repeat


class MetaRun:
    """One meta-benchmark run folder: its units, their work, the leaderboard."""

    def __init__(
        self,
        out_dir: Path,
        options: RunOptions,
        builders: list[Builder],
        engine: DockerEngine,
        settings: Settings,
        *,
        command: str,
        run_id: str | None = None,
        console: Console | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.out_dir, self.options, self.builders = out_dir, options, builders
        self.executor = executor or LocalExecutor(options.concurrency)
        self.engine, self.settings, self.command = engine, settings, command
        name = _slug(out_dir.name)
        prefix = "" if name.startswith("meta") else "meta-"
        self.run_id = run_id or f"{prefix}{name}-{os.getpid()}"
        self.console = console or Console()
        self.ledger = RunLedger(out_dir)
        self._stopping = threading.Event()
        seed_dirs = load_seeds(Path(options.seeds_dir), options.seeds or None)
        self.seeds = [(load_seed(path), path) for path in seed_dirs]
        self.skipped: dict[str, str] = {}
        self.judge = (
            AlignmentJudge(options.judge, api_base=options.judge_api_base)
            if options.judge
            else None
        )

    def folder(self, builder: str, seed_id: str, repeat: int) -> Path:
        return self.out_dir / _slug(builder) / seed_id / f"r{repeat}"

    def repeats(self, builder: Builder) -> int:
        """Builds per seed: deterministic builders would build the same thing again."""
        return 1 if builder.info.deterministic else self.options.repeats

    def skip_unreachable(self) -> None:
        """Leave out seeds whose project cannot be fetched here (a git URL offline, a
        release not downloadable), each with its one-line reason: never scored."""
        kept = []
        for seed, path in self.seeds:
            try:
                materialize(seed, self.settings)
            except MaterializeError as error:
                self.skipped[seed.id] = error.message
                self.console.print(f"  seed {seed.id}: skipped — {error.message}")
                continue
            kept.append((seed, path))
        self.seeds = kept

    def run(self) -> Leaderboard:
        started = time.monotonic()
        record = self._record()
        self.skip_unreachable()
        units = [
            _Unit(builder, seed, path, repeat)
            for builder in self.builders
            for seed, path in self.seeds
            for repeat in range(1, self.repeats(builder) + 1)
        ]
        for unit in units:
            self.ledger.add(*unit.key)
        pending = [u for u in units if self.ledger.unit(*u.key).status not in _FINISHED]
        columns = (
            TextColumn("[bold]meta-bench[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console, transient=False) as progress:
            bar = progress.add_task("units", total=len(units), completed=len(units) - len(pending))
            workers = max(self.options.concurrency, 1)
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unit") as pool:
                futures = {pool.submit(self._process, unit): unit for unit in pending}
                try:
                    for future in as_completed(futures):
                        line = future.result()
                        progress.advance(bar)
                        progress.console.print(line)
                except BaseException:
                    self._stopping.set()
                    for future in futures:
                        future.cancel()
                    self.executor.cancel_all()
                    self.engine.close_all()
                    raise
        record.wall_sec_total = round(record.wall_sec_total + time.monotonic() - started, 3)
        write_model(self.out_dir / "run.json", record)
        return self.publish(record)

    def publish(self, record: RunRecord) -> Leaderboard:
        board = build_leaderboard(
            record.run_id,
            record.command,
            [seed_info(seed, path) for seed, path in self.seeds],
            record.builders,
            self.results(),
            judge=self.options.judge,
            repeats=self.options.repeats,
            wall_sec=record.wall_sec_total,
        )
        board.skipped_seeds = dict(self.skipped)
        paths = write_leaderboard(board, self.out_dir)
        board.render_check = check_render(paths["html"], board)
        write_model(paths["json"], board)
        return board

    def results(self) -> list[UnitResult]:
        results = []
        for builder in self.builders:
            for seed, _ in self.seeds:
                for repeat in range(1, self.repeats(builder) + 1):
                    results.append(self._result(builder.name, seed.id, repeat))
        return results

    def _result(self, builder: str, seed_id: str, repeat: int) -> UnitResult:
        record = self.ledger.unit(builder, seed_id, repeat)
        folder = self.folder(builder, seed_id, repeat)
        result = UnitResult(
            builder=builder,
            seed_id=seed_id,
            repeat=repeat,
            state="failed",
            detail=record.detail or record.status,
            folder=str(folder.relative_to(self.out_dir)),
        )
        if record.status == "not_applicable":
            result.state = "not_applicable"
            return result
        if (folder / "build.json").is_file():
            result.build = read_model(folder / "build.json", BuildOutcome)
        if record.status == "done" and (folder / "score" / "score.json").is_file():
            result.score = read_model(folder / "score" / "score.json", EnvScore)
            result.state = "scored" if result.score.status == "scored" else "not_built"
            result.detail = result.score.message
        return result

    def _record(self) -> RunRecord:
        path = self.out_dir / "run.json"
        infos = [builder.info for builder in self.builders]
        if path.is_file():
            previous = read_model(path, RunRecord)
            return previous.model_copy(
                update={"options": self.options, "builders": infos, "command": self.command}
            )
        record = RunRecord(
            run_id=self.run_id,
            command=self.command,
            options=self.options,
            builders=infos,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        write_model(path, record)
        return record

    def _process(self, unit: _Unit) -> str:
        if self._stopping.is_set():
            return ""
        builder, seed, repeat = unit.key
        key = unit.key
        started = time.monotonic()
        reason = unit.builder.not_applicable(unit.seed)
        if reason:
            self.ledger.mark(*key, "not_applicable", reason)
            return f"  {builder} × {seed} r{repeat}: not applicable ({reason})"
        folder = self.folder(*key)
        rebuild = self.ledger.unit(*key).status != "scoring"
        if rebuild:
            self.ledger.mark(*key, "building")
        job = UnitJob(
            builder=unit.builder,
            seed=unit.seed,
            hidden=load_hidden(unit.seed_dir),
            repeat=repeat,
            run_id=self.run_id,
            reruns=self.options.reruns,
            variant_reruns=self.options.variant_reruns,
            trial_workers=self.options.trial_workers,
            judge=self.judge,
            rebuild=rebuild,
            probes=self.options.probes,
        )
        try:
            if self.executor.remote:
                reply = self.executor.run_in_folder(
                    run_unit_here,
                    folder,
                    job,
                    label=f"{builder} × {seed} r{repeat}",
                    on_retry=lambda _, note: self.ledger.mark(*key, "building", f"retry: {note}"),
                )
            else:
                reply = run_unit(
                    folder,
                    job,
                    self.engine,
                    self.settings,
                    on_built=lambda message: self.ledger.mark(*key, "scoring", message),
                )
        except ExecutorCancelled:
            return ""
        except ExecutorError as error:
            reply = UnitReply.failed(error)
        if self._stopping.is_set():
            return ""  # interrupted: the rerun repeats the unit
        self.ledger.mark(*key, reply.status, reply.detail)
        took = time.monotonic() - started
        return f"  {builder} × {seed} r{repeat}: {reply.line} [dim]({took:.0f}s)[/dim]"


_FINISHED = ("done", "not_applicable")


def print_leaderboard(console: Console, board: Leaderboard, out_dir: Path) -> None:
    table = Table(title=f"kettle meta-benchmark — {board.run_id}")
    columns = ("#", "builder", "role", "MetaScore [95% CI]", "M0", "M1", "M4", "M5")
    classes = ("c-acc", "c-rej", "w-caught", "w-missed")
    for column in (*columns, *classes, "seeds"):
        table.add_column(column)
    for row in board.rows:
        table.add_row(
            str(row.rank or "—"),
            row.builder,
            row.role,
            score_with_ci(row.meta_score, row.ci_low, row.ci_high),
            format_metric(row.qualification),
            format_metric(row.metrics.get("M1")),
            format_metric(row.metrics.get("M4")),
            format_metric(row.metrics.get("M5")),
            *[format_metric(row.classes.get(name)) for name in VARIANT_CLASSES],
            f"{row.seeds_scored}"
            + (f" (+{row.seeds_not_applicable} n/a)" if row.seeds_not_applicable else "")
            + (f" ({row.seeds_failed} failed)" if row.seeds_failed else ""),
        )
    console.print(table)
    console.print(
        f"MetaScores over the {len(board.common_seeds)} seeds every builder applies to; "
        "classes: share of each variant class judged right (correct accepted, correct "
        "rejected by the upstream tests, wrong caught by them, wrong missed by them)."
    )
    check = board.render_check
    if check is not None:
        mark = "[green]ok[/green]" if check.passed else "[yellow]not checked[/yellow]"
        console.print(f"leaderboard.html in headless Chromium: {mark} — {check.message}")
    console.print(f"leaderboard: {out_dir / 'leaderboard.md'} · {out_dir / 'leaderboard.html'}")


def score_with_ci(score: float | None, low: float | None, high: float | None) -> str:
    if score is None:
        return "n/a"
    text = f"{score:.3f}"
    return text + (f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else "")


def seed_info(seed: Seed, seed_dir: Path) -> SeedInfo:
    classes: dict[VariantClass, int] = {}
    for spec in load_variants_file(seed_dir).variants:
        classes[spec.variant_class] = classes.get(spec.variant_class, 0) + 1
    return SeedInfo(
        id=seed.id,
        title=seed.title,
        language=seed.language,
        kind=seed.source.kind,
        visibility=seed.visibility,
        session=seed.session.format if seed.session else None,
        expect=seed.session.expect if seed.session else "fix",
        classes=classes,
    )


def expand_builders(names: list[str]) -> list[str]:
    """``calibration`` stands for every calibration builder; duplicates are an error."""
    expanded: list[str] = []
    for name in names:
        expanded += list(CALIBRATION) if name == "calibration" else [name]
    if len(set(expanded)) != len(expanded):
        raise ConfigError("a builder is named twice", "name each --builder once")
    return expanded


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "builder"


_BUILDER_HELP = (
    f"{', '.join(BUILTIN_BUILDERS)}, a calibration builder ({', '.join(CALIBRATION)}; "
    "'calibration' for all), a builder file (*.toml), or a model; repeatable."
)
app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def main(
    builder: list[str] = typer.Option(..., "--builder", "-b", help=_BUILDER_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="The run folder (rerun to resume)."),
    seeds: Path = typer.Option(SEEDS_DIR, "--seeds", help="Folder of seed folders."),
    seed: list[str] = typer.Option([], "--seed", help="Only these seed ids; repeatable."),
    repeats: int = typer.Option(
        3, "--repeats", min=1, help="Builds per seed of non-deterministic builders (models)."
    ),
    concurrency: int | None = typer.Option(
        None, "-n", "--concurrency", min=1, help="Units at once (ray: all slots)."
    ),
    executor: str = typer.Option("local", "--executor", help="local | ray"),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster (auto, HOST:6379); none: a private one."
    ),
    trial_workers: int = typer.Option(2, "--trial-workers", min=1, help="Trials at once per unit."),
    reruns: int = typer.Option(3, "--reruns", min=1, help="Runs of the start state and the fix."),
    variant_reruns: int = typer.Option(2, "--variant-reruns", min=1, help="Runs per variant."),
    api_base: str | None = typer.Option(None, "--api-base", help="OpenAI-compatible base URL."),
    judge: str | None = typer.Option(None, "--judge", help="Model for M8 (alignment judge)."),
    judge_api_base: str | None = typer.Option(
        None, "--judge-api-base", help="OpenAI-compatible base URL for the judge."
    ),
    max_steps: int = typer.Option(60, "--max-steps", min=1, help="Steps per model agent."),
    probes: bool = typer.Option(
        True, "--probes/--no-probes", help="Run the exploit battery (M5); off for quick runs."
    ),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Repeat failed units."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Build, score and rank builders on the meta-benchmark's seeds."""
    console = Console()

    def work() -> None:
        names = expand_builders(builder)
        options = RunOptions(
            builders=names,
            seeds_dir=str(seeds),
            seeds=seed,
            repeats=repeats,
            concurrency=concurrency or 1,
            trial_workers=trial_workers,
            reruns=reruns,
            variant_reruns=variant_reruns,
            api_base=api_base,
            judge=judge,
            judge_api_base=judge_api_base,
            max_steps=max_steps,
            probes=probes,
        )
        made = [
            default_make_builder(name, api_base=api_base, max_steps=max_steps) for name in names
        ]
        if len({b.name for b in made}) != len(made):
            raise ConfigError("two builders have one name", "give each builder file its own name")
        load_seeds(seeds, seed or None)  # a wrong --seed is said before a cluster is joined
        if executor not in ("local", "ray"):
            raise ConfigError(f"--executor {executor!r} is not one of local, ray")
        executor_config = ExecutorConfig(
            kind=executor,  # type: ignore[arg-type]
            ray_address=ray_address,
            local_slots=concurrency or 1,
        )
        engine = DockerEngine.connect()
        runner: Executor | None = None
        try:
            runner = make_executor(executor_config, run_id=f"meta-{_slug(out.name)}")
            if concurrency is None:
                options.concurrency = runner.slots()
            run = MetaRun(
                out,
                options,
                made,
                engine,
                Settings.from_env(),
                command="python -m meta_bench.run " + shlex.join(sys.argv[1:]),
                console=console,
                executor=runner,
            )
            if retry_failed:
                run.ledger.reopen_failed()
            board = run.run()
        finally:
            if runner is not None:
                runner.close()
            engine.close()
        print_leaderboard(console, board, out)

    run_cli(work, debug=debug)


if __name__ == "__main__":
    app()
