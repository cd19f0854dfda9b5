"""Helpers every session parser shares: bounded reading of untrusted JSON, timestamps,
repo-relative paths, ids and the apply_patch envelope.

Session files come from other machines and other tools' bugs: they may be huge,
truncated, deeply nested or not UTF-8. Everything here either returns plain data or
raises ``SessionFormatError`` with a one-line message naming the file; nothing else
escapes, so a parser built on these helpers can promise the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from harness.errors import SessionFormatError

log = logging.getLogger(__name__)

# Real transcripts reach tens of MB (tool outputs are stored verbatim); far beyond this a
# file is more likely a wrong path than a session, and loading it would eat the host's RAM.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

# Timestamps outside this window are corrupt values, not dates a session happened on.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)

_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_ID_LENGTH = 120


def format_error(path: Path | str, what: str, hint: str | None = None) -> SessionFormatError:
    """The one-line error every parser raises: the file, then what is wrong with it."""
    return SessionFormatError(f"{path}: {what}", hint)


def check_size(path: Path, max_bytes: int) -> int:
    """Refuse files too big to be a session before reading a byte of them."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise format_error(path, f"cannot read ({error.strerror or error})") from error
    if size > max_bytes:
        raise format_error(
            path,
            f"file is {size} bytes, over the {max_bytes}-byte limit for one session",
            "split or trim the file, or raise the limit if it really is one session",
        )
    return size


def decode(data: bytes) -> str:
    """Bytes to text; a corrupt byte becomes U+FFFD instead of losing the whole session."""
    return data.decode("utf-8", errors="replace")


def loads(text: str, where: Path | str) -> Any:
    """``json.loads`` whose only failure is a SessionFormatError (deep nesting included)."""
    try:
        return json.loads(text)
    except RecursionError as error:
        raise format_error(where, "JSON is nested too deeply to read") from error
    except ValueError as error:
        raise format_error(where, f"not valid JSON ({_short(str(error))})") from error


def read_json(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Read one whole JSON document, within the size limit."""
    check_size(path, max_bytes)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise format_error(path, f"cannot read ({error.strerror or error})") from error
    if not data.strip():
        raise format_error(path, "file is empty")
    return loads(decode(data), path)


@dataclass
class JsonLines:
    """The JSON objects of a JSONL file, and how many lines could not be read."""

    records: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: int = 0
    truncated: bool = False  # the file ends in half a line (copied while being written)

    def problems(self) -> list[str]:
        """What could not be read, for ``Candidate.incomplete``."""
        found = []
        if self.truncated:
            found.append("the file ends in half a line: it was cut off while being written")
        skipped = self.bad_lines - (1 if self.truncated else 0)
        if skipped > 0:
            found.append(f"{skipped} unreadable line(s) skipped")
        return found


def read_jsonl(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> JsonLines:
    """Read a JSONL file line by line, skipping lines that are not JSON objects.

    A session copied while its tool was still writing ends in half a line; one bad line
    must not cost the rest of the transcript. A file with no readable object is an error.
    """
    check_size(path, max_bytes)
    result = JsonLines()
    try:
        handle = path.open("rb")
    except OSError as error:
        raise format_error(path, f"cannot read ({error.strerror or error})") from error
    with handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                value = json.loads(decode(raw))
            except (ValueError, RecursionError):
                result.bad_lines += 1
                result.truncated = not raw.endswith(b"\n")
                continue
            if isinstance(value, dict):
                result.records.append(value)
            else:
                result.bad_lines += 1
    if not result.records:
        if result.bad_lines:
            raise format_error(path, f"none of its {result.bad_lines} lines is a JSON object")
        raise format_error(path, "file is empty")
    if result.bad_lines:
        log.warning("%s: skipped %d unreadable line(s)", path, result.bad_lines)
    return result


def first_json_lines(path: Path, limit: int = 20, max_bytes: int = 8 * 1024 * 1024) -> list[Any]:
    """The first few parseable JSON values of a JSONL file, for sniffing its format cheaply.

    Reads at most ``max_bytes``, even if the file is one gigantic line.
    """
    values: list[Any] = []
    budget = max_bytes
    try:
        with path.open("rb") as handle:
            while budget > 0 and len(values) < limit:
                raw = handle.readline(budget)
                if not raw:
                    break
                budget -= len(raw)
                if not raw.endswith(b"\n") and budget <= 0:
                    break  # a line longer than the budget: its start is no JSON value
                if not raw.strip():
                    continue
                try:
                    values.append(json.loads(decode(raw)))
                except (ValueError, RecursionError):
                    continue
    except OSError:
        return values
    return values


# --- untrusted-JSON accessors: a mutated file may hold any type anywhere ---------------


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def clean_text(text: str) -> str:
    """Drop lone surrogates (valid in JSON, unencodable in UTF-8) so records serialize."""
    return text.encode("utf-8", errors="replace").decode("utf-8")


def blocks_text(content: Any, *, block_types: tuple[str, ...] = ("text",)) -> str:
    """The text of a message's content: a string, or a list of typed blocks."""
    if isinstance(content, str):
        return content
    parts = []
    for block in as_list(content):
        block = as_dict(block)
        if block.get("type") in block_types:
            parts.append(as_str(block.get("text")))
    return "\n".join(part for part in parts if part)


# --- timestamps --------------------------------------------------------------------


def _in_range(moment: datetime) -> datetime | None:
    return moment if _EARLIEST <= moment < _LATEST else None


def from_epoch_ms(value: Any) -> datetime | None:
    """Milliseconds since the epoch (Cline's ``ts``) to an aware datetime, if plausible."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    try:
        return _in_range(datetime.fromtimestamp(value / 1000, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return None


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 string (or epoch milliseconds) to an aware UTC datetime, if plausible."""
    if not isinstance(value, str):
        return from_epoch_ms(value)
    text = value.strip()
    if not text or len(text) > 64:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return _in_range(moment.astimezone(UTC))
    except (OverflowError, ValueError):
        return None


# --- paths -------------------------------------------------------------------------


def _posix(path: str) -> str:
    return path.replace("\\", "/")


def _is_windows_absolute(path: str) -> bool:
    return bool(re.match(r"^[A-Za-z]:/", path))


def repo_relative(path: str, workspace: str | None) -> str | None:
    """A path a tool wrote to, relative to the workspace; None if it lies outside it.

    Tools record absolute paths (Claude Code) or paths relative to the working directory
    (Cline, Codex). Paths that climb out with ``..`` or point elsewhere on the disk are
    not part of the repository and are dropped.
    """
    text = _posix(path.strip())
    if not text or "\x00" in text:
        return None
    absolute = text.startswith("/") or _is_windows_absolute(text)
    if absolute:
        if not workspace:
            return None
        base = _posix(workspace).rstrip("/")
        windows = _is_windows_absolute(base)
        probe, prefix = (text.lower(), base.lower()) if windows else (text, base)
        if probe == prefix or not probe.startswith(prefix + "/"):
            return None
        text = text[len(base) + 1 :]
    parts: list[str] = []
    for part in PurePosixPath(text).parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts) or None


def add_unique(items: list[str], value: str | None) -> None:
    """Append keeping first-seen order: the order files were touched is itself a signal."""
    if value and value not in items:
        items.append(value)


# --- ids ---------------------------------------------------------------------------


def short_hash(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", errors="replace"))
    return digest.hexdigest()[:16]


def candidate_id(source_format: str, raw: str, *, fallback: str = "") -> str:
    """``<format>-<session id>`` with only filesystem-safe characters, never empty."""
    safe = _UNSAFE_ID_CHARS.sub("-", raw).strip(".-")[:_MAX_ID_LENGTH].rstrip(".-")
    if not safe:
        safe = short_hash(fallback or raw)
    return f"{source_format}-{safe}"


# --- the apply_patch envelope (Codex; also Cline and Roo's apply_patch tool) --------

_PATCH_FILE_LINE = re.compile(
    r"^\*\*\* (?:Add|Update|Delete) File: (.+?)\s*$|^\*\*\* Move to: (.+?)\s*$", re.MULTILINE
)


def patch_paths(patch: str) -> list[str]:
    """Every file an apply_patch envelope adds, updates, deletes or moves to, in order."""
    if "*** Begin Patch" not in patch:
        return []
    paths: list[str] = []
    for match in _PATCH_FILE_LINE.finditer(patch):
        add_unique(paths, (match.group(1) or match.group(2) or "").strip())
    return paths


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace and cap length: intervention texts are summaries, not dumps."""
    return _short(text, limit)
