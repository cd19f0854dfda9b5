"""The tools a verifier runs on, put back the way the task's image had them.

In a shared container the agent could otherwise win without doing the work by changing
what the tests run *on*: replace ``python``/``node``/``diff`` or shadow them earlier on
PATH, drop a ``sitecustomize.py`` or a ``.pth`` hook that rewrites pytest's verdict, add
``/etc/ld.so.preload``, patch pytest itself. Between the agent and the verifier the runner
stops the container, reads what changed against the image (the container's overlay
layers, or ``docker diff`` where they are not visible: host side, nothing in the container
can lie about it) and, before any process starts again:

* restores changed or deleted files of interpreters, tools on PATH, system libraries,
  test-runner packages and runtime configuration from the image itself;
* blanks startup hooks and PATH shadows the agent added (an empty, non-executable file
  is inert), and removes them once the container runs again.

The outcome — the task's working directory, the project's dependencies, data anywhere
else — is left alone: judging it is the verifier's job. Limits, by design: a dependency the
agent upgraded in place outside the test tools stays upgraded, a tampered file in the
working directory stays (it *is* the outcome), and anything the image did not have cannot
be "restored", only removed when it is a hook or a shadow.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from docker.errors import DockerException, NotFound
from pydantic import BaseModel

from harness.errors import SandboxError
from harness.sandbox import archive
from harness.sandbox.container import DockerSandbox, translate_docker_errors
from harness.sandbox.engine import DockerEngine
from harness.sandbox.ownership import kettle_labels

log = logging.getLogger(__name__)

Change = Literal["changed", "added", "deleted"]
Decision = Literal["restore", "remove", "shadow", "plugin"]

# Mount points Docker itself puts into every container: never touched.
_RUNTIME_PATHS = frozenset(
    {
        "/.dockerenv",
        "/etc/hostname",
        "/etc/hosts",
        "/etc/resolv.conf",
        "/sbin/docker-init",
        "/usr/sbin/docker-init",
        "/usr/bin/docker-init",
    }
)
_RUNTIME_TREES = ("/dev", "/proc", "/sys", "/logs", "/tests", "/solution", "/tmp", "/run")
_SYSTEM_TREES = (
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/libexec",
    "/usr/local/lib",
)
_PACKAGE_DIRS = ("site-packages", "dist-packages", "node_modules")
# What test scripts run the tests with, and what those runners import at start.
_TEST_TOOL_PACKAGES = frozenset(
    {
        "_pytest",
        "py",
        "pytest",
        "pluggy",
        "iniconfig",
        "packaging",
        "exceptiongroup",
        "tomli",
        "colorama",
        "nose",
        "nose2",
        "coverage",
        "hypothesis",
        "unittest2",
        "jest",
        "@jest",
        "mocha",
        "vitest",
        "tap",
        "tape",
        "ava",
        "uvu",
    }
)
_INTERPRETERS = frozenset(
    {"python", "python3", "pytest", "py.test", "node", "nodejs", "npm", "npx", "bash", "sh"}
)
_VERSIONED_INTERPRETER = re.compile(r"^(python|pypy)[23](\.\d+)?$")
_PYTHON_HOOKS = frozenset({"sitecustomize.py", "usercustomize.py"})
_CONFIG_FILES = frozenset(
    {
        "/etc/ld.so.preload",
        "/etc/ld.so.conf",
        "/etc/ld.so.cache",
        "/etc/passwd",
        "/etc/group",
        "/etc/environment",
    }
)
_CONFIG_TREES = ("/etc/ld.so.conf.d",)
_MAX_RESTORE_BYTES = 512 * 1024 * 1024
_GO_MODE_DIR = 1 << 31
_GO_MODE_SYMLINK = 1 << 27


class ToolChange(BaseModel):
    """One thing the agent changed that the verifier must not run on, and what was done."""

    path: str
    change: Change
    action: Literal["restored", "removed", "left"]
    reason: str

    def describe(self) -> str:
        done = {
            "restored": "restored from the image",
            "removed": "removed",
            "left": "could not be undone",
        }[self.action]
        return f"solver phase {self.change} {self.path} ({self.reason}): {done} before the tests"


class GuardScope(BaseModel):
    """Where tools live in this container (PATH, resolved) and where the outcome lives."""

    path_dirs: list[str]
    workdirs: list[str]


def classify(path: str, change: Change, scope: GuardScope) -> tuple[Decision, str] | None:
    """What to do about one ``docker diff`` entry; None leaves it alone. Pure: no Docker."""
    if path in _RUNTIME_PATHS or _under(path, _RUNTIME_TREES):
        return None
    name = posixpath.basename(path)
    parent = posixpath.dirname(path)
    package = _package_of(path)
    if name in _PYTHON_HOOKS:
        return _undo(change, "a Python startup hook")
    if name.endswith(".pth") and posixpath.basename(parent) in _PACKAGE_DIRS[:2]:
        return _undo(change, "a Python .pth startup hook")
    if package is not None and _is_test_tool(package):
        return _undo(change, f"the test tool {package}")
    if package is not None and name == "entry_points.txt" and change != "deleted":
        return ("plugin", "a package's entry points")
    in_workdir = _under(path, tuple(scope.workdirs))
    interpreter = _is_interpreter(name) and posixpath.basename(parent) == "bin"
    if interpreter and parent not in scope.path_dirs and change != "added":
        return ("restore", "an interpreter")  # e.g. a project venv's python, called by path
    if parent in scope.path_dirs and (not in_workdir or interpreter):
        if change == "added":
            return ("shadow", "a command earlier on PATH")
        return ("restore", "a command on PATH")
    if in_workdir or package is not None:
        return None  # the outcome, and the project's own dependencies
    if path in _CONFIG_FILES or _under(path, _CONFIG_TREES):
        return _undo(change, "runtime configuration")
    if _under(path, _SYSTEM_TREES):
        if name.endswith(".pyc"):
            return _undo(change, "compiled system Python code")
        if change != "added":
            return ("restore", "a system library or interpreter file")
    return None


def _is_interpreter(name: str) -> bool:
    return name in _INTERPRETERS or bool(_VERSIONED_INTERPRETER.match(name))


def _undo(change: Change, reason: str) -> tuple[Decision, str]:
    return ("remove", reason) if change == "added" else ("restore", reason)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _package_of(path: str) -> str | None:
    """The top-level package a path belongs to inside site-/dist-packages or node_modules."""
    parts = path.split("/")
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] in _PACKAGE_DIRS:
            return parts[index + 1]
    return None


def _is_test_tool(package: str) -> bool:
    base = package.split("-")[0] if package.endswith((".dist-info", ".egg-info")) else package
    base = base.removesuffix(".py").removesuffix(".pth")
    return base in _TEST_TOOL_PACKAGES or base.startswith(("pytest_", "pytest-"))


class GuardReport(BaseModel):
    changes: list[ToolChange]
    to_remove: list[str]


@translate_docker_errors
def guard_tools(
    engine: DockerEngine,
    sandbox: DockerSandbox,
    image: str,
    *,
    run_id: str,
    workdir: str | None = None,
) -> GuardReport:
    """Undo tool tampering in ``sandbox`` (best stopped) using ``image``'s own files.

    Restorations and blanking happen through Docker's archive API, so no binary inside the
    container runs before its tools are whole again. The blanked paths are returned for
    ``remove_blanked`` once the container runs. ``workdir`` (the task's, besides the
    image's own WORKDIR) holds the outcome and is left alone.
    """
    diff = sandbox.diff()
    if not diff:
        return GuardReport(changes=[], to_remove=[])
    image_workdir = engine.api.inspect_image(image)["Config"].get("WorkingDir") or ""
    workdirs = sorted({w.rstrip("/") for w in (workdir or "", image_workdir) if w.strip("/")})
    with _image_files(engine, image, run_id) as files:
        scope = GuardScope(path_dirs=_path_dirs(engine, sandbox, files), workdirs=workdirs)
        return _apply(engine, sandbox, files, diff, scope)


def remove_blanked(sandbox: DockerSandbox, report: GuardReport) -> None:
    """Delete the blanked hooks and shadows (the container runs, its tools are whole)."""
    if report.to_remove:
        sandbox.exec(["rm", "-rf", "--", *report.to_remove], user="0", timeout_sec=60)


def _apply(
    engine: DockerEngine,
    sandbox: DockerSandbox,
    files: _ImageFiles,
    diff: list[tuple[str, str]],
    scope: GuardScope,
) -> GuardReport:
    report = GuardReport(changes=[], to_remove=[])
    restored: list[str] = []
    for path, change in sorted(diff):
        decided = classify(path, change, scope)  # type: ignore[arg-type]
        if decided is None or _under(path, tuple(restored)):
            continue
        decision, reason = decided
        if decision == "shadow":
            shadowed = _shadowed(files, path, scope)
            if shadowed is None:
                continue
            decision, reason = "remove", f"shadows {shadowed} on PATH"
        if decision == "plugin":
            if not _registers_pytest_plugin(engine, sandbox, path):
                continue
            decision, reason = "remove", "registers a pytest plugin (pytest11 entry point)"
        if decision == "restore":
            outcome = _restore(engine, sandbox, files, path)
            if outcome is None:
                continue
            if outcome == "restored":
                restored.append(path)
            report.changes.append(
                ToolChange(path=path, change=change, action=outcome, reason=reason)  # type: ignore[arg-type]
            )
            continue
        _blank(engine, sandbox, path)
        report.to_remove.append(path)
        report.changes.append(
            ToolChange(path=path, change=change, action="removed", reason=reason)  # type: ignore[arg-type]
        )
    for change in report.changes:
        log.info("%s", change.describe())
    return report


def _restore(
    engine: DockerEngine, sandbox: DockerSandbox, files: _ImageFiles, path: str
) -> str | None:
    """Put the image's version of ``path`` back; None when there is nothing to do."""
    original = files.stat(path)
    if original is None:
        # Not in the image (a hook the agent changed after adding it): blank it instead.
        _blank(engine, sandbox, path)
        return "restored"
    current = engine.path_stat(sandbox.id, path)
    if _is_dir(original) and current is not None and _is_dir(current):
        return None  # a folder whose contents changed: its entries are judged one by one
    data = files.archive(path)
    if data is None:
        return "left"
    engine.api.put_archive(sandbox.id, posixpath.dirname(path) or "/", data)
    return "restored"


def _blank(engine: DockerEngine, sandbox: DockerSandbox, path: str) -> None:
    parent, name = posixpath.dirname(path) or "/", posixpath.basename(path)
    engine.api.put_archive(sandbox.id, parent, archive.pack_files({name: b""}, 0o644))


def _registers_pytest_plugin(engine: DockerEngine, sandbox: DockerSandbox, path: str) -> bool:
    stream, _stat = engine.api.get_archive(sandbox.id, path)
    try:
        content = archive.read_single_file(stream, max_bytes=1024 * 1024)
    except SandboxError:
        return True  # not a small regular file where one is expected: do not trust it
    return b"pytest11" in content


def _shadowed(files: _ImageFiles, path: str, scope: GuardScope) -> str | None:
    name = posixpath.basename(path)
    for directory in scope.path_dirs:
        candidate = posixpath.join(directory, name)
        if candidate != path and files.stat(candidate) is not None:
            return candidate
    return None


def _path_dirs(engine: DockerEngine, sandbox: DockerSandbox, files: _ImageFiles) -> list[str]:
    """The container's PATH, each entry also resolved through the image's symlinks
    (Debian's /bin is a link to /usr/bin; docker diff names the real path)."""
    env = engine.api.inspect_container(sandbox.id)["Config"].get("Env") or []
    path_value = next((item[5:] for item in env if item.startswith("PATH=")), "")
    path_value = path_value or "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    directories: list[str] = []
    for entry in path_value.split(":"):
        if not entry.startswith("/"):
            continue
        for candidate in (posixpath.normpath(entry), files.resolve(entry)):
            if candidate not in directories:
                directories.append(candidate)
    return directories


def _is_dir(stat: dict[str, object]) -> bool:
    return bool(int(stat.get("mode", 0)) & _GO_MODE_DIR)  # type: ignore[call-overload]


class _ImageFiles:
    """Reads files of the original image through a created, never started, container."""

    def __init__(self, engine: DockerEngine, container_id: str) -> None:
        self._engine = engine
        self._id = container_id
        self._stats: dict[str, dict[str, object] | None] = {}

    def stat(self, path: str) -> dict[str, object] | None:
        if path not in self._stats:
            self._stats[path] = self._engine.path_stat(self._id, path)
        return self._stats[path]

    def resolve(self, path: str) -> str:
        """Follow symlinks of ``path`` itself (up to a few hops) inside the image."""
        current = posixpath.normpath(path)
        for _hop in range(8):
            stat = self.stat(current)
            target = str((stat or {}).get("linkTarget") or "")
            if not stat or not int(stat.get("mode", 0)) & _GO_MODE_SYMLINK or not target:  # type: ignore[call-overload]
                return current
            current = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
        return current

    def archive(self, path: str) -> bytes | None:
        stream, _stat = self._engine.api.get_archive(self._id, path)
        buffer = io.BytesIO()
        for chunk in stream:
            buffer.write(chunk)
            if buffer.tell() > _MAX_RESTORE_BYTES:
                log.warning("not restoring %s: larger than %d bytes", path, _MAX_RESTORE_BYTES)
                return None
        data = buffer.getvalue()
        tarfile.open(fileobj=io.BytesIO(data)).close()  # a broken archive fails here, not later
        return data


@contextmanager
def _image_files(engine: DockerEngine, image: str, run_id: str) -> Iterator[_ImageFiles]:
    created = engine.api.create_container(
        image,
        command=["true"],
        entrypoint=[],
        labels=kettle_labels(run_id, "reference"),
        network_disabled=True,
    )
    try:
        yield _ImageFiles(engine, created["Id"])
    finally:
        try:
            engine.api.remove_container(created["Id"], force=True, v=True)
        except NotFound:
            pass
        except DockerException:
            engine.defer_removal("container", created["Id"])
