"""Symlinks a repository tracks leave the task folder and come back in the image."""

from __future__ import annotations

import os
from pathlib import Path

from tools.projects.dockerfile import WORKDIR
from tools.projects.symlinks import detach_symlinks, recorded_symlinks, with_symlinks


def _app_with_links(tmp_path: Path) -> Path:
    app = tmp_path / "environment" / "app"
    (app / ".local" / "uuid").mkdir(parents=True)
    (app / "src").mkdir()
    (app / "src" / "index.js").write_text("export {}\n")
    # Dangling until the build makes dist/, as uuid's are.
    os.symlink("../../dist/cjs/v1.js", app / ".local" / "uuid" / "v1.js")
    os.symlink("src", app / "lib")  # a link to a folder is not walked into
    return app


def test_tracked_links_leave_the_task_folder_and_are_recorded(tmp_path: Path) -> None:
    app = _app_with_links(tmp_path)
    links = detach_symlinks(app)
    assert links == {".local/uuid/v1.js": "../../dist/cjs/v1.js", "lib": "src"}
    assert not any(path.is_symlink() for path in app.rglob("*"))
    assert (app / "src" / "index.js").is_file()
    assert recorded_symlinks(app.parent) == links


def test_a_tree_without_links_records_nothing(tmp_path: Path) -> None:
    app = tmp_path / "environment" / "app"
    app.mkdir(parents=True)
    (app / "a.py").write_text("")
    assert detach_symlinks(app) == {}
    assert recorded_symlinks(app.parent) == {}


def test_the_dockerfile_recreates_them_right_after_copying_the_project() -> None:
    dockerfile = "FROM x\nWORKDIR /app\nCOPY app/ /app/\nRUN npm ci\n"
    out = with_symlinks(dockerfile, {"lib": "src", "a b/c": "../d"}, WORKDIR)
    lines = out.splitlines()
    step = next(number for number, line in enumerate(lines) if line.startswith("RUN mkdir"))
    assert lines.index("COPY app/ /app/") < step < lines.index("RUN npm ci")
    assert "ln -sfn src /app/lib" in out and "ln -sfn ../d '/app/a b/c'" in out
    assert with_symlinks(out, {"lib": "src"}, WORKDIR) == out  # added once
    assert with_symlinks(dockerfile, {}, WORKDIR) == dockerfile


def test_a_dockerfile_that_copies_the_project_otherwise_gets_them_at_the_end() -> None:
    out = with_symlinks("FROM x\nADD . /srv\n", {"lib": "src"}, WORKDIR)
    assert out.rstrip().endswith("ln -sfn src /app/lib")
