"""The agent's edits as the sessions record them, in a form that can be replayed.

Each tool records a change in its own idiom: Claude Code's ``Edit``/``MultiEdit``
(``old_string`` -> ``new_string``) and ``Write`` (whole content); Codex's ``apply_patch``
envelope (``*** Update File:`` with ``@@`` hunks of context, ``-`` and ``+`` lines); Cline's
``write_to_file`` and ``replace_in_file`` / Roo's ``apply_diff`` (SEARCH/REPLACE blocks).
All become ``AgentEdit``s: a whole new content, replacements of old text by new, or a
deletion. An edit that cannot be told that precisely (a file moved, a user-modified edit)
has no operation at all, which makes any attempt that depends on it unreplayable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tools.sessions.common import as_dict, as_list, as_str
from tools.sessions.records import AgentEdit, Replacement

_SEARCH_REPLACE = re.compile(
    r"^(?:-{3,}|<{3,}) ?SEARCH[^\n]*\n(.*?)\n?^={3,}[^\n]*\n(.*?)\n?^(?:\+{3,}|>{3,}) ?REPLACE",
    re.DOTALL | re.MULTILINE,
)
# Roo's apply_diff blocks start with ":start_line:N" and a "-------" line.
_ROO_HEADER = re.compile(r"\A(?::start_line:\s*\d+\s*\n)?(?::end_line:\s*\d+\s*\n)?-{3,}\n")
_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+?)\s*$")


@dataclass
class EditOps:
    """What one tool call would do to one file (``path`` as the tool named it)."""

    path: str
    content: str | None = None
    replacements: list[Replacement] = field(default_factory=list)
    delete: bool = False
    opaque: bool = False  # changed in a way that cannot be replayed

    def without_operations(self) -> EditOps:
        return EditOps(self.path, opaque=True)


def search_replace(diff: str) -> list[Replacement]:
    """The SEARCH/REPLACE blocks of a Cline ``replace_in_file`` or Roo ``apply_diff``."""
    blocks = []
    for match in _SEARCH_REPLACE.finditer(diff):
        old = _ROO_HEADER.sub("", match.group(1))
        blocks.append(Replacement(old=old, new=match.group(2)))
    return blocks


def claude_code_edit(name: str, tool_input: dict[str, Any], path: str) -> EditOps | None:
    """A Claude Code Write / Edit / MultiEdit call."""
    if name == "Write":
        return EditOps(path, content=as_str(tool_input.get("content")))
    if name == "Edit":
        return EditOps(path, replacements=[_claude_replacement(tool_input)])
    if name == "MultiEdit":
        edits = [_claude_replacement(as_dict(item)) for item in as_list(tool_input.get("edits"))]
        return EditOps(path, replacements=edits)
    return None


def _claude_replacement(tool_input: dict[str, Any]) -> Replacement:
    return Replacement(
        old=as_str(tool_input.get("old_string")),
        new=as_str(tool_input.get("new_string")),
        every=tool_input.get("replace_all") is True,
    )


def cline_edit(tool: str, params: dict[str, Any], path: str) -> EditOps | None:
    """A Cline / Roo / Kilo edit tool call (native input or the parameters of its XML)."""
    if tool == "write_to_file":
        return EditOps(path, content=as_str(params.get("content")))
    if tool in ("replace_in_file", "apply_diff"):
        blocks = search_replace(as_str(params.get("diff")))
        return EditOps(path, replacements=blocks) if blocks else EditOps(path, opaque=True)
    if tool == "apply_patch":
        return None  # read from the envelope by ``patch_edits``
    return EditOps(path, opaque=True)


def patch_edits(patch: str) -> list[EditOps]:
    """What an apply_patch envelope does, file by file."""
    if "*** Begin Patch" not in patch:
        return []
    ops: list[EditOps] = []
    current: EditOps | None = None
    hunk: list[str] | None = None

    def close_hunk() -> None:
        if current is not None and hunk:
            old = [line[1:] for line in hunk if line[:1] in (" ", "-")]
            new = [line[1:] for line in hunk if line[:1] in (" ", "+")]
            current.replacements.append(Replacement(old="\n".join(old), new="\n".join(new)))

    for raw in patch.splitlines():
        header = _PATCH_FILE.match(raw)
        if header or raw.startswith("*** End Patch"):
            close_hunk()
            hunk = None
            current = None
            if header:
                kind, path = header.groups()
                current = EditOps(path, delete=kind == "Delete")
                if kind == "Add":
                    current.content = ""
                ops.append(current)
            continue
        if current is None:
            continue
        if raw.startswith("*** Move to:"):
            current.opaque = True
        elif raw.startswith("*** End of File"):
            continue
        elif current.content is not None:
            if raw.startswith("+"):
                current.content += raw[1:] + "\n"
        elif raw.startswith("@@"):
            close_hunk()
            hunk = []
        elif hunk is not None:
            hunk.append(raw if raw[:1] in (" ", "-", "+") else " " + raw)
        else:
            hunk = [raw if raw[:1] in (" ", "-", "+") else " " + raw]
    close_hunk()
    return ops


def agent_edit(ops: EditOps, path: str, at: datetime | None, *, applied: bool) -> AgentEdit:
    """The record of one edit, at its repo-relative ``path``."""
    if ops.opaque:
        return AgentEdit(path=path, at=at, applied=applied)
    return AgentEdit(
        path=path,
        at=at,
        applied=applied,
        content=ops.content,
        replacements=ops.replacements,
        delete=ops.delete,
    )
