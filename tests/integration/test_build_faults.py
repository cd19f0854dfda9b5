"""The factory on a full disk: one clear line, earlier runs untouched, the rerun finishes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.fixtures.disk import fill


def qualify(run_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.build", "--stages", "qualify", "--approve", "queue",
         "--out", str(run_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {
        path: path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and not path.name.startswith("ledger.sqlite")
    }


@pytest.mark.parametrize("leave_bytes", [0, 16 * 1024])
def test_full_disk_stops_the_build_with_one_line_and_the_rerun_finishes(
    small_disk: Path, leave_bytes: int
) -> None:
    earlier = small_disk / "earlier"
    assert qualify(earlier).returncode == 0
    kept = snapshot(earlier)
    fill(small_disk, leave_bytes)

    full = qualify(small_disk / "later")
    assert full.returncode != 0
    lines = [line for line in full.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert "Traceback" not in full.stderr and len(errors) == 1, full.stderr
    assert "No space left on device" in errors[0] or "disk is full" in errors[0]
    assert "--out" in errors[0]
    assert snapshot(earlier) == kept
    for written in (small_disk / "later").rglob("*.json"):
        json.loads(written.read_text())  # whatever was written is whole

    (small_disk / "filler").unlink()
    rerun = qualify(small_disk / "later")
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads((small_disk / "later" / "summary.json").read_text())
    assert summary["counts"]["candidates"] == 3
    assert all(c["stages"][0]["status"] == "done" for c in summary["candidates"])
