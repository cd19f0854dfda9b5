"""A unit's folder travels to a worker node and back: relocated, whole, never half-swapped."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.executors.folder_transfer import (
    FOLDER_TOKEN,
    pack_folder,
    restore_folder,
    unpack_folder,
)


def make_unit(folder: Path) -> None:
    (folder / "validation" / "trials" / "t1").mkdir(parents=True)
    (folder / "validation" / "trials" / "t1" / "log.txt").write_text(f"ran in {folder}\n")
    record = {"trials": [str(folder / "validation" / "trials" / "t1")], "note": "kept"}
    (folder / "validation" / "validation.json").write_text(json.dumps(record))
    (folder / "draft").mkdir()
    (folder / "draft" / "solve.sh").write_text("#!/bin/sh\necho fix\n")
    (folder / "draft" / "solve.sh").chmod(0o755)


def test_records_naming_the_folder_point_at_wherever_it_lands(tmp_path: Path) -> None:
    driver, worker = tmp_path / "driver" / "unit", tmp_path / "worker" / "scratch" / "unit"
    driver.mkdir(parents=True)
    make_unit(driver)

    unpack_folder(pack_folder(driver), worker)

    record = json.loads((worker / "validation" / "validation.json").read_text())
    assert record == {"trials": [str(worker / "validation" / "trials" / "t1")], "note": "kept"}
    # Only records are rewritten: logs and task files arrive byte for byte.
    assert (worker / "validation" / "trials" / "t1" / "log.txt").read_text() == f"ran in {driver}\n"
    assert os.access(worker / "draft" / "solve.sh", os.X_OK)


def test_the_returned_state_replaces_the_folder_whole(tmp_path: Path) -> None:
    driver, worker = tmp_path / "driver" / "unit", tmp_path / "worker" / "unit"
    driver.mkdir(parents=True)
    make_unit(driver)
    (driver / "stale-from-an-earlier-attempt.txt").write_text("old")
    unpack_folder(pack_folder(driver), worker)
    (worker / "stale-from-an-earlier-attempt.txt").unlink()
    (worker / "new.json").write_text(json.dumps({"at": str(worker / "draft")}))

    unpack_folder(pack_folder(worker), driver)

    assert not (driver / "stale-from-an-earlier-attempt.txt").exists()
    assert json.loads((driver / "new.json").read_text()) == {"at": str(driver / "draft")}
    assert sorted(p.name for p in driver.parent.iterdir()) == ["unit"]  # no staging left over


def test_a_swap_cut_short_by_a_crash_is_undone(tmp_path: Path) -> None:
    folder = tmp_path / "unit"
    folder.mkdir()
    make_unit(folder)
    # The crash came after the old state was moved aside and before the new one arrived.
    folder.rename(tmp_path / ".replaced-unit-1a2b3c4d")

    restore_folder(folder)

    assert (folder / "draft" / "solve.sh").is_file()
    assert not list(tmp_path.glob(".replaced-*"))


def test_links_out_of_the_folder_do_not_travel(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    folder = tmp_path / "unit"
    folder.mkdir()
    (folder / "escape").symlink_to(secret)
    (folder / "kept.txt").write_text("ok")

    unpack_folder(pack_folder(folder), tmp_path / "elsewhere")

    assert (tmp_path / "elsewhere" / "kept.txt").read_text() == "ok"
    assert not (tmp_path / "elsewhere" / "escape").exists()


def test_the_placeholder_never_reaches_the_driver(tmp_path: Path) -> None:
    folder = tmp_path / "unit"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps({"path": str(folder)}))
    packed = pack_folder(folder)
    unpack_folder(packed, tmp_path / "back")
    assert FOLDER_TOKEN not in (tmp_path / "back" / "a.json").read_text()
