"""Crash-safe file writes: every result kettle records is written to a temporary file in
the same directory and renamed into place, so a reader sees the old file or the new one,
never half of one."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.errors import KettleError, RunStorageError, validation_problems

ModelT = TypeVar("ModelT", bound=BaseModel)
# Errors that mean "this folder cannot take more writes": the run must stop, not fail a task.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def is_storage_error(error: OSError) -> bool:
    return error.errno in STORAGE_ERRNOS


def storage_error(error: OSError, path: Path | str | None = None) -> KettleError:
    """The one-line error for an output folder that cannot be written (a full disk above all)."""
    where = error.filename or path or "the output folder"
    if not is_storage_error(error):
        return KettleError(f"cannot write {where}: {error}")
    return RunStorageError(f"cannot write {where}: {error.strerror or error}")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def write_model(path: Path, record: BaseModel) -> None:
    """Write a pydantic record as indented JSON, atomically."""
    write_text_atomic(path, record.model_dump_json(indent=2) + "\n")


def read_model(path: Path, model: type[ModelT]) -> ModelT:
    """Read a record written by ``write_model``; a broken file is a one-line KettleError."""
    try:
        return model.model_validate_json(path.read_bytes())
    except FileNotFoundError as error:
        raise KettleError(f"{path}: file not found") from error
    except ValidationError as error:
        first = validation_problems(error, root="(root)")[0]
        raise KettleError(
            f"{path}: not a valid {model.__name__} ({first})",
            "delete the file to let kettle recreate it, or restore it from a backup",
        ) from error


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock shared by processes and threads (flock locks open file descriptions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
