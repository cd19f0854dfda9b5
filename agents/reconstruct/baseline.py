"""The ``baseline`` builder: reconstruction and verifier for the common case, no model.

``BaselineReconstructor`` exports the start commit's tree into ``draft/environment/app/``,
detects the project (Python with pytest, Node with npm test), resolves its dependencies
once in a networked sandbox and records what got installed (``pip freeze``, the apt
series of Node.js, ``package-lock.json``), writes a Dockerfile that installs exactly that,
builds it, checks that the project's tests run at the start state, and writes
``solution/solve.sh`` with the fix's source changes as an embedded patch, confirmed to
apply in a container.

``BaselineVerifierWriter`` takes the test files the fix commit adds or changes, runs them
at the start state and after ``solve.sh`` with the very verifier it ships (in report-only
mode), and keeps the tests that fail before and pass after (fail-to-pass) and those that
pass both times (pass-to-pass). The verifier passes iff all of them pass. It also writes
``instruction.md`` from the user's prompts, with everything that would give the fix away
removed.

Every fallback taken is an ``Obstacle`` in the report and a line in ``build_report.md``.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from agents.context import (
    Obstacle,
    ReconstructionReport,
    StageContext,
    VerifierReport,
)
from agents.verifier.files import (
    make_plan,
    node_runs,
    pytest_ini,
    python_runs,
    write_plan,
    write_tests_dir,
)
from agents.verifier.judge import judge
from harness.errors import KettleError
from harness.fsio import write_text_atomic
from harness.sandbox.records import SandboxSpec
from tools.projects.dependencies import BuildJournal, set_up_node, set_up_python
from tools.projects.detect import (
    PYTEST_CONFIG_FILES,
    detect_project,
    is_test_module,
    pytest_config_file,
    pytest_options,
)
from tools.projects.dockerfile import VENV, WORKDIR, build_environment
from tools.projects.test_runs import (
    JudgeRun,
    SuiteRun,
    apply_solution,
    run_judge,
    run_suite,
    scan_image,
    transitions,
)
from tools.repos.patches import SolutionPatch, plan_solution, solve_script
from tools.sessions.instruction import compose_instruction, names_defined_in_tests

NAME = "baseline"
# Runs after the fix, each in a fresh container: a test must pass in all to count.
_MAX_AFTER_RUNS = 2
# Test fixtures can be large (recorded responses, images); anything bigger is not a test.
_MAX_TEST_FILE_BYTES = 64 * 1024 * 1024


def _commits(context: StageContext) -> tuple[str, str, str]:
    """(repo, start commit, fix commit) of a qualified candidate, or a clear error."""
    qualification = context.qualification
    if qualification is None or not qualification.start_commit or not qualification.fix_commit:
        raise KettleError("the qualification names no start commit and fix commit to build from")
    if not context.candidate.repo:
        raise KettleError("the candidate names no repository")
    return context.candidate.repo, qualification.start_commit, qualification.fix_commit


def _obstacles(journal: BuildJournal) -> list[Obstacle]:
    return [Obstacle(summary=summary, resolution=how) for summary, how in journal.obstacles]


def _sandbox(context: StageContext, image: str, *, network: bool, role: str) -> SandboxSpec:
    return SandboxSpec(
        image=image,
        run_id=context.run_id,
        role=role,
        network="bridge" if network else "none",
        memory_mb=4096,
        cpus=None,
    )


# --- reconstruction ---------------------------------------------------------------------


class BaselineReconstructor:
    """Reconstructs the start state and the oracle without a model (see the module doc)."""

    name = NAME

    def reconstruct(self, context: StageContext) -> ReconstructionReport:
        journal = BuildJournal(context.workspace.logs / "reconstruct.log")
        try:
            report = self._reconstruct(context, journal)
        except KettleError as error:
            report = ReconstructionReport(
                builder=NAME, status="failed", message=error.message, obstacles=_obstacles(journal)
            )
            if context.qualification is not None:
                report.start_commit = context.qualification.start_commit
                report.fix_commit = context.qualification.fix_commit
        _write_build_report(context, report, journal)
        return report

    def _reconstruct(self, context: StageContext, journal: BuildJournal) -> ReconstructionReport:
        repo_source, start, fix = _commits(context)
        draft = context.workspace.draft
        environment, solution = draft / "environment", draft / "solution"
        shutil.rmtree(environment, ignore_errors=True)
        shutil.rmtree(solution, ignore_errors=True)
        with context.repos.open(repo_source) as repo:
            repo.export_tree(start, environment / "app")
            patch = plan_solution(repo, start, fix)
        journal.facts.append(f"start commit {start}, fix commit {fix}")
        if not patch.source_paths:
            raise KettleError("the fix changes no source files, only tests")
        if patch.strategy == "cumulative":
            journal.obstacle(
                "the fix commit's own change does not apply to the start state",
                "solve.sh carries every source change from the start commit to the fix",
            )
        project = detect_project(environment / "app", test_paths=patch.test_paths)
        for note in project.notes:
            journal.obstacle(note)
        journal.facts.append(f"{project.kind} project ({', '.join(project.markers)})")
        resolver = _sandbox(context, context.settings.base_image, network=True, role="reconstruct")
        set_up = set_up_python if project.kind == "python" else set_up_node
        dependencies, test_command = set_up(context.engine, resolver, project, environment, journal)
        image = build_environment(
            context.engine,
            context.settings,
            environment,
            name=context.candidate.id,
            log_path=context.workspace.logs / "build.log",
        )
        journal.facts.append(f"image builds: {image}")
        suite = _start_state_suite(context, image, test_command)
        journal.facts.append(
            f"start state: `{suite.command}` exited {suite.exit_code}: {suite.summary}"
        )
        if not suite.ran:
            journal.obstacle(
                f"the project's tests did not run cleanly at the start state "
                f"(`{suite.command}` exited {suite.exit_code}: {suite.summary})",
                "left to the verifier, which runs the fix's own tests file by file",
            )
        _write_solution(context, image, patch, solution, journal)
        return ReconstructionReport(
            builder=NAME,
            status="ok",
            message=(
                f"{project.kind} project builds; start-state tests: {suite.summary or 'no summary'}"
                f"; solve.sh applies the fix ({patch.strategy.replace('_', ' ')})"
            ),
            language=project.language,
            workdir=WORKDIR,
            dependencies=dependencies,
            obstacles=_obstacles(journal),
            start_commit=start,
            fix_commit=fix,
            test_command=test_command,
            image=image,
        )


def _start_state_suite(context: StageContext, image: str, command: str) -> SuiteRun:
    spec = _sandbox(context, image, network=False, role="reconstruct")
    with context.engine.start(spec) as sandbox:
        return run_suite(sandbox, command, workdir=WORKDIR)


def _write_solution(
    context: StageContext, image: str, patch: SolutionPatch, solution: Path, journal: BuildJournal
) -> None:
    write_text_atomic(solution / "solve.sh", solve_script(patch.diff, workdir=WORKDIR))
    (solution / "solve.sh").chmod(0o755)
    spec = _sandbox(context, image, network=False, role="reconstruct")
    with context.engine.start(spec) as sandbox:
        ok, output = apply_solution(sandbox, solution)
    if not ok:
        tail = output.splitlines()[-1] if output else "no output"
        raise KettleError(f"solve.sh does not apply to the start state: {tail}")
    journal.facts.append(
        f"solve.sh applies cleanly in a container: {len(patch.source_paths)} source file(s), "
        f"{patch.strategy.replace('_', ' ')}"
    )


def _write_build_report(
    context: StageContext, report: ReconstructionReport, journal: BuildJournal
) -> None:
    lines = [
        f"# Build report: {context.candidate.id}",
        "",
        f"Builder: {NAME} (no model). Status: **{report.status}** — {report.message}",
        f"Written {datetime.now(UTC).isoformat(timespec='seconds')}.",
        "",
        "## What happened",
        *[f"- {fact}" for fact in journal.facts],
        "",
        "## Obstacles and how they were met",
        *(
            [
                f"- {o.summary}" + (f" → {o.resolution}" if o.resolution else "")
                for o in report.obstacles
            ]
            or ["- none"]
        ),
        "",
        "## Dependencies (pinned, as installed)",
        *([f"- `{d}`" for d in report.dependencies] or ["- none"]),
        "",
    ]
    if report.test_command:
        lines += ["## Test command", "", f"    {report.test_command}", ""]
    write_text_atomic(context.workspace.build_report_path, "\n".join(lines))


# --- verifier ---------------------------------------------------------------------------


class BaselineVerifierWriter:
    """Turns the fix's own tests into the verifier (see the module doc)."""

    name = NAME

    def write_verifier(
        self, context: StageContext, reconstruction: ReconstructionReport
    ) -> VerifierReport:
        try:
            return self._write(context, reconstruction)
        except KettleError as error:
            return VerifierReport(builder=NAME, status="failed", message=error.message)

    def _write(self, context: StageContext, reconstruction: ReconstructionReport) -> VerifierReport:
        if reconstruction.status != "ok":
            raise KettleError(
                f"nothing to verify: reconstruction failed ({reconstruction.message})"
            )
        repo_source, start, fix = _commits(context)
        draft = context.workspace.draft
        environment, tests_dir = draft / "environment", draft / "tests"
        with context.repos.open(repo_source) as repo:
            patch = plan_solution(repo, start, fix)
            test_files = {
                path: repo.read_file(fix, path, max_bytes=_MAX_TEST_FILE_BYTES) or b""
                for path in patch.test_paths
            }
            configs = {name: _text(repo.read_file(fix, name)) for name in PYTEST_CONFIG_FILES}
            fix_diff = repo.commit_patch(fix)
        if not test_files:
            raise KettleError("no tests in the fix; a model-driven verifier is needed")
        project = detect_project(environment / "app", test_paths=patch.test_paths)
        modules = [p for p in patch.test_paths if is_test_module(p, project.kind)]
        if not modules:
            raise KettleError(
                f"the fix changes test files but no test module ({', '.join(patch.test_paths[:5])})"
                "; a model-driven verifier is needed"
            )
        image = build_environment(
            context.engine,
            context.settings,
            environment,
            name=context.candidate.id,
            log_path=context.workspace.logs / "build.log",
        )
        facts = scan_image(
            context.engine,
            image,
            kind=project.kind,
            run_id=context.run_id,
            workdir=WORKDIR,
            venv=VENV if project.kind == "python" else None,
        )
        if project.kind == "python":
            runs = python_runs(facts, modules, WORKDIR)
            settings = pytest_ini(
                pytest_options(configs), source=pytest_config_file(configs), workdir=WORKDIR
            )
        else:
            assert project.node is not None
            runs = node_runs(facts, project.node, modules, WORKDIR)
            settings = None
        plan = make_plan(facts, runs, sorted(test_files), workdir=WORKDIR, expected=None)
        written = write_tests_dir(tests_dir, plan, facts, test_files, pytest_settings=settings)
        log = context.workspace.logs / "verifier.log"
        before = self._judge(context, image, tests_dir, solved=False, log=log)
        repeats = max(1, min(context.validation_repeats, _MAX_AFTER_RUNS))
        afters = [
            self._judge(context, image, tests_dir, solved=True, log=log) for _ in range(repeats)
        ]
        found = transitions(before.tests, [after.tests for after in afters])
        if not any(o == "passed" for after in afters for o in after.tests.values()):
            raise KettleError(
                f"none of the fix's tests pass after solve.sh ({afters[0].reason}; "
                f"{_first_runs(afters[0])})"
            )
        if not found.fail_to_pass:
            raise KettleError("the fix's tests do not fail on the start state")
        plan.expected = found.expected
        write_plan(tests_dir, plan)
        # The shipped verifier judges these same outcomes with the same code: the start
        # state must score 0 and every run after the fix 1. (Validation then checks both
        # again in fresh containers.)
        start_verdict = judge(plan.expected, before.tests, [])
        oracle_verdicts = [judge(plan.expected, after.tests, []) for after in afters]
        if start_verdict["reward"] != 0 or any(v["reward"] != 1 for v in oracle_verdicts):
            raise KettleError(
                f"the verifier does not separate the states: start {start_verdict['reason']}; "
                f"after the fix {oracle_verdicts[0]['reason']}"
            )
        names = names_defined_in_tests(_text(content) or "" for content in test_files.values())
        instruction = compose_instruction(
            context.candidate,
            context.qualification,
            workdir=WORKDIR,
            fix_diff=fix_diff,
            test_names=sorted(names | set(found.expected)),
        )
        write_text_atomic(draft / "instruction.md", instruction)
        flaky = f", {len(found.flaky)} flaky left out" if found.flaky else ""
        return VerifierReport(
            builder=NAME,
            status="ok",
            message=(
                f"{len(found.fail_to_pass)} fail-to-pass and {len(found.pass_to_pass)} "
                f"pass-to-pass tests from {len(modules)} test file(s) of the fix{flaky}"
            ),
            fail_to_pass=found.fail_to_pass,
            pass_to_pass=found.pass_to_pass,
            test_files=written,
        )

    def _judge(
        self, context: StageContext, image: str, tests_dir: Path, *, solved: bool, log: Path
    ) -> JudgeRun:
        """One run of the verifier in a fresh container, at the start state or after solve.sh."""
        spec = _sandbox(context, image, network=False, role="verifier")
        with context.engine.start(spec) as sandbox:
            if solved:
                ok, output = apply_solution(sandbox, context.workspace.draft / "solution")
                if not ok:
                    raise KettleError(f"solve.sh failed: {output.splitlines()[-1:]}")
            verdict = run_judge(sandbox, tests_dir)
        if verdict.integrity_problems:
            raise KettleError(
                f"the verifier finds the fresh image tampered with: {verdict.integrity_problems[0]}"
            )
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as handle:
            state = "after solve.sh" if solved else "start state"
            handle.write(f"== {state}: reward {verdict.reward} ({verdict.reason})\n")
            handle.write(json.dumps(verdict.tests, indent=2) + "\n" + verdict.output + "\n\n")
        return verdict


def _first_runs(verdict: JudgeRun) -> str:
    described = [
        f"{run.get('label')}: exit {run.get('exit_code')}, {run.get('tests')} tests"
        for run in verdict.runs[:3]
    ]
    return "; ".join(described) or "no runs"


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    return data.decode("utf-8", errors="replace")
