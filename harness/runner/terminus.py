"""The model-driven solver: the agent loop on a task's instruction, in the task's container."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from importlib import metadata

import prompts
from harness.llm import Model
from harness.loop import AgentLoop, Budgets, protocol_variables
from harness.runner.records import SolveOutcome
from harness.runner.solvers import SolverContext
from harness.terminal import Terminal, TerminalConfig
from harness.trajectory import Agent, TrajectoryWriter

AGENT_NAME = "kettle-terminus"


def kettle_version() -> str:
    try:
        return metadata.version("kettle")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class TerminusSolver:
    """Terminus-style: a tmux terminal, the task's instruction, the thin loop."""

    name = "terminus"

    def __init__(
        self,
        make_model: Callable[[], Model],
        budgets: Budgets,
        terminal_config: TerminalConfig | None = None,
    ) -> None:
        self._make_model = make_model
        self._budgets = budgets
        self._terminal_config = terminal_config or TerminalConfig()

    def solve(self, context: SolverContext) -> SolveOutcome:
        model = self._make_model()
        terminal = Terminal(context.sandbox, self._terminal_config, user=context.user)
        terminal.start()
        # The task's agent timeout bounds the loop's wall-time budget.
        wall = min(self._budgets.max_wall_sec or context.remaining_sec, context.remaining_sec)
        budgets = self._budgets.model_copy(update={"max_wall_sec": wall})
        writer = TrajectoryWriter(
            context.agent_dir / "trajectory.json",
            session_id=str(uuid.uuid4()),
            agent=Agent(name=AGENT_NAME, version=kettle_version(), model_name=model.model_name),
            extra={"task": context.task.task_id},
        )
        task_prompt = prompts.render(
            "solve",
            instruction=context.task.instruction,
            **protocol_variables(budgets, terminal),
        )
        result = AgentLoop(model, terminal, writer, task_prompt=task_prompt, budgets=budgets).run()
        notes = [result.reason] if result.reason else []
        if not result.cost_known:
            notes.append("the model's price is unknown: cost not counted")
        if result.summarizations:
            notes.append(f"history summarized {result.summarizations} time(s)")
        return SolveOutcome(
            status=result.status,
            steps=result.steps,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cached_tokens=result.cached_tokens,
            cost_usd=result.cost_usd if result.cost_known else None,
            model_name=model.model_name,
            notes=notes,
        )
