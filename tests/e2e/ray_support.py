"""Shared by the Ray tests: the CLIs they drive and what they compare."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO_ROOT, hears_ctrl_c
from tests.fixtures.example_build import BUILD
from tests.fixtures.ledger import stage_rows

__all__ = ["BUILD"]

# Two units at once with either executor: a worker node has two Docker slots.
META = [sys.executable, "-m", "meta_bench.run", "--reruns", "1", "--variant-reruns", "1", "-n", "2"]


def run(command: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=1500,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def succeeded(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr[-3000:]


def build_result(run_dir: Path) -> dict[str, object]:
    """What a build produced, independent of where it ran: every candidate's verdict and
    end state, and the content of every published task."""
    summary = json.loads((run_dir / "summary.json").read_text())
    candidates = {
        c["candidate_id"]: (c["verdict"], c["state"], Path(c["published"] or "").name)
        for c in summary["candidates"]
    }
    tasks: dict[str, dict[str, str]] = {}
    for task in sorted((run_dir / "tasks").iterdir()):
        files = {}
        for path in sorted(task.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(task))] = hashlib.sha256(path.read_bytes()).hexdigest()
        tasks[task.name] = files
    return {"candidates": candidates, "tasks": tasks}


def no_ray_units_within(seconds: float) -> list[int]:
    """Ray ends a cancelled worker asynchronously: the units still running after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (pids := ray_unit_pids()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return pids


def ray_unit_pids() -> list[int]:
    """Ray worker processes running a kettle unit right now (Ray titles them by task)."""
    found = subprocess.run(
        ["pgrep", "-f", "ray::_run_unit_on_node"], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def build_on_ray_and_break_something(
    run_dir: Path, ray_address: str, break_it: Callable[[], None]
) -> None:
    """A Ray build during which ``break_it`` runs once a validate stage is on a worker."""
    log = run_dir.parent / "driver.log"
    driver = subprocess.Popen(
        [*BUILD, "--executor", "ray", "--ray-address", ray_address, "--out", str(run_dir)],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=log.open("w"),
        stdin=subprocess.DEVNULL, preexec_fn=hears_ctrl_c,
    )  # fmt: skip
    broken = False
    deadline = time.monotonic() + 600
    try:
        while not broken and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.5)
            running = [key for key, row in stage_rows(run_dir).items() if row[0] == "running"]
            if any(stage == "validate" for _, stage in running) and ray_unit_pids():
                break_it()
                broken = True
        driver.wait(timeout=1200)
    finally:
        # A failed test must not leave its build running into the next one on the cluster.
        if driver.poll() is None:
            driver.send_signal(signal.SIGINT)
            driver.wait(timeout=180)
    err = log.read_text()
    assert broken, f"no validate stage was seen running on a worker\n{err[-2000:]}"
    assert driver.returncode == 0, err[-3000:]


def assert_retried_once_after_a_loss(run_dir: Path) -> None:
    retried = [row for row in stage_rows(run_dir).values() if row[1] > 1]
    assert retried, "the lost stage was not retried"
    for status, attempts, detail in retried:
        assert status == "done" and attempts == 2
        assert detail and "retried" in detail and "lost its worker" in detail
