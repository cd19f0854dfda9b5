"""ATIF trajectories: what the writer records, that every write is whole, that Harbor agrees."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.llm import ModelReply, Usage
from harness.settings import Settings
from harness.trajectory import (
    ATIF_VERSION,
    Agent,
    Metrics,
    Observation,
    ObservationResult,
    Step,
    Trajectory,
    TrajectoryWriter,
    bash_command_call,
    task_complete_call,
)

AGENT = Agent(name="kettle-terminus", version="0.1.0", model_name="openai/gpt-5.1")


def harbor_python() -> Path | None:
    """KETTLE_HARBOR_PYTHON, else the venv `python -m harness.setup --harbor` makes, else the
    development machine's /tmp/harbor-venv."""
    override = os.environ.get("KETTLE_HARBOR_PYTHON")
    if override:
        return Path(override) if Path(override).is_file() else None
    candidates = [
        Settings.from_env().home / "harbor-venv" / "bin" / "python",
        Path("/tmp/harbor-venv/bin/python"),
    ]
    return next((path for path in candidates if path.is_file()), None)


def writer_at(path: Path) -> TrajectoryWriter:
    return TrajectoryWriter(path, session_id="session-1", agent=AGENT, notes="unit test")


def reply(content: str, cost: float | None) -> ModelReply:
    return ModelReply(
        model_name="openai/gpt-5.1",
        content=content,
        reasoning_content="thinking about it",
        assistant_message={"role": "assistant", "content": content},
        usage=Usage(prompt_tokens=1200, completion_tokens=80, cached_tokens=1000),
        cost_usd=cost,
        latency_sec=1.5,
    )


def record_a_run(writer: TrajectoryWriter) -> None:
    """A run with every kind of step the loop produces."""
    writer.add_step("system", "You are an AI assistant solving tasks in a Linux terminal.")
    writer.add_step("user", "Make the failing test pass.")
    first = reply('{"analysis": "...", "commands": [...]}', cost=0.002)
    calls = [
        bash_command_call("call_1_1", "ls\n", 0.5),
        bash_command_call("call_1_2", "cd src\n", 1),
    ]
    writer.add_step(
        "agent",
        first.content,
        model_name=first.model_name,
        reasoning_content=first.reasoning_content,
        tool_calls=calls,
        observation=Observation(results=[ObservationResult(content="$ ls\nsrc tests\n$ cd src\n")]),
        metrics=first.step_metrics(),
    )
    unparsable = reply("not json at all", cost=None)
    writer.add_step(
        "agent",
        unparsable.content,
        model_name=unparsable.model_name,
        observation=Observation(
            results=[ObservationResult(content="Previous response had parsing errors: ...")]
        ),
        metrics=unparsable.step_metrics(),
    )
    writer.add_context_management_step(
        "History summarized to stay within the context window.",
        details={"tokens_before": 190_000, "tokens_after": 12_000, "summary": "ran ls"},
    )
    done = reply('{"task_complete": true}', cost=0.001)
    writer.add_step(
        "agent",
        done.content,
        model_name=done.model_name,
        tool_calls=[
            bash_command_call("call_3_1", "pytest -q\n", 5),
            task_complete_call("call_3_task_complete"),
        ],
        observation=Observation(
            results=[ObservationResult(source_call_id="call_3_1", content="1 passed\n")]
        ),
        metrics=done.step_metrics(),
    )
    writer.finish("completed", reason="task_complete confirmed", steps_used=3)


def test_file_is_a_complete_trajectory_after_every_step(tmp_path: Path) -> None:
    path = tmp_path / "agent" / "trajectory.json"
    writer = writer_at(path)
    assert not path.exists()  # ATIF needs at least one step
    for number in range(1, 6):
        writer.add_step("user" if number % 2 else "system", f"message {number}")
        on_disk = Trajectory.model_validate(json.loads(path.read_text()))
        assert len(on_disk.steps) == number
        assert on_disk.final_metrics is not None
        assert on_disk.final_metrics.total_steps == number
        assert on_disk.extra is not None and on_disk.extra["status"] == "running"
    assert not list(path.parent.glob(".*.tmp"))  # no temporary files left behind


def test_recorded_run_has_steps_metrics_and_final_status(tmp_path: Path) -> None:
    path = tmp_path / "trajectory.json"
    record_a_run(writer_at(path))
    trajectory = Trajectory.model_validate_json(path.read_text())
    assert trajectory.schema_version == ATIF_VERSION == "ATIF-v1.7"
    assert [step.step_id for step in trajectory.steps] == [1, 2, 3, 4, 5, 6]
    assert [step.source for step in trajectory.steps] == [
        "system",
        "user",
        "agent",
        "agent",
        "system",
        "agent",
    ]
    totals = trajectory.final_metrics
    assert totals is not None
    assert totals.total_prompt_tokens == 3 * 1200
    assert totals.total_completion_tokens == 3 * 80
    assert totals.total_cached_tokens == 3 * 1000
    assert totals.total_cost_usd == pytest.approx(0.003)
    assert totals.extra == {"steps_without_cost": 1}  # the unpriced call is not counted as free
    summary = trajectory.steps[4]
    assert summary.extra is not None
    assert summary.extra["context_management"]["type"] == "compaction"
    assert summary.extra["context_management"]["tokens_before"] == 190_000
    last = trajectory.steps[5]
    assert last.tool_calls is not None
    assert [call.function_name for call in last.tool_calls] == [
        "bash_command",
        "mark_task_complete",
    ]
    assert last.tool_calls[0].arguments == {"keystrokes": "pytest -q\n", "duration": 5}
    assert trajectory.extra is not None
    assert trajectory.extra["status"] == "completed"
    assert trajectory.extra["reason"] == "task_complete confirmed"
    assert trajectory.extra["steps_used"] == 3
    assert "finished_at" in trajectory.extra


def test_total_cost_is_unknown_when_no_call_was_priced(tmp_path: Path) -> None:
    writer = writer_at(tmp_path / "trajectory.json")
    writer.add_step("agent", "{}", metrics=Metrics(prompt_tokens=10, completion_tokens=1))
    final = writer.trajectory().final_metrics
    assert final is not None
    assert final.total_cost_usd is None
    assert final.total_prompt_tokens == 10


def test_run_that_ends_before_any_step_still_leaves_a_record(tmp_path: Path) -> None:
    path = tmp_path / "trajectory.json"
    writer_at(path).finish("error", reason="sandbox failed to start")
    trajectory = Trajectory.model_validate_json(path.read_text())
    assert trajectory.extra is not None and trajectory.extra["status"] == "error"
    assert "sandbox failed to start" in trajectory.steps[0].text


def test_resumed_writer_appends_to_the_existing_record(tmp_path: Path) -> None:
    path = tmp_path / "trajectory.json"
    first = writer_at(path)
    first.add_step("user", "task")
    first.finish("error", reason="killed")
    resumed = TrajectoryWriter.resume(path)
    resumed.add_step("agent", "{}")
    trajectory = Trajectory.model_validate_json(path.read_text())
    assert [step.step_id for step in trajectory.steps] == [1, 2]
    assert trajectory.session_id == "session-1"
    assert trajectory.notes == "unit test"
    assert trajectory.extra is not None
    assert trajectory.extra["status"] == "running"
    assert "resumed_at" in trajectory.extra


def test_agent_only_fields_are_refused_on_other_steps(tmp_path: Path) -> None:
    writer = writer_at(tmp_path / "trajectory.json")
    with pytest.raises(ValidationError, match="only allowed on agent steps"):
        writer.add_step("user", "hi", metrics=Metrics(prompt_tokens=1))
    with pytest.raises(ValidationError, match="only allowed on agent steps"):
        writer.add_step("system", "hi", tool_calls=[task_complete_call("c1")])
    assert writer.steps == []


def test_observation_must_answer_a_call_of_its_own_step() -> None:
    with pytest.raises(ValidationError, match="unknown tool call"):
        Step(
            step_id=1,
            source="agent",
            message="",
            observation=Observation(results=[ObservationResult(source_call_id="nope")]),
        )


def test_step_ids_must_be_sequential() -> None:
    steps = [
        Step(step_id=1, source="user", message="a"),
        Step(step_id=3, source="user", message="b"),
    ]
    with pytest.raises(ValidationError, match="step_id 3"):
        Trajectory(agent=AGENT, steps=steps)


@pytest.mark.harbor
def test_harbors_validator_accepts_a_recorded_run(tmp_path: Path) -> None:
    python = harbor_python()
    if python is None:
        pytest.skip(
            "Harbor is not installed: run `python -m harness.setup --harbor`, or set "
            "KETTLE_HARBOR_PYTHON to a python that has harbor 0.26"
        )
    path = tmp_path / "trajectory.json"
    record_a_run(writer_at(path))
    result = subprocess.run(
        [str(python), "-m", "harbor.utils.trajectory_validator", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Trajectory is valid" in result.stdout
