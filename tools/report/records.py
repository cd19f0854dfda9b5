"""What a build run's report is made of: its progress per candidate and stage (as the run's
ledger records it), each candidate's summary, and the run's summary (``summary.json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.sessions.intake import IntakeError

StageStatus = Literal["pending", "running", "done", "failed", "skipped", "parked"]
Decision = Literal["approved", "rejected"]


class StageRecord(BaseModel):
    candidate_id: str
    stage: str
    status: StageStatus
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    duration_sec: float | None = None
    cost_usd: float | None = None
    detail: str | None = None


class ApprovalRecord(BaseModel):
    candidate_id: str
    gate: str
    decision: Decision
    decided_by: str
    decided_at: str
    note: str | None = None


class CheckRow(BaseModel):
    category: str
    name: str
    passed: bool
    message: str


class CandidateSummary(BaseModel):
    candidate_id: str
    source_format: str
    source_path: str
    repo: str | None
    verdict: str | None = None
    reasons: list[str] = Field(default_factory=list)
    task_spirit: str | None = None
    stages: list[StageRecord]
    validation: list[CheckRow] = Field(default_factory=list)
    approvals: list[ApprovalRecord] = Field(default_factory=list)
    published: str | None = None
    cost_usd: float | None = None
    duration_sec: float = 0.0
    trajectories: list[str] = Field(default_factory=list, description="Relative to the run dir")
    state: str = Field(description="published | disqualified | rejected | failed | parked | open")


class FunnelStep(BaseModel):
    """How many candidates got this far, and the minutes spent in the stage that gets there."""

    name: str = Field(description="candidates, qualified, reconstructed, verified, ...")
    count: int
    minutes: float = 0.0


class FailureGroup(BaseModel):
    """Candidates that failed at one stage for one reason (ids and paths generalised)."""

    stage: str
    reason: str
    candidates: list[str]


class BuildSummary(BaseModel):
    schema_version: int = 1
    run_id: str
    builder: str
    generated_at: str
    counts: dict[str, int]
    cost_usd: float | None
    funnel: list[FunnelStep] = Field(default_factory=list)
    failures: list[FailureGroup] = Field(default_factory=list)
    candidates: list[CandidateSummary]
    intake_errors: list[IntakeError] = Field(default_factory=list)
