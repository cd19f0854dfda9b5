"""The Candidate record: one piece of real coding work, normalized from any session format.

Every parser in ``tools/sessions`` produces Candidates; everything downstream (qualify,
reconstruct, verifier, meta_bench seeds) reads only Candidates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SourceFormat = Literal["cline", "roo", "kilo", "claude_code", "codex", "candidates_jsonl"]

InterventionKind = Literal[
    "denied_action",  # the user rejected a tool call or command
    "user_edit",  # the user changed files or the agent's proposed diff themselves
    "interrupt",  # the user stopped the agent mid-turn
    "feedback",  # the user corrected course with a message while the agent worked
]


class UserIntervention(BaseModel):
    """A moment where the user stepped in: evidence of where the agent struggled."""

    kind: InterventionKind
    text: str = ""
    at: datetime | None = None


class Replacement(BaseModel):
    """Replace ``old`` by ``new`` in a file (the first occurrence, or ``every`` one)."""

    old: str
    new: str
    every: bool = False


class AgentEdit(BaseModel):
    """One change the agent made (or proposed) to a file, as the session recorded it."""

    path: str = Field(description="Repo-relative")
    at: datetime | None = None
    applied: bool = Field(description="False: the user denied it, or the tool failed")
    content: str | None = Field(None, description="The whole new content (a file written)")
    replacements: list[Replacement] = Field(default_factory=list)
    delete: bool = False


class CandidateHints(BaseModel):
    """Facts a source may carry beyond the transcript itself."""

    fix_commit: str | None = None
    license: str | None = Field(None, description="SPDX id the source asserts, re-checked later")
    branch: str | None = None
    language: str | None = None


class Candidate(BaseModel):
    """One unit of real work that may become an environment."""

    schema_version: int = 1
    id: str = Field(description="Stable, filesystem-safe id (unique within one run)")
    source_format: SourceFormat
    source_path: str = Field(description="The session file or folder this came from")
    repo: str | None = Field(None, description="Git URL or local path of the repository")
    named_repo: str | None = Field(
        None, description="The repository the session named, when --repo-map replaced it"
    )
    start_commit: str | None = Field(None, description="Commit the user started from")
    first_prompt: str
    follow_ups: list[str] = Field(default_factory=list)
    user_interventions: list[UserIntervention] = Field(default_factory=list)
    files_touched: list[str] = Field(default_factory=list, description="Repo-relative paths")
    agent_edits: list[AgentEdit] = Field(
        default_factory=list,
        description="The agent's edits in order, replayable: its failed attempts come from them",
    )
    started_at: datetime | None = None
    ended_at: datetime | None = None
    workspace_path: str | None = Field(None, description="The working directory in the session")
    hints: CandidateHints = Field(default_factory=CandidateHints)
    incomplete: list[str] = Field(
        default_factory=list,
        description="What of the session could not be read (truncated file, bad lines): "
        "lost follow-ups may change what the user asked",
    )

    @property
    def prompts(self) -> list[str]:
        """The user's own words, in order: the first prompt, then every follow-up."""
        return [self.first_prompt, *self.follow_ups]


class SecretFinding(BaseModel):
    """Where a secret was and what kind it was; never the secret itself."""

    kind: str
    where: str


class InstructionReport(BaseModel):
    """An instruction composed from the user's words, and how much of them it keeps."""

    text: str
    user_words: int = Field(description="Words of the user's own text (prompts, follow-ups)")
    kept_words: int = Field(description="Of them, what survived leak redaction")
    redacted: list[str] = Field(default_factory=list, description="Kinds of leaks replaced")
    enough: bool = Field(description="Does enough of the user's text survive to instruct?")
    reason: str
