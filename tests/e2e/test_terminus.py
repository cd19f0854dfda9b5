"""The Terminus-style solver end to end: scripted OpenAI-compatible server, real litellm,
real Docker, real tmux, the example task's real verifier."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.llm import LiteLLMModel, ModelSpec
from harness.loop import Budgets
from harness.machine.harbor import harbor_python
from harness.runner.records import TrialResult
from harness.runner.terminus import TerminusSolver
from harness.runner.trial import run_trial
from harness.sandbox.engine import DockerEngine
from harness.scripted_server import Script, ScriptedServer, ScriptTurn
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from tests.conftest import EXAMPLE_TASKS
from tests.scripting import FAST_RETRY, PRICED_MODEL, done_twice, turn

TASK = EXAMPLE_TASKS / "stash-kwargs-cache-key"
FIX = "sed -i 's/tuple(sorted(kwargs))$/tuple(sorted(kwargs.items()))/' /app/src/stash/keys.py\n"


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def solve_with_script(
    turns: list[ScriptTurn],
    tmp_path: Path,
    engine: DockerEngine,
    run_id: str,
    *,
    budgets: Budgets | None = None,
    context_window: int | None = None,
) -> tuple[TrialResult, dict, ScriptedServer]:
    with ScriptedServer(Script(turns=turns)) as server:

        def make_model() -> LiteLLMModel:
            return LiteLLMModel(
                ModelSpec.resolve(PRICED_MODEL, server.base_url),
                retry=FAST_RETRY,
                context_window=context_window,
            )

        solver = TerminusSolver(make_model, budgets or Budgets(max_steps=20))
        result = run_trial(
            engine,
            TaskImages(engine, Settings.from_env()),
            HarborTask.load(TASK),
            solver,
            tmp_path / "trial",
            run_id=run_id,
            build_log=tmp_path / "build.log",
        )
    trajectory = json.loads((tmp_path / "trial" / "agent" / "trajectory.json").read_text())
    return result, trajectory, server


def test_scripted_model_solves_the_task(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    turns = [turn("grep -n sorted /app/src/stash/keys.py\n"), turn(FIX), *done_twice()]
    result, trajectory, server = solve_with_script(turns, tmp_path, docker_engine, test_run_id)
    assert result.error is None and result.reward == 1.0
    assert result.agent_result is not None and result.agent_result.status == "completed"
    assert result.agent_result.steps == 4
    assert result.agent_result.prompt_tokens > 0 and result.agent_result.cost_usd
    # The model saw the real terminal: grep's output reached the second request.
    second_request = server.requests[1]["messages"][-1]["content"]
    assert "tuple(sorted(kwargs))" in second_request
    assert trajectory["schema_version"] == "ATIF-v1.7"
    assert trajectory["extra"]["status"] == "completed"
    calls = [c for s in trajectory["steps"] for c in (s.get("tool_calls") or [])]
    assert calls[0]["function_name"] == "bash_command"
    assert calls[0]["arguments"]["keystrokes"].startswith("grep -n sorted")
    assert trajectory["final_metrics"]["total_steps"] == len(trajectory["steps"])


def test_malformed_replies_are_fed_back_and_the_run_recovers(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    turns = [
        ScriptTurn(content="Sure! I will fix the cache key now."),
        ScriptTurn(content='{"analysis": "x", "plan": "y", "commands": "ls"}'),
        turn(FIX),
        *done_twice(),
    ]
    result, _trajectory, server = solve_with_script(turns, tmp_path, docker_engine, test_run_id)
    assert result.reward == 1.0 and result.agent_result.status == "completed"
    feedback_1 = server.requests[1]["messages"][-1]["content"]
    feedback_2 = server.requests[2]["messages"][-1]["content"]
    assert "no JSON object found" in feedback_1
    assert "commands" in feedback_2 and "valid list" in feedback_2


def test_too_many_malformed_replies_end_the_run_with_a_clear_status(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    turns = [ScriptTurn(content="not json", repeat=3)]
    result, trajectory, _ = solve_with_script(turns, tmp_path, docker_engine, test_run_id)
    assert result.agent_result.status == "format_errors" and result.reward == 0.0
    assert trajectory["extra"]["status"] == "format_errors"


def test_rate_limit_then_success_is_retried(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    turns = [
        ScriptTurn(status=429, retry_after=0.2),
        ScriptTurn(status=500),
        turn(FIX),
        *done_twice(),
    ]
    result, trajectory, server = solve_with_script(turns, tmp_path, docker_engine, test_run_id)
    assert result.reward == 1.0
    assert len(server.requests) == 5  # two failed attempts, then three answered turns
    attempts = trajectory["steps"][1]["metrics"]["extra"]["attempts"]
    assert attempts == 3


def test_context_window_error_triggers_summarization_and_the_run_continues(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    turns = [
        turn("ls /app/src/stash\n"),
        ScriptTurn(context_window_error=True),
        ScriptTurn(content="Summary: the bug is in keys.py make_key; kwargs values are dropped."),
        turn(FIX),
        *done_twice(),
    ]
    result, trajectory, server = solve_with_script(turns, tmp_path, docker_engine, test_run_id)
    assert result.reward == 1.0
    compaction = [
        s for s in trajectory["steps"] if (s.get("extra") or {}).get("context_management")
    ]
    assert len(compaction) == 1 and "kwargs values are dropped" in compaction[0]["message"]
    after = server.requests[3]["messages"]
    assert len(after) == 1 and "kwargs values are dropped" in after[0]["content"]
    assert "memoization" in after[0]["content"]  # the task itself survives the handoff


def test_proactive_summarization_before_the_window_overflows(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    turns = [
        turn("seq 1 2000\n"),
        ScriptTurn(content="Summary: printed numbers; next fix keys.py."),
        turn(FIX),
        *done_twice(),
    ]
    result, trajectory, _ = solve_with_script(
        turns, tmp_path, docker_engine, test_run_id, context_window=4_000
    )
    assert result.reward == 1.0
    trigger = [
        s["extra"]["context_management"]["trigger"]
        for s in trajectory["steps"]
        if (s.get("extra") or {}).get("context_management")
    ]
    assert trigger[0] == "proactive"


def test_never_ending_command_is_interrupted(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    turns = [
        turn(("tail -f /dev/null\n", 1.0)),
        turn(("C-c", 5.0)),
        turn(FIX),
        *done_twice(),
    ]
    result, _trajectory, server = solve_with_script(turns, tmp_path, docker_engine, test_run_id)
    assert result.reward == 1.0
    after_interrupt = server.requests[2]["messages"][-1]["content"]
    assert "^C" in after_interrupt


def test_budget_exhaustion_stops_cleanly_with_a_complete_trajectory(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    turns = [turn("echo still-working\n", analysis=f"step {i}") for i in range(10)]
    result, trajectory, _ = solve_with_script(
        turns, tmp_path, docker_engine, test_run_id, budgets=Budgets(max_steps=3)
    )
    assert result.agent_result.status == "budget_exhausted:steps"
    assert result.reward == 0.0 and result.error is None
    agent_steps = [s for s in trajectory["steps"] if s["source"] == "agent"]
    assert len(agent_steps) == 3
    assert trajectory["extra"]["status"] == "budget_exhausted:steps"
    assert trajectory["final_metrics"]["total_prompt_tokens"] > 0


def test_cost_budget_stops_the_run(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    from harness.scripted_server import ScriptUsage

    expensive = ScriptUsage(prompt_tokens=400_000, completion_tokens=1_000)
    turns = [turn("echo hi\n", usage=expensive) for _ in range(5)]
    result, _, _ = solve_with_script(
        turns, tmp_path, docker_engine, test_run_id, budgets=Budgets(max_cost_usd=0.6)
    )
    assert result.agent_result.status == "budget_exhausted:cost"
    assert result.agent_result.cost_usd >= 0.6 and result.agent_result.steps == 2


@pytest.mark.harbor
def test_trajectory_passes_harbors_validator(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    python = harbor_python(Settings.from_env())
    if python is None:
        pytest.skip("Harbor is not installed (python -m harness.setup --harbor)")
    turns = [
        ScriptTurn(content="oops"),
        turn("ls\n"),
        ScriptTurn(context_window_error=True),
        ScriptTurn(content="summary text"),
        turn(FIX),
        *done_twice(),
    ]
    solve_with_script(turns, tmp_path, docker_engine, test_run_id)
    path = tmp_path / "trial" / "agent" / "trajectory.json"
    checked = subprocess.run(
        [str(python), "-m", "harbor.utils.trajectory_validator", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
