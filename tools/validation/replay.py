"""The session's own failed attempts, replayed: the near-misses a verifier must reject.

When the agent of the recorded session got stuck and the user stepped in, its work at that
moment (``tools.sessions.attempts``) is a wrong solution that looked right to a frontier
model: exactly what an outcome verifier has to tell apart from the fix. Each near-miss
(``HiddenFacts.near_misses``) is written over the start state as the solving agent would
write it, in a normal trial, and the task's verifier must score it 0. A verifier that
rewards one is too weak: the check fails, naming the attempt and when the user stepped in.

The near-misses are a difficulty signal too: a model already failed here.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from harness.runner.records import TrialResult
from harness.runner.solvers import CommandSolver, Solver
from tools.validation.records import NearMiss, ValidationCheck
from tools.validation.verdicts import verifier_output

RunTrial = Callable[[Solver, str], tuple[TrialResult, float]]


def near_miss_script(near_miss: NearMiss, workdir: str) -> str:
    """A bash script that leaves the project as the near-miss had it."""
    lines = ["set -e", f"cd {shlex.quote(workdir)}"]
    for path, content in sorted(near_miss.files.items()):
        target = shlex.quote(path)
        if content is None:
            lines.append(f"rm -f -- {target}")
            continue
        parent = str(PurePosixPath(path).parent)
        if parent != ".":
            lines.append(f"mkdir -p -- {shlex.quote(parent)}")
        encoded = base64.b64encode(content.encode("utf-8")).decode("ascii")
        lines.append(f"printf '%s' {shlex.quote(encoded)} | base64 -d > {target}")
    lines.append(f"echo 'replayed the failed attempt: {len(near_miss.files)} file(s)'")
    return "\n".join(lines) + "\n"


def replay_near_misses(
    near_misses: list[NearMiss],
    workdir: str,
    run_trial: RunTrial,
    trials_dir: Path,
    pool: ThreadPoolExecutor,
) -> list[ValidationCheck]:
    """One check per near-miss: passed when the verifier scores it 0."""
    futures = [
        (
            near_miss,
            pool.submit(
                run_trial,
                CommandSolver(f"replay-{near_miss.name}", near_miss_script(near_miss, workdir)),
                f"replay-{near_miss.name}",
            ),
        )
        for near_miss in near_misses
    ]
    checks = []
    for near_miss, future in futures:
        result, duration = future.result()
        checks.append(_check(near_miss, result, trials_dir, duration))
    return checks


def _check(
    near_miss: NearMiss, result: TrialResult, trials_dir: Path, duration: float
) -> ValidationCheck:
    trial_dir = trials_dir / result.trial_id
    evidence: dict[str, object] = {
        "reward": None if result.error else result.reward,
        "stepped_in": near_miss.note,
        "files": sorted(near_miss.files),
        "verifier_output": verifier_output(trial_dir),
        "trial": str(trial_dir),
    }
    name = f"replay:{near_miss.name}"
    what = f"the session's failed attempt ({near_miss.note})"
    if result.error:
        return ValidationCheck(
            name=name,
            category="replay",
            passed=False,
            message=f"{what} could not be replayed ({result.error.type}: "
            f"{result.error.message}), so whether the verifier rejects it is unknown",
            evidence=evidence,
            duration_sec=duration,
        )
    if result.reward == 0.0:
        return ValidationCheck(
            name=name,
            category="replay",
            passed=True,
            message=f"scored 0 on {what}",
            evidence=evidence,
            duration_sec=duration,
        )
    return ValidationCheck(
        name=name,
        category="replay",
        passed=False,
        message=f"the verifier gave reward {result.reward:g} to {what}: the agent of the "
        "session failed there, so the verifier is too weak — test the behaviour that attempt "
        "got wrong",
        evidence=evidence,
        duration_sec=duration,
    )
