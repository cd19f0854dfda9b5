"""Resolving a project's dependencies once, and pinning what got installed.

The builder installs the project in a sandbox started from the base image with network,
the way a developer would (a virtualenv, ``pip install -e .[test]``; Debian's Node.js,
``npm ci`` or ``npm install``), and records exactly what resolved: ``pip freeze``, the
apt series of Node.js and npm, the ``package-lock.json`` npm wrote. It then writes the
environment's Dockerfile to install that record, so the image rebuilds the same and the
tests run without network. Every fallback taken is an obstacle in the journal.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import KettleError
from harness.fsio import write_bytes_atomic, write_text_atomic
from harness.sandbox.container import DockerSandbox
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.settings import DEFAULT_SUITE
from harness.text import strip_ansi
from tools.projects.dockerfile import (
    NODE_LOCK,
    PYTHON_LOCK,
    VENV,
    WORKDIR,
    node_dockerfile,
    node_setup_script,
    python_dockerfile,
)
from tools.projects.python import lock_constraints
from tools.projects.records import NodeRecipe, NodeSetup, Project, PythonRecipe, PythonSetup
from tools.projects.runtimes import NodeChoice
from tools.projects.symlinks import recorded_symlinks, with_symlinks

RESOLVE_TIMEOUT_SEC = 900


@dataclass
class BuildJournal:
    """What a build step did: obstacles met, facts worth reporting, and a log of commands."""

    log_path: Path
    # (what stood in the way, how it was met)
    obstacles: list[tuple[str, str]] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    # The whole (ANSI-free) output of the last command, for a caller that must tell one
    # failure from another (npm's ERESOLVE is said long before its last line).
    last_output: str = ""

    def obstacle(self, summary: str, resolution: str = "") -> None:
        self.obstacles.append((summary, resolution))

    def command(self, sandbox: DockerSandbox, command: str, *, timeout: float) -> tuple[bool, str]:
        """Run ``command`` in /app; log it; return (succeeded, the last line of its output)."""
        result = sandbox.exec(["bash", "-c", command], timeout_sec=timeout, workdir=WORKDIR)
        output = strip_ansi(result.stdout + result.stderr).strip()
        self.last_output = output
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"$ {command}\n{output[-6000:]}\n--- exit {result.exit_code}\n\n")
        last = next((line for line in reversed(output.splitlines()) if line.strip()), "")
        if result.timed_out:
            last = f"timed out after {timeout:.0f}s"
        return result.ok, last.strip()[:300]


@dataclass(frozen=True)
class PythonInstall:
    """One way of installing a Python project, as the reconstructor tries them in turn."""

    project_dir: str = WORKDIR  # where the project is in the image (a monorepo's package)
    env: dict[str, str] = field(default_factory=dict)  # e.g. pretend-version variables
    as_of: str | None = None  # resolve as of this date (ISO), as the user's machine did
    added: tuple[str, ...] = ()  # requirements the fix adds: installed too (documented)
    # The start commit's date (ISO): pip, setuptools and wheel are taken as of then when
    # they vendor the project itself (pip carries packaging, platformdirs, rich, ...).
    tools_as_of: str | None = None


def set_up_python(
    engine: DockerEngine,
    spec: SandboxSpec,
    project: Project,
    environment: Path,
    journal: BuildJournal,
    install: PythonInstall | None = None,
    *,
    suite: str = DEFAULT_SUITE,
) -> tuple[list[str], str]:
    """Resolve a Python project's dependencies in a networked sandbox; write the lock and
    the Dockerfile. Returns (pinned dependencies, the suite's test command)."""
    setup = project.python
    assert setup is not None
    install = install or PythonInstall()
    pip = _Pip(journal, as_of=install.as_of, project_dir=install.project_dir)
    editable = False
    with engine.start(spec.model_copy(update={"env": {**spec.env, **install.env}})) as sandbox:
        sandbox.copy_in(environment / "app", WORKDIR)
        ok, why = journal.command(sandbox, f"python3 -m venv {VENV}", timeout=120)
        if not ok:
            raise KettleError(f"cannot create a virtualenv in the base image: {why}")
        tools = ["pip", "setuptools", "wheel", *(["uv"] if install.as_of else [])]
        ok, why = journal.command(
            sandbox, f"{VENV}/bin/pip install --upgrade {shlex.join(tools)}",
            timeout=RESOLVE_TIMEOUT_SEC,
        )  # fmt: skip
        if not ok:
            journal.obstacle(f"pip/setuptools did not upgrade: {why}", "kept the venv's own")
        root = Path(environment / "app" / install.project_dir.removeprefix(WORKDIR).lstrip("/"))
        if install.tools_as_of and _tools_before_the_project(
            sandbox, root, install.tools_as_of, journal
        ):
            # Packages that embed the tools carry them too (virtualenv ships pip wheels): the
            # whole install is resolved as of the same date.
            pip.as_of = pip.as_of or install.tools_as_of
        pip.constraints = _lock_constraints(sandbox, root, setup, journal)
        if setup.build_requires and not pip.run(sandbox, setup.build_requires):
            journal.obstacle(f"build requirements {setup.build_requires} did not install")
        if setup.installable:
            _install_editable_requirements(sandbox, pip, journal)
        for requirements in setup.requirement_files:
            if not pip.run(sandbox, ["-r", requirements]):
                journal.obstacle(f"{requirements} did not install", "skipped it")
        if setup.installable:
            editable = _install_editable(sandbox, pip, setup, journal)
        extra = [*setup.group_requirements, *install.added]
        if extra and not pip.run(sandbox, extra):
            failed = [item for item in extra if not pip.run(sandbox, [item])]
            journal.obstacle(
                f"test requirements that did not install: {', '.join(failed)}"
                if failed else "test requirements installed only one at a time"
            )  # fmt: skip
        has_pytest, _ = journal.command(
            sandbox, f"{VENV}/bin/python -c 'import pytest'", timeout=60
        )
        if not has_pytest:
            journal.obstacle("the project's test requirements name no pytest", "installed pytest")
            if not pip.run(sandbox, ["pytest"]):
                raise KettleError("cannot install pytest")
        result = sandbox.exec(
            [f"{VENV}/bin/pip", "freeze", "--all", "--exclude-editable"],
            timeout_sec=120,
            workdir=WORKDIR,
        )
        if not result.ok:
            raise KettleError(f"pip freeze failed: {result.stderr.strip()[-200:]}")
    lock, pip_version = _python_lock(result.stdout, journal)
    if not setup.lock_file:
        journal.obstacle(
            "no lock file in the repository",
            f"pinned the {len(lock)} installed packages from pip freeze ({PYTHON_LOCK})",
        )
    write_text_atomic(environment / PYTHON_LOCK, "".join(f"{line}\n" for line in lock))
    recipe = PythonRecipe(
        suite=suite,
        described_by=", ".join(project.markers[:3]),
        pip_version=pip_version,
        locked=bool(lock),
        editable=editable,
        project_dir=install.project_dir,
        import_root=_import_root(root, install.project_dir) if not editable else None,
        env=install.env,
    )
    write_text_atomic(
        environment / "Dockerfile",
        with_symlinks(python_dockerfile(recipe), recorded_symlinks(environment), WORKDIR),
    )
    pinned = [f"pip=={pip_version}", *lock] if pip_version else lock
    return (
        pinned,
        f"cd {shlex.quote(install.project_dir)} && {VENV}/bin/python -m pytest -q "
        "-p no:cacheprovider",
    )


_TOOLS = ("pip", "setuptools", "wheel")


def _tools_before_the_project(
    sandbox: DockerSandbox, root: Path, as_of: str, journal: BuildJournal
) -> bool:
    """Take pip, setuptools and wheel as of ``as_of`` when one of them vendors the project;
    True when they do (and were replaced).

    Today's pip carries a copy of today's release of the project (pip vendors packaging,
    platformdirs, rich, ...), which may hold the very fix the task asks for: a leak the
    validator rightly refuses. The tools as of the start commit's date carry a copy from
    before it.
    """
    names = top_level_packages(root)
    if not names:
        return False
    probe = " ".join(f"*/_vendor/{shlex.quote(name)}" for name in names)
    found = sandbox.exec(
        ["bash", "-c", f"cd {VENV}/lib/python3*/site-packages && ls -d {probe} 2>/dev/null"],
        timeout_sec=60,
        workdir=WORKDIR,
    )
    vendored = sorted({line.strip() for line in found.stdout.splitlines() if line.strip()})
    if not vendored:
        return False
    # uv resolves the versions as of the date (it leaves an installed newer pip alone when
    # asked to install, so it only names them); pip then installs exactly those.
    compile_ = (
        f"printf '%s\\n' {shlex.join(_TOOLS)} | {VENV}/bin/uv pip compile - --python "
        f"{VENV}/bin/python --exclude-newer {as_of} --no-header --no-annotate --quiet"
    )
    ok, why = journal.command(
        sandbox,
        f"{VENV}/bin/pip install uv && pins=$({compile_}) && "
        f'{VENV}/bin/pip install --no-deps $pins && echo "installed $pins"',
        timeout=RESOLVE_TIMEOUT_SEC,
    )
    journal.obstacle(
        f"today's packaging tools carry a copy of the project ({', '.join(vendored)}), "
        "possibly with the fix in it",
        f"installed {', '.join(_TOOLS)}, and resolved every dependency, as of the start "
        f"commit's date ({as_of[:10]})"
        if ok else f"kept today's tools: installing older ones failed ({why})",
    )  # fmt: skip
    return ok


def top_level_packages(root: Path) -> list[str]:
    """The import packages a Python project's folder holds (a src/ layout or flat)."""
    found: list[str] = []
    for folder in (root / "src", root):
        if folder.is_dir():
            found += [
                child.name
                for child in sorted(folder.iterdir())
                if child.is_dir() and (child / "__init__.py").is_file()
                and child.name.isidentifier() and child.name not in {"tests", "test", "docs"}
            ]  # fmt: skip
    return found


class _Pip:
    """pip (or, resolving as of a past date, uv's pip) in the sandbox's venv."""

    def __init__(self, journal: BuildJournal, *, as_of: str | None, project_dir: str) -> None:
        self.journal, self.as_of, self.project_dir = journal, as_of, project_dir
        self.constraints: str | None = None

    def command(self, args: list[str], *, isolation: bool = True) -> str:
        if self.as_of:
            base = [f"{VENV}/bin/uv", "pip", "install", "--python", f"{VENV}/bin/python"]
            base += ["--exclude-newer", self.as_of]
        else:
            base = [f"{VENV}/bin/pip", "install"]
        if not isolation:
            base.append("--no-build-isolation")
        if self.constraints:
            base += ["-c", self.constraints]
        return f"cd {shlex.quote(self.project_dir)} && {shlex.join([*base, *args])}"

    def run(self, sandbox: DockerSandbox, args: list[str], *, isolation: bool = True) -> bool:
        ok, _ = self.journal.command(
            sandbox, self.command(args, isolation=isolation), timeout=RESOLVE_TIMEOUT_SEC
        )
        return ok


_CONSTRAINTS_PATH = "/opt/kettle/constraints.txt"


def _lock_constraints(
    sandbox: DockerSandbox, root: Path, setup: PythonSetup, journal: BuildJournal
) -> str | None:
    """The project's lock file as pip constraints, so installs take its versions."""
    pins = lock_constraints(root, setup.lock_file)
    if not pins:
        return None
    sandbox.write_file(_CONSTRAINTS_PATH, "".join(f"{pin}\n" for pin in pins))
    journal.obstacle(
        f"the project locks its dependencies in {setup.lock_file}",
        f"installed with its {len(pins)} pinned versions as constraints",
    )
    return _CONSTRAINTS_PATH


# Asks the project's PEP 517 build backend what an editable build needs on top of its
# build requirements (hatchling needs `editables`, for one). Run inside the sandbox's venv.
_EDITABLE_REQUIRES_SCRIPT = """
import importlib, json, sys
try:
    import tomllib
except ImportError:  # Python < 3.11: pip has carried tomli since 21.2
    try:
        import tomli as tomllib
    except ImportError:
        from pip._vendor import tomli as tomllib
try:
    with open("pyproject.toml", "rb") as handle:
        system = tomllib.load(handle).get("build-system", {})
except FileNotFoundError:
    system = {}
sys.path[:0] = system.get("backend-path", [])
name = system.get("build-backend", "setuptools.build_meta:__legacy__")
module, _, attribute = name.partition(":")
backend = importlib.import_module(module)
for part in filter(None, attribute.split(".")):
    backend = getattr(backend, part)
hook = getattr(backend, "get_requires_for_build_editable", None)
print(json.dumps(hook() if hook else []))
"""


def _install_editable_requirements(
    sandbox: DockerSandbox, pip: _Pip, journal: BuildJournal
) -> None:
    """Install what the backend needs for an editable build, so the image can build the
    project without build isolation (and without PyPI) and the lock records it."""
    asked = sandbox.exec(
        [f"{VENV}/bin/python", "-c", _EDITABLE_REQUIRES_SCRIPT],
        timeout_sec=120,
        workdir=pip.project_dir,
    )
    try:
        needed = [str(item) for item in json.loads(asked.stdout.strip().splitlines()[-1])]
    except (IndexError, ValueError):
        journal.obstacle(
            "the build backend could not say what an editable build needs",
            f"left it to pip ({(asked.stderr or asked.stdout).strip()[-160:]})",
        )
        return
    if needed and not pip.run(sandbox, needed):
        journal.obstacle(f"editable-build requirements {needed} did not install")


def _install_editable(
    sandbox: DockerSandbox, pip: _Pip, setup: PythonSetup, journal: BuildJournal
) -> bool:
    """pip install -e the project, with its test extras if they install; False if it won't.

    The build backend is in the venv already, so the first tries build without isolation
    (no second download of it); the last lets pip fetch the backend itself.
    """
    extras = setup.extras
    targets = [f".[{','.join(extras)}]"] if extras else []
    attempts = [(target, False) for target in [*targets, "."]]
    attempts.append((".", True))
    for number, (target, isolation) in enumerate(attempts):
        if pip.run(sandbox, ["-e", target], isolation=isolation):
            if extras and target == ".":
                journal.obstacle(f"extras {extras} did not install", "installed the project alone")
            if number == len(attempts) - 1:
                journal.obstacle("the project only builds with build isolation")
            return True
    journal.obstacle(
        "the project does not install (pip install -e failed; see logs/reconstruct.log)",
        "tests import it from the project folder (python -m pytest puts it on sys.path)",
    )
    return False


def _import_root(root: Path, project_dir: str) -> str | None:
    """Where a project that does not install keeps its packages, when ``python -m pytest``
    run in its folder would not find them there: a src/ layout."""
    return f"{project_dir.rstrip('/')}/src" if (root / "src").is_dir() else None


def _python_lock(freeze: str, journal: BuildJournal) -> tuple[list[str], str | None]:
    """pip freeze lines -> (lock lines without pip itself, pip's version)."""
    lock: list[str] = []
    pip_version = None
    for line in freeze.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("pip=="):
            pip_version = line.split("==", 1)[1]
            continue
        if "file://" in line or line.startswith("-e"):
            journal.obstacle(f"{line.split()[0]} is installed from a local path", "left out")
            continue
        lock.append(line)
    return lock, pip_version


@dataclass(frozen=True)
class NodeInstall:
    """One way of installing a Node project, as the reconstructor tries them in turn."""

    node: NodeChoice
    project_dir: str = WORKDIR
    as_of: str | None = None  # without a lock file: resolve as of this date (npm --before)


def set_up_node(
    engine: DockerEngine,
    spec: SandboxSpec,
    project: Project,
    environment: Path,
    journal: BuildJournal,
    install: NodeInstall,
    *,
    suite: str = DEFAULT_SUITE,
) -> tuple[list[str], str]:
    """Install Node.js and the project's dependencies in a networked sandbox, with the
    project's own package manager and lock file; write the Dockerfile that repeats it."""
    setup = project.node
    assert setup is not None
    install_dir = _join(install.project_dir, setup.install_dir)
    recorded = None
    recipe = NodeRecipe(
        suite=suite,
        runner=setup.runner,
        node_version=install.node.version,
        node_source=install.node.source,
        package_manager=setup.package_manager,
        package_manager_cli=package_manager_cli(setup),
        install_dir=install_dir,
        install_command=install_command(setup, frozen=bool(setup.lock_file)),
        package_name=setup.package_name,
        project_dir=install.project_dir,
    )
    legacy_peers = False
    with engine.start(spec) as sandbox:
        sandbox.copy_in(environment / "app", WORKDIR)
        ok, why = journal.command(sandbox, node_setup_script(recipe), timeout=RESOLVE_TIMEOUT_SEC)
        if not ok:
            raise KettleError(f"cannot install Node.js {install.node.version}: {why}")
        _, node_version = journal.command(sandbox, "node --version", timeout=60)
        journal.facts.append(f"Node.js {node_version} ({install.node.reason})")
        if setup.dependencies:
            command = recipe.install_command
            if not setup.lock_file:
                command = install_command(setup, frozen=False, as_of=install.as_of)
            ok, why = journal.command(
                sandbox, f"cd {shlex.quote(install_dir)} && {command}", timeout=RESOLVE_TIMEOUT_SEC
            )
            if not ok and setup.lock_file:
                journal.obstacle(
                    f"{setup.lock_file} does not install as locked: {why}",
                    "installed without freezing the lock file",
                )
                command = install_command(setup, frozen=False)
                ok, why = journal.command(
                    sandbox, f"cd {shlex.quote(install_dir)} && {command}",
                    timeout=RESOLVE_TIMEOUT_SEC,
                )  # fmt: skip
            if not ok and setup.package_manager == "npm" and "ERESOLVE" in journal.last_output:
                # Old trees often hold peer ranges npm 7+ refuses (ERESOLVE) and npm 6,
                # which their authors used, never checked: resolve as npm 6 did.
                retry = f"{command} {LEGACY_PEER_DEPS}"
                retried, _ = journal.command(
                    sandbox, f"cd {shlex.quote(install_dir)} && {retry}",
                    timeout=RESOLVE_TIMEOUT_SEC,
                )  # fmt: skip
                if retried:
                    journal.obstacle(
                        f"npm does not install the dependencies as they are declared: {why}",
                        f"installed with {LEGACY_PEER_DEPS} (peer ranges unchecked, as npm 6 did)",
                    )
                    ok, command, legacy_peers = True, retry, True
            if not ok:
                raise KettleError(f"the dependencies do not install ({command}): {why}")
            if not setup.lock_file and setup.package_manager == "npm":
                data = sandbox.read_file(f"{install_dir}/package-lock.json")
                write_bytes_atomic(environment / NODE_LOCK, data)
                recorded = NODE_LOCK
                journal.obstacle(
                    "no lock file in the repository (or package-lock=false)",
                    f"pinned what npm resolved{' as of ' + install.as_of if install.as_of else ''}"
                    f" ({NODE_LOCK})",
                )
    recipe = recipe.model_copy(
        update={
            "lock": recorded,
            "install_command": install_command(setup, frozen=True, legacy_peers=legacy_peers)
            if recorded
            else command
            if setup.dependencies
            else None,
        }
    )
    write_text_atomic(
        environment / "Dockerfile",
        with_symlinks(node_dockerfile(recipe), recorded_symlinks(environment), WORKDIR),
    )
    dependencies = [f"node {install.node.version} ({install.node.source})"]
    dependencies += _npm_pins(environment, recorded, install_dir, setup.dependencies)
    path = f"{install_dir}/node_modules/.bin:{install.project_dir}/node_modules/.bin:$PATH"
    script = setup.test_script or "node --test"
    steps = [setup.build_script, script] if setup.build_script else [script]
    command = " && ".join(steps)
    # Exported, so every command of a chained script (build && test && typecheck) finds
    # the project's binaries, not just the first.
    return dependencies, f"cd {shlex.quote(install.project_dir)} && export PATH={path} && {command}"


def _join(project_dir: str, relative: str) -> str:
    return posixpath.normpath(posixpath.join(project_dir, relative)) if relative else project_dir


def package_manager_cli(setup: NodeSetup) -> str | None:
    """The package manager the image needs on PATH (the project's scripts call it too):
    yarn 1 (which hands over to a committed berry release), berry, or pnpm."""
    manager, version = setup.package_manager, setup.package_manager_version
    if manager == "pnpm":
        return f"pnpm@{version or '9'}"
    if manager == "yarn-berry" and not setup.yarn_path:
        return f"@yarnpkg/cli-dist@{version or '4'}"
    if manager in ("yarn-classic", "yarn-berry"):
        return "yarn@1.22.22"
    return None


LEGACY_PEER_DEPS = "--legacy-peer-deps"


def install_command(
    setup: NodeSetup, *, frozen: bool, as_of: str | None = None, legacy_peers: bool = False
) -> str:
    """The project's own package manager installing its dependencies (no prompts);
    ``legacy_peers``: npm resolves without checking peer ranges (as npm 6 did)."""
    manager = setup.package_manager
    if manager == "pnpm":
        lock = "--frozen-lockfile" if frozen else "--no-frozen-lockfile"
        return f"pnpm install {lock} --config.engine-strict=false"
    if manager == "yarn-classic":
        lock = " --frozen-lockfile" if frozen else ""
        return f"yarn install --non-interactive --ignore-engines{lock}"
    if manager == "yarn-berry":
        lock = " --immutable" if frozen else ""
        return f"YARN_NODE_LINKER=node-modules YARN_ENABLE_GLOBAL_CACHE=0 yarn install{lock}"
    peers = f" {LEGACY_PEER_DEPS}" if legacy_peers else ""
    if frozen:
        return f"npm ci --no-audit --no-fund{peers}"
    before = f" --before={as_of}" if as_of else ""
    return f"npm install --no-audit --no-fund --package-lock=true{before}{peers}"


def _npm_pins(
    environment: Path, recorded: str | None, install_dir: str, names: list[str]
) -> list[str]:
    """name@version of the direct dependencies, from package-lock.json when there is one."""
    relative = install_dir.removeprefix(WORKDIR).strip("/")
    lock = environment / recorded if recorded else environment / "app" / relative / (
        "package-lock.json"
    )  # fmt: skip
    try:
        packages = json.loads(lock.read_text(encoding="utf-8")).get("packages", {})
    except (OSError, ValueError):
        return []
    pins = []
    for name in names:
        version = packages.get(f"node_modules/{name}", {}).get("version")
        if version:
            pins.append(f"{name}@{version}")
    return pins
