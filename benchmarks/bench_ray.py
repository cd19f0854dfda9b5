"""Local vs Ray, from one run: factory environments per hour and meta-benchmark seed-builds
per hour at 1 and 2 Docker slots, and the overhead Ray adds per unit of work.

    .venv/bin/python benchmarks/bench_ray.py

Starts a Ray cluster on this machine (a head without Docker slots and one worker node
with two), runs `python -m harness.build` (baseline, bundled examples) and
`python -m meta_bench.run` (baseline, two team-written seeds) with each executor at -n 1
and -n 2, and times trivial units through both executors on an empty folder and on a
real candidate folder. Writes benchmarks/results/ray.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stats import summary_ms
from harness.executors.base import ExecutorConfig, make_executor
from harness.executors.local import LocalExecutor
from tests.fixtures.ray_cluster import start_local_cluster

META_SEEDS = ("pagewise-last-page", "timebox-compound-durations")


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    if completed.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{completed.stderr[-2000:]}")
    return time.perf_counter() - started


def executor_args(kind: str, address: str) -> list[str]:
    return ["--executor", kind, *(["--ray-address", address] if kind == "ray" else [])]


def factory(run_dir: Path, kind: str, slots: int, address: str) -> dict[str, object]:
    wall = timed(
        [sys.executable, "-m", "harness.build", "--approve", "auto", "-n", str(slots),
         "--out", str(run_dir), *executor_args(kind, address)]
    )  # fmt: skip
    summary = json.loads((run_dir / "summary.json").read_text())
    published = summary["counts"].get("published", 0)
    return {
        "wall_sec": round(wall, 1),
        "environments": published,
        "environments_per_hour": round(published / wall * 3600, 1),
    }


def meta(out: Path, kind: str, slots: int, address: str) -> dict[str, object]:
    seeds = [argument for seed in META_SEEDS for argument in ("--seed", seed)]
    wall = timed(
        [sys.executable, "-m", "meta_bench.run", "--builder", "baseline", *seeds,
         "-n", str(slots), "--out", str(out), *executor_args(kind, address)]
    )  # fmt: skip
    return {
        "wall_sec": round(wall, 1),
        "seed_builds": len(META_SEEDS),
        "seed_builds_per_hour": round(len(META_SEEDS) / wall * 3600, 1),
    }


def touch_a_file(folder: Path, payload: int) -> int:
    """The smallest unit of work: write one record in the unit's folder."""
    (folder / "touched.json").write_text(json.dumps({"payload": payload}))
    return payload


def unit_overhead(address: str, candidate_folder: Path, scratch: Path) -> dict[str, object]:
    ray = make_executor(ExecutorConfig(kind="ray", ray_address=address), run_id="bench-ray")
    local = LocalExecutor()
    results: dict[str, object] = {}
    try:
        for name, source in (("empty_folder", None), ("candidate_folder", candidate_folder)):
            folder = scratch / f"overhead-{name}"
            if source is not None:
                shutil.copytree(source, folder)
            else:
                folder.mkdir()
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            for label, executor in (("local", local), ("ray", ray)):
                samples = []
                for index in range(25):
                    started = time.perf_counter()
                    executor.run_in_folder(touch_a_file, folder, index, label="bench")
                    samples.append(time.perf_counter() - started)
                results[f"{name}_{label}"] = {"folder_bytes": size, **summary_ms(samples[5:])}
    finally:
        ray.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/ray.json"))
    args = parser.parse_args()
    report: dict[str, object] = {
        "benchmark": "ray",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "cluster": "one machine: a Ray head (no Docker slots) and one worker node with 2",
        "factory_inputs": "examples/sessions (3 sessions, 2 publishable), baseline",
        "meta_inputs": f"baseline on {', '.join(META_SEEDS)}",
    }
    cluster = start_local_cluster()
    address = cluster.address
    try:
        with tempfile.TemporaryDirectory(prefix="kettle-bench-ray-") as scratch_name:
            scratch = Path(scratch_name)
            factory(scratch / "warm-up", "local", 2, address)  # layer caches, example repos
            runs: dict[str, object] = {}
            for slots in (1, 2):
                for kind in ("local", "ray"):
                    runs[f"factory_{kind}_n{slots}"] = factory(
                        scratch / f"f-{kind}-{slots}", kind, slots, address
                    )
                    runs[f"meta_{kind}_n{slots}"] = meta(
                        scratch / f"m-{kind}-{slots}", kind, slots, address
                    )
            report["throughput"] = runs
            candidate = next((scratch / "warm-up" / "candidates").iterdir())
            report["overhead_per_unit"] = unit_overhead(address, candidate, scratch)
    finally:
        cluster.shutdown()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
