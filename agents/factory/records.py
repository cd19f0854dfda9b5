"""The factory's records: a build run's configuration (stored in the ledger), the stages and
their outcomes, and what an approval gate shows a reviewer and hears back."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from harness.llm import ModelSpec
from tools.report.records import Decision

ApproveMode = Literal["prompt", "auto", "queue"]


GateOutcome = Literal["approved", "rejected", "parked"]


class FixChoice(BaseModel):
    """A fix candidate a reviewer may pick at the qualification gate."""

    number: int = Field(description="The key that picks it (1, 2, ...)")
    sha: str
    label: str = Field(description="Short sha, or first..last for a range")
    subject: str
    score: float
    evidence: str = Field(description="The user's words it matched, where")


class ApprovalRequest(BaseModel):
    """What a reviewer sees at a gate."""

    candidate_id: str
    gate: str
    title: str
    recommended: bool = Field(description="Do the deterministic checks recommend approval?")
    facts: list[tuple[str, str]] = Field(default_factory=list)
    fix_choices: list[FixChoice] = Field(
        default_factory=list, description="Fix candidates to pick from, when evidence did not"
    )


class Answer(BaseModel):
    decision: Decision | None = Field(None, description="None: decide later (park)")
    note: str | None = None
    fix_choice: int | None = Field(None, description="The number of the fix the reviewer picked")


class BuildConfig(BaseModel):
    schema_version: int = 1
    run_id: str
    inputs: list[str] = Field(default_factory=list, description="Session files and folders")
    repo_map: dict[str, str] = Field(default_factory=dict)
    source_format: str | None = None
    model: ModelSpec | None = Field(None, description="None: the baseline policies, no model")
    concurrency: int = 1
    approve: ApproveMode = "prompt"
    budget_usd: float | None = None
    budget_tokens: int | None = Field(None, description="Prompt + completion tokens, all agents")
    budget_minutes: float | None = None
    role_budget_usd: float | None = Field(None, description="Each model-driven agent's cap")
    role_budget_tokens: int | None = None
    last_stage: StageName = "publish"
    validation_repeats: int = 3
    retry_failed: bool = False
    max_steps: int = 60
    requalify: bool = Field(
        False, description="Qualify every candidate again (from fresh intake) on this rerun"
    )
    replay_of: str | None = Field(
        None, description="A replay: the run folder whose recorded model replies are served"
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy_model_name(cls, data: Any) -> Any:
        """Run folders of kettle before 0.2 stored the model as a name and an api_base."""
        if isinstance(data, dict) and isinstance(data.get("model"), str):
            data = dict(data)
            data["model"] = ModelSpec.resolve(data["model"], data.pop("api_base", None))
        elif isinstance(data, dict):
            data = {key: value for key, value in data.items() if key != "api_base"}
        return data


StageName = Literal[
    "qualify",
    "approve_qualification",
    "reconstruct",
    "verifier",
    "validate",
    "approve_task",
    "publish",
]


STAGES: tuple[StageName, ...] = (
    "qualify",
    "approve_qualification",
    "reconstruct",
    "verifier",
    "validate",
    "approve_task",
    "publish",
)


class StageOutcome(BaseModel):
    status: Literal["done", "failed", "parked"]
    detail: str | None = None
    stop: bool = False  # the candidate ends here (disqualified, rejected)


class StageReply(BaseModel):
    outcome: StageOutcome
    cost_usd: float | None = None
