"""Phase 1 throughput: a folder of sessions qualified by `baseline`, at -n 1 and -n 4.

    .venv/bin/python benchmarks/bench_qualify.py [--sessions 50]

The sessions cycle through six scenarios (good fix, from scratch, typo only, no license,
fix never landed, secret in the prompt) in four formats, each over its own real git
repository. The whole `python -m harness.build --stages qualify` command is timed, as a
user would run it. Writes benchmarks/results/qualify.json.
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
sys.path.insert(0, str(ROOT))

from tests.fixtures.qualify_scenarios import EXPECTED, write_scenario_sessions


def qualify(sessions: Path, run_dir: Path, workers: int, home: Path) -> dict[str, object]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "harness.build", "--sessions", str(sessions), "--stages",
         "qualify", "--approve", "queue", "--out", str(run_dir), "-n", str(workers)],
        cwd=ROOT, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        env={**os.environ, "KETTLE_HOME": str(home)},
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"build failed: {completed.stderr.strip().splitlines()[-1:]}")
    return {
        "wall_sec": round(elapsed, 2),
        "summary": json.loads((run_dir / "summary.json").read_text()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/qualify.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kettle-bench-qualify-") as scratch:
        root = Path(scratch)
        sessions, scenario_of = write_scenario_sessions(root, args.sessions)
        report: dict[str, object] = {
            "benchmark": "qualify",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count()},
            "sessions": args.sessions,
        }
        for workers in (1, 4):
            run_dir = root / f"run-n{workers}"
            outcome = qualify(sessions, run_dir, workers, root / "home")
            summary = outcome["summary"]
            right = 0
            for candidate in summary["candidates"]:  # type: ignore[index]
                stored = json.loads(
                    (
                        run_dir / "candidates" / candidate["candidate_id"] / "candidate.json"
                    ).read_text()
                )
                scenario = scenario_of[stored.get("workspace_path") or stored["repo"]]
                right += candidate["verdict"] == EXPECTED[scenario][0]
            wall = float(outcome["wall_sec"])  # type: ignore[arg-type]
            report[f"n{workers}"] = {
                "wall_sec": wall,
                "sessions_per_minute": round(len(summary["candidates"]) * 60 / wall, 1),  # type: ignore[index]
                "candidates": len(summary["candidates"]),  # type: ignore[index]
                "verdicts_right": right,
                "counts": summary["counts"],  # type: ignore[index]
            }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
