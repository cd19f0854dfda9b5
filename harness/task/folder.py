"""Read and write Harbor task directories, kettle's output format.

A task directory holds ``instruction.md``, ``task.toml``, ``environment/`` (a Dockerfile,
unless task.toml names a prebuilt ``docker_image``), ``solution/solve.sh`` and
``tests/test.sh`` (+ test files); task.toml is ``harness.task.records.TaskConfig``.
``HarborTask.load`` validates a directory; ``TaskDraft.write`` publishes one atomically.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field, field_validator

from harness.errors import TaskFormatError
from harness.fsio import write_bytes_atomic
from harness.task.records import (
    COMPOSE_FILE,
    CONFIG_FILE,
    DOCKERFILE,
    ENVIRONMENT_DIR,
    INSTRUCTION_FILE,
    SOLUTION_DIR,
    SOLVE_SCRIPT,
    TEST_SCRIPT,
    TESTS_DIR,
    TaskConfig,
)

# Task ids become directory names, Docker image tags and compose project names: keep them
# lowercase and shell-safe.
_TASK_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")

# Reading caps: a task.toml or instruction.md bigger than this is not a task but an attack
# or an accident (a link to /dev/zero, a log file), and must not be read into memory whole.
MAX_CONFIG_BYTES = 1024**2
MAX_INSTRUCTION_BYTES = 4 * 1024**2


def derive_task_id(text: str) -> str:
    """A task id from free text ("Owner/Repo#42: Fix X" -> "owner-repo-42-fix-x")."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    slug = re.sub(r"-{2,}", "-", slug)[:64].rstrip("-._")
    if not slug:
        raise TaskFormatError(f"cannot derive a task id from {text!r}", "name the task")
    return slug


def check_task_id(task_id: str) -> str:
    if not _TASK_ID_PATTERN.match(task_id):
        raise TaskFormatError(
            f"{task_id!r}: not a valid task id (lowercase letters, digits, . _ -)",
            "rename the task directory, e.g. with derive_task_id()",
        )
    return task_id


class HarborTask(BaseModel):
    """A task directory on disk that passed ``load``'s checks."""

    root: Path
    config: TaskConfig
    instruction: str

    @property
    def task_id(self) -> str:
        """The directory name: what runs, images and reports are keyed by."""
        return self.root.name

    @property
    def name(self) -> str:
        """[task].name when present, else the directory name (Harbor's rule too)."""
        return self.config.task.name if self.config.task else self.task_id

    @property
    def instruction_path(self) -> Path:
        return self.root / INSTRUCTION_FILE

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def environment_dir(self) -> Path:
        return self.root / ENVIRONMENT_DIR

    @property
    def dockerfile_path(self) -> Path | None:
        """The Dockerfile to build, or None when the task runs a prebuilt docker_image."""
        path = self.root / DOCKERFILE
        return path if path.is_file() else None

    @property
    def solution_dir(self) -> Path:
        return self.root / SOLUTION_DIR

    @property
    def solve_path(self) -> Path:
        return self.root / SOLVE_SCRIPT

    @property
    def tests_dir(self) -> Path:
        return self.root / TESTS_DIR

    @property
    def test_path(self) -> Path:
        return self.root / TEST_SCRIPT

    @classmethod
    def load(cls, path: Path | str) -> HarborTask:
        """Read and check a task directory; every problem is a one-line TaskFormatError."""
        root = Path(path)
        if not root.is_dir():
            raise TaskFormatError(f"{root}: not a task directory (no such directory)")
        config_path = root / CONFIG_FILE
        config = TaskConfig.from_toml(
            _read_text(config_path, root, MAX_CONFIG_BYTES), source=str(config_path)
        )
        if config.steps:
            raise TaskFormatError(
                f"{config_path}: multi-step tasks ([[steps]]) are not supported by kettle",
                "split the task into one task per step",
            )
        if config.environment.os != "linux":
            raise TaskFormatError(
                f"{config_path}: environment.os = {config.environment.os!r} is not supported",
                "kettle runs Linux containers only",
            )
        instruction = _read_text(root / INSTRUCTION_FILE, root, MAX_INSTRUCTION_BYTES)
        _check_folders(root)
        _check_contents(root, config, instruction, lambda name: _is_file_inside(root, name))
        return cls(root=root, config=config, instruction=instruction)

    def to_draft(self) -> TaskDraft:
        """Everything in the directory, in memory (to edit, then write elsewhere)."""
        files: dict[str, bytes] = {}
        for file in sorted(self.root.rglob("*")):
            relative = file.relative_to(self.root).as_posix()
            if relative in (INSTRUCTION_FILE, CONFIG_FILE):
                continue
            # A link to a host file would copy the host's file into the published task.
            if _is_file_inside(self.root, relative):
                files[relative] = file.read_bytes()
        return TaskDraft(config=self.config, instruction=self.instruction, files=files)

    def write(self, target: Path | str, *, overwrite: bool = False) -> HarborTask:
        """Copy this task to ``target`` atomically, task.toml re-rendered from the config."""
        return self.to_draft().write(target, overwrite=overwrite)


class TaskDraft(BaseModel):
    """A task in memory, before it has a directory: what the factory assembles.

    ``files`` maps task-relative POSIX paths ("environment/Dockerfile", "tests/test.sh",
    "tests/test_pagination.py") to their content. Files whose name ends in ``.sh`` or
    whose content starts with ``#!`` are written executable.
    """

    config: TaskConfig = Field(default_factory=TaskConfig)
    instruction: str
    files: dict[str, str | bytes] = Field(default_factory=dict)

    @field_validator("files")
    @classmethod
    def _relative_paths_inside_task(cls, files: dict[str, str | bytes]) -> dict[str, str | bytes]:
        for name in files:
            parts = PurePosixPath(name).parts
            if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
                raise ValueError(f"{name!r}: file paths must be relative and inside the task")
            if name in (INSTRUCTION_FILE, CONFIG_FILE):
                raise ValueError(f"{name!r}: set it through instruction/config, not files")
        return files

    def write(self, target: Path | str, *, overwrite: bool = False) -> HarborTask:
        """Write the task directory atomically and return it loaded back.

        Files go to a temporary sibling directory that is renamed into place, so a reader
        (or a crashed run) sees the old task or the new one, never half of one. The
        result is read back through ``HarborTask.load``: a draft that would not load is
        not published.
        """
        target = Path(target)
        check_task_id(target.name)
        _check_contents(target, self.config, self.instruction, self.files.__contains__)
        if target.exists() and not overwrite:
            raise TaskFormatError(
                f"{target}: already exists", "pass overwrite=True or choose another directory"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        )
        try:
            self._write_into(staging)
            _swap_into_place(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return HarborTask.load(target)

    def _write_into(self, directory: Path) -> None:
        write_bytes_atomic(directory / INSTRUCTION_FILE, self.instruction.encode("utf-8"))
        write_bytes_atomic(directory / CONFIG_FILE, self.config.to_toml().encode("utf-8"))
        for name, content in self.files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            path = directory / name
            write_bytes_atomic(path, data)
            path.chmod(0o755 if name.endswith(".sh") or data.startswith(b"#!") else 0o644)
        # mkdtemp makes the staging directory 0700; a published task is world-readable.
        directory.chmod(0o755)


def _check_contents(
    root: Path, config: TaskConfig, instruction: str, has_file: Callable[[str], bool]
) -> None:
    """The checks a loaded directory and a draft share; messages name files under ``root``."""
    if not instruction.strip():
        raise TaskFormatError(f"{root / INSTRUCTION_FILE}: is empty")
    has_build = has_file(DOCKERFILE) or has_file(COMPOSE_FILE)
    if not has_build and not config.environment.docker_image:
        raise TaskFormatError(
            f"{root / DOCKERFILE}: missing, and {CONFIG_FILE} sets no environment.docker_image"
        )
    for script in (SOLVE_SCRIPT, TEST_SCRIPT):
        if not has_file(script):
            raise TaskFormatError(f"{root / script}: missing")


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing target is moved aside first."""
    if not target.exists():
        os.replace(staging, target)
        return
    aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
    os.replace(target, aside / target.name)
    os.replace(staging, target)
    shutil.rmtree(aside, ignore_errors=True)


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path``, links followed, stays inside ``root``."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _is_file_inside(root: Path, name: str) -> bool:
    path = root / name
    return path.is_file() and _inside(root, path)


def _check_folders(root: Path) -> None:
    """environment/, solution/ and tests/ must be real folders, not links."""
    # The runner copies them without following links, so a linked tests/ would load here
    # and fail only at verification, after the agent ran; and a link to a host folder
    # would build or ship the host's files.
    for folder in (ENVIRONMENT_DIR, SOLUTION_DIR, TESTS_DIR):
        if (root / folder).is_symlink():
            raise TaskFormatError(
                f"{root / folder}: is a symlink", "make it a real folder inside the task"
            )


def _read_text(path: Path, root: Path, max_bytes: int) -> str:
    """A task file's text: a regular file inside ``root``, at most ``max_bytes`` long.

    A link out of the task would put a host file (/etc/passwd) into the prompt; a named
    pipe would block forever and /dev/zero would never end. The file is opened without
    blocking and its type is checked on the open descriptor, before anything is read.
    """
    if not _inside(root, path):
        raise TaskFormatError(
            f"{path}: links outside the task folder", "replace the link with the file itself"
        )
    try:
        descriptor = os.open(
            os.path.realpath(path), os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY
        )
    except FileNotFoundError as error:
        raise TaskFormatError(f"{path}: missing") from error
    except OSError as error:
        raise TaskFormatError(f"{path}: cannot be read ({error.strerror})") from error
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise TaskFormatError(f"{path}: is a directory, expected a file")
        if not stat.S_ISREG(mode):
            raise TaskFormatError(f"{path}: not a regular file", "replace it with a text file")
        data = _read_at_most(descriptor, max_bytes + 1)
    except OSError as error:
        raise TaskFormatError(f"{path}: cannot be read ({error.strerror})") from error
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:
        raise TaskFormatError(f"{path}: larger than {max_bytes} bytes", "shorten it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TaskFormatError(f"{path}: not UTF-8 text ({error.reason})") from error


def _read_at_most(descriptor: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(descriptor, min(limit - size, 1024**2))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
