"""The factory on work no one here wrote: real bug fixes of real open-source projects.

    .venv/bin/python benchmarks/bench_realworld.py --repos-dir /work/.mirror
    .venv/bin/python benchmarks/bench_realworld.py --repos-dir DIR --only attrs-slots -n 2
    .venv/bin/python benchmarks/bench_realworld.py --repos-dir DIR --stages qualify --no-harbor \
        --results benchmarks/results/realworld-qualify.json      # the search for the fix only

Each case of ``benchmarks/realworld/cases.toml`` (a pair of real upstream commits, the
user's prompt and follow-up written from the symptom) becomes one line of a
candidates.jsonl **without** the fix commit: qualification must find it. The factory runs
with the ``baseline`` builder (`python -m harness.build`, the command users run), then every
published task is run under Harbor's own runner with its oracle and with ``nop``.

Repositories are read from ``--repos-dir`` (never fetched here): ``DIR/<owner>+<name>/repo``
(the layout of mirrors fetched for development), ``DIR/<owner>/<name>`` or ``DIR/<name>``.

Per case and in total: qualified, right fix commit, published, Harbor oracle 1.0 / nop
0.0, minutes, and for every failure the stage and a one-line reason. Results:
``benchmarks/results/realworld.json`` (and the run folder, resumable with the same --out).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.machine.harbor import harbor_python, harbor_trial, recorded_trial
from harness.settings import Settings

CASES = ROOT / "benchmarks" / "realworld" / "cases.toml"
RESULTS = ROOT / "benchmarks" / "results" / "realworld.json"
STAGES = ("qualify", "reconstruct", "verifier", "validate", "publish")


def find_repo(repos_dir: Path, url: str) -> Path | None:
    owner, name = url.rstrip("/").removesuffix(".git").split("/")[-2:]
    for candidate in (
        repos_dir / f"{owner}+{name}" / "repo",
        repos_dir / owner / name,
        repos_dir / name,
    ):
        if candidate.exists():
            return candidate
    return None


def candidate_line(case: dict, *, give_fix: bool = False) -> dict:
    line = {
        "id": case["id"],
        "repo": case["repo"],  # the URL a session names; --repo-map points it at the clone
        "start_commit": case["start_commit"],
        "first_prompt": case["prompt"].strip(),
        "follow_ups": [case["follow_up"].strip()] if case.get("follow_up", "").strip() else [],
    }
    if give_fix and case.get("fix_commit"):
        line["fix_commit"] = case["fix_commit"]  # a hint qualification re-checks
    return line


def run_factory(
    candidates: Path, out: Path, concurrency: int, repo_map: list[str], stages: str | None
) -> float:
    started = time.monotonic()
    command = [
        sys.executable, "-m", "harness.build", "--candidates", str(candidates),
        "--out", str(out), "--approve", "auto", "-n", str(concurrency),
        *[option for mapping in repo_map for option in ("--repo-map", mapping)],
        *(["--stages", stages] if stages else []),
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, check=False, stdin=subprocess.DEVNULL)
    return time.monotonic() - started


def case_result(
    case: dict, run_dir: Path, summary: dict, harbor: Path | None, repo: Path | None = None
) -> dict:
    row: dict = {"id": case["id"], "language": case["language"], "tags": case.get("tags", [])}
    expected = case.get("expect", "qualified")
    found = next((c for c in summary["candidates"] if c["candidate_id"] == case["id"]), None)
    if found is None:
        return {**row, "stage": "intake", "reason": "not in the run's summary"}
    row["minutes"] = round(found["duration_sec"] / 60, 2)
    row["stage_minutes"] = {
        s["stage"]: round((s.get("duration_sec") or 0) / 60, 2) for s in found["stages"]
    }
    row["verdict"] = found.get("verdict")
    qualification_path = run_dir / "candidates" / case["id"] / "qualification.json"
    chosen = None
    if qualification_path.is_file():
        chosen = json.loads(qualification_path.read_text()).get("fix_commit")
    row["fix_commit_found"] = chosen
    row["qualified"] = found.get("verdict") == "qualified"
    if expected == "disqualified":
        row["right"] = found.get("verdict") == "disqualified"
        row["stage"] = None if row["right"] else "qualify"
        row["reason"] = (
            None if row["right"] else f"expected disqualified ({case.get('expect_reason')})"
        )
        return row
    row["right_fix"] = bool(chosen) and _same_commit(chosen, case, repo)
    row["published"] = found["state"] == "published"
    failed = next((s for s in found["stages"] if s["status"] == "failed"), None)
    if not row["published"]:
        stage = (
            failed["stage"]
            if failed
            else next(
                (s["stage"] for s in found["stages"] if s["status"] not in ("done", "skipped")),
                "qualify" if found.get("verdict") != "qualified" else "?",
            )
        )
        reason = (failed or {}).get("detail") or (found.get("reasons") or ["-"])[0]
        row["stage"], row["reason"] = stage, _one_line(reason)
        return row
    task = Path(found["published"])
    row["task"] = str(task)
    if harbor is None:
        row["harbor"] = None
        return row
    jobs = run_dir / "harbor" / case["id"]
    started = time.monotonic()
    # A rerun keeps the trials Harbor already finished (the run folder is resumable).
    oracle = recorded_trial(jobs / "oracle", "oracle") or harbor_trial(
        harbor, task, "oracle", jobs / "oracle"
    )
    nop = recorded_trial(jobs / "nop", "nop") or harbor_trial(harbor, task, "nop", jobs / "nop")
    row["harbor_minutes"] = round((time.monotonic() - started) / 60, 2)
    row["harbor"] = {"oracle": oracle.reward, "nop": nop.reward}
    row["harbor_valid"] = oracle.reward == 1.0 and nop.reward == 0.0
    if not row["harbor_valid"]:
        why = oracle.error or nop.error or f"oracle {oracle.reward}, nop {nop.reward}"
        row["stage"], row["reason"] = "harbor", _one_line(why)
    return row


def _same_commit(chosen: str, case: dict, repo: Path | None = None) -> bool:
    """The case's fix, or the merge that brought exactly that fix in (its pull request)."""
    wanted = {case["fix_commit"], case.get("fix_first_commit") or case["fix_commit"]}
    if any(w.startswith(chosen) or chosen.startswith(w) for w in wanted if w):
        return True
    if repo is None:
        return False
    parents = subprocess.run(
        ["git", f"--git-dir={repo / '.git' if (repo / '.git').exists() else repo}",
         "rev-list", "--parents", "-n", "1", chosen],
        capture_output=True, text=True, check=False,
    ).stdout.split()[2:]  # fmt: skip
    return case["fix_commit"] in parents


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:240]


def totals(rows: list[dict]) -> dict:
    positive = [r for r in rows if "right_fix" in r]
    negative = [r for r in rows if "right" in r]
    valid = [r for r in positive if r.get("harbor_valid")]
    minutes = sum(r.get("minutes", 0) for r in rows)
    return {
        "cases": len(rows),
        "positive": len(positive),
        "qualified": sum(bool(r.get("qualified")) for r in positive),
        "right_fix": sum(bool(r.get("right_fix")) for r in positive),
        "wrong_fix_confident": sum(
            bool(r.get("qualified")) and not r.get("right_fix") and bool(r.get("fix_commit_found"))
            for r in positive
        ),
        "needs_human": sum(r.get("verdict") == "needs_human" for r in positive),
        "published": sum(bool(r.get("published")) for r in positive),
        "harbor_valid": len(valid),
        "validated_share": round(len(valid) / len(positive), 3) if positive else None,
        "negatives_right": f"{sum(bool(r['right']) for r in negative)}/{len(negative)}",
        "minutes_total": round(minutes, 1),
        "minutes_per_valid_env": round(minutes / len(valid), 2) if valid else None,
        "failures_by_stage": {
            stage: sum(r.get("stage") == stage for r in rows)
            for stage in ("intake", *STAGES, "harbor")
            if any(r.get("stage") == stage for r in rows)
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos-dir", type=Path, required=True)
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--only", action="append", default=[], help="case ids (repeatable)")
    parser.add_argument("--language", choices=("python", "javascript", "typescript"))
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "realworld")
    parser.add_argument("-n", "--concurrency", type=int, default=1)
    parser.add_argument("--no-harbor", action="store_true", help="skip Harbor's runner")
    parser.add_argument(
        "--harbor-jobs", type=int, default=3, help="Harbor trials run at once (default 3)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--give-fix",
        action="store_true",
        help="hint each case's fix commit (measures the build, not the search for the fix)",
    )
    parser.add_argument(
        "--stages", help="last stage to run, e.g. qualify (measures the search for the fix only)"
    )
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    cases = tomllib.loads(args.cases.read_text())["case"]
    if args.only:
        cases = [c for c in cases if c["id"] in args.only]
    if args.language:
        cases = [c for c in cases if c["language"] == args.language]
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    lines, missing, repo_map = [], [], {}
    for case in cases:
        repo = find_repo(args.repos_dir.resolve(), case["repo"])
        if repo is None:
            missing.append(case["id"])
            continue
        repo_map[case["repo"]] = f"{case['repo']}={repo}"
        lines.append(json.dumps(candidate_line(case, give_fix=args.give_fix)))
    if missing:
        print(f"no repository under {args.repos_dir} for: {', '.join(missing)}", file=sys.stderr)
    candidates = out / "candidates.jsonl"
    candidates.write_text("\n".join(lines) + "\n")
    began = time.monotonic()
    wall = run_factory(candidates, out, args.concurrency, sorted(repo_map.values()), args.stages)
    summary = json.loads((out / "summary.json").read_text())
    harbor = None if args.no_harbor else harbor_python(Settings.from_env())
    repos = {c["id"]: find_repo(args.repos_dir.resolve(), c["repo"]) for c in cases}
    # Harbor's trials of different tasks are independent: several at once (each is mostly
    # waiting on docker).
    with ThreadPoolExecutor(max_workers=max(1, args.harbor_jobs)) as pool:
        rows = list(
            pool.map(
                lambda c: case_result(c, out, summary, harbor, repos[c["id"]]),
                [c for c in cases if c["id"] not in missing],
            )
        )
    rows += [{"id": m, "stage": "intake", "reason": "repository not found"} for m in missing]
    result = {
        "benchmark": "realworld",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "builder": "baseline",
        "fix_hinted": args.give_fix,
        "last_stage": args.stages or "publish",
        "harbor": str(harbor) if harbor else None,
        "wall_minutes": round(wall / 60, 1),
        "wall_minutes_with_harbor": round((time.monotonic() - began) / 60, 1),
        "totals": totals(rows),
        "cases": rows,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["totals"], indent=2))
    for row in rows:
        status = "VALID" if row.get("harbor_valid") else (row.get("stage") or "ok")
        print(f"{row['id']:45} {status:10} {row.get('reason') or ''}")


if __name__ == "__main__":
    main()
