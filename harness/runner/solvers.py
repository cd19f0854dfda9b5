"""Solvers: what runs in the task's container before the verifier (Harbor calls them agents).

``oracle`` applies the task's own solution, ``nop`` does nothing (the negative control);
model-driven solvers (``terminus``) and scripted ones (patches, exploits) implement the
same protocol. A solver never sees the tests: they arrive after it returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.runner.records import SolveOutcome
from harness.sandbox.records import ExecResult, Sandbox
from harness.task.folder import HarborTask

DEFAULT_AGENT_TIMEOUT_SEC = 600.0


@dataclass(frozen=True)
class SolverContext:
    """Everything a solver may use: the sandbox, the task (minus tests), where to log."""

    sandbox: Sandbox
    task: HarborTask
    agent_dir: Path
    deadline: float
    user: str | None

    @property
    def remaining_sec(self) -> float:
        return max(self.deadline - time.monotonic(), 1.0)


class Solver(Protocol):
    name: str

    def solve(self, context: SolverContext) -> SolveOutcome: ...


def record_exec(result: ExecResult, log_path: Path) -> None:
    """Keep a command's output next to the trial, in the order a reader expects."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(
        f"$ {result.command}\n{result.stdout}"
        + (f"\n--- stderr ---\n{result.stderr}" if result.stderr else "")
        + f"\n--- exit {result.exit_code}{' (timed out)' if result.timed_out else ''},"
        f" {result.duration_sec:.1f}s ---\n",
        encoding="utf-8",
    )


def outcome_of(result: ExecResult) -> SolveOutcome:
    if result.timed_out:
        return SolveOutcome(status="timeout", exit_code=None)
    return SolveOutcome(status="completed" if result.ok else "failed", exit_code=result.exit_code)


class OracleSolver:
    """Copies solution/ to /solution and runs solve.sh, as Harbor's oracle agent does."""

    name = "oracle"

    def solve(self, context: SolverContext) -> SolveOutcome:
        task = context.task
        context.sandbox.copy_in(task.solution_dir, "/solution")
        result = context.sandbox.exec(
            ["bash", "/solution/solve.sh"],
            timeout_sec=context.remaining_sec,
            user=context.user,
            env={"DEBIAN_FRONTEND": "noninteractive", **task.config.solution.env},
        )
        record_exec(result, context.agent_dir / "oracle.txt")
        return outcome_of(result)


class NopSolver:
    """Does nothing: the start state must not pass the verifier."""

    name = "nop"

    def solve(self, context: SolverContext) -> SolveOutcome:
        return SolveOutcome(status="completed")


class CommandSolver:
    """Runs a fixed shell script as the agent (patches, exploit probes, scripted variants)."""

    def __init__(self, name: str, script: str, *, as_root: bool = False) -> None:
        self.name = name
        self._script = script
        self._as_root = as_root

    def solve(self, context: SolverContext) -> SolveOutcome:
        result = context.sandbox.exec(
            ["bash", "-c", self._script],
            timeout_sec=context.remaining_sec,
            user="0" if self._as_root else context.user,
        )
        record_exec(result, context.agent_dir / f"{self.name}.txt")
        return outcome_of(result)


BUILTIN_SOLVERS: dict[str, type[OracleSolver] | type[NopSolver]] = {
    "oracle": OracleSolver,
    "nop": NopSolver,
}
