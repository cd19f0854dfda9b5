"""The ``baseline`` reconstructor: the start state and the oracle for the common case, no model.

``BaselineReconstructor`` exports the start commit's tree into ``draft/environment/app/``,
detects the project (Python with pytest, Node with npm test), resolves its dependencies
once in a networked sandbox and records what got installed (``pip freeze``, the apt
series of Node.js, ``package-lock.json``), writes a Dockerfile that installs exactly that,
builds it, checks that the project's tests run at the start state, and writes
``solution/solve.sh`` with the fix's source changes as an embedded patch, confirmed to
apply in a container.

Every fallback taken is an ``Obstacle`` in the report and a line in ``build_report.md``.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from agents.context import StageContext, build_commits, sandbox_spec
from agents.reconstruct.records import Obstacle, ReconstructionReport
from harness.errors import KettleError
from harness.fsio import write_text_atomic
from harness.llm import BASELINE
from tools.projects.dependencies import BuildJournal, set_up_node, set_up_python
from tools.projects.detect import (
    detect_project,
)
from tools.projects.dockerfile import WORKDIR, build_environment
from tools.projects.records import SuiteRun
from tools.projects.test_runs import apply_solution, run_suite
from tools.repos.patches import plan_solution, solve_script
from tools.repos.records import SolutionPatch


def _obstacles(journal: BuildJournal) -> list[Obstacle]:
    return [Obstacle(summary=summary, resolution=how) for summary, how in journal.obstacles]


# --- reconstruction ---------------------------------------------------------------------


class BaselineReconstructor:
    """Reconstructs the start state and the oracle without a model (see the module doc)."""

    name = BASELINE

    def reconstruct(self, context: StageContext) -> ReconstructionReport:
        journal = BuildJournal(context.workspace.logs / "reconstruct.log")
        try:
            report = self._reconstruct(context, journal)
        except KettleError as error:
            report = ReconstructionReport(
                builder=BASELINE,
                status="failed",
                message=error.message,
                obstacles=_obstacles(journal),
            )
            if context.qualification is not None:
                report.start_commit = context.qualification.start_commit
                report.fix_commit = context.qualification.fix_commit
        _write_build_report(context, report, journal)
        return report

    def _reconstruct(self, context: StageContext, journal: BuildJournal) -> ReconstructionReport:
        repo_source, start, fix = build_commits(context)
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
        resolver = sandbox_spec(
            context, context.settings.base_image, network=True, role="reconstruct"
        )
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
            builder=BASELINE,
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
    spec = sandbox_spec(context, image, network=False, role="reconstruct")
    with context.engine.start(spec) as sandbox:
        return run_suite(sandbox, command, workdir=WORKDIR)


def _write_solution(
    context: StageContext, image: str, patch: SolutionPatch, solution: Path, journal: BuildJournal
) -> None:
    write_text_atomic(solution / "solve.sh", solve_script(patch.diff, workdir=WORKDIR))
    (solution / "solve.sh").chmod(0o755)
    spec = sandbox_spec(context, image, network=False, role="reconstruct")
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
        f"Builder: {BASELINE} (no model). Status: **{report.status}** — {report.message}",
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
