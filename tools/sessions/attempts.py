"""The agent's failed attempts: what its edits had made of the project when the user stepped
in, while the session went on to something else.

A session where the user interrupted the agent, denied an action or corrected it holds
the agent's state of the work at that moment: the near-misses a verifier must reject.
``failed_attempts`` replays the applied edits (``Candidate.agent_edits``, in order) on the
start state's files and takes a snapshot at each intervention. A snapshot is a failed
attempt when it changed source files and differs from what the session ended with (the
agent had to change more after the user stepped in); a snapshot equal to the end state
was accepted, and is not one. Only source files count: the verifier brings its own tests.

Edits are replayed exactly: an edit whose old text is not in the file (the session
started from uncommitted changes, or the tool recorded too little) makes that file
unknown, and a snapshot that depends on an unknown file is not replayable — it is
reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel, Field

from tools.projects.paths import classify_path
from tools.sessions.records import AgentEdit, Candidate, UserIntervention

Reader = Callable[[str], str | None]  # repo-relative path -> its text at the start, or None
_UNKNOWN = object()
_MISSING = None


class FailedAttempt(BaseModel):
    """The agent's work when the user stepped in: files as they were then."""

    number: int
    at: datetime | None = None
    stepped_in: str = Field(description="How the user stepped in: kind and what they said")
    files: dict[str, str | None] = Field(
        description="Source files the attempt changed: path -> content (None: deleted)"
    )


class AttemptsReport(BaseModel):
    attempts: list[FailedAttempt] = Field(default_factory=list)
    unreplayable: list[str] = Field(
        default_factory=list, description="Moments the user stepped in that cannot be replayed"
    )


def _apply(edit: AgentEdit, before: object) -> object:
    """The file's text after ``edit`` (``_UNKNOWN`` when it cannot be told)."""
    if before is _UNKNOWN:
        return _UNKNOWN if edit.content is None and not edit.delete else _whole(edit)
    if edit.delete:
        return _MISSING
    if edit.content is not None:
        return edit.content
    if not edit.replacements or before is _MISSING:
        return _UNKNOWN
    text = str(before)
    for replacement in edit.replacements:
        if not replacement.old or replacement.old not in text:
            return _UNKNOWN
        count = -1 if replacement.every else 1
        text = text.replace(replacement.old, replacement.new, count)
    return text


def _whole(edit: AgentEdit) -> object:
    return _MISSING if edit.delete else edit.content


def _describe(intervention: UserIntervention) -> str:
    said = f": {intervention.text}" if intervention.text else ""
    return f"{intervention.kind.replace('_', ' ')}{said}"[:300]


def _after(edit: AgentEdit, moment: datetime | None) -> bool:
    return edit.at is not None and moment is not None and edit.at > moment


def failed_attempts(candidate: Candidate, read_start: Reader) -> AttemptsReport:
    """Every failed attempt of the session, replayed on the start state's files."""
    edits = [edit for edit in candidate.agent_edits if edit.applied]
    report = AttemptsReport()
    if not edits or not candidate.user_interventions:
        return report
    start: dict[str, object] = {}

    def original(path: str) -> object:
        if path not in start:
            start[path] = read_start(path)
        return start[path]

    def state(upto: int) -> dict[str, object]:
        files: dict[str, object] = {}
        for edit in edits[:upto]:
            before = files.get(edit.path, original(edit.path))
            files[edit.path] = _apply(edit, before)
        return files

    def source_changes(files: dict[str, object]) -> dict[str, object]:
        return {
            path: text
            for path, text in files.items()
            if classify_path(path) not in ("test", "docs") and text != original(path)
        }

    final = source_changes(state(len(edits)))
    seen: list[dict[str, object]] = []
    for intervention in candidate.user_interventions:
        if intervention.at is None:
            continue
        upto = next((i for i, edit in enumerate(edits) if _after(edit, intervention.at)), None)
        if upto is None or upto == 0:
            continue  # nothing done yet, or nothing done after: no attempt to speak of
        changed = source_changes(state(upto))
        if any(text is _UNKNOWN for text in changed.values()):
            report.unreplayable.append(f"{_describe(intervention)} (an edit cannot be replayed)")
            continue
        if not changed or changed == final:
            continue  # no source change, or what the session ended with: accepted
        if changed in seen:
            continue
        seen.append(changed)
        report.attempts.append(
            FailedAttempt(
                number=len(report.attempts) + 1,
                at=intervention.at,
                stepped_in=_describe(intervention),
                files={path: None if text is None else str(text) for path, text in changed.items()},
            )
        )
    return report
