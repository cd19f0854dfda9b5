"""Factory throughput on the bundled examples with `baseline`: minutes per validated
environment and validated yield, at -n 1 and -n 2.

    .venv/bin/python benchmarks/bench_build.py

Each run is a fresh `python -m harness.build --approve auto` in a new run folder, timed as
a user would see it (Docker layer caches warm after the first run, as on any machine that
has built once). Writes benchmarks/results/build.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(run_dir: Path, workers: int) -> dict[str, object]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "harness.build", "--approve", "auto", "-n", str(workers),
         "--out", str(run_dir)],
        cwd=ROOT, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"build failed: {completed.stderr.strip().splitlines()[-1:]}")
    summary = json.loads((run_dir / "summary.json").read_text())
    counts = summary["counts"]
    published = counts.get("published", 0)
    qualified = counts.get("verdict_qualified", 0)
    stage_seconds: dict[str, float] = {}
    for candidate in summary["candidates"]:
        for stage in candidate["stages"]:
            if stage["duration_sec"]:
                stage_seconds[stage["stage"]] = stage_seconds.get(stage["stage"], 0.0) + float(
                    stage["duration_sec"]
                )
    return {
        "wall_sec": round(wall, 1),
        "candidates": counts["candidates"],
        "qualified": qualified,
        "validated_and_published": published,
        "yield_of_candidates": round(published / counts["candidates"], 3),
        "yield_of_qualified": round(published / qualified, 3) if qualified else None,
        "minutes_per_validated_environment": round(wall / 60 / published, 2) if published else None,
        "stage_seconds_total": {k: round(v, 1) for k, v in stage_seconds.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/build.json"))
    args = parser.parse_args()
    report: dict[str, object] = {
        "benchmark": "build",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "builder": "baseline",
        "inputs": "examples/sessions (3 sessions, 2 qualify)",
    }
    with tempfile.TemporaryDirectory(prefix="kettle-bench-build-") as scratch:
        build(Path(scratch) / "warm-up", 2)  # Docker layer caches, example repositories
        for workers in (1, 2):
            report[f"n{workers}"] = build(Path(scratch) / f"n{workers}", workers)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
