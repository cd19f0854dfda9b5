"""Intake: turn whatever the user points at into Candidates, one bad session at a time.

``discover`` walks the given files and folders and says what each session is: a Cline /
Roo / Kilo task folder (or a folder of them, or a whole extension storage folder), a
``~/.claude/projects`` tree or one Claude Code session, a ``~/.codex/sessions`` tree or
one rollout, or a ``candidates.jsonl``. ``load_sessions`` parses each, fills in repo and
start commit from the workspace where the transcript lacks them, and makes ids unique.

Nothing a single session does can stop the others: every failure becomes an
``IntakeError`` naming the file and what is wrong with it. Folder walks never follow a
symlink, and a symlink that points outside the folder being walked is reported, not read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from pydantic import BaseModel, Field

from harness.errors import SessionFormatError
from tools.sessions import cline
from tools.sessions.candidates_jsonl import looks_like_candidate_line, parse_candidates_jsonl
from tools.sessions.claude_code import looks_like_claude_code, parse_claude_code_session
from tools.sessions.codex import looks_like_codex, parse_codex_rollout
from tools.sessions.common import DEFAULT_MAX_BYTES, as_dict, as_str, first_json_lines
from tools.sessions.records import Candidate, SourceFormat
from tools.sessions.workspace import RepoMap, resolve_origin

log = logging.getLogger(__name__)

CLINE_FAMILY: tuple[SourceFormat, ...] = ("cline", "roo", "kilo")
JSONL_FORMATS: tuple[SourceFormat, ...] = ("claude_code", "codex", "candidates_jsonl")
# Folders that hold no sessions of their own: VCS data, Cline's shadow-git checkpoints,
# Claude Code's subagent logs (the main session already holds what the user said).
_SKIP_DIRS = {".git", "node_modules", "checkpoints", "subagents", "__pycache__"}
# Index files beside the sessions, in formats of their own.
_SKIP_FILES = {"history.jsonl", "session_index.jsonl"}
_CLINE_FILES = {cline.UI_MESSAGES, cline.API_HISTORY, cline.TASK_METADATA, cline.HISTORY_ITEM}
_SUMMARY_TYPES = {"summary", "file-history-snapshot", "custom-title", "last-prompt"}


class DiscoveredSession(BaseModel):
    """One session found on disk, and the format it was recognised as."""

    path: str
    format: SourceFormat


class IntakeError(BaseModel):
    """A session (or path) that could not be used, with a one-line reason."""

    source: str
    message: str

    def __str__(self) -> str:
        return self.message


class Discovery(BaseModel):
    sessions: list[DiscoveredSession] = Field(default_factory=list)
    errors: list[IntakeError] = Field(default_factory=list)


class IntakeResult(BaseModel):
    candidates: list[Candidate] = Field(default_factory=list)
    errors: list[IntakeError] = Field(default_factory=list)


def discover(paths: Sequence[Path | str], *, format_hint: SourceFormat | None = None) -> Discovery:
    """Find every session under ``paths`` and recognise its format.

    ``format_hint`` names the flavor of Cline task folders (cline, roo or kilo: Kilo
    cannot be told from Roo outside its storage folder) and the format of a ``.jsonl``
    file whose content does not say.
    """
    discovery = Discovery()
    seen: set[Path] = set()
    for given in paths:
        raw = Path(given)
        if not raw.exists():
            _error(discovery, raw, "no such file or directory")
            continue
        try:
            root = raw.resolve(strict=True)
        except (OSError, RuntimeError) as error:
            _error(discovery, raw, f"cannot resolve path ({error})")
            continue
        if root.is_dir():
            _walk(root, format_hint, discovery, seen)
        else:
            _add_file(root, format_hint, discovery, seen, explicit=True)
    return discovery


def load_sessions(
    paths: Sequence[Path | str],
    repo_map: RepoMap | None = None,
    *,
    format_hint: SourceFormat | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> IntakeResult:
    """Parse every discovered session into a Candidate with repo and start commit filled in
    where the workspace allows; collect, never raise, per-session failures."""
    discovery = discover(paths, format_hint=format_hint)
    result = IntakeResult(errors=list(discovery.errors))
    used: set[str] = set()
    for session in discovery.sessions:
        for item in _parse(session, max_bytes):
            if isinstance(item, IntakeError):
                result.errors.append(item)
                continue
            candidate = _resolve(item, repo_map)
            result.candidates.append(_unique(candidate, used))
    return result


# --- discovery ----------------------------------------------------------------------


def _error(discovery: Discovery, path: Path, what: str) -> None:
    discovery.errors.append(IntakeError(source=str(path), message=f"{path}: {what}"))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _walk(root: Path, hint: SourceFormat | None, discovery: Discovery, seen: set[Path]) -> None:
    def report(error: OSError) -> None:
        _error(discovery, Path(error.filename or root), f"cannot read ({error.strerror})")

    for dirpath, dirnames, filenames in os.walk(root, onerror=report, followlinks=False):
        current = Path(dirpath)
        if cline.is_task_dir(current):
            _add(discovery, seen, current, _cline_flavor(current, hint))
            dirnames[:] = []
            continue
        kept = []
        for name in sorted(dirnames):
            child = current / name
            if child.is_symlink():
                _check_link(child, root, discovery)
            elif name not in _SKIP_DIRS:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            file = current / name
            if file.is_symlink():
                target = _check_link(file, root, discovery)
                if target is None or not target.is_file():
                    continue
                file = target
            _add_file(file, hint, discovery, seen, explicit=False)


def _check_link(link: Path, root: Path, discovery: Discovery) -> Path | None:
    """A symlink's target if it stays inside the walked folder; else report it."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        _error(discovery, link, "broken or looping symlink")
        return None
    if not _inside(target, root):
        _error(discovery, link, f"symlink points outside {root} (to {target}); not followed")
        return None
    return target


def _add(discovery: Discovery, seen: set[Path], path: Path, fmt: SourceFormat) -> None:
    if path not in seen:
        seen.add(path)
        discovery.sessions.append(DiscoveredSession(path=str(path), format=fmt))


def _cline_flavor(task_dir: Path, hint: SourceFormat | None) -> SourceFormat:
    return hint if hint in CLINE_FAMILY else cline.detect_flavor(task_dir)


def _add_file(
    file: Path, hint: SourceFormat | None, discovery: Discovery, seen: set[Path], *, explicit: bool
) -> None:
    name = file.name
    if name in _CLINE_FILES:
        if cline.is_task_dir(file.parent):
            _add(discovery, seen, file.parent, _cline_flavor(file.parent, hint))
        elif explicit:
            _error(discovery, file, "a task file without its ui_messages.json or history beside it")
        return
    if file.suffix != ".jsonl":
        if explicit:
            _error(discovery, file, "not a session (expected a .jsonl file or a task folder)")
        return
    if not explicit and (name in _SKIP_FILES or name.startswith("agent-")):
        return
    fmt, summary_only = _sniff_jsonl(file)
    if summary_only and not explicit:
        return
    fmt = fmt or (hint if hint in JSONL_FORMATS else None)
    if fmt is None:
        try:
            empty = file.stat().st_size == 0
        except OSError:
            empty = False
        what = (
            "file is empty"
            if empty
            else (
                "not a recognised session format (Claude Code, Codex or candidates.jsonl); "
                "pass --format to name it"
            )
        )
        _error(discovery, file, what)
        return
    _add(discovery, seen, file, fmt)


def _sniff_jsonl(file: Path) -> tuple[SourceFormat | None, bool]:
    """The format the first lines show, and whether they only summarize (no conversation)."""
    values = first_json_lines(file)
    fmt: SourceFormat | None = None
    for value in values:
        if looks_like_codex(value):
            fmt = "codex"
        elif looks_like_candidate_line(value):
            fmt = "candidates_jsonl"
        elif looks_like_claude_code(value):
            fmt = "claude_code"
        if fmt:
            break
    if fmt is None and file.name.startswith("rollout-"):
        fmt = "codex"
    summary_only = (
        fmt == "claude_code"
        and len(values) < 20
        and all(as_str(as_dict(value).get("type")) in _SUMMARY_TYPES for value in values)
    )
    return fmt, summary_only


# --- parsing --------------------------------------------------------------------------


def _parse(session: DiscoveredSession, max_bytes: int) -> list[Candidate | IntakeError]:
    path = Path(session.path)
    try:
        if session.format in CLINE_FAMILY:
            flavor = cast(cline.ClineFlavor, session.format)
            return [cline.parse_cline_task(path, source_format=flavor, max_bytes=max_bytes)]
        if session.format == "claude_code":
            return [parse_claude_code_session(path, max_bytes=max_bytes)]
        if session.format == "codex":
            return [parse_codex_rollout(path, max_bytes=max_bytes)]
        candidates, errors = parse_candidates_jsonl(path, max_bytes=max_bytes)
        return [*candidates, *(_as_intake_error(path, error) for error in errors)]
    except SessionFormatError as error:
        return [_as_intake_error(path, error)]
    except Exception as error:  # a parser bug must cost one session, not the run
        log.exception("unexpected failure reading %s", path)
        message = f"{path}: unexpected {type(error).__name__} while reading ({error})"
        return [IntakeError(source=str(path), message=message)]


def _as_intake_error(path: Path, error: SessionFormatError) -> IntakeError:
    return IntakeError(source=str(path), message=str(error))


def _resolve(candidate: Candidate, repo_map: RepoMap | None) -> Candidate:
    try:
        return resolve_origin(candidate, repo_map)
    except Exception:  # resolution is best effort: qualification reports what is missing
        log.exception("could not resolve the workspace of %s", candidate.source_path)
        return candidate


def _unique(candidate: Candidate, used: set[str]) -> Candidate:
    """The same session given twice (or two files with one id) still gets distinct ids."""
    base = candidate.id
    number = 1
    while candidate.id in used:
        number += 1
        candidate = candidate.model_copy(update={"id": f"{base}-{number}"})
    used.add(candidate.id)
    return candidate
