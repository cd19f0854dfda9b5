"""Foundation benchmark: sandbox and terminal latencies, one oracle trial, Harbor for scale.

    .venv/bin/python benchmarks/bench_foundation.py [--task examples/tasks/NAME] [--repeats N]

Prints JSON and writes it to benchmarks/results/foundation.json. Not a test: numbers vary by
machine; the point is to see them and compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stats import summary_ms
from harness.machine.harbor import harbor_python
from harness.runner.solvers import OracleSolver
from harness.runner.trial import run_trial
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from harness.terminal import Terminal


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_sandbox(engine: DockerEngine, image: str, repeats: int) -> dict[str, object]:
    spec = SandboxSpec(image=image, run_id="bench-foundation", role="bench")
    starts = []
    for _ in range(repeats):
        started = time.perf_counter()
        box = engine.start(spec)
        starts.append(time.perf_counter() - started)
        box.close()
    with engine.start(spec) as box:
        execs = [timed(lambda: box.exec("true")) for _ in range(repeats * 5)]
        terminal = Terminal(box)
        terminal.start()
        rounds = [timed(lambda: terminal.run("true\n", 10)) for _ in range(repeats * 3)]
    return {
        "container_start": summary_ms(starts),
        "exec_round_trip": summary_ms(execs),
        "tmux_send_and_read_round_trip": summary_ms(rounds),
    }


def bench_oracle_trial(engine: DockerEngine, task: HarborTask, repeats: int) -> dict[str, object]:
    images = TaskImages(engine, Settings.from_env())
    with tempfile.TemporaryDirectory() as scratch:
        images.ensure(task, Path(scratch) / "build.log")  # the build is not what is measured
        durations, rewards = [], []
        for index in range(repeats):
            started = time.perf_counter()
            result = run_trial(
                engine, images, task, OracleSolver(), Path(scratch) / f"trial-{index}",
                run_id="bench-foundation", build_log=Path(scratch) / "build.log",
            )  # fmt: skip
            durations.append(time.perf_counter() - started)
            rewards.append(result.reward)
    return {"task": task.task_id, "oracle_trial": summary_ms(durations), "rewards": rewards}


def bench_harbor(task: HarborTask) -> dict[str, object]:
    python = harbor_python(Settings.from_env())
    if python is None:
        return {"skipped": "Harbor is not installed (python -m harness.setup --harbor)"}
    env = {**os.environ, "PATH": f"{python.parent}:{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory() as jobs:
        command = [
            str(python.parent / "harbor"), "run", "-p", str(task.root), "-a", "oracle",
            "--env", "docker", "-o", jobs,
        ]  # fmt: skip
        # One warm-up run builds Harbor's own image; the second run is the one measured.
        subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=1800)
        started = time.perf_counter()
        completed = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False, timeout=1800
        )
        elapsed = time.perf_counter() - started
        rewards = [
            json.loads(path.read_text()).get("verifier_result", {}).get("rewards")
            for path in Path(jobs).glob("*/*/result.json")
        ]
    return {
        "command": " ".join(command[:6]),
        "exit_code": completed.returncode,
        "oracle_trial_sec": round(elapsed, 2),
        "rewards": rewards,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", default=str(ROOT / "examples/tasks/stash-kwargs-cache-key"))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/foundation.json"))
    args = parser.parse_args()
    settings = Settings.from_env()
    engine = DockerEngine.connect()
    task = HarborTask.load(args.task)
    try:
        report: dict[str, object] = {
            "benchmark": "foundation",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "sandbox": bench_sandbox(engine, settings.base_image, args.repeats),
            "kettle": bench_oracle_trial(engine, task, max(args.repeats // 3, 3)),
        }
        report["harbor"] = bench_harbor(task)
        harbor_sec = report["harbor"].get("oracle_trial_sec")  # type: ignore[union-attr]
        kettle_ms = report["kettle"]["oracle_trial"]["median_ms"]  # type: ignore[index]
        if harbor_sec:
            report["harbor_over_kettle_ratio"] = round(harbor_sec * 1000 / kettle_ms, 2)
    finally:
        engine.reap_orphans(run_id="bench-foundation", everything=True)
        engine.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
