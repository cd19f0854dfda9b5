"""`python -m harness.build` survives being killed, and human approvals can wait."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.machine.browser import dump_dom, ensure_chromium
from harness.sandbox.engine import DockerEngine
from harness.task.folder import HarborTask
from tests.conftest import REPO_ROOT, hears_ctrl_c
from tests.fixtures.ledger import stage_rows

BUILD = [sys.executable, "-m", "harness.build"]


def stages(run_dir: Path) -> dict[tuple[str, str], tuple[str, int]]:
    return {key: (status, attempts) for key, (status, attempts, _) in stage_rows(run_dir).items()}


def run_build(*args: str, reap_at_start: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BUILD, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800, check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "KETTLE_REAP_AT_START": "1" if reap_at_start else "0"},
    )  # fmt: skip


def test_a_run_killed_mid_validation_and_waiting_on_reviewers_resumes_without_repeating_stages(
    tmp_path: Path, docker_engine: DockerEngine
) -> None:
    """One build through everything that stops a run short (one flow: each build costs a
    minute of both cores): approvals queued for a reviewer, a kill -9 in the middle of
    validation, approvals queued again; each rerun repeats only what was cut short."""
    run_dir = tmp_path / "resumed-run"
    # One validation repeat: this test is about resuming, not about flaky verifiers.
    first = run_build("--out", str(run_dir), "--approve", "prompt", "--repeats", "1")
    assert first.returncode == 0, first.stderr
    assert "approvals are queued" in first.stderr
    parked = {key for key, (status, _) in stages(run_dir).items() if status == "parked"}
    assert {stage for _, stage in parked} == {"approve_qualification"} and len(parked) == 2

    review = subprocess.run(
        [sys.executable, "-m", "harness.approve", str(run_dir), "--approve-all", "--note", "ok"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert review.returncode == 0, review.stderr
    assert "2 decision(s) recorded" in review.stderr

    process = subprocess.Popen(
        [*BUILD, "--out", str(run_dir), "--approve", "queue", "--repeats", "1"],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "KETTLE_REAP_AT_START": "0"},
    )  # fmt: skip
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            current = stages(run_dir)
            validating = [key for key, (status, _) in current.items() if status == "running"]
            if any(stage == "validate" for _, stage in validating):
                break
        else:
            raise AssertionError("the build never reached a validate stage")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = stages(run_dir)
    interrupted = {key for key, (status, _) in before.items() if status == "running"}
    done_before = {key for key, (status, _) in before.items() if status == "done"}
    assert interrupted and {stage for _, stage in done_before} >= {"qualify", "reconstruct"}

    second = run_build(
        "--out", str(run_dir), "--approve", "queue", "--repeats", "1", reap_at_start=True
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    after = stages(run_dir)
    for key in done_before:
        assert after[key] == before[key], f"{key} was repeated: {after[key]}"
    for key in interrupted:
        repeated_once = ("done", before[key][1] + 1)
        assert after[key] == repeated_once, f"{key} should have been repeated once: {after[key]}"
    parked = {key for key, (status, _) in after.items() if status == "parked"}
    assert {stage for _, stage in parked} == {"approve_task"}
    # The killed run's containers were reaped by the rerun: nothing of this run is left.
    assert docker_engine.kettle_containers(run_dir.name) == []

    subprocess.run(
        [sys.executable, "-m", "harness.approve", str(run_dir), "--approve-all"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    third = run_build("--out", str(run_dir), "--approve", "queue", "--repeats", "1")
    assert third.returncode == 0, third.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["counts"].get("published") == 2 and summary["counts"]["disqualified"] == 1
    for candidate in summary["candidates"]:
        if candidate["state"] == "published":
            task = HarborTask.load(candidate["published"])
            assert task.test_path.is_file() and task.solve_path.is_file()
    decisions = [a for c in summary["candidates"] for a in c["approvals"]]
    assert len(decisions) == 4 and all(a["decided_by"] for a in decisions)
    assert {a["note"] for a in decisions if a["gate"] == "approve_qualification"} == {"ok"}

    # The report a reviewer opens renders in a real browser, with what they need to see.
    dom = dump_dom(ensure_chromium(lambda _message: None), run_dir / "report.html")
    assert dom.count('class="published"') >= 2 and "disqualified" in dom
    assert "validation" in dom and ">pass<" in dom and "approve_task: approved by" in dom


def test_ctrl_c_stops_the_build_and_removes_its_containers_at_once(
    tmp_path: Path, docker_engine: DockerEngine
) -> None:
    run_dir = tmp_path / "interrupted-run"
    process = subprocess.Popen(
        [*BUILD, "--out", str(run_dir), "--approve", "auto", "--repeats", "1"],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=hears_ctrl_c,
    )  # fmt: skip
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if docker_engine.kettle_containers(run_dir.name):
            break  # a stage is working in a container right now
    else:
        raise AssertionError("the build never started a container")
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert docker_engine.kettle_containers(run_dir.name) == []
    running = [key for key, (status, _) in stages(run_dir).items() if status == "running"]
    assert running, "the interrupted stage is left to be repeated by the next run"
