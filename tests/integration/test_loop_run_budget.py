"""Agents of one run share its budget: each charges it call by call and stops once it is
spent, even when another agent (here, or on another node) spent it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.llm import ScriptedModel
from harness.loop import AgentLoop, Budgets
from harness.run_budget import RunBudget
from harness.sandbox.container import DockerSandbox
from harness.scripted_server import Script
from harness.terminal import Terminal
from harness.trajectory import Agent, TrajectoryWriter
from tests.scripting import turn


def run_agent(sandbox: DockerSandbox, tmp_path: Path, budget: RunBudget, spend: float) -> str:
    script = Script(turns=[turn("echo step\n", cost_usd=spend) for _ in range(6)])
    terminal = Terminal(sandbox)
    terminal.start()
    writer = TrajectoryWriter(
        tmp_path / "trajectory.json", session_id="budget", agent=Agent(name="t", version="0")
    )
    loop = AgentLoop(
        ScriptedModel(script),
        terminal,
        writer,
        task_prompt="work",
        budgets=Budgets(max_steps=6),
        run_budget=budget,
    )
    return loop.run().status


def test_an_agent_stops_when_the_runs_budget_is_spent_by_its_own_calls(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    budget = RunBudget(budget_usd=1.0)
    assert run_agent(sandbox, tmp_path, budget, spend=0.4) == "budget_exhausted:run_cost"
    assert budget.spent == pytest.approx(1.2)  # three calls: 0.4, 0.8, then 1.2 >= 1.0


def test_an_agent_stops_when_another_agent_spent_the_runs_budget(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    budget = RunBudget(budget_usd=1.0)
    budget.add(1.0)  # every dollar went to agents that ran before or alongside this one
    assert run_agent(sandbox, tmp_path, budget, spend=0.01) == "budget_exhausted:run_cost"
    assert budget.spent == 1.0  # not one more call was made


def test_an_agent_stops_at_the_runs_deadline(sandbox: DockerSandbox, tmp_path: Path) -> None:
    budget = RunBudget(budget_usd=None, wall_sec=0.0)
    assert run_agent(sandbox, tmp_path, budget, spend=0.01) == "budget_exhausted:run_wall_time"
