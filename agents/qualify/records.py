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


class FixCandidate(BaseModel):
    """One commit considered as the fix, with the parts of its score."""

    sha: str
    subject: str
    committed_at: datetime
    descendant: bool
    eligible: bool
    why_not: str | None = None
    score: float = 0.0
    overlap: float = 0.0
    shared_files: int = Field(0, description="Session files this commit changes too")
    cue: float = 0.0
    recency: float = 0.0
    touches_source: bool = False
    changes_tests: bool = False
    files: int = 0
    insertions: int = 0
    deletions: int = 0
    paths: list[str] = Field(default_factory=list)


class HintCheck(BaseModel):
    """What became of a source's fix-commit hint."""

    given: str
    sha: str | None = None
    valid: bool
    reason: str


class OutcomeReport(BaseModel):
    """The fix commit (if any), how it was chosen, and the runners-up."""

    fix: FixCandidate | None = None
    chosen_by: Literal["hint", "ranking"] | None = None
    hint: HintCheck | None = None
    ranked: list[FixCandidate] = Field(default_factory=list)
    considered: int = 0
    since: datetime
    until: datetime
    reason: str
