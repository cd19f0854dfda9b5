"""ATIF trajectories: the record of every model call, keystroke and screen of one agent run.

The models mirror ATIF-v1.7 as Harbor 0.26 defines it (same field names, same constraints),
so a file kettle writes passes ``python -m harbor.utils.trajectory_validator`` and Harbor's
tools can read it. ``TrajectoryWriter`` rewrites the whole file atomically after every step:
a crash loses nothing that was recorded, and a reader never sees half a file.

Terminus-style mapping used by kettle's loop: each command the model sends is a tool call
``bash_command`` with arguments ``{keystrokes, duration}``; declaring the task done is a tool
call ``mark_task_complete``; history summarization is a system step whose
``extra.context_management`` says what happened to the context.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.fsio import read_model, write_text_atomic

ATIF_VERSION = "ATIF-v1.7"
BASH_COMMAND = "bash_command"
MARK_TASK_COMPLETE = "mark_task_complete"

StepSource = Literal["system", "user", "agent"]

# Fields ATIF allows only on agent steps (Harbor rejects them elsewhere).
_AGENT_ONLY_FIELDS = (
    "model_name",
    "reasoning_effort",
    "reasoning_content",
    "tool_calls",
    "metrics",
)


class _Atif(BaseModel):
    # Harbor forbids unknown fields everywhere; doing the same catches typos before Harbor does.
    model_config = ConfigDict(extra="forbid")


class Agent(_Atif):
    name: str
    version: str
    model_name: str | None = None
    tool_definitions: list[dict[str, Any]] | None = None
    extra: dict[str, Any] | None = None


class ContentPart(_Atif):
    """One part of a multimodal message; kettle writes plain strings but reads parts too."""

    type: Literal["text", "image", "audio"]
    text: str | None = None
    source: dict[str, Any] | None = None


class ToolCall(_Atif):
    tool_call_id: str
    function_name: str
    arguments: dict[str, Any]
    extra: dict[str, Any] | None = None


class SubagentTrajectoryRef(_Atif):
    trajectory_id: str | None = None
    session_id: str | None = None
    trajectory_path: str | None = None
    extra: dict[str, Any] | None = None


class ObservationResult(_Atif):
    source_call_id: str | None = Field(
        None, description="The tool_call_id (in the same step) this result answers, if any"
    )
    content: str | list[ContentPart] | None = None
    subagent_trajectory_ref: list[SubagentTrajectoryRef] | None = None
    extra: dict[str, Any] | None = None


class Observation(_Atif):
    results: list[ObservationResult]


class Metrics(_Atif):
    """Per-step LLM accounting. ``prompt_tokens`` includes ``cached_tokens``."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None
    prompt_token_ids: list[int] | None = None
    completion_token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    extra: dict[str, Any] | None = None


class FinalMetrics(_Atif):
    total_prompt_tokens: int | None = None
    total_completion_tokens: int | None = None
    total_cached_tokens: int | None = None
    total_cost_usd: float | None = None
    total_steps: int | None = Field(None, ge=0)
    extra: dict[str, Any] | None = None


class Step(_Atif):
    step_id: int = Field(ge=1)
    timestamp: str | None = None
    source: StepSource
    model_name: str | None = None
    reasoning_effort: str | float | None = None
    message: str | list[ContentPart]
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    observation: Observation | None = None
    metrics: Metrics | None = None
    is_copied_context: bool | None = None
    llm_call_count: int | None = Field(None, ge=0)
    extra: dict[str, Any] | None = None

    @field_validator("timestamp")
    @classmethod
    def _iso_timestamp(cls, value: str | None) -> str | None:
        if value is not None:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value

    @model_validator(mode="after")
    def _agent_only_fields(self) -> Step:
        if self.source != "agent":
            present = [name for name in _AGENT_ONLY_FIELDS if getattr(self, name) is not None]
            if present:
                raise ValueError(f"{', '.join(present)} only allowed on agent steps")
        llm_fields = (self.metrics, self.reasoning_content)
        if self.source == "agent" and self.llm_call_count == 0 and any(llm_fields):
            raise ValueError("a step with llm_call_count 0 has no metrics or reasoning")
        return self

    @model_validator(mode="after")
    def _results_answer_this_steps_calls(self) -> Step:
        call_ids = {call.tool_call_id for call in self.tool_calls or []}
        for result in self.observation.results if self.observation else []:
            if result.source_call_id is not None and result.source_call_id not in call_ids:
                raise ValueError(
                    f"observation answers unknown tool call {result.source_call_id!r} "
                    f"in step {self.step_id}"
                )
        return self

    @property
    def text(self) -> str:
        """The message as plain text (text parts joined) — what a replay sends back."""
        if isinstance(self.message, str):
            return self.message
        return "".join(part.text or "" for part in self.message if part.type == "text")


class Trajectory(_Atif):
    schema_version: str = Field(ATIF_VERSION, pattern=r"^ATIF-v1\.\d+$")
    session_id: str | None = None
    trajectory_id: str | None = None
    agent: Agent
    steps: list[Step] = Field(min_length=1)
    notes: str | None = None
    final_metrics: FinalMetrics | None = None
    continued_trajectory_ref: str | None = None
    extra: dict[str, Any] | None = None
    subagent_trajectories: list[Trajectory] | None = None

    @model_validator(mode="after")
    def _sequential_step_ids(self) -> Trajectory:
        for index, step in enumerate(self.steps, start=1):
            if step.step_id != index:
                raise ValueError(f"step_id {step.step_id} at position {index}: must be {index}")
        return self


def bash_command_call(call_id: str, keystrokes: str, duration_sec: float) -> ToolCall:
    """A Terminus-style command: keystrokes sent to tmux, then wait up to ``duration_sec``."""
    return ToolCall(
        tool_call_id=call_id,
        function_name=BASH_COMMAND,
        arguments={"keystrokes": keystrokes, "duration": duration_sec},
    )


def task_complete_call(call_id: str) -> ToolCall:
    """The model declaring the task done (Terminus asks twice before believing it)."""
    return ToolCall(tool_call_id=call_id, function_name=MARK_TASK_COMPLETE, arguments={})


def final_metrics_of(steps: list[Step]) -> FinalMetrics:
    """Totals over the steps' metrics. A cost nobody could price stays unknown (None), and a
    partially priced run says how many steps lack a price instead of pretending they were free.
    """
    measured = [step.metrics for step in steps if step.metrics is not None]
    costs = [metrics.cost_usd for metrics in measured if metrics.cost_usd is not None]
    unpriced = len(measured) - len(costs)
    return FinalMetrics(
        total_prompt_tokens=sum(m.prompt_tokens or 0 for m in measured),
        total_completion_tokens=sum(m.completion_tokens or 0 for m in measured),
        total_cached_tokens=sum(m.cached_tokens or 0 for m in measured),
        total_cost_usd=sum(costs) if costs else None,
        total_steps=len(steps),
        extra={"steps_without_cost": unpriced} if costs and unpriced else None,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


class TrajectoryWriter:
    """Appends steps to one trajectory file, rewriting it atomically after every step.

    The file appears with the first step (ATIF requires at least one). Until ``finish`` the
    root ``extra.status`` is ``"running"``, so a file left in that state after its process
    died marks a crashed run.
    """

    def __init__(
        self,
        path: Path,
        *,
        session_id: str,
        agent: Agent,
        notes: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self._trajectory_fields: dict[str, Any] = {
            "session_id": session_id,
            "agent": agent,
            "notes": notes,
            "extra": {"status": "running", "started_at": _now(), **(extra or {})},
        }
        self._steps: list[Step] = []

    @classmethod
    def resume(cls, path: Path) -> TrajectoryWriter:
        """Continue a trajectory already on disk (a resumed run appends to its own record)."""
        existing = read_model(path, Trajectory)
        writer = cls(path, session_id=existing.session_id or "", agent=existing.agent)
        run_extra = {key: v for key, v in (existing.extra or {}).items() if key != "finished_at"}
        run_extra.update(status="running", resumed_at=_now())
        writer._trajectory_fields.update(notes=existing.notes, extra=run_extra)
        writer._steps = list(existing.steps)
        return writer

    @property
    def steps(self) -> list[Step]:
        return list(self._steps)

    def add_step(
        self,
        source: StepSource,
        message: str,
        *,
        model_name: str | None = None,
        reasoning_content: str | None = None,
        tool_calls: list[ToolCall] | None = None,
        observation: Observation | None = None,
        metrics: Metrics | None = None,
        llm_call_count: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Step:
        """Record one step and persist the whole trajectory.

        For agent steps, ``message`` should be the model's raw reply text: that is what
        ``script_from_trajectory`` replays, so a recorded run can be re-driven exactly.
        """
        step = Step(
            step_id=len(self._steps) + 1,
            timestamp=_now(),
            source=source,
            message=message,
            model_name=model_name,
            reasoning_content=reasoning_content,
            tool_calls=tool_calls or None,
            observation=observation,
            metrics=metrics,
            llm_call_count=llm_call_count,
            extra=extra,
        )
        self._steps.append(step)
        self._write()
        return step

    def add_context_management_step(
        self, message: str, *, kind: str = "compaction", details: dict[str, Any] | None = None
    ) -> Step:
        """A system step recording that the history was summarized (or otherwise cut)."""
        context_management = {"type": kind, "boundary": "replace", **(details or {})}
        return self.add_step("system", message, extra={"context_management": context_management})

    def finish(self, status: str, *, reason: str | None = None, **extra: Any) -> None:
        """Record how the run ended (e.g. "completed", "budget_exhausted", "error").

        A run that ends before its first step still gets a file: one system step saying so.
        """
        run_extra = dict(self._trajectory_fields["extra"] or {})
        run_extra.update(status=status, finished_at=_now(), **extra)
        if reason is not None:
            run_extra["reason"] = reason
        self._trajectory_fields["extra"] = run_extra
        if self._steps:
            self._write()
        else:
            because = f" ({reason})" if reason else ""
            self.add_step("system", f"run ended before any step: {status}{because}")

    def trajectory(self) -> Trajectory:
        return Trajectory(
            schema_version=ATIF_VERSION,
            steps=list(self._steps),
            final_metrics=final_metrics_of(self._steps),
            **self._trajectory_fields,
        )

    def _write(self) -> None:
        # exclude_none keeps files small and matches how Harbor serializes trajectories.
        text = self.trajectory().model_dump_json(indent=2, exclude_none=True)
        write_text_atomic(self.path, text + "\n")
