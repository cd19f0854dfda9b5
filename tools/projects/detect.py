"""What kind of project a repository is, how it installs, and how its tests run.

Baseline reconstruction supports the common case: a Python project at the repository root
(``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``requirements*.txt``) tested with
pytest, and a Node project (``package.json`` with a test script or test files) tested with
``node --test``, jest, vitest or mocha. Anything else is an unsupported project kind, said
in one line, for a model-driven builder to take on.

Everything here reads files only; nothing is installed or run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from harness.errors import KettleError
from tools.projects.files import read_json
from tools.projects.node import node_setup, suite_script
from tools.projects.paths import classify_path
from tools.projects.python import (
    PYTHON_MARKERS,
    python_setup,
    requirement_files,
)
from tools.projects.records import Project, ProjectKind

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


def detect_project(
    root: Path, *, test_paths: Sequence[str] = (), workspace_root: Path | None = None
) -> Project:
    """The project at ``root`` (a checked-out tree; ``workspace_root`` is the repository's
    top when the project is one of its packages). ``test_paths`` (the fix's tests) break
    the tie when a repository has both Python and Node markers."""
    has_python = any((root / name).is_file() for name in PYTHON_MARKERS) or bool(
        requirement_files(root)
    )
    package = read_json(root / "package.json")
    has_node = package is not None and _node_has_tests(root, package)
    if has_python and has_node:
        prefers_node = sum(p.endswith(_JS_SUFFIXES) for p in test_paths) > sum(
            p.endswith(_PY_SUFFIXES) for p in test_paths
        )
        has_python = not prefers_node
    if has_python:
        return _python_project(root)
    if has_node and package is not None:
        return _node_project(root, workspace_root or root)
    found = sorted(p.name for p in root.iterdir())[:12] if root.is_dir() else []
    raise UnsupportedProjectError(
        "unsupported project kind: no pyproject.toml, setup.py, setup.cfg, requirements*.txt "
        "or package.json with tests at the repository root"
        + (f" (found: {', '.join(found)})" if found else "")
    )


# --- Python ---------------------------------------------------------------------------


def _python_project(root: Path) -> Project:
    markers = [name for name in PYTHON_MARKERS if (root / name).is_file()]
    setup, notes = python_setup(root)
    return Project(
        kind="python", markers=markers + setup.requirement_files, python=setup, notes=notes
    )


# --- Node -------------------------------------------------------------------------------


def _node_has_tests(root: Path, package: dict[str, Any]) -> bool:
    if suite_script(package):
        return True
    return any(
        is_test_module(p.relative_to(root).as_posix(), "node")
        for p in _files(root)
        if "node_modules" not in p.parts
    )


def _node_project(root: Path, workspace_root: Path) -> Project:
    setup, notes = node_setup(root, workspace_root)
    lock = [setup.lock_file] if setup.lock_file else []
    return Project(kind="node", markers=["package.json", *lock], node=setup, notes=notes)


# --- files ------------------------------------------------------------------------------


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
