"""Reading unified diffs: which lines a fix adds, and which of them are worth searching for.

A fix's added lines are what a leak looks like: the fixed file copied into the image, a
leftover patch, an instruction that quotes the solution. Short or generic lines (``}``,
``return x;``) would match everywhere, so only *distinctive* ones are searched for, and a
file counts as a copy of the fix only when it holds enough of them together.
"""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, Field

# A line must have this many letters/digits to be searched for at all.
MIN_DISTINCTIVE_ALNUM = 8
MIN_DISTINCTIVE_CHARS = 12
# A file holding the fix must contain at least this much of it, in characters, so one short
# generic line is never enough.
MIN_MATCHED_CHARS = 30

_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1[^\n]*\n")
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


class FileChange(BaseModel):
    """What a diff does to one file (paths without the a/ b/ prefixes)."""

    path: str
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    context: list[str] = Field(default_factory=list)


def parse_unified_diff(text: str) -> list[FileChange]:
    """Split a unified diff (git or plain) into per-file changes. Unparseable text gives [].

    Hunks are read by their line counts, so a removed line that itself starts with "--"
    is not mistaken for the next file's header.
    """
    changes: list[FileChange] = []
    current: FileChange | None = None
    old_path = ""
    old_left = new_left = 0
    for line in text.splitlines():
        if old_left > 0 or new_left > 0:
            if current is None:
                old_left = new_left = 0
            elif line.startswith("+"):
                current.added.append(line[1:])
                new_left -= 1
                continue
            elif line.startswith("-"):
                current.removed.append(line[1:])
                old_left -= 1
                continue
            elif line.startswith(" ") or line == "":
                # Blank context lines often lose their leading space in heredocs and e-mail.
                current.context.append(line[1:])
                old_left, new_left = old_left - 1, new_left - 1
                continue
            elif line.startswith("\\"):
                continue  # "\ No newline at end of file"
            else:
                old_left = new_left = 0  # miscounted hunk: fall through to the headers
        hunk = _HUNK.match(line)
        if line.startswith("--- "):
            old_path = _strip_prefix(line[4:])
        elif line.startswith("+++ "):
            new_path = _strip_prefix(line[4:])
            current = FileChange(path=old_path if new_path == "/dev/null" else new_path)
            changes.append(current)
        elif hunk and current is not None:
            old_left = 1 if hunk.group(1) is None else int(hunk.group(1))
            new_left = 1 if hunk.group(2) is None else int(hunk.group(2))
    return changes


def _strip_prefix(path: str) -> str:
    path = path.split("\t", 1)[0].strip()
    if path.startswith(("a/", "b/")):
        return path[2:]
    return path


def diffs_in_script(script: str) -> str:
    """The unified diffs embedded in a shell script's heredocs (as solve.sh scripts carry them)."""
    found: list[str] = []
    for match in _HEREDOC.finditer(script):
        terminator = match.group(2)
        body_start = match.end()
        end = re.search(rf"^\s*{re.escape(terminator)}\s*$", script[body_start:], re.MULTILINE)
        body = script[body_start : body_start + end.start()] if end else script[body_start:]
        if parse_unified_diff(body):
            found.append(body)
    return "".join(found)


def normalize_space(text: str) -> str:
    return " ".join(text.split())


def is_distinctive(line: str) -> bool:
    stripped = line.strip()
    alnum = sum(char.isalnum() for char in stripped)
    return len(stripped) >= MIN_DISTINCTIVE_CHARS and alnum >= MIN_DISTINCTIVE_ALNUM


def added_lines(change: FileChange) -> list[str]:
    """Stripped added lines that really are new: not also among the diff's old lines."""
    old = {line.strip() for line in change.removed + change.context}
    seen: set[str] = set()
    result: list[str] = []
    for line in change.added:
        stripped = line.strip()
        if stripped and stripped not in old and stripped not in seen:
            seen.add(stripped)
            result.append(stripped)
    return result


def required_matches(lines: list[str]) -> int:
    """How many of a file's distinctive added lines another file must hold to be its copy."""
    return max(1, math.ceil(len(lines) / 2))


def copy_of_fix(found: set[str], lines: list[str]) -> list[str]:
    """The fix lines among ``found`` if they are enough to call their file a copy; else []."""
    present = [line for line in lines if line in found]
    if len(present) >= required_matches(lines) and sum(map(len, present)) >= MIN_MATCHED_CHARS:
        return present
    return []
