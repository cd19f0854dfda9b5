"""Validate a built Harbor task deterministically; the report is the builder agent's feedback.

From the command line: ``python -m tools.validation TASK --out DIR`` (``__main__.py``).

Order of work, cheapest first so ``fail_fast`` answers quickly:

1. static checks (no image): Dockerfile leak patterns, instruction quoting the fix or naming
   commits / hidden tests / secrets, Harbor's own linter with every rule (when Harbor is
   installed);
2. ``build`` the image once (reused by every later step, cached by content hash);
3. at once, on a small thread pool: the image leak scan (one container), the start state
   under ``nop`` and the oracle, each ``repeats`` times in fresh containers; ``determinism``
   compares their verdicts;
4. the exploit probes (``tools.validation.probes``), each a normal trial whose solver is a
   cheating script; only when the start state fails and the oracle passes, since an
   exploit scoring 0 proves nothing while the real fix scores 0 too. With them, the
   session's failed attempts (``hidden.near_misses``, ``tools.validation.replay``), which
   must score 0 as well.

Layout of ``out_dir``: ``validation.json`` (the ``ValidationReport``, written atomically),
``build.log``, ``trials/<check>-<n>/`` (ordinary trial folders), ``scan/`` (archives copied
out of the image while scanning).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import BuildError, ConfigError, KettleError, TaskFormatError
from harness.fsio import write_model
from harness.machine.harbor import harbor_python
from harness.runner.records import TrialOptions, TrialResult
from harness.runner.solvers import CommandSolver, NopSolver, OracleSolver, Solver
from harness.runner.trial import run_trial
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from tools.validation import harbor_lint, image_scan, replay, static, verdicts
from tools.validation.probes import PROBES, Probe
from tools.validation.records import HiddenFacts, ValidationCheck, ValidationReport

__all__ = [
    "ALL_CHECKS",
    "HARBOR_PARITY",
    "HiddenFacts",
    "ValidationCheck",
    "ValidationReport",
    "validate_task",
]

STATIC_CHECKS = (
    "static:dockerfile",
    harbor_lint.NAME,
    "static:instruction_request",
    "leak:instruction_quotes_fix",
    "leak:instruction_secrets",
)
IMAGE_LEAK_CHECKS = ("leak:git", "leak:task_files", "leak:fix_in_image", "leak:secrets_in_image")
TRIAL_CHECKS = ("start_state", "oracle", "determinism")
EXPLOIT_CHECKS = tuple(f"exploit:{probe.name}" for probe in PROBES)
ALL_CHECKS = (*STATIC_CHECKS, "build", *IMAGE_LEAK_CHECKS, *TRIAL_CHECKS, *EXPLOIT_CHECKS)
# Exploit probes as Harbor's shared container would meet them: nothing undoes the agent's
# tampering with interpreters and tools before the tests. Published tasks also run there.
HARBOR_PARITY = TrialOptions(restore_tools=False)
_CATEGORIES = {"static", "leak", "exploit", "replay"}


def select_checks(checks: set[str] | None) -> list[str]:
    """Expand a selection (check names, or the categories leak/exploit/static) in run order."""
    if checks is None:
        return list(ALL_CHECKS)
    unknown = sorted(c for c in checks if c not in ALL_CHECKS and c not in _CATEGORIES)
    if unknown:
        raise ConfigError(
            f"unknown validation check {unknown[0]!r}",
            f"choose from {', '.join(ALL_CHECKS)} or a category ({', '.join(sorted(_CATEGORIES))})",
        )
    return [
        name
        for name in ALL_CHECKS
        if name in checks or name.split(":")[0] in checks or (name == "build" and checks)
    ]


@dataclass
class _Validation:
    """One validation in progress: its inputs, and the checks decided so far."""

    engine: DockerEngine
    task: HarborTask
    hidden: HiddenFacts
    out_dir: Path
    run_id: str
    repeats: int
    images: TaskImages
    probe_options: TrialOptions
    wanted: list[str]
    fail_fast: bool
    replay_wanted: bool = True
    harbor: Path | None = None  # Harbor's python, when installed: its linter runs
    checks: list[ValidationCheck] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    image: str | None = None

    @property
    def build_log(self) -> Path:
        return self.out_dir / "build.log"

    @property
    def trials_dir(self) -> Path:
        return self.out_dir / "trials"

    def wants(self, *names: str) -> bool:
        return any(name in self.wanted for name in names)

    def skip(self, names: Iterable[str], reason: str) -> None:
        decided = {c.name for c in self.checks}
        for name in names:
            if name in self.wanted and name not in decided:
                self.not_run.setdefault(name, reason)

    def failed(self, *names: str) -> bool:
        return any(c.name in names and not c.passed for c in self.checks)

    def stop_early(self) -> bool:
        """With fail_fast, stop at the first phase boundary after an error."""
        if self.fail_fast and any(not c.passed and c.severity == "error" for c in self.checks):
            self.skip(self.wanted, "fail_fast: an earlier check failed")
            return True
        return False

    def run(self, concurrency: int) -> None:
        self.static_checks()
        if not any(n not in STATIC_CHECKS and n != "build" for n in self.wanted):
            return
        if self.stop_early() or not self.build():
            return
        with ThreadPoolExecutor(max_workers=max(concurrency, 1)) as pool:
            self.first_wave(pool)
            if not self.stop_early():
                self.exploits(pool)
                self.replays(pool)

    def static_checks(self) -> None:
        if self.wants("static:dockerfile"):
            self.checks.append(static.check_dockerfile(self.task))
        if self.wants(harbor_lint.NAME):
            if self.harbor is not None:
                self.checks.append(harbor_lint.check_harbor_lint(self.task.root, self.harbor))
            else:
                self.skip(
                    [harbor_lint.NAME], "Harbor is not installed (python -m harness.setup --harbor)"
                )
        if self.wants("static:instruction_request"):
            if self.hidden.user_request:
                self.checks.append(static.check_instruction_keeps_request(self.task, self.hidden))
            else:
                self.skip(["static:instruction_request"], "no user_request in the hidden facts")
        if self.wants("leak:instruction_quotes_fix"):
            if self.hidden.fix_diff:
                self.checks.append(static.check_instruction_quotes_fix(self.task, self.hidden))
            else:
                self.skip(["leak:instruction_quotes_fix"], "no fix_diff in the hidden facts")
        if self.wants("leak:instruction_secrets"):
            self.checks.append(static.check_instruction_secrets(self.task, self.hidden))

    def build(self) -> bool:
        started = time.monotonic()
        try:
            self.image = self.images.ensure(self.task, self.build_log)
        except BuildError as error:
            step, last_error = _build_failure(self.build_log)
            self.checks.append(
                ValidationCheck(
                    name="build",
                    category="build",
                    passed=False,
                    message=f"the image does not build: {last_error or error.message}"
                    + (f" (at {step})" if step else "")
                    + " — fix environment/Dockerfile",
                    evidence={
                        "build_log": str(self.build_log),
                        "log_tail": verdicts.tail(self.build_log, 1200),
                    },
                    duration_sec=_since(started),
                )
            )
            self.skip(self.wanted, "the image did not build")
            return False
        self.checks.append(
            ValidationCheck(
                name="build",
                category="build",
                passed=True,
                message=f"the image builds ({self.image})",
                evidence={
                    "image": self.image,
                    # No log when the image was already built with the same content hash.
                    "build_log": str(self.build_log) if self.build_log.exists() else None,
                },
                duration_sec=_since(started),
            )
        )
        return True

    def trial(
        self, solver: Solver, trial_id: str, options: TrialOptions | None = None
    ) -> tuple[TrialResult, float]:
        started = time.monotonic()
        result = run_trial(
            self.engine,
            self.images,
            self.task,
            solver,
            self.trials_dir / trial_id,
            run_id=self.run_id,
            build_log=self.build_log,
            options=options,
        )
        return result, _since(started)

    def first_wave(self, pool: ThreadPoolExecutor) -> None:
        """The image leak scan, the start state and the oracle, all at once."""
        scan = pool.submit(self.scan_image) if self.wants(*IMAGE_LEAK_CHECKS) else None
        repeats = range(1, self.repeats + 1)
        start = [
            pool.submit(self.trial, NopSolver(), f"start_state-{n}")
            for n in repeats
            if self.wants("start_state", "determinism")
        ]
        oracle = [
            pool.submit(self.trial, OracleSolver(), f"oracle-{n}")
            for n in repeats
            if self.wants("oracle", "determinism")
        ]
        if scan is not None:
            found = scan.result()
            self.checks.extend(check for check in found if self.wants(check.name))
            self.skip(["leak:fix_in_image"], "no fix_diff in the hidden facts")
            self.skip(["leak:secrets_in_image"], "no fix_commit or extra_secrets to search for")
        start_runs = [future.result() for future in start]
        oracle_runs = [future.result() for future in oracle]
        if self.wants("start_state"):
            self.checks.append(
                verdicts.start_state_check(
                    [r for r, _ in start_runs], self.trials_dir, _longest(start_runs)
                )
            )
        if self.wants("oracle"):
            self.checks.append(
                verdicts.oracle_check(
                    [r for r, _ in oracle_runs], self.trials_dir, _longest(oracle_runs)
                )
            )
        if self.wants("determinism"):
            if self.repeats < 2:
                self.skip(["determinism"], "needs repeats >= 2")
            else:
                runs = {
                    "start_state": [r for r, _ in start_runs],
                    "oracle": [r for r, _ in oracle_runs],
                }
                self.checks.append(verdicts.determinism_check(runs))

    def scan_image(self) -> list[ValidationCheck]:
        assert self.image is not None
        started = time.monotonic()
        spec = SandboxSpec(image=self.image, run_id=self.run_id, role="validate", network="none")
        try:
            with self.engine.start(spec) as sandbox:
                checks = [
                    image_scan.scan_git(sandbox),
                    image_scan.scan_task_files(sandbox, self.task),
                ]
                checks += image_scan.scan_contents(
                    sandbox, self.hidden, self.workdir(), self.out_dir / "scan"
                )
        except KettleError as error:
            # Unknown is not clean: every leak check asked for fails, naming the reason.
            return [
                ValidationCheck(
                    name=name,
                    category="leak",
                    passed=False,
                    message=f"the image scan could not run ({error}), so leaks are unknown",
                    duration_sec=_since(started),
                )
                for name in IMAGE_LEAK_CHECKS
                if self.wants(name)
            ]
        return checks

    def workdir(self) -> str:
        """Where the agent starts: [environment].workdir, else the image's WORKDIR, else /."""
        if self.task.config.environment.workdir:
            return self.task.config.environment.workdir
        assert self.image is not None
        config = self.engine.api.inspect_image(self.image).get("Config") or {}
        return config.get("WorkingDir") or "/"

    def exploits(self, pool: ThreadPoolExecutor) -> None:
        wanted = [probe for probe in PROBES if self.wants(f"exploit:{probe.name}")]
        if not wanted:
            return
        if self.failed("start_state", "oracle"):
            self.skip(
                [f"exploit:{probe.name}" for probe in wanted],
                "the start state must fail and the oracle pass first: until then an exploit's "
                "score says nothing about the verifier",
            )
            return
        workdir = self.workdir()
        futures: list[tuple[Probe, Future[tuple[TrialResult, float]]]] = [
            (
                probe,
                pool.submit(
                    self.trial,
                    CommandSolver(f"probe-{probe.name}", probe.script(workdir)),
                    f"exploit-{probe.name}",
                    self.probe_options,
                ),
            )
            for probe in wanted
        ]
        for probe, future in futures:
            result, duration = future.result()
            check = verdicts.exploit_check(probe, result, self.trials_dir, duration)
            check.evidence["runner_restores_tools"] = self.probe_options.restore_tools
            self.checks.append(check)

    def replays(self, pool: ThreadPoolExecutor) -> None:
        if not self.hidden.near_misses or not self.replay_wanted:
            return
        if self.failed("start_state", "oracle"):
            self.not_run["replay"] = "the start state must fail and the oracle pass first"
            return
        self.checks += replay.replay_near_misses(
            self.hidden.near_misses, self.workdir(), self.trial, self.trials_dir, pool
        )


def validate_task(
    engine: DockerEngine,
    settings: Settings,
    task_dir: Path,
    *,
    hidden: HiddenFacts,
    out_dir: Path,
    run_id: str,
    repeats: int = 3,
    checks: set[str] | None = None,
    fail_fast: bool = False,
    concurrency: int = 2,
    images: TaskImages | None = None,
    probe_options: TrialOptions | None = None,
) -> ValidationReport:
    """Run the selected checks on ``task_dir``; write ``out_dir/validation.json``; return it.

    Exploit probes run under ``probe_options`` (default: what kettle's runner does, which
    undoes tampering with interpreters and tools before the tests); ``HARBOR_PARITY`` runs
    them as Harbor's shared container would, with nothing undone.
    """
    if repeats < 1:
        raise ConfigError(f"repeats must be at least 1, got {repeats}")
    started_at, started = datetime.now(UTC), time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = select_checks(checks)
    decided: list[ValidationCheck] = []
    not_run: dict[str, str] = {}
    image: str | None = None
    try:
        task = HarborTask.load(task_dir)
    except TaskFormatError as error:
        decided.append(_format_failure(error))
        not_run = dict.fromkeys(wanted, "the task directory does not load")
    else:
        validation = _Validation(
            engine=engine,
            task=task,
            hidden=hidden,
            out_dir=out_dir,
            run_id=run_id,
            repeats=repeats,
            images=images or TaskImages(engine, settings),
            probe_options=probe_options or TrialOptions(),
            wanted=wanted,
            fail_fast=fail_fast,
            replay_wanted=checks is None or "replay" in checks,
            harbor=harbor_python(settings),
        )
        validation.run(concurrency)
        decided, not_run, image = validation.checks, validation.not_run, validation.image
    report = ValidationReport(
        task_id=Path(task_dir).name,
        passed=not any(not c.passed and c.severity == "error" for c in decided),
        checks=decided,
        not_run=not_run,
        image=image,
        started_at=started_at,
        duration_sec=_since(started),
    )
    write_model(out_dir / "validation.json", report)
    return report


def _build_failure(build_log: Path) -> tuple[str, str]:
    """The last build step started and the last error line, from the build log."""
    if not build_log.is_file():
        return "", ""
    lines = [line.strip() for line in build_log.read_text(errors="replace").splitlines()]
    steps = [line for line in lines if line.startswith("Step ")]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR: ")]
    output = [line for line in lines if line and not line.startswith(("Step ", "ERROR: ", "---"))]
    return (steps[-1] if steps else ""), (errors[-1] if errors else output[-1] if output else "")


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def _longest(runs: list[tuple[TrialResult, float]]) -> float:
    return max((duration for _, duration in runs), default=0.0)


def _format_failure(error: TaskFormatError) -> ValidationCheck:
    return ValidationCheck(
        name="static:task_format",
        category="static",
        passed=False,
        message=f"{error.message} — {error.hint}",
    )
