"""The generic input format: ``candidates.jsonl``, one candidate per line.

For work that did not come from a supported agent (a bug tracker export, a hand-picked
list of fixes), write one JSON object per line::

    {"id": "acme-1042", "repo": "https://github.com/acme/widgets", "start_commit": "3f2c1a9",
     "prompts": ["The CSV export drops the last row.", "Also keep the header when empty."],
     "fix_commit": "9b7e0d4", "license": "MIT", "files_touched": ["widgets/export.py"]}

Required:
  ``id``            stable, filesystem-safe (letters, digits, ``.``, ``_``, ``-``), unique
  ``repo``          git URL or local path of the repository
  ``start_commit``  the commit the work started from (a sha, or any name git resolves)
  the user's words: ``prompts`` (first = the first prompt, the rest = follow-ups), or
                    ``first_prompt`` with optional ``follow_ups``

Optional: ``fix_commit``, ``license`` (SPDX id; re-checked later), ``files_touched``
(repo-relative), ``branch``, ``language``, ``workspace_path``, ``started_at``/``ended_at``
(ISO 8601), ``user_interventions`` (``[{"kind": "denied_action"|"user_edit"|"interrupt"|
"feedback", "text": "...", "at": "..."}]``).

Blank lines are skipped. Unknown keys are refused, so a misspelt ``follow_up`` is an
error rather than a silently lost prompt. Each bad line is its own one-line error; the
good lines still load. The full description is in docs/candidates-format.md.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import SessionFormatError, validation_problems
from tools.sessions.common import (
    DEFAULT_MAX_BYTES,
    check_size,
    clean_text,
    decode,
    format_error,
    repo_relative,
)
from tools.sessions.records import Candidate, CandidateHints, UserIntervention

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class CandidateLine(BaseModel):
    """One line of a candidates.jsonl file, exactly as a user writes it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    repo: str = Field(min_length=1)
    start_commit: str = Field(min_length=1)
    prompts: list[str] | None = None
    first_prompt: str | None = None
    follow_ups: list[str] = Field(default_factory=list)
    fix_commit: str | None = None
    license: str | None = None
    files_touched: list[str] = Field(default_factory=list)
    branch: str | None = None
    language: str | None = None
    workspace_path: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    user_interventions: list[UserIntervention] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_way_to_give_prompts(self) -> CandidateLine:
        if not _SAFE_ID.match(self.id):
            raise ValueError("id must use only letters, digits, '.', '_' and '-'")
        if self.prompts is not None and self.first_prompt is not None:
            raise ValueError("give either prompts or first_prompt (+ follow_ups), not both")
        if self.prompts is not None and self.follow_ups:
            raise ValueError("follow_ups goes with first_prompt; with prompts, list them all")
        words = self.prompts if self.prompts is not None else [self.first_prompt or ""]
        if not words or not words[0].strip():
            raise ValueError("the first prompt is missing or empty")
        return self

    def user_words(self) -> list[str]:
        if self.prompts is not None:
            return self.prompts
        return [self.first_prompt or "", *self.follow_ups]


def looks_like_candidate_line(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and "repo" in record
        and ("prompts" in record or "first_prompt" in record)
    )


def parse_candidates_jsonl(
    path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[Candidate], list[SessionFormatError]]:
    """Every good line as a Candidate, and one error per bad line (``file:line: why``).

    A file-level defect (missing, too big, empty) is raised instead.
    """
    check_size(path, max_bytes)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise format_error(path, f"cannot read ({error.strerror or error})") from error
    candidates: list[Candidate] = []
    errors: list[SessionFormatError] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            candidate = _parse_line(decode(raw), where, path)
        except SessionFormatError as error:
            errors.append(error)
            continue
        if candidate.id in seen:
            errors.append(format_error(where, f"id {candidate.id!r} is used by an earlier line"))
            continue
        seen.add(candidate.id)
        candidates.append(candidate)
    if not candidates and not errors:
        raise format_error(path, "file is empty")
    return candidates, errors


def _parse_line(text: str, where: str, path: Path) -> Candidate:
    try:
        value = json.loads(text)
    except RecursionError as error:
        raise format_error(where, "JSON is nested too deeply to read") from error
    except ValueError as error:
        raise format_error(where, f"not valid JSON ({error.msg})") from error
    if not isinstance(value, dict):
        raise format_error(where, f"expected a JSON object, found {type(value).__name__}")
    try:
        line = CandidateLine.model_validate(value)
    except ValidationError as error:
        first = validation_problems(error, root="line")[0]
        raise format_error(where, first, "see docs/candidates-format.md for the fields") from error
    words = [clean_text(text.strip()) for text in line.user_words()]
    files = []
    for file in line.files_touched:
        relative = repo_relative(file, None)
        if relative is None:
            raise format_error(where, f"files_touched: {file!r} is not a repo-relative path")
        files.append(clean_text(relative))
    try:
        return Candidate(
            id=clean_text(line.id),
            source_format="candidates_jsonl",
            source_path=str(path),
            repo=clean_text(line.repo.strip()) or None,
            start_commit=clean_text(line.start_commit.strip()),
            first_prompt=words[0],
            follow_ups=[text for text in words[1:] if text],
            user_interventions=line.user_interventions,
            files_touched=files,
            started_at=_aware(line.started_at),
            ended_at=_aware(line.ended_at),
            workspace_path=line.workspace_path,
            hints=CandidateHints(
                fix_commit=line.fix_commit,
                license=line.license,
                branch=line.branch,
                language=line.language,
            ),
        )
    except ValidationError as error:
        why = error.errors()[0]["msg"]
        raise format_error(where, f"produced an invalid record ({why})") from error


def _aware(moment: datetime | None) -> datetime | None:
    """A time written without a zone is taken as UTC, like every other source's."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
