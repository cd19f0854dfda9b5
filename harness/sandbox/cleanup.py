"""Finding and removing what crashed kettle runs left behind (``python -m harness.gc``).

``plan`` lists what is provably abandoned (or, with ``everything``, all kettle leftovers);
``apply`` removes it and notes the outcome of each removal.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Literal

from docker.errors import APIError, ImageNotFound, NotFound
from pydantic import BaseModel
from rich.table import Table

from harness.sandbox.engine import DockerEngine
from harness.sandbox.ownership import LABEL, LABEL_OWNER, owner_alive

STALE_AFTER_SEC = 3600.0
TASK_IMAGE_REPOSITORY = "kettle-task/"
_STAGING = re.compile(r"^(\.copy-out-.+|\..+\.tmp|\..+\.old)$")

Kind = Literal["container", "snapshot", "image", "network", "volume", "staging"]


class Removal(BaseModel):
    kind: Kind
    name: str
    reason: str
    done: str = "pending"


def plan(engine: DockerEngine, jobs_dirs: list[Path], *, everything: bool = False) -> list[Removal]:
    """Everything gc would remove, with the reason, without removing anything."""
    removals: list[Removal] = []
    for container in engine.kettle_containers():
        reason = _abandoned(container.get("Labels"), everything)
        if reason:
            names = container.get("Names") or [str(container["Id"])[:12]]
            name = str(names[0]).lstrip("/")  # type: ignore[index]
            removals.append(Removal(kind="container", name=name, reason=reason))
    for image in engine.kettle_snapshots():
        reason = _abandoned(image.get("Labels"), everything)
        if reason:
            tags = image.get("RepoTags") or [str(image["Id"])]
            removals.append(Removal(kind="snapshot", name=str(tags[0]), reason=reason))  # type: ignore[index]
    seen = {r.name for r in removals}
    for image in engine.api.images(filters={"dangling": True, "label": f"{LABEL}=1"}):
        removals.append(Removal(kind="image", name=str(image["Id"]), reason="dangling build"))
    if everything:
        for image in engine.api.images(filters={"label": f"{LABEL}=1"}):
            for tag in image.get("RepoTags") or []:
                if tag.startswith(TASK_IMAGE_REPOSITORY) and tag not in seen:
                    removals.append(Removal(kind="image", name=tag, reason="cached task image"))
    for network in engine.api.networks(filters={"label": f"{LABEL}=1"}):
        reason = _abandoned(network.get("Labels"), everything)
        if reason:
            removals.append(Removal(kind="network", name=str(network["Name"]), reason=reason))
    volumes = engine.api.volumes(filters={"label": f"{LABEL}=1"}).get("Volumes") or []
    for volume in volumes:
        reason = _abandoned(volume.get("Labels"), everything)
        if reason:
            removals.append(Removal(kind="volume", name=str(volume["Name"]), reason=reason))
    removals += stale_staging(jobs_dirs, max_age_sec=0 if everything else STALE_AFTER_SEC)
    return removals


def _abandoned(labels: object, everything: bool) -> str | None:
    owner = str((labels or {}).get(LABEL_OWNER, "")) if isinstance(labels, dict) else ""
    if not owner_alive(owner):
        return f"owner {owner or '(none)'} is gone"
    return "--all" if everything else None


def stale_staging(jobs_dirs: list[Path], *, max_age_sec: float) -> list[Removal]:
    """Staging files and folders kettle writes and renames away, left by a killed process."""
    now = time.time()
    found: list[Removal] = []
    for root in jobs_dirs:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob(".*")):
            if not _STAGING.match(path.name) or path.is_symlink():
                continue
            if any(parent.name.startswith(".copy-out-") for parent in path.parents):
                continue  # inside a staging folder that is itself listed
            age = now - path.lstat().st_mtime
            if age >= max_age_sec:
                found.append(
                    Removal(kind="staging", name=str(path), reason=f"{age / 3600:.1f} h old")
                )
    return found


def apply(engine: DockerEngine, removals: list[Removal]) -> None:
    """Remove each planned item; an item that refuses (in use, gone) says why."""
    for removal in removals:
        try:
            _remove(engine, removal)
            removal.done = "removed"
        except (NotFound, ImageNotFound):
            removal.done = "already gone"
        except (APIError, OSError) as error:
            text = getattr(error, "explanation", None) or str(error)
            removal.done = f"kept: {str(text)[:80]}"


def _remove(engine: DockerEngine, removal: Removal) -> None:
    api = engine.api
    if removal.kind == "container":
        api.remove_container(removal.name, force=True, v=True)
    elif removal.kind == "snapshot":
        api.remove_image(removal.name, force=True)
    elif removal.kind == "image":
        api.remove_image(removal.name, force=False)  # an image a container uses stays
    elif removal.kind == "network":
        api.remove_network(removal.name)
    elif removal.kind == "volume":
        api.remove_volume(removal.name, force=True)
    else:
        path = Path(removal.name)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def removals_table(removals: list[Removal], *, dry_run: bool) -> Table:
    title = "harness.gc — would remove" if dry_run else "harness.gc — removed"
    table = Table(title=title)
    for column in ("kind", "name", "reason", "result"):
        table.add_column(column)
    for removal in removals:
        table.add_row(removal.kind, removal.name, removal.reason, removal.done)
    table.caption = f"{len(removals)} item(s)"
    return table
