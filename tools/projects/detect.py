"""What kind of project a repository is, how it installs, and how its tests run.

Baseline reconstruction supports the common case: a Python project at the repository root
(``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``requirements*.txt``) tested with
pytest, and a Node project (``package.json`` with a test script or test files) tested with
``node --test``, jest, vitest or mocha. Anything else is an unsupported project kind, said
in one line, for a model-driven builder to take on.

Everything here reads files only; nothing is installed or run.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from harness.errors import KettleError
from tools.projects.paths import classify_path
from tools.projects.records import NodeRunner, NodeSetup, Project, ProjectKind, PythonSetup

PYTHON_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")
# Extras and dependency groups that hold what the tests need.
TEST_EXTRAS = ("test", "tests", "testing", "dev", "develop", "development")
# The interpreter every baseline image runs (Debian bookworm's python3).
BASE_PYTHON = (3, 11)

_PY_SUFFIXES = (".py",)
_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
_PYTEST_MODULE = re.compile(r"^(test_.*|.*_test)\.py$")
_JS_TEST_FILE = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")
_REQUIREMENTS = re.compile(r"^(.*[-_])?requirements([-_.].*)?\.txt$", re.IGNORECASE)
_SPECIFIER = re.compile(r"^\s*(~=|==|!=|<=|>=|<|>|===)\s*([0-9][0-9.]*)(\.\*)?\s*$")


class UnsupportedProjectError(KettleError):
    """The repository is not a project kind the baseline builder knows how to set up."""

    default_hint = "use a model-driven builder (--model) for this candidate"


def is_test_module(path: str, kind: ProjectKind) -> bool:
    """A file a test runner runs (as opposed to fixtures, helpers or conftest.py)."""
    pure = PurePosixPath(path)
    if kind == "python":
        return pure.suffix in _PY_SUFFIXES and bool(_PYTEST_MODULE.match(pure.name))
    if pure.suffix not in _JS_SUFFIXES:
        return False
    if _JS_TEST_FILE.search(pure.name):
        return True
    dirs = {part.lower() for part in pure.parts[:-1]}
    return bool(dirs & {"test", "tests", "__tests__"}) and "fixtures" not in dirs


def is_test_path(path: str) -> bool:
    """Part of the tests (test modules, conftest.py, fixtures under test folders)."""
    return classify_path(path) == "test"


def detect_project(root: Path, *, test_paths: Sequence[str] = ()) -> Project:
    """The project at ``root`` (a checked-out tree). ``test_paths`` (the fix's tests) break
    the tie when a repository has both Python and Node markers."""
    has_python = any((root / name).is_file() for name in PYTHON_MARKERS) or bool(
        requirement_files(root)
    )
    package = _read_json(root / "package.json")
    has_node = package is not None and _node_has_tests(root, package)
    if has_python and has_node:
        prefers_node = sum(p.endswith(_JS_SUFFIXES) for p in test_paths) > sum(
            p.endswith(_PY_SUFFIXES) for p in test_paths
        )
        has_python = not prefers_node
    if has_python:
        return _python_project(root)
    if has_node and package is not None:
        return _node_project(root, package)
    found = sorted(p.name for p in root.iterdir())[:12] if root.is_dir() else []
    raise UnsupportedProjectError(
        "unsupported project kind: no pyproject.toml, setup.py, setup.cfg, requirements*.txt "
        "or package.json with tests at the repository root"
        + (f" (found: {', '.join(found)})" if found else "")
    )


# --- Python -----------------------------------------------------------------------------


def requirement_files(root: Path) -> list[str]:
    """requirements*.txt (and *-requirements.txt) at the root and in requirements/."""
    found = [p.name for p in root.glob("*.txt") if _REQUIREMENTS.match(p.name) and p.is_file()]
    folder = root / "requirements"
    if folder.is_dir():
        found += [f"requirements/{p.name}" for p in folder.glob("*.txt") if p.is_file()]
    # The main file first: test and dev files often include it with -r.
    return sorted(found, key=lambda name: (name != "requirements.txt", name))


def _python_project(root: Path) -> Project:
    markers = [name for name in PYTHON_MARKERS if (root / name).is_file()]
    pyproject = _read_toml(root / "pyproject.toml") or {}
    setup_cfg = _read_ini(root / "setup.cfg")
    project = pyproject.get("project", {}) if isinstance(pyproject.get("project"), dict) else {}
    build_system = pyproject.get("build-system", {})
    installable = bool(
        (root / "setup.py").is_file()
        or (setup_cfg is not None and setup_cfg.has_section("metadata"))
        or build_system
        or project
    )
    notes: list[str] = []
    extras_available = set(project.get("optional-dependencies", {}) or {})
    if setup_cfg is not None and setup_cfg.has_section("options.extras_require"):
        extras_available |= set(setup_cfg.options("options.extras_require"))
    extras = [name for name in TEST_EXTRAS if name in extras_available]
    groups = pyproject.get("dependency-groups", {}) or {}
    group_requirements = [
        item
        for name in TEST_EXTRAS
        for item in groups.get(name, [])
        if isinstance(item, str)  # {include-group = ...} entries repeat other groups
    ]
    poetry = pyproject.get("tool", {}).get("poetry", {})
    if isinstance(poetry, dict) and (poetry.get("group") or poetry.get("dev-dependencies")):
        names = sorted(_poetry_dev_names(poetry))
        group_requirements += names
        if names:
            notes.append("poetry dev dependencies installed by name only (versions unpinned)")
    requires_python = project.get("requires-python")
    if requires_python is None and setup_cfg is not None:
        requires_python = setup_cfg.get("options", "python_requires", fallback=None)
    if requires_python and not python_allowed(str(requires_python), BASE_PYTHON):
        wanted = ".".join(map(str, BASE_PYTHON))
        notes.append(f"requires-python {requires_python} excludes {wanted}, the image's Python")
    build_requires = [str(r) for r in build_system.get("requires", []) if isinstance(r, str)]
    return Project(
        kind="python",
        markers=markers + requirement_files(root),
        python=PythonSetup(
            installable=installable,
            build_requires=build_requires,
            extras=extras,
            requirement_files=requirement_files(root),
            group_requirements=group_requirements,
            requires_python=str(requires_python) if requires_python else None,
            pytest_config_file=pytest_config_file(
                {name: _read_text(root / name) for name in PYTEST_CONFIG_FILES}
            ),
        ),
        notes=notes,
    )


def _poetry_dev_names(poetry: dict[str, Any]) -> set[str]:
    names: set[str] = set(poetry.get("dev-dependencies", {}) or {})
    for name, group in (poetry.get("group", {}) or {}).items():
        if name in TEST_EXTRAS and isinstance(group, dict):
            names |= set(group.get("dependencies", {}) or {})
    return {name for name in names if name.lower() != "python"}


def python_allowed(specifiers: str, version: tuple[int, int]) -> bool:
    """Does ``requires-python`` (e.g. ">=3.8,<4", "~=3.10") admit Python ``version``?

    Compared on major.minor (any patch release of the image's Python counts); syntax this
    does not know admits it: the build tells the truth later.
    """
    have = tuple(version[:2])
    for raw in specifiers.split(","):
        if not raw.strip():
            continue
        match = _SPECIFIER.match(raw)
        if not match:
            return True
        operator, number, wildcard = match.groups()
        parts = [int(part) for part in number.split(".") if part]
        if not _admits(operator, parts, bool(wildcard), have):
            return False
    return True


def _admits(operator: str, parts: list[int], wildcard: bool, have: tuple[int, ...]) -> bool:
    target = tuple([*parts, 0][:2])
    patch = parts[2] if len(parts) > 2 else 0
    size = min(len(parts), 2)
    same = have[:size] == tuple(parts[:size])
    if operator in ("==", "==="):
        return same
    if operator == "!=":
        # "!=3.11.4" excludes one patch release only: the image may have another.
        return not (same and (wildcard or len(parts) <= 2))
    if operator == "~=":
        prefix = tuple(parts[:-1] or parts)[:2]
        return have >= target and have[: len(prefix)] == prefix
    rules = {
        ">=": have >= target,
        ">": have > target or (have == target and len(parts) > 2),
        "<=": have <= target,
        "<": have < target or (have == target and patch > 0),
    }
    return rules[operator]


PYTEST_CONFIG_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


def pytest_config_file(texts: Mapping[str, str | None]) -> str | None:
    """Which file pytest takes its configuration from, by pytest's own precedence."""
    for name in PYTEST_CONFIG_FILES:
        if pytest_options_of(name, texts.get(name)) is not None:
            return name
    return None


def pytest_options(texts: Mapping[str, str | None]) -> dict[str, str | list[str]]:
    """The project's pytest options from the first config file that has them."""
    for name in PYTEST_CONFIG_FILES:
        options = pytest_options_of(name, texts.get(name))
        if options is not None:
            return options
    return {}


def pytest_options_of(name: str, text: str | None) -> dict[str, str | list[str]] | None:
    """Options of one config file; None when it holds no pytest section."""
    if text is None:
        return None
    if name == "pyproject.toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
        tool = data.get("tool", {})
        table = tool.get("pytest", {}).get("ini_options")
        if table is None and isinstance(tool.get("pytest"), dict) and tool["pytest"]:
            table = {k: v for k, v in tool["pytest"].items() if not isinstance(v, dict)}
        if not isinstance(table, dict):
            return None
        return {key: _option_value(value) for key, value in table.items()}
    section = {"setup.cfg": "tool:pytest"}.get(name, "pytest")
    parser = _parse_ini(text)
    if parser is None or not parser.has_section(section):
        # pytest.ini counts even without a [pytest] section: pytest stops looking there.
        return {} if name in ("pytest.ini", ".pytest.ini") else None
    return {key: value for key, value in parser.items(section)}


def _option_value(value: Any) -> str | list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- Node -------------------------------------------------------------------------------


def _node_has_tests(root: Path, package: dict[str, Any]) -> bool:
    script = _test_script(package)
    if script:
        return True
    return any(
        is_test_module(p.relative_to(root).as_posix(), "node")
        for p in _files(root)
        if "node_modules" not in p.parts
    )


def _test_script(package: dict[str, Any]) -> str | None:
    scripts = package.get("scripts", {})
    script = scripts.get("test") if isinstance(scripts, dict) else None
    if not isinstance(script, str) or not script.strip():
        return None
    # npm init's placeholder is not a test suite.
    return None if "no test specified" in script else script.strip()


def _node_project(root: Path, package: dict[str, Any]) -> Project:
    script = _test_script(package)
    dependencies = sorted(
        {
            name
            for key in ("dependencies", "devDependencies", "optionalDependencies")
            for name in (package.get(key) or {})
        }
    )
    runner, flags, notes = _node_runner(script, dependencies)
    lock = next(
        (n for n in ("package-lock.json", "npm-shrinkwrap.json") if (root / n).is_file()), None
    )
    for other in ("yarn.lock", "pnpm-lock.yaml"):
        if (root / other).is_file() and lock is None:
            notes.append(f"{other} found; dependencies are resolved with npm from package.json")
    engines = package.get("engines", {})
    engines_node = engines.get("node") if isinstance(engines, dict) else None
    return Project(
        kind="node",
        markers=["package.json", *([lock] if lock else [])],
        node=NodeSetup(
            test_script=script,
            runner=runner,
            runner_flags=flags,
            dependencies=dependencies,
            lock_file=lock,
            engines_node=str(engines_node) if engines_node else None,
        ),
        notes=notes,
    )


def _node_runner(
    script: str | None, dependencies: list[str]
) -> tuple[NodeRunner, list[str], list[str]]:
    """The runner a test script uses, node's own flags of a ``node --test`` script, notes."""
    if script is None:
        return "node-test", [], ["no test script; test files run with node --test"]
    words = script.split()
    if "node" in words and "--test" in words:
        start = words.index("node") + 1
        flags = [
            word
            for word in words[start:]
            if word.startswith("--")
            and word != "--test"
            and not word.startswith(("--test-reporter", "--watch"))
        ]
        return "node-test", flags, []
    for runner in ("vitest", "jest", "mocha"):
        if re.search(rf"\b{runner}\b", script) and runner in dependencies:
            return runner, [], []  # type: ignore[return-value]
    note = f"test script {script!r} has no known runner: the whole suite is one test"
    return "npm-test", [], [note]


# --- files ------------------------------------------------------------------------------


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    text = _read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _read_toml(path: Path) -> dict[str, Any] | None:
    text = _read_text(path)
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _parse_ini(text: str) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return parser


def _read_ini(path: Path) -> configparser.ConfigParser | None:
    text = _read_text(path)
    return _parse_ini(text) if text is not None else None
