"""Tar archives for copying files into and out of sandboxes, safely.

Into a container: symlinks are stored as links (never followed), and links whose target
resolves outside the source folder are left out, so nothing outside the folder the caller
named can reach the container. Out of a container: extraction uses the ``data`` filter, so
absolute paths, ``..`` components, device files and links escaping the destination are
refused, and a size cap stops a container from filling the host's disk.
"""

from __future__ import annotations

import io
import logging
import os
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

from harness.errors import SandboxError

log = logging.getLogger(__name__)

DEFAULT_MAX_EXTRACT_BYTES = 2 * 1024**3


def pack_path(source: Path, arcname: str) -> bytes:
    """Pack a file or a folder into an in-memory tar whose top entry is ``arcname``."""
    source = Path(source)
    if not source.exists() and not source.is_symlink():
        raise SandboxError(f"cannot copy {source}: no such file or folder")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        if source.is_dir() and not source.is_symlink():
            root = source.resolve()
            archive.add(source, arcname=arcname, recursive=False)
            for path in _walk_sorted(source):
                if path.is_symlink() and not _link_stays_inside(path, root):
                    log.warning("not copying %s: its link points outside %s", path, source)
                    continue
                if not (path.is_symlink() or path.is_file() or path.is_dir()):
                    continue  # sockets, fifos, devices: meaningless in another machine
                relative = path.relative_to(source).as_posix()
                archive.add(path, arcname=f"{arcname}/{relative}", recursive=False)
        else:
            if source.is_symlink():
                raise SandboxError(f"cannot copy {source}: it is a symlink; name its target")
            archive.add(source, arcname=arcname, recursive=False)
    return buffer.getvalue()


def pack_files(files: dict[str, bytes], mode: int = 0o644) -> bytes:
    """Pack in-memory files {relative path: content} into a tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name=name)
            info.size = len(content)
            info.mode = mode
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def extract_stream(
    chunks: Iterable[bytes], destination: Path, *, max_bytes: int = DEFAULT_MAX_EXTRACT_BYTES
) -> None:
    """Extract a tar stream (as docker's get_archive returns it, or gzipped) inside
    ``destination``."""
    with tempfile.TemporaryFile() as spool:
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise SandboxError(
                    f"refusing to copy more than {max_bytes} bytes out of the sandbox",
                    "copy a smaller path, or raise max_bytes",
                )
            spool.write(chunk)
        spool.seek(0)
        destination.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=spool, mode="r:*") as archive:
            try:
                archive.extractall(destination, filter="data")
            except tarfile.FilterError as error:
                raise SandboxError(f"refused an unsafe entry while copying out: {error}") from error


def read_single_file(chunks: Iterable[bytes], *, max_bytes: int) -> bytes:
    """The content of the one regular file in a tar stream (docker's get_archive of a file)."""
    with tempfile.TemporaryFile() as spool:
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes + 64 * 1024:  # tar headers and padding on top of the content
                raise SandboxError(f"refusing to read a file larger than {max_bytes} bytes")
            spool.write(chunk)
        spool.seek(0)
        with tarfile.open(fileobj=spool, mode="r:") as archive:
            for member in archive:
                if member.isfile():
                    extracted = archive.extractfile(member)
                    return extracted.read() if extracted else b""
    raise SandboxError("not a regular file")


def _walk_sorted(folder: Path) -> Iterable[Path]:
    """Every entry below ``folder`` in a stable order, without descending into symlinks."""
    for directory, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        base = Path(directory)
        for name in [*dirnames, *sorted(filenames)]:
            yield base / name


def _link_stays_inside(link: Path, root: Path) -> bool:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):
        return False
    return target == root or root in target.parents
