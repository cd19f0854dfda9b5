"""The records qualification produces: one ``CheckResult`` per check, one ``Qualification``
per candidate.

``passed`` always reads "good for the candidate": a ``license`` check that passed found an
open-source license; an ``existing_codebase`` check that failed found a from-scratch
project. ``None`` means the check could not tell, which sends the candidate to a human.

Codes are stable strings: reports, approvals and the meta-benchmark group by them.
``flags`` hold findings worth knowing that decide nothing by themselves (a secret in the
prompts is one: the candidate is redacted and stays usable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Verdict = Literal["qualified", "disqualified", "needs_human"]

DisqualifierCode = Literal[
    "repo_unreachable",
    "start_commit_missing",
    "license_not_open_source",
    "license_unknown",
    "from_scratch",
    "docs_only",
    "typo_only",
    "trivial_change",
    "no_fix_commit",
    "not_testable",
]

FlagCode = Literal[
    "secret_in_prompt",  # found and redacted; the candidate stays usable
    "hint_ignored",  # a source's fix_commit or license hint did not hold up
    "start_commit_inferred",  # no start commit given; taken from the session's start time
    "mirror_stale",  # the repo could not be refreshed; an older copy was used
    "fix_without_tests",  # the fix changes no tests: a verifier must be written from scratch
    "fix_range",  # the fix spans several commits (a follow-up, or a merged branch)
    "session_incomplete",  # the session file was truncated or partly unreadable
    "failed_attempts",  # the agent's own edits failed before the user stepped in: hard negatives
]

Code = DisqualifierCode | FlagCode

SCHEMA_VERSION = 1


class CheckResult(BaseModel):
    """The outcome of one deterministic check, with the facts it was decided on."""

    name: str
    passed: bool | None = Field(description="True: good for the candidate; None: cannot tell")
    reason: str = Field(description="One line a person can act on")
    code: Code | None = Field(None, description="Set when the check raises a code")
    evidence: dict[str, Any] = Field(default_factory=dict)


class Finding(BaseModel):
    """A coded reason: a disqualifier, or a flag that decides nothing by itself."""

    code: Code
    reason: str


class QualificationClaims(BaseModel):
    """Facts a model asserts beside its verdict; ``recheck`` verifies every one with code."""

    license: str | None = Field(None, description="SPDX expression of the repo's license")
    fix_files: list[str] = Field(
        default_factory=list, description="Repo-relative paths the fix commit changes"
    )
    fix_changes_tests: bool | None = Field(None, description="Does the fix change or add tests?")


class Qualification(BaseModel):
    """Whether a candidate is worth an environment, why, and on what evidence."""

    schema_version: int = SCHEMA_VERSION
    candidate_id: str
    verdict: Verdict
    task_spirit: str = Field(description="What the user really wanted, follow-ups included")
    start_commit: str | None = Field(None, description="Full sha of the start state")
    fix_commit: str | None = Field(None, description="Full sha of the commit that fixed it")
    fix_first_commit: str | None = Field(
        None, description="For a fix spread over several commits: the first of them"
    )
    license: str | None = Field(None, description="SPDX expression found at the start commit")
    disqualifiers: list[Finding] = Field(default_factory=list)
    flags: list[Finding] = Field(default_factory=list)
    evidence: list[CheckResult] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0)
    decided_by: str = Field(description='"baseline" or the model that decided')
    claims: QualificationClaims = Field(default_factory=QualificationClaims)
    discrepancies: list[str] = Field(
        default_factory=list, description="Claims that did not hold up when re-checked"
    )

    def check(self, name: str) -> CheckResult | None:
        """The evidence of the check called ``name``, if it ran."""
        return next((result for result in self.evidence if result.name == name), None)

    def codes(self) -> list[str]:
        return [finding.code for finding in [*self.disqualifiers, *self.flags]]


class ClaimedDisqualifier(BaseModel):
    code: DisqualifierCode
    reason: str


class QualifierOutput(BaseModel):
    """What the model writes; turned into a Qualification and re-checked."""

    verdict: Verdict
    task_spirit: str = Field(min_length=10, description="What the user really wanted")
    fix_commit: str | None = Field(None, description="Full or short sha of the fixing commit")
    license: str | None = Field(None, description="SPDX expression of the repo's license")
    fix_files: list[str] = Field(default_factory=list, description="Paths the fix changes")
    fix_changes_tests: bool | None = None
    disqualifiers: list[ClaimedDisqualifier] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list, description="Facts behind the verdict")
    confidence: float = Field(ge=0.0, le=1.0)


class EvidenceItem(BaseModel):
    """One term of the user's words found in a change, and what it earned."""

    term: str
    kind: str = Field(description="phrase, code, identifier, path, value, word or subword")
    origin: str = Field(description='Where the user said it: "prompt", "follow-up 1", ...')
    fields: list[str] = Field(description="Where the change has it: message, paths, source, tests")
    points: float


class FixCandidate(BaseModel):
    """One change considered as the fix (a commit, or a range of commits), with its evidence."""

    sha: str = Field(description="The fix's (last) commit")
    first: str | None = Field(None, description="The range's first commit, for a fix range")
    shas: list[str] = Field(default_factory=list, description="Every commit of the change")
    subject: str
    committed_at: datetime = Field(description="When the change landed on its branch")
    landed_by: str | None = Field(None, description="The merge commit that brought it, if any")
    line: str = Field("", description="The branch it reached, or 'unmerged'")
    position: int | None = Field(None, description="Steps on that branch after the start")
    merged: bool = Field(True, description="False: on a branch that never reached the line")
    pr: int | None = None
    eligible: bool
    why_not: str | None = None
    score: float = 0.0
    coverage: float = Field(
        0.0, description="The score's share of what a change with all the user's terms would get"
    )
    specific: float = Field(0.0, description="Points from terms more telling than plain words")
    evidence: list[EvidenceItem] = Field(default_factory=list)
    shared_files: int = Field(0, description="Session files this change changes too")
    touches_source: bool = False
    changes_tests: bool = False
    docs_only: bool = False
    files: int = 0
    insertions: int = 0
    deletions: int = 0
    paths: list[str] = Field(default_factory=list)
    applies_at_start: bool | None = Field(
        None, description="Does its source change apply to the start tree as it is?"
    )

    @property
    def label(self) -> str:
        """``abc123def456`` or ``abc123def456..fedcba654321`` for a range."""
        return f"{self.first[:12]}..{self.sha[:12]}" if self.first else self.sha[:12]

    def overlaps(self, other: FixCandidate) -> bool:
        return bool(set(self.shas or [self.sha]) & set(other.shas or [other.sha]))


class HintCheck(BaseModel):
    """What became of a source's fix-commit hint."""

    given: str
    sha: str | None = None
    valid: bool
    reason: str


Decision = Literal["confident", "ambiguous", "none"]


class ScoredChange(BaseModel):
    """Every change considered, in brief (the ranked ones carry their evidence)."""

    sha: str
    first: str | None = None
    subject: str
    score: float


class OutcomeReport(BaseModel):
    """The fix (if any), how sure the evidence is, and every change considered."""

    fix: FixCandidate | None = None
    chosen_by: Literal["hint", "evidence", "reviewer"] | None = None
    decision: Decision = "none"
    margin: float | None = Field(
        None, description="The fix's score over the best rival's (the calibrated separation)"
    )
    hint: HintCheck | None = None
    ranked: list[FixCandidate] = Field(default_factory=list)
    scores: list[ScoredChange] = Field(
        default_factory=list, description="Every change considered, best first"
    )
    considered: int = 0
    lines: list[str] = Field(default_factory=list, description="Branches walked for fixes")
    since: datetime
    until: datetime
    reason: str
