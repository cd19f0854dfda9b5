"""Moving a unit's folder to a worker node and back, relocatably and without half-states.

A unit of work (one candidate-stage, one seed x builder) reads and writes one folder. On a
cluster that folder travels to the node as a tar archive and its new state comes back the
same way. Records (``*.json``) may name absolute paths inside the folder (trial folders,
the task to score): those are rewritten to wherever the folder lands, so a record written
on a worker's scratch disk points into the driver's run folder once it is home.

On the driver the returned state replaces the folder whole (stale files of an earlier
attempt do not survive, as they would not locally), by two renames; a crash between them
is repaired by ``restore_folder`` before the folder is used again.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import uuid
from pathlib import Path

from harness.sandbox.archive import extract_stream, pack_path

FOLDER_TOKEN = "@@KETTLE_UNIT_FOLDER@@"
_TOP = "unit"
_REPLACED = ".replaced-"
_INCOMING = ".incoming-"


def pack_folder(folder: Path) -> bytes:
    """A gzipped tar of ``folder`` whose records name the folder by a placeholder."""
    anchor = str(folder.resolve())
    plain = io.BytesIO(pack_path(folder, _TOP))
    buffer = io.BytesIO()
    with (
        tarfile.open(fileobj=plain, mode="r:") as raw,
        tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as packed,
    ):
        for member in raw:
            content = raw.extractfile(member) if member.isfile() else None
            if content is not None and member.name.endswith(".json"):
                data = _replace(content.read(), anchor, FOLDER_TOKEN)
                member.size = len(data)
                packed.addfile(member, io.BytesIO(data))
            else:
                packed.addfile(member, content)
    return buffer.getvalue()


def unpack_folder(packed: bytes, folder: Path) -> None:
    """Make ``folder`` exactly the packed state (records rewritten to name ``folder``)."""
    folder = folder.absolute()
    folder.parent.mkdir(parents=True, exist_ok=True)
    incoming = folder.parent / f"{_INCOMING}{folder.name}-{uuid.uuid4().hex[:8]}"
    try:
        extract_stream([packed], incoming)
        arrived = incoming / _TOP
        anchor = str(folder.resolve())
        for record in arrived.rglob("*.json"):
            if record.is_file() and not record.is_symlink():
                data = record.read_bytes()
                if FOLDER_TOKEN.encode() in data:
                    record.write_bytes(_replace(data, FOLDER_TOKEN, anchor))
        _swap_in(arrived, folder)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def restore_folder(folder: Path) -> None:
    """Undo a swap a crash interrupted: the folder's previous state comes back."""
    if folder.exists():
        for stale in folder.parent.glob(f"{_REPLACED}{folder.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return
    previous = sorted(folder.parent.glob(f"{_REPLACED}{folder.name}-*"))
    if previous:
        previous[-1].rename(folder)


def _swap_in(arrived: Path, folder: Path) -> None:
    if not folder.exists():
        arrived.rename(folder)
        return
    replaced = folder.parent / f"{_REPLACED}{folder.name}-{uuid.uuid4().hex[:8]}"
    folder.rename(replaced)
    arrived.rename(folder)
    shutil.rmtree(replaced, ignore_errors=True)


def _replace(data: bytes, old: str, new: str) -> bytes:
    return data.replace(old.encode(), new.encode())
