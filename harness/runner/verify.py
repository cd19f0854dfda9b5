"""The verifier phase: tests arrive, test.sh runs, the reward is read.

Only after the solver has returned: anything the solver left in /logs/verifier is
recorded as tampering and removed, /tests is replaced by the task's own tests, and
test.sh runs under its timeout. Harbor reads reward.json before reward.txt; so does
kettle, but both can only come from this phase because the folder starts empty.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from harness.errors import SandboxError
from harness.runner.records import VerifierOutcome
from harness.sandbox.records import Sandbox
from harness.task.folder import HarborTask

VERIFIER_LOGS = "/logs/verifier"
MAX_VERIFIER_LOG_BYTES = 200 * 1024 * 1024


def prepare_for_solver(sandbox: Sandbox) -> None:
    """Before the solver: agent/artifact log folders exist, the verifier's do not.

    /logs itself belongs to root and is not world-writable, so an agent running as a
    non-root ``[agent].user`` cannot create /logs/verifier; its own folders are writable.
    """
    result = sandbox.exec(
        f"rm -rf {VERIFIER_LOGS} /tests && mkdir -p /logs/agent /logs/artifacts "
        "&& chown 0:0 /logs && chmod 755 /logs && chmod 777 /logs/agent /logs/artifacts",
        user="0",
        timeout_sec=60,
    )
    if not result.ok:
        raise SandboxError(f"could not prepare /logs: {(result.stderr or result.stdout).strip()}")


def run_verifier(sandbox: Sandbox, task: HarborTask, verifier_dir: Path) -> VerifierOutcome:
    """Copy the tests in, run test.sh, copy /logs/verifier out, and read the reward."""
    verifier_dir.mkdir(parents=True, exist_ok=True)
    tampering = _find_tampering_and_reset(sandbox)
    sandbox.copy_in(task.tests_dir, "/tests")
    config = task.config.verifier
    result = sandbox.exec(
        ["bash", "/tests/test.sh"],
        timeout_sec=config.timeout_sec,
        user=str(config.user) if config.user is not None else None,
        env=config.env,
    )
    (verifier_dir / "test-stdout.txt").write_text(result.stdout, encoding="utf-8")
    (verifier_dir / "test-stderr.txt").write_text(result.stderr, encoding="utf-8")
    sandbox.copy_out(VERIFIER_LOGS, verifier_dir, max_bytes=MAX_VERIFIER_LOG_BYTES)
    outcome = read_reward(verifier_dir)
    outcome.exit_code = result.exit_code
    outcome.timed_out = result.timed_out
    outcome.duration_sec = result.duration_sec
    outcome.tampering = tampering
    if result.timed_out:
        outcome.problems.append(f"test.sh ran past its {config.timeout_sec:.0f}s timeout")
    return outcome


def read_reward(verifier_dir: Path) -> VerifierOutcome:
    """reward.json (a flat dict of numbers) wins over reward.txt (one number), as in Harbor."""
    json_path, text_path = verifier_dir / "reward.json", verifier_dir / "reward.txt"
    problems: list[str] = []
    if json_path.is_file():
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
            rewards = {str(k): _finite(v) for k, v in data.items()}
        except (ValueError, AttributeError, TypeError) as error:
            problems.append(f"reward.json is not a flat object of numbers ({error})")
        else:
            return VerifierOutcome(
                reward=_headline(rewards), rewards=rewards, reward_source="reward.json"
            )
    if text_path.is_file():
        text = text_path.read_text(encoding="utf-8", errors="replace").strip()
        try:
            value = _finite(text)
        except ValueError:
            problems.append(f"reward.txt does not hold a number: {text[:40]!r}")
        else:
            return VerifierOutcome(
                reward=value, rewards={"reward": value}, reward_source="reward.txt"
            )
    if not problems:
        problems.append("test.sh wrote no reward file (/logs/verifier/reward.txt or reward.json)")
    return VerifierOutcome(reward=None, problems=problems)


def _finite(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("booleans are not rewards")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _headline(rewards: dict[str, float]) -> float | None:
    if not rewards:
        return None
    if "reward" in rewards:
        return rewards["reward"]
    return sum(rewards.values()) / len(rewards)


def _find_tampering_and_reset(sandbox: Sandbox) -> list[str]:
    """What the solver left where only the verifier writes, then an empty /logs/verifier and
    no /tests (one exec: each costs a tenth of a second of the engine's CPU)."""
    # The listing stays in a shell variable: a file the solver could have planted as a link.
    result = sandbox.exec(
        f"left=$([ -e {VERIFIER_LOGS} ] && find {VERIFIER_LOGS} -mindepth 1 -maxdepth 2 "
        "| head -20; [ -e /tests ] && echo /tests); "
        f"rm -rf {VERIFIER_LOGS} /tests && mkdir -p {VERIFIER_LOGS} && chmod 777 {VERIFIER_LOGS} "
        '&& printf "%s\\n" "$left"',
        user="0",
        timeout_sec=60,
    )
    if not result.ok:
        raise SandboxError(f"could not prepare {VERIFIER_LOGS}: {result.stderr.strip()}")
    found = [line for line in result.stdout.splitlines() if line.strip()]
    return [f"solver phase created {path} (removed before the tests ran)" for path in found]
