"""Meta-benchmark benchmark: the whole offline starter pack with baseline and the controls.

    .venv/bin/python benchmarks/bench_meta.py [--out DIR] [-n N] [--builder B ...] [--seed ID ...]
        [--calibration] [--reruns N] [--variant-reruns N]

Runs ``python -m meta_bench.run`` over every seed in meta_bench/seeds with baseline, null,
reference and ideal (``--calibration`` adds the five calibration builders; the run folder
is the same, so adding them resumes the earlier run), then prints JSON and writes it to
benchmarks/results/meta.json (meta-calibration.json with --calibration): the wall time, the
leaderboard rows with per-class results and intervals, the paired comparisons, and per
seed the time of each builder's build and scoring. Not a test: the numbers vary by
machine; the point is to see them and compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.fsio import read_model
from meta_bench.records import Leaderboard

DEFAULT_BUILDERS = ["baseline", "null", "reference", "ideal"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "meta-starter-pack")
    parser.add_argument("-n", type=int, default=2, help="units at once")
    parser.add_argument("--builder", action="append", default=None)
    parser.add_argument("--seed", action="append", default=[])
    parser.add_argument("--calibration", action="store_true", help="add the cal-* builders")
    parser.add_argument("--reruns", type=int, default=None)
    parser.add_argument("--variant-reruns", type=int, default=None)
    args = parser.parse_args()
    builders = (args.builder or DEFAULT_BUILDERS) + (["calibration"] if args.calibration else [])
    command = [sys.executable, "-m", "meta_bench.run", "--out", str(args.out), "-n", str(args.n)]
    for builder in builders:
        command += ["--builder", builder]
    if args.reruns:
        command += ["--reruns", str(args.reruns)]
    if args.variant_reruns:
        command += ["--variant-reruns", str(args.variant_reruns)]
    for seed in args.seed:
        command += ["--seed", seed]
    started = time.monotonic()
    completed = subprocess.run(command, cwd=ROOT, check=False)
    wall = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(completed.returncode)
    board = read_model(args.out / "leaderboard.json", Leaderboard)
    result = {
        "benchmark": "meta",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "command": " ".join(["python -m meta_bench.run", *command[3:]]),
        "wall_sec_this_invocation": round(wall, 1),
        "wall_sec_total": board.wall_sec,
        "seeds": [seed.id for seed in board.seeds],
        "common_seeds": board.common_seeds,
        "skipped_seeds": board.skipped_seeds,
        "rows": [
            {
                "builder": row.builder,
                "role": row.role,
                "defect": row.info.defect,
                "meta_score": row.meta_score,
                "ci95": [row.ci_low, row.ci_high],
                "qualification": row.qualification,
                "classes": row.classes,
                "metrics": row.metrics,
                "seeds_scored": row.seeds_scored,
                "seeds_failed": row.seeds_failed,
                "build_wall_sec": row.cost.build_wall_sec,
                "score_wall_sec": row.cost.score_wall_sec,
                "per_seed": {
                    cell.seed_id: {"env_score": cell.env_score, "build_sec": cell.build_wall_sec}
                    for cell in row.cells
                },
            }
            for row in board.rows
        ],
        "comparisons": [item.model_dump() for item in board.comparisons],
        "html_rendered": board.render_check.passed if board.render_check else None,
    }
    text = json.dumps(result, indent=2)
    print(text)
    name = "meta-calibration.json" if args.calibration else "meta.json"
    out = ROOT / "benchmarks" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
