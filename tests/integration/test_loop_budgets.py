"""Budgets that hold in the agent loop, and replies the loop must understand precisely: a
token budget stops a run cleanly, an unpriced reply does not count as free, a long command
costs one turn, and a reply the provider's safety filter withheld is said to be one."""

from __future__ import annotations

import json
import time
from pathlib import Path

from harness.llm import ScriptedModel
from harness.loop import AgentLoop, Budgets, LoopResult
from harness.run_budget import RunBudget
from harness.sandbox.container import DockerSandbox
from harness.scripted_server import Script, ScriptTurn, ScriptUsage
from harness.terminal import Terminal
from harness.trajectory import Agent, TrajectoryWriter
from tests.scripting import done_twice, turn


def run_loop(
    sandbox: DockerSandbox,
    tmp_path: Path,
    turns: list[ScriptTurn],
    budgets: Budgets,
    run_budget: RunBudget | None = None,
) -> tuple[LoopResult, ScriptedModel, dict]:
    model = ScriptedModel(Script(turns=turns))
    terminal = Terminal(sandbox)
    terminal.start()
    writer = TrajectoryWriter(
        tmp_path / "trajectory.json", session_id="loop", agent=Agent(name="t", version="0")
    )
    loop = AgentLoop(
        model, terminal, writer, task_prompt="work", budgets=budgets, run_budget=run_budget
    )
    result = loop.run()
    return result, model, json.loads((tmp_path / "trajectory.json").read_text())


def test_the_runs_token_budget_stops_an_agent_cleanly(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    usage = ScriptUsage(prompt_tokens=400, completion_tokens=100)
    turns = [turn("echo step\n", usage=usage) for _ in range(6)]
    budget = RunBudget(budget_usd=None, budget_tokens=1_200)
    result, model, trajectory = run_loop(sandbox, tmp_path, turns, Budgets(), budget)
    assert result.status == "budget_exhausted:run_tokens"
    assert result.steps == 3  # 500, 1000, 1500 tokens: the third call crossed 1 200
    assert budget.tokens == 1_500 and model.turns_remaining == 3
    assert trajectory["extra"]["status"] == "budget_exhausted:run_tokens"


def test_an_unpriced_reply_ends_an_agent_with_a_dollar_cap(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    turns = [turn("echo step\n", cost_usd=None) for _ in range(3)]
    result, _, _ = run_loop(sandbox, tmp_path, turns, Budgets(max_cost_usd=5.0))
    assert result.status == "budget_exhausted:cost"
    assert result.steps == 1 and not result.cost_known  # unknown is not free


def test_a_long_command_costs_one_turn_not_one_per_poll(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    turns = [turn(("sleep 4; echo built-it\n", 600.0)), *done_twice()]
    started = time.monotonic()
    result, _, trajectory = run_loop(
        sandbox, tmp_path, turns, Budgets(max_command_duration_sec=900)
    )
    assert result.status == "completed" and result.steps == 3
    assert time.monotonic() - started < 60  # the wait ended when the command did
    first = trajectory["steps"][1]["observation"]["results"]
    assert "built-it" in first[0]["content"]


def test_a_command_still_running_is_waited_for_with_empty_keystrokes(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    turns = [turn(("sleep 4; echo built-it\n", 0.5)), turn(("", 600.0)), *done_twice()]
    result, model, trajectory = run_loop(
        sandbox, tmp_path, turns, Budgets(max_command_duration_sec=900)
    )
    assert result.status == "completed" and result.steps == 4
    told = model.requests[1][-1]["content"]
    assert "still running" in told and "empty `keystrokes`" in told
    waited = trajectory["steps"][2]["observation"]["results"]
    assert "built-it" in waited[0]["content"]


def test_a_safety_blocked_reply_is_told_as_such_and_the_run_goes_on(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    turns = [ScriptTurn(safety_block="reply"), turn("echo fine\n"), *done_twice()]
    result, model, _ = run_loop(sandbox, tmp_path, turns, Budgets())
    assert result.status == "completed"
    told = model.requests[1][-1]["content"]
    assert "safety filter withheld your previous reply" in told
    assert "content_filter" in told and "could not be used" not in told


def test_safety_blocks_in_a_row_end_the_run_with_their_own_status(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    turns = [ScriptTurn(safety_block="reply", repeat=3), turn("echo unused\n")]
    result, _, _ = run_loop(sandbox, tmp_path, turns, Budgets(max_format_errors=3))
    assert result.status == "content_filtered"
    assert result.reason == "3 safety-blocked replies in a row"
