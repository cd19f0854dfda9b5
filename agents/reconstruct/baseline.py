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

import posixpath
import re
import shlex
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from agents.context import StageContext, build_commits, sandbox_spec
from agents.reconstruct.records import Obstacle, ReconstructionReport
from harness.errors import KettleError
from harness.fsio import write_bytes_atomic, write_text_atomic
from harness.llm import BASELINE
from harness.machine.base_image import ensure_base_image
from harness.settings import DEFAULT_SUITE, SUITE_PYTHON
from harness.text import strip_ansi
from tools.projects.dependencies import (
    BuildJournal,
    NodeInstall,
    PythonInstall,
    set_up_node,
    set_up_python,
)
from tools.projects.detect import detect_project
from tools.projects.dockerfile import LOCKS_DIR, VENV, WORKDIR, build_environment
from tools.projects.layout import fix_project_dir
from tools.projects.node import runner_command
from tools.projects.python import (
    declared_requirements,
    pretend_version_env,
    python_allowed,
    release_version,
)
from tools.projects.records import NodeSetup, Project, SuiteRun
from tools.projects.runtimes import NODE_FROM_DEBIAN, choose_node, choose_python
from tools.projects.symlinks import LINKS_FILE, export_start_state
from tools.projects.test_runs import apply_solution, run_suite
from tools.repos.git import LocalRepo
from tools.repos.patches import plan_solution, reader_for, solve_script, splitter_for
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

    def _try(
        self,
        context: StageContext,
        attempt: _Attempt,
        project: Project,
        environment: Path,
        solution: Path,
        journal: BuildJournal,
        probe_files: dict[str, bytes],
        modules: list[str],
        project_dir: str,
        added: tuple[str, ...],
    ) -> _Tried:
        """Install the project one way, build the image, and run the fix's tests in it."""
        base = ensure_base_image(
            context.engine, context.settings, journal.facts.append, suite=attempt.suite
        )
        resolver = sandbox_spec(context, base, network=True, role="reconstruct")
        if project.kind == "python" and attempt.python is not None:
            dependencies, test_command = set_up_python(
                context.engine, resolver, project, environment, journal,
                replace(attempt.python, added=added), suite=attempt.suite,
            )  # fmt: skip
        else:
            assert attempt.node is not None
            dependencies, test_command = set_up_node(
                context.engine, resolver, project, environment, journal, attempt.node,
                suite=attempt.suite,
            )  # fmt: skip
        image = build_environment(
            context.engine,
            context.settings,
            environment,
            name=context.candidate.id,
            log_path=context.workspace.logs / "build.log",
        )
        journal.facts.append(f"image builds ({attempt.label}): {image}")
        probe = _probe(context, image, solution, probe_files, modules, project, project_dir)
        journal.facts.append(
            f"the fix's tests after solve.sh ({attempt.label}): `{probe.command}` exited "
            f"{probe.exit_code}: {probe.summary}"
        )
        return _Tried(attempt, dependencies, test_command, probe, _recipe_files(environment))

    def _reconstruct(self, context: StageContext, journal: BuildJournal) -> ReconstructionReport:
        repo_source, start, fix = build_commits(context)
        first = getattr(context.qualification, "fix_first_commit", None)
        draft = context.workspace.draft
        environment, solution = draft / "environment", draft / "solution"
        shutil.rmtree(environment, ignore_errors=True)
        shutil.rmtree(solution, ignore_errors=True)
        with context.repos.open(repo_source) as repo:
            absent, links = export_start_state(repo, start, environment / "app")
            patch = plan_solution(repo, start, fix, first=first)
            # Dependencies resolve as of the latest date in the start's history, not its own.
            latest = repo.latest_date(start)
            release = repo.nearest_release(start)
            splitter = splitter_for(repo, patch.fixed_tree)
            probe_files = {
                path: repo.read_file(patch.fixed_tree, path, max_bytes=64 * 1024 * 1024) or b""
                for path in patch.test_paths
            }
            files = {entry.path for entry in repo.list_files(start)}
            subdir = fix_project_dir(
                [*patch.test_paths, *patch.source_paths], files, reader_for(repo, start)
            )
            fixed_requirements = _declared(repo, patch.fixed_tree, patch, subdir)
            start_requirements = _declared(repo, start, patch, subdir)
        journal.facts.append(f"start commit {start}, fix commit {fix}")
        if absent:
            journal.obstacle(
                f"{len(absent)} file(s) of the start commit are absent from this copy of the "
                f"repository (a partial clone or a mirror without large files), e.g. {absent[0]}",
                "left them out of the environment",
            )
        if links:
            journal.obstacle(
                f"the repository tracks {len(links)} symlink(s) (e.g. {min(links)}), which a "
                "task folder may not hold",
                f"the Dockerfile recreates them (environment/{LINKS_FILE})",
            )
        if not patch.source_paths:
            raise KettleError("the fix changes no source files, only tests")
        if patch.left_out:
            journal.obstacle(
                f"the fix's {', '.join(patch.left_out)} conflict with the start state (the "
                "commits in between edited them too)",
                "left them out: solve.sh and the tests carry the fix's code and tests alone",
            )
        if patch.strategy == "cumulative":
            journal.obstacle(
                "the fix commit's own change does not apply to the start state",
                "solve.sh carries every source change from the start commit to the fix",
            )
        root = environment / "app" / subdir if subdir else environment / "app"
        project = detect_project(
            root, test_paths=patch.test_paths, workspace_root=environment / "app"
        )
        for note in project.notes:
            journal.obstacle(note)
        project_dir = f"{WORKDIR}/{subdir}" if subdir else WORKDIR
        where = f" in {subdir}/" if subdir else ""
        journal.facts.append(f"{project.kind} project{where} ({', '.join(project.markers)})")
        modules = splitter.test_modules(patch.test_paths)
        _write_solution_script(patch, solution)
        attempts = _attempts(project, project_dir, release, latest, journal)
        added = sorted(set(fixed_requirements) - set(start_requirements))
        if added:
            journal.obstacle(
                f"the fix adds dependencies: {', '.join(fixed_requirements[n] for n in added)}",
                "installed in the environment as well, so the solver can use them offline",
            )
        added_requirements = tuple(fixed_requirements[n] for n in added)
        tried: list[_Tried] = []
        for number, attempt in enumerate(attempts, 1):
            try:
                tried.append(
                    self._try(context, attempt, project, environment, solution, journal,
                              probe_files, modules, project_dir, added_requirements)
                )  # fmt: skip
            except KettleError as error:
                if number == len(attempts) and not tried:
                    raise
                journal.obstacle(f"{attempt.label}: {error.message}", "tried the next way")
                continue
            if _works(tried[-1].probe):
                break
            if number < len(attempts):
                journal.obstacle(
                    f"the fix's tests do not run {attempt.label} ({tried[-1].probe.summary})",
                    f"tried again {attempts[number].label}",
                )
        best = next((t for t in tried if _works(t.probe)), None)
        if best is None:
            # None works: keep the way that ran the most of the fix's tests.
            best = max(tried, key=lambda t: _passed(t.probe))
            journal.obstacle(
                f"the fix's tests do not run in the environment ({best.probe.summary})",
                f"kept the environment {best.attempt.label}; the verifier reports what fails",
            )
        if best is not tried[-1]:
            best.restore(environment)
        dependencies, test_command, probe, attempt = (
            best.dependencies, best.test_command, best.probe, best.attempt
        )  # fmt: skip
        image = build_environment(
            context.engine,
            context.settings,
            environment,
            name=context.candidate.id,
            log_path=context.workspace.logs / "build.log",
        )
        _check_solution(context, image, patch, solution, journal)
        return ReconstructionReport(
            builder=BASELINE,
            status="ok",
            message=(
                f"{project.kind} project builds ({attempt.label}); the fix's tests after "
                f"solve.sh: {probe.summary or 'no summary'}; solve.sh applies the fix "
                f"({patch.strategy.replace('_', ' ')})"
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


@dataclass
class _Tried:
    """One way of installing, tried: what it wrote and what the probe said."""

    attempt: _Attempt
    dependencies: list[str]
    test_command: str
    probe: SuiteRun
    files: dict[str, bytes]  # Dockerfile and locks/, to go back to this way

    def restore(self, environment: Path) -> None:
        shutil.rmtree(environment / LOCKS_DIR, ignore_errors=True)
        for name, content in self.files.items():
            write_bytes_atomic(environment / name, content)


def _recipe_files(environment: Path) -> dict[str, bytes]:
    paths = [environment / "Dockerfile", *sorted((environment / LOCKS_DIR).glob("**/*"))]
    return {
        path.relative_to(environment).as_posix(): path.read_bytes()
        for path in paths
        if path.is_file()
    }


def _passed(probe: SuiteRun) -> int:
    found = re.search(r"\b(\d+) passed", probe.summary)
    return int(found.group(1)) if found else 0


@dataclass(frozen=True)
class _Attempt:
    label: str
    suite: str
    python: PythonInstall | None = None
    node: NodeInstall | None = None


def _attempts(
    project: Project, project_dir: str, release: str | None, started: datetime,
    journal: BuildJournal,
) -> list[_Attempt]:  # fmt: skip
    """The ways to install the project, in order: as it is today, then as of the start
    commit's date (code of the past often breaks on today's releases of its dependencies)."""
    as_of = (started + timedelta(days=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if project.kind == "node" and project.node is not None:
        return _node_attempts(project.node, project_dir, as_of, journal)
    assert project.python is not None
    setup = project.python
    choice = choose_python(setup.requires_python, setup.supported_pythons)
    journal.facts.append(f"Python {choice.version} (Debian {choice.suite}): {choice.reason}")
    if not choice.fits:
        journal.obstacle(choice.reason, f"used Python {choice.version}, the nearest kettle has")
    version = release_version(release)
    env = pretend_version_env(setup.vcs_versioning, version)
    if env:
        journal.obstacle(
            f"the version comes from git ({', '.join(setup.vcs_versioning)}) and the "
            "environment has no .git",
            f"set {', '.join(sorted(env))}={version} (the nearest release: {release or 'none'})",
        )
    attempts = [
        _Attempt(
            label=f"on Python {choice.version} with today's releases of its dependencies",
            suite=choice.suite,
            python=PythonInstall(project_dir=project_dir, env=env, tools_as_of=as_of),
        ),
        _Attempt(
            label=f"on Python {choice.version} with its dependencies as of the start commit's "
            f"date ({as_of[:10]})",
            suite=choice.suite,
            python=PythonInstall(project_dir=project_dir, env=env, as_of=as_of, tools_as_of=as_of),
        ),
    ]
    # Tests may need another interpreter than the one the project's metadata suggests
    # (tests that only run on newer Pythons, code that breaks on them): the newest other
    # admitted one last.
    others = [
        (version, suite)
        for suite, version in sorted(
            SUITE_PYTHON.items(), key=lambda item: [-int(n) for n in item[1].split(".")]
        )
        if version != choice.version
        and (setup.requires_python is None or python_allowed(setup.requires_python,
                                                             _version_key(version)))
    ]  # fmt: skip
    for version, suite in others[:1]:
        attempts.append(
            _Attempt(
                label=f"on Python {version} with today's releases of its dependencies",
                suite=suite,
                python=PythonInstall(project_dir=project_dir, env=env, tools_as_of=as_of),
            )
        )
    return attempts


def _version_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _node_attempts(
    setup: NodeSetup, project_dir: str, as_of: str, journal: BuildJournal
) -> list[_Attempt]:
    node = choose_node(setup.engines_node, setup.pinned_node)
    if not node.fits:
        journal.obstacle(node.reason, f"used Node.js {node.version}, the nearest kettle has")
    suite = NODE_FROM_DEBIAN.get(node.major, DEFAULT_SUITE)
    manager = setup.package_manager.replace("-", " ")
    first = _Attempt(
        label=f"with {manager} and {setup.lock_file or 'no lock file'}",
        suite=suite,
        node=NodeInstall(node=node, project_dir=project_dir),
    )
    if setup.lock_file:
        return [first]
    return [
        first,
        _Attempt(
            label=f"with its dependencies as of the start commit's date ({as_of[:10]})",
            suite=suite,
            node=NodeInstall(node=node, project_dir=project_dir, as_of=as_of),
        ),
    ]


def _declared(repo: LocalRepo, rev: str, patch: SolutionPatch, folder: str) -> dict[str, str]:
    """What the project declares it needs at ``rev``, if the fix touches its manifests."""
    manifests = {"pyproject.toml", "setup.cfg", "setup.py", "requirements.txt"}
    if not any(PurePosixPath(path).name in manifests for path in patch.source_paths):
        return {}

    def read(name: str) -> str | None:
        data = repo.read_file(rev, f"{folder}/{name}" if folder else name)
        return data.decode("utf-8", "replace") if data is not None else None

    return declared_requirements(read)


def _probe(
    context: StageContext,
    image: str,
    solution: Path,
    files: dict[str, bytes],
    modules: list[str],
    project: Project,
    project_dir: str,
) -> SuiteRun:
    """The fix's own tests after solve.sh, in a fresh container: do they run and pass?"""
    spec = sandbox_spec(context, image, network=False, role="reconstruct")
    with context.engine.start(spec) as sandbox:
        ok, output = apply_solution(sandbox, solution)
        if not ok:
            return SuiteRun(command="solve.sh", exit_code=1, ran=False, summary=output[-200:])
        for path, content in files.items():
            sandbox.write_file(f"{WORKDIR}/{path}", content)
        prefix = project_dir.removeprefix(WORKDIR).strip("/")
        relative = [m.removeprefix(f"{prefix}/") if prefix else m for m in modules]
        if project.kind == "python":
            command = f"{VENV}/bin/python -m pytest -q -p no:cacheprovider -rfE " + " ".join(
                shlex.quote(m) for m in relative
            )
        else:
            assert project.node is not None
            install_dir = posixpath.normpath(posixpath.join(project_dir, project.node.install_dir))
            bins = f"{project_dir}/node_modules/.bin:{install_dir}/node_modules/.bin"
            # Exported: the runner command expands $(command -v jest) and chains a build with
            # &&, which a one-command PATH=... prefix would not reach.
            command = f"export PATH={bins}:$PATH && {runner_command(project.node, relative)}"
        return run_suite(sandbox, f"cd {shlex.quote(project_dir)} && {command}", workdir=WORKDIR)


def _works(probe: SuiteRun) -> bool:
    """The tests ran (no collection error) and at least one of them passed (pytest says
    how many; other runners only that the suite passed)."""
    passed = re.search(r"\b([1-9]\d*) passed", probe.summary)
    counted = re.search(r"\b\d+ (passed|failed|skipped|errors?)\b", probe.summary)
    collection = re.search(r"errors? during collection|ERROR collecting", probe.summary)
    if not probe.ran or collection:
        return False
    return passed is not None if counted else probe.exit_code == 0


def _write_solution_script(patch: SolutionPatch, solution: Path) -> None:
    write_text_atomic(solution / "solve.sh", solve_script(patch.diff, workdir=WORKDIR))
    (solution / "solve.sh").chmod(0o755)


def _check_solution(
    context: StageContext, image: str, patch: SolutionPatch, solution: Path, journal: BuildJournal
) -> None:
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
    write_text_atomic(context.workspace.build_report_path, strip_ansi("\n".join(lines)))


# --- verifier ---------------------------------------------------------------------------
