"""Turning trials into checks: start state, oracle, determinism, and each exploit probe.

A trial that could not run (its result carries an error) never counts as a pass: the check
fails and says the run broke, because "the verifier was not fooled" is unknown then.
"""

from __future__ import annotations

from pathlib import Path

from harness.runner.records import TrialResult
from tools.validation.probes import OUTPUT_MARKER, Probe
from tools.validation.records import ValidationCheck

_TAIL_CHARS = 1500


def tail(path: Path, limit: int = _TAIL_CHARS) -> str:
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def probe_output(log: Path) -> str:
    """What a probe did: its log without the script the runner records in front of it."""
    text = tail(log, limit=1_000_000)
    _, marker, output = text.rpartition(f"\n{OUTPUT_MARKER}\n")
    text = output if marker else text
    return text if len(text) <= _TAIL_CHARS else "..." + text[-_TAIL_CHARS:]


def verifier_output(trial_dir: Path) -> str:
    stdout = tail(trial_dir / "verifier" / "test-stdout.txt")
    stderr = tail(trial_dir / "verifier" / "test-stderr.txt", 500)
    return stdout + (f"\n[stderr]\n{stderr}" if stderr else "")


def _rewards(results: list[TrialResult]) -> list[float | None]:
    return [None if r.error else r.reward for r in results]


def _broken(results: list[TrialResult]) -> list[str]:
    return [f"{r.trial_id}: {r.error.type}: {r.error.message}" for r in results if r.error]


def start_state_check(
    results: list[TrialResult], trials_dir: Path, duration: float
) -> ValidationCheck:
    rewards = _rewards(results)
    scored = [r for r in results if not r.error and r.reward != 0.0]
    evidence: dict[str, object] = {
        "rewards": rewards,
        "trials": [str(trials_dir / r.trial_id) for r in results],
    }
    broken = _broken(results)
    if broken:
        evidence["errors"] = broken
        message = f"the start-state run could not finish ({broken[0]}): fix the environment"
    elif scored:
        evidence["verifier_output"] = verifier_output(trials_dir / scored[0].trial_id)
        message = (
            f"the verifier gives the untouched start state reward {scored[0].reward:g} "
            f"({len(scored)} of {len(results)} runs): its tests must fail until the bug is "
            "fixed — make them exercise the reported behaviour against the code in the image"
        )
    else:
        message = f"the start state scores 0 in {len(results)} of {len(results)} fresh containers"
    return ValidationCheck(
        name="start_state",
        category="start_state",
        passed=not broken and not scored,
        message=message,
        evidence=evidence,
        duration_sec=duration,
    )


def oracle_check(results: list[TrialResult], trials_dir: Path, duration: float) -> ValidationCheck:
    rewards = _rewards(results)
    evidence: dict[str, object] = {
        "rewards": rewards,
        "trials": [str(trials_dir / r.trial_id) for r in results],
    }
    broken = _broken(results)
    solve_failed = [
        r for r in results if r.agent_result is not None and r.agent_result.status != "completed"
    ]
    missed = [r for r in results if not r.error and r.reward != 1.0]
    if broken:
        evidence["errors"] = broken
        message = f"the oracle run could not finish ({broken[0]}): fix the environment"
    elif solve_failed:
        first = solve_failed[0]
        evidence["solve_output"] = tail(trials_dir / first.trial_id / "agent" / "oracle.txt")
        status = first.agent_result.status if first.agent_result else "?"
        code = first.agent_result.exit_code if first.agent_result else None
        message = (
            f"solution/solve.sh did not complete ({status}, exit {code}) in "
            f"{len(solve_failed)} of {len(results)} runs: it must apply the fix offline, "
            "every time"
        )
    elif missed:
        evidence["verifier_output"] = verifier_output(trials_dir / missed[0].trial_id)
        message = (
            f"the reference solution scores {missed[0].reward:g}, not 1, in {len(missed)} of "
            f"{len(results)} runs: the verifier must pass the fix — check the tests against "
            "solution/solve.sh"
        )
    else:
        message = f"the reference solution scores 1 in {len(results)} of {len(results)} runs"
    return ValidationCheck(
        name="oracle",
        category="oracle",
        passed=not broken and not solve_failed and not missed,
        message=message,
        evidence=evidence,
        duration_sec=duration,
    )


def determinism_check(runs: dict[str, list[TrialResult]]) -> ValidationCheck:
    """Identical runs must give identical verdicts; name the runs that differed."""
    rewards = {label: _rewards(results) for label, results in runs.items()}
    differing: dict[str, list[str]] = {}
    for label, results in runs.items():
        values = [r.reward for r in results if not r.error]
        if len(set(values)) > 1:
            majority = max(set(values), key=values.count)
            differing[label] = [
                f"{r.trial_id} (reward {r.reward:g})"
                for r in results
                if not r.error and r.reward != majority
            ]
    if not differing:
        return ValidationCheck(
            name="determinism",
            category="determinism",
            passed=True,
            message="every repeated run gave the same verdict",
            evidence={"rewards": rewards},
        )
    label, which = next(iter(differing.items()))
    return ValidationCheck(
        name="determinism",
        category="determinism",
        passed=False,
        message=f"the verifier is flaky: identical {label} runs scored {rewards[label]} "
        f"({', '.join(which)} differed) — remove randomness, clock and ordering dependence "
        "and network access from the tests",
        evidence={"rewards": rewards, "differing_runs": differing},
    )


def exploit_check(
    probe: Probe, result: TrialResult, trials_dir: Path, duration: float
) -> ValidationCheck:
    trial_dir = trials_dir / result.trial_id
    verifier = result.verifier_result
    evidence: dict[str, object] = {
        "reward": None if result.error else result.reward,
        "probe_log": probe_output(trial_dir / "agent" / f"probe-{probe.name}.txt"),
        "verifier_output": verifier_output(trial_dir),
        "trial": str(trial_dir),
    }
    if verifier is not None and verifier.tampering:
        evidence["tampering_flagged_by_runner"] = verifier.tampering
    name = f"exploit:{probe.name}"
    if result.error:
        return ValidationCheck(
            name=name,
            category="exploit",
            passed=False,
            message=f"the probe's trial could not run ({result.error.type}: "
            f"{result.error.message}), so resistance to it is unknown",
            evidence=evidence,
            duration_sec=duration,
        )
    if result.reward == 0.0:
        return ValidationCheck(
            name=name,
            category="exploit",
            passed=True,
            message=f"scored 0 after the probe {probe.summary}",
            evidence=evidence,
            duration_sec=duration,
        )
    return ValidationCheck(
        name=name,
        category="exploit",
        passed=False,
        message=f"the verifier gave reward {result.reward:g} after the probe {probe.summary}: "
        f"{probe.advice}",
        evidence=evidence,
        duration_sec=duration,
    )
