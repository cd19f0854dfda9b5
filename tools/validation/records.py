"""What validation reports: one ``ValidationCheck`` per check, one ``ValidationReport`` per task.

The report goes back to the builder agent as its next observation, so each failed check
carries a one-line message saying what to fix and the evidence it was decided on. Check
names are stable identifiers (``build``, ``leak:git``, ``exploit:pytest_hook``, ...): callers
select checks by them and the meta-benchmark groups results by them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1

Category = Literal[
    "static", "build", "start_state", "oracle", "leak", "exploit", "determinism", "replay"
]

# Evidence values longer than this are cut in feedback text (validation.json keeps them whole).
_FEEDBACK_VALUE_CHARS = 600


class NearMiss(BaseModel):
    """A wrong solution the verifier must reject: the session's own failed attempt."""

    name: str = Field(description="Stable identifier, e.g. 'failed_attempt_1'")
    files: dict[str, str | None] = Field(
        description="Workdir-relative path -> content (None: deleted), over the start state"
    )
    note: str = Field("", description="When and how the user stepped in")


class HiddenFacts(BaseModel):
    """What the solving agent must never be able to find in the task, and the near-misses
    its verifier must reject."""

    fix_diff: str | None = Field(None, description="The upstream fix as a unified diff")
    fix_commit: str | None = None
    start_commit: str | None = None
    extra_secrets: list[str] = Field(
        default_factory=list, description="Any other strings that must not appear anywhere"
    )
    start_counts: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Per file the fix changes: how often each line the fix adds occurs in the "
        "start commit's version (a fix may repeat a line its file already has elsewhere)",
    )
    near_misses: list[NearMiss] = Field(
        default_factory=list, description="Failed attempts replayed in validation: must score 0"
    )
    user_request: str | None = Field(
        None,
        description="The instruction as composed from the user's own words: the task's "
        "instruction.md must still carry it (a builder may clarify, not replace it)",
    )


class ValidationCheck(BaseModel):
    name: str = Field(description="Stable identifier, e.g. 'exploit:stub_binaries'")
    category: Category
    passed: bool
    severity: Literal["error", "warning"] = Field(
        "error", description="A failed warning is reported but does not fail the task"
    )
    message: str = Field(description="One line: what is wrong and what to do about it")
    evidence: dict[str, Any] = Field(default_factory=dict)
    duration_sec: float = 0.0


class ValidationReport(BaseModel):
    schema_version: int = SCHEMA_VERSION
    task_id: str
    passed: bool
    checks: list[ValidationCheck]
    not_run: dict[str, str] = Field(
        default_factory=dict, description="Checks that were asked for but not run, and why"
    )
    image: str | None = None
    started_at: datetime
    duration_sec: float

    def check(self, name: str) -> ValidationCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"{name!r} is not in this report (not run: {self.not_run.get(name)})")

    @property
    def failures(self) -> list[ValidationCheck]:
        return [c for c in self.checks if not c.passed and c.severity == "error"]

    @property
    def warnings(self) -> list[ValidationCheck]:
        return [c for c in self.checks if not c.passed and c.severity == "warning"]

    def feedback(self) -> str:
        """Concise text for the builder agent: every failed check, its evidence, what to fix."""
        failures, warnings = self.failures, self.warnings
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [
            f"Validation of {self.task_id}: {verdict} — {len(self.checks) - len(failures)} of "
            f"{len(self.checks)} checks passed, {len(failures)} failed, "
            f"{len(warnings)} warning(s) ({self.duration_sec:.0f}s)."
        ]
        for number, check in enumerate(failures, 1):
            lines.append(f"{number}. [{check.category}] {check.name}: {check.message}")
            lines.extend(f"   {line}" for line in _evidence_lines(check.evidence))
        if warnings:
            lines.append("Warnings (fix them unless you are sure they are harmless):")
            for check in warnings:
                lines.append(f"- {check.name}: {check.message}")
                lines.extend(f"   {line}" for line in _evidence_lines(check.evidence))
        if self.not_run:
            lines.append("Not run:")
            lines.extend(f"- {name}: {why}" for name, why in self.not_run.items())
        if failures:
            lines.append("Fix the failures above, then declare the task done again.")
        return "\n".join(lines)


def _evidence_lines(evidence: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for key, value in evidence.items():
        if value in (None, "", [], {}):
            continue
        text = _render(value)
        if "\n" in text:
            lines.append(f"{key}:")
            lines.extend(f"  | {line}" for line in text.splitlines())
        else:
            lines.append(f"{key}: {text}")
    return lines


def _render(value: Any) -> str:
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, list):
        shown = [_render(item) for item in value[:8]]
        more = f" (+{len(value) - 8} more)" if len(value) > 8 else ""
        text = "; ".join(shown) + more
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={_render(v)}" for k, v in list(value.items())[:8])
    else:
        text = str(value)
    if len(text) > _FEEDBACK_VALUE_CHARS:
        # Keep the end: verifier output and build logs put the verdict last.
        text = "..." + text[-_FEEDBACK_VALUE_CHARS:]
    return text
