"""Soak benchmark: many consecutive oracle and nop trials; nothing may leak, nothing may drift.

    .venv/bin/python benchmarks/bench_soak.py [--rounds 5] [-n 2] [--verifier-mode shared]

Runs ``rounds`` trials of every example task with the oracle, then with nop (5 x 3 x 2 = 30
trials by default), ``-n`` at a time, through the same ``run_job`` the CLI uses. Records the
wall time, the runner's peak RSS, the peak memory of any trial container (cgroup v1
``memory.max_usage_in_bytes``, sampled), and checks that verdicts are identical across rounds
(oracle 1, nop 0) and that no container, snapshot image, network, volume or dangling kettle
image outlives the run. Prints JSON and writes benchmarks/results/soak.json; exits 1 when a
check fails. Not a test: the figures vary by machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.runner.job import run_job
from harness.runner.launch import discover_tasks
from harness.runner.records import JobConfig, JobResult, TrialOptions
from harness.runner.solvers import NopSolver, OracleSolver
from harness.sandbox.engine import DockerEngine
from harness.sandbox.ownership import LABEL
from harness.settings import Settings
from harness.task.image import TaskImages

EXPECTED = {"oracle": 1.0, "nop": 0.0}
_CGROUP_MEMORY = Path("/sys/fs/cgroup/memory/docker")


class Sampler:
    """Samples the runner's RSS and trial containers' peak memory in the background."""

    def __init__(self, engine: DockerEngine, run_prefix: str, interval_sec: float = 0.5) -> None:
        self._engine, self._prefix, self._interval = engine, run_prefix, interval_sec
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.runner_rss_peak_mb = 0.0
        self.container_peak_mb = 0.0
        self.max_live_containers = 0

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.runner_rss_peak_mb = max(self.runner_rss_peak_mb, _current_rss_mb())
            live = [
                c
                for c in self._engine.kettle_containers()
                if str((c.get("Labels") or {}).get("org.kettle.run", "")).startswith(self._prefix)
            ]
            self.max_live_containers = max(self.max_live_containers, len(live))
            for container in live:
                usage = _CGROUP_MEMORY / str(container["Id"]) / "memory.max_usage_in_bytes"
                try:
                    peak = int(usage.read_text()) / 1024**2
                except (OSError, ValueError):
                    continue
                self.container_peak_mb = max(self.container_peak_mb, peak)


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def inventory(engine: DockerEngine, run_prefix: str) -> dict[str, int]:
    """What the soak run has on the engine, and the engine-wide counts it must not raise."""
    api = engine.api

    def ours(items: list[dict[str, object]]) -> int:
        return sum(
            1
            for item in items
            if str((item.get("Labels") or {}).get("org.kettle.run", "")).startswith(run_prefix)  # type: ignore[union-attr]
        )

    dangling = api.images(filters={"dangling": True, "label": f"{LABEL}=1"})
    return {
        "soak_containers": ours(engine.kettle_containers()),
        "soak_snapshot_images": ours(engine.kettle_snapshots()),
        "dangling_kettle_images": len(dangling),
        "networks": len(api.networks()),
        "volumes": len(api.volumes().get("Volumes") or []),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-n", "--concurrency", type=int, default=2)
    parser.add_argument("--tasks", type=Path, default=ROOT / "examples" / "tasks")
    parser.add_argument("--verifier-mode", choices=["shared", "separate"], default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "soak.json")
    args = parser.parse_args()

    engine = DockerEngine.connect()
    tasks = discover_tasks([args.tasks])
    images = TaskImages(engine, Settings.from_env())
    for task in tasks:  # builds are not what this benchmark measures
        images.ensure(task, Path(tempfile.gettempdir()) / f"soak-build-{task.task_id}.log")
    run_prefix = f"soak-{os.getpid()}"
    before = inventory(engine, run_prefix)
    jobs: dict[str, JobResult] = {}
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="kettle-soak-") as jobs_dir,
        Sampler(engine, run_prefix) as sampler,
    ):
        for agent, solver in (("oracle", OracleSolver), ("nop", NopSolver)):
            config = JobConfig(
                job_id=f"{run_prefix}-{agent}",
                task_paths=[str(t.root) for t in tasks],
                agent=agent,
                trials_per_task=args.rounds,
                concurrency=args.concurrency,
                created_at=datetime.now(UTC),
                trial_options=TrialOptions(verifier_mode=args.verifier_mode),
            )
            jobs[agent] = run_job(engine, images, tasks, solver, config, Path(jobs_dir) / agent)
    wall_sec = time.monotonic() - started
    after = inventory(engine, run_prefix)
    engine.close()

    verdicts: dict[str, dict[str, list[float | None]]] = {}
    durations: list[float] = []
    for agent, job in jobs.items():
        for trial in job.trials:
            verdicts.setdefault(agent, {}).setdefault(trial.task_id, []).append(trial.reward)
            durations.append(trial.duration_sec)
    identical = all(
        set(rewards) == {EXPECTED[agent]}
        for agent, by_task in verdicts.items()
        for rewards in by_task.values()
    )
    # Engine-wide counts may move with other users of the engine: only growth counts.
    leaks = {key: after[key] - before[key] for key in before if after[key] > before[key]}
    report = {
        "benchmark": "soak",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "verifier_mode": args.verifier_mode or "per task (shared)",
        "trials": sum(job.n_trials for job in jobs.values()),
        "errors": sum(job.n_errors for job in jobs.values()),
        "wall_sec": round(wall_sec, 1),
        "trial_sec": {
            "mean": round(statistics.mean(durations), 2),
            "max": round(max(durations), 2),
        },
        "runner_peak_rss_mb": round(
            max(
                sampler.runner_rss_peak_mb,
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            ),
            1,
        ),
        "container_peak_mb": round(sampler.container_peak_mb, 1),
        # Trial containers plus the tool guard's short-lived, never-started reference ones.
        "max_live_containers": sampler.max_live_containers,
        "verdicts": verdicts,
        "verdicts_identical": identical,
        "inventory_before": before,
        "inventory_after": after,
        "leaks": leaks,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    ok = identical and not leaks and report["errors"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
