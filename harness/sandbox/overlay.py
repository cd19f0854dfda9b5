"""A container's filesystem changes read from its overlay2 layers on the host.

``docker diff`` is what the runner asks between a trial's phases (what did the agent change
that the verifier must not run on). Docker 20.10 as Debian ships it answers by walking the
whole image against the container, whatever the container changed: about 0.6 s of the
engine's CPU on kettle's base image, on every trial. The same answer is in the container's
overlay2 upper directory, which holds exactly what the container wrote: a file or folder
there is added (or changed, when a lower layer has the path), a 0/0 character device is a
deletion (a whiteout), and an opaque folder hides everything the lower layers had under it.

This is read from the host's side, like ``docker diff``: nothing in the container can lie
about it. It is only used when this process sees the engine's own layer folders (a local
engine with the overlay2 driver, run as root); otherwise the caller asks the engine.
"""

from __future__ import annotations

import os
import stat
from typing import Any

_OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


def overlay_changes(details: dict[str, Any]) -> list[tuple[str, str]] | None:
    """(path, 'changed' | 'added' | 'deleted') like ``docker diff``, from ``details`` (the
    engine's inspection of the container), or None when the layers are not visible here."""
    driver = details.get("GraphDriver") or {}
    if driver.get("Name") != "overlay2":
        return None
    data = driver.get("Data") or {}
    upper = str(data.get("UpperDir") or "")
    lowers = [path for path in str(data.get("LowerDir") or "").split(":") if path]
    # The layer folders carry the engine's random 64-hex ids: seeing them all here means this
    # is the engine's own filesystem, not a same-named folder of another machine.
    if not upper or not lowers or not all(os.path.isdir(p) for p in (upper, *lowers)):
        return None
    changes: list[tuple[str, str]] = []
    for folder, subfolders, files in os.walk(upper):
        subfolders.sort()
        relative = os.path.relpath(folder, upper)
        base = "/" if relative == "." else "/" + relative
        for name in sorted(subfolders + files):
            path = os.path.join(base, name)
            entry = os.lstat(os.path.join(folder, name))
            if _is_whiteout(entry):
                changes.append((path, "deleted"))
                continue
            below = _in_lowers(lowers, path)
            changes.append((path, "changed" if below else "added"))
            if below and stat.S_ISDIR(entry.st_mode) and _is_opaque(os.path.join(folder, name)):
                changes.extend(_hidden_by(lowers, upper, path))
    return changes


def _is_whiteout(entry: os.stat_result) -> bool:
    """overlayfs marks a deletion with a 0/0 character device."""
    return stat.S_ISCHR(entry.st_mode) and entry.st_rdev == 0


def _in_lowers(lowers: list[str], path: str) -> bool:
    """Whether the image has ``path``: the topmost lower layer holding it decides, and a
    whiteout there means a later image layer deleted it."""
    for lower in lowers:
        try:
            entry = os.lstat(os.path.join(lower, path.lstrip("/")))
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            return False  # a parent is a file in this layer: the path cannot exist below it
        return not _is_whiteout(entry)
    return False


def _is_opaque(folder: str) -> bool:
    for name in _OPAQUE_XATTRS:
        try:
            if os.getxattr(folder, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def _hidden_by(lowers: list[str], upper: str, folder: str) -> list[tuple[str, str]]:
    """Deletions an opaque folder makes: what the lower layers had under it and it lacks
    (a deleted folder counted once, as the engine counts it).

    Lower layers can themselves hold whiteouts and opaque folders; a path counts as hidden
    when any lower layer has it as a real entry and the upper one does not.
    """
    hidden: set[str] = set()
    for lower in lowers:
        root = os.path.join(lower, folder.lstrip("/"))
        for sub, subfolders, files in os.walk(root):
            gone = []
            for name in subfolders + files:
                entry = os.lstat(os.path.join(sub, name))
                if _is_whiteout(entry):
                    continue  # a whiteout of that layer: the path was already gone
                path = os.path.join(folder, os.path.relpath(os.path.join(sub, name), root))
                if not os.path.lexists(os.path.join(upper, path.lstrip("/"))):
                    hidden.add(path)
                    gone.append(name)
            # Like the engine, a deleted folder is one deletion, not one per file in it.
            subfolders[:] = [name for name in subfolders if name not in gone]
    return [(path, "deleted") for path in sorted(hidden)]
