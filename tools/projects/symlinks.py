"""Symlinks a repository tracks, rebuilt by the Dockerfile instead of shipped as links.

A task's build context must hold regular files: Harbor refuses symlinks in a task folder
(``harbor lint``: invalid-task-files), and a tracked link often points at build output that
is not there yet (uuid keeps ``.local/uuid/v1.js -> ../../dist/...``). The exporter takes
such links out of ``environment/app``, records them in ``environment/symlinks.json``, and the
Dockerfile recreates them right after copying the project in, so the image's ``/app`` is
the start commit's tree, links included.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path, PurePosixPath

from harness.fsio import write_text_atomic
from tools.repos.git import LocalRepo

LINKS_FILE = "symlinks.json"
_MARK = "# kettle: the repository's symlinks"


def detach_symlinks(app: Path) -> dict[str, str]:
    """Remove every symlink below ``app`` and return {path relative to app: link target}.

    The record is also written next to ``app`` (``symlinks.json``) when there are links, so
    each Dockerfile writer can put them back with ``with_symlinks``.
    """
    links: dict[str, str] = {}
    for folder, dirs, files in os.walk(app):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            if path.is_symlink():
                links[path.relative_to(app).as_posix()] = os.readlink(path)
                path.unlink()
        dirs[:] = [name for name in dirs if (Path(folder) / name).is_dir()]
    record = app.parent / LINKS_FILE
    if links:
        write_text_atomic(record, json.dumps(links, indent=2, sort_keys=True) + "\n")
    else:
        record.unlink(missing_ok=True)
    return links


def export_start_state(repo: LocalRepo, rev: str, app: Path) -> tuple[list[str], dict[str, str]]:
    """Export ``rev`` into ``app`` as a task's build context holds it; return (the files this
    copy of the repository cannot read, left out; the symlinks taken out and recorded)."""
    absent = repo.absent_blobs(rev)
    repo.export_tree(rev, app, leave_out=absent)
    return absent, detach_symlinks(app)


def recorded_symlinks(environment: Path) -> dict[str, str]:
    """The links ``detach_symlinks`` recorded for ``environment/app`` (none if it did not)."""
    record = environment / LINKS_FILE
    if not record.is_file():
        return {}
    loaded = json.loads(record.read_text(encoding="utf-8"))
    return {str(path): str(target) for path, target in loaded.items()}


def with_symlinks(dockerfile: str, links: dict[str, str], workdir: str) -> str:
    """``dockerfile`` with a step recreating ``links`` under ``workdir``: right after the
    line that copies the project in, else at the end (added once)."""
    if not links or _MARK in dockerfile:
        return dockerfile
    commands = []
    for path, target in sorted(links.items()):
        where = PurePosixPath(workdir) / path
        commands.append(
            f"mkdir -p {shlex.quote(str(where.parent))} && "
            f"ln -sfn {shlex.quote(target)} {shlex.quote(str(where))}"
        )
    step = [
        f"{_MARK} (environment/{LINKS_FILE}), recreated here: a task",
        "# folder holds no links.",
    ]
    step.append("RUN " + " \\\n && ".join(commands))
    lines = dockerfile.rstrip("\n").split("\n")
    copy_at = next(
        (
            number
            for number, line in enumerate(lines)
            if line.strip().upper().startswith("COPY ")
            and line.split()[-1].rstrip("/") == workdir.rstrip("/")
        ),
        None,
    )
    if copy_at is None:
        lines += ["", *step]
    else:
        lines[copy_at + 1 : copy_at + 1] = step
    return "\n".join(lines) + "\n"
