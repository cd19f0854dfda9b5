"""What the runner records: a trial's options, config and result, a job's config and result.

These are the on-disk layout of a job folder (``jobs/<job-id>/config.json``, ``result.json``
and one ``<trial>/config.json``, ``result.json`` per trial), an interface other tools read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

VerifierMode = Literal["shared", "separate"]


class SolveOutcome(BaseModel):
    """How the solver's phase ended (not whether the task is solved: the verifier decides)."""

    status: str = Field(description="completed | failed | timeout | budget_exhausted:<which> | ...")
    exit_code: int | None = None
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float | None = None
    model_name: str | None = None
    notes: list[str] = Field(default_factory=list)


class VerifierOutcome(BaseModel):
    reward: float | None = Field(description="The trial's reward; None when none could be read")
    rewards: dict[str, float] = Field(default_factory=dict)
    reward_source: str | None = Field(None, description="reward.json | reward.txt")
    exit_code: int | None = None
    timed_out: bool = False
    duration_sec: float = 0.0
    problems: list[str] = Field(default_factory=list)
    tampering: list[str] = Field(
        default_factory=list, description="What the solver phase left where only tests may write"
    )


class TrialOptions(BaseModel):
    """How the runner isolates the verifier from the agent. The defaults are the strictest.

    Switching ``stop_agent_processes`` and ``restore_tools`` off gives Harbor's own shared
    semantics: useful to probe whether a task's *verifier* resists an exploit on its own.
    """

    verifier_mode: VerifierMode | None = Field(
        None, description="None: the task's [verifier].environment_mode, else shared"
    )
    stop_agent_processes: bool = Field(
        True, description="Stop the container between agent and verifier (daemons die)"
    )
    restore_tools: bool = Field(
        True, description="Undo tampering with interpreters, tools on PATH and startup hooks"
    )
    keep_snapshot: bool = Field(False, description="Keep the separate verifier's snapshot image")


class TrialError(BaseModel):
    type: str
    message: str
    phase: str | None = Field(None, description="image | start | agent | isolate | verifier")


class TrialTimings(BaseModel):
    image_sec: float = 0.0
    start_sec: float = 0.0
    agent_sec: float = 0.0
    isolate_sec: float = 0.0
    verifier_sec: float = 0.0
    total_sec: float = 0.0


class TrialConfig(BaseModel):
    schema_version: int = 1
    trial_id: str
    task_id: str
    task_path: str
    agent: str
    run_id: str
    options: TrialOptions = Field(default_factory=TrialOptions)


class TrialResult(BaseModel):
    schema_version: int = 1
    trial_id: str
    task_id: str
    task_name: str
    agent: str
    reward: float | None = Field(None, description="None when the trial could not be scored")
    started_at: datetime
    finished_at: datetime | None = None
    timings: TrialTimings = Field(default_factory=TrialTimings)
    agent_result: SolveOutcome | None = None
    verifier_result: VerifierOutcome | None = None
    image: str | None = None
    verifier_mode: VerifierMode | None = None
    oom_killed: bool = Field(False, description="The kernel's OOM killer struck in the trial")
    notes: list[str] = Field(default_factory=list)
    error: TrialError | None = None


class JobConfig(BaseModel):
    schema_version: int = 1
    job_id: str
    task_paths: list[str]
    agent: str
    model: str | None = None
    trials_per_task: int = 1
    concurrency: int = 1
    created_at: datetime
    trial_options: TrialOptions = Field(default_factory=TrialOptions)


class TrialSummary(BaseModel):
    trial_id: str
    task_id: str
    reward: float | None
    error: str | None = None
    duration_sec: float


class JobResult(BaseModel):
    schema_version: int = 1
    job_id: str
    agent: str
    status: str = Field(description="completed | running | interrupted")
    started_at: datetime
    finished_at: datetime | None = None
    n_trials: int
    n_errors: int
    mean_reward: float | None
    mean_reward_by_task: dict[str, float | None]
    trials: list[TrialSummary]
    cost_usd: float | None = None
    n_planned: int | None = Field(None, description="Trials the job was asked to run")
    stopped_by: str | None = Field(None, description="The error that stopped the job early")
