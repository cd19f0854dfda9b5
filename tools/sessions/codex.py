"""Codex CLI rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``.

Every line is ``{"timestamp", "type", "payload"}``. The first is ``session_meta``: the
session ``id``, ``timestamp``, ``cwd`` and ``git`` (``commit_hash``, ``branch``,
``repository_url``) taken when the session began. Then ``response_item`` (what the model
saw and did: ``message``, ``function_call``/``custom_tool_call`` and their outputs,
``local_shell_call``, ``reasoning``), ``event_msg`` (``user_message`` with the user's
text, ``agent_message``, ``turn_aborted``, ...), ``turn_context`` and ``compacted``.
Rollouts written before mid-2025 start with a bare ``{"id", "timestamp", "git"}`` line
followed by bare response items; those are read too.

What we read:

- prompts: ``event_msg`` ``user_message`` texts (else user ``message`` items), without the
  ``<environment_context>``/``<user_instructions>``/AGENTS.md text Codex injects.
- interventions: ``turn_aborted`` with reason ``interrupted`` is an interrupt; a tool
  output saying the call was "rejected by user" is a denied action; a user message that
  arrives while the agent is between a tool call and its final answer is feedback.
- files touched: paths in ``apply_patch`` envelopes (the freeform tool, the function tool,
  or ``apply_patch``/heredoc through the shell tool) whose call was neither rejected nor
  failed, and ``patch_apply_*`` events when the rollout kept them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from tools.sessions.common import (
    DEFAULT_MAX_BYTES,
    add_unique,
    as_dict,
    as_list,
    as_str,
    blocks_text,
    candidate_id,
    clean_text,
    format_error,
    one_line,
    parse_timestamp,
    patch_paths,
    read_jsonl,
    repo_relative,
)
from tools.sessions.edits import EditOps, agent_edit, patch_edits
from tools.sessions.records import Candidate, CandidateHints, UserIntervention

TOOL_CALLS = {"function_call", "custom_tool_call", "local_shell_call"}
TOOL_OUTPUTS = {"function_call_output", "custom_tool_call_output"}
SHELL_TOOLS = {"shell", "container.exec", "local_shell", "shell_command", "exec_command"}
REJECTED = "rejected by user"
# Messages Codex sends as "user" that the user did not type.
_INJECTED_PREFIXES = (
    "<environment_context>",
    "<user_instructions>",
    "<user_shell_command>",
    "<turn_aborted>",
    "# AGENTS.md instructions",
)
_INJECTED_KINDS = {"environment_context", "user_instructions"}
_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")


def looks_like_codex(record: Any) -> bool:
    """A first line Codex would write (current or pre-2025-08 rollouts)."""
    record = as_dict(record)
    if record.get("type") == "session_meta":
        return True
    return (
        "type" not in record
        and "id" in record
        and "timestamp" in record
        and ("instructions" in record or "git" in record)
    )


@dataclass
class _Call:
    description: str
    paths: list[str]
    workdir: str
    ops: list[EditOps] = field(default_factory=list)


@dataclass
class _Reading:
    prompts: list[str] = field(default_factory=list)
    fallback_prompts: list[str] = field(default_factory=list)
    interventions: list[UserIntervention] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    edits: list[tuple[EditOps, datetime | None, bool]] = field(default_factory=list)
    calls: dict[str, _Call] = field(default_factory=dict)
    agent_busy: bool = False


def parse_codex_rollout(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Candidate:
    """One rollout file to a Candidate; any defect is a one-line SessionFormatError."""
    read = read_jsonl(path, max_bytes)
    records = read.records
    first = records[0]
    if first.get("type") == "session_meta":
        meta = as_dict(first.get("payload"))
        lines = records[1:]
    elif looks_like_codex(first):
        meta = first
        lines = [{"type": "response_item", "payload": record} for record in records[1:]]
    else:
        raise format_error(path, "first line is not a Codex session_meta record")

    workspace = as_str(meta.get("cwd")) or None
    reading = _Reading()
    for line in lines:
        at = parse_timestamp(line.get("timestamp"))
        payload = as_dict(line.get("payload"))
        kind = line.get("type")
        if kind == "event_msg":
            _read_event(payload, at, reading)
        elif kind == "response_item":
            _read_item(payload, at, workspace, reading)
        elif kind == "turn_context":
            workspace = workspace or as_str(payload.get("cwd")) or None

    prompts = reading.prompts or reading.fallback_prompts
    if not prompts:
        raise format_error(path, "has no user message")
    files: list[str] = []
    for file_path in reading.files:
        add_unique(files, repo_relative(file_path, workspace))
    edits = [
        agent_edit(ops, relative, at, applied=applied)
        for ops, at, applied in reading.edits
        if (relative := repo_relative(ops.path, workspace))
    ]
    git = as_dict(meta.get("git"))
    commit = as_str(git.get("commit_hash")).strip()
    times = [moment for moment in (parse_timestamp(r.get("timestamp")) for r in records) if moment]
    started = parse_timestamp(meta.get("timestamp")) or min(times, default=None)
    ended = max(times, default=None)
    session_id = as_str(meta.get("id")) or path.stem.removeprefix("rollout-")
    try:
        return Candidate(
            id=candidate_id("codex", session_id, fallback=str(path)),
            source_format="codex",
            source_path=str(path),
            repo=clean_text(as_str(git.get("repository_url")).strip()) or None,
            start_commit=commit if _COMMIT.fullmatch(commit) else None,
            first_prompt=clean_text(prompts[0]),
            follow_ups=[clean_text(text) for text in prompts[1:]],
            user_interventions=reading.interventions,
            files_touched=files,
            agent_edits=edits,
            started_at=started,
            ended_at=ended if ended and (not started or ended >= started) else started,
            workspace_path=clean_text(workspace) if workspace else None,
            incomplete=read.problems(),
            hints=CandidateHints(branch=clean_text(as_str(git.get("branch"))) or None),
        )
    except ValueError as error:
        raise format_error(path, f"produced an invalid record ({error})") from error


def _is_injected(text: str) -> bool:
    return text.lstrip().startswith(_INJECTED_PREFIXES)


def _read_event(payload: dict[str, Any], at: datetime | None, reading: _Reading) -> None:
    kind = as_str(payload.get("type"))
    if kind == "user_message":
        text = as_str(payload.get("message")).strip()
        if not text or as_str(payload.get("kind")) in _INJECTED_KINDS or _is_injected(text):
            return
        if reading.agent_busy:
            reading.interventions.append(UserIntervention(kind="feedback", text=text, at=at))
        reading.prompts.append(text)
        reading.agent_busy = False
    elif kind == "turn_aborted":
        if payload.get("reason") == "interrupted":
            reading.interventions.append(
                UserIntervention(kind="interrupt", text="stopped the agent", at=at)
            )
        reading.agent_busy = False
    elif kind in ("patch_apply_begin", "patch_apply_end"):
        if kind == "patch_apply_end" and payload.get("success") is False:
            return
        reading.files.extend(str(name) for name in as_dict(payload.get("changes")))


def _read_item(
    payload: dict[str, Any], at: datetime | None, workspace: str | None, reading: _Reading
) -> None:
    kind = as_str(payload.get("type"))
    if kind == "message":
        if payload.get("role") == "user":
            text = blocks_text(payload.get("content"), block_types=("input_text", "text"))
            if text.strip() and not _is_injected(text):
                reading.fallback_prompts.append(text.strip())
        elif payload.get("role") == "assistant":
            reading.agent_busy = False
    elif kind in TOOL_CALLS:
        reading.agent_busy = True
        call = _call(payload, workspace)
        reading.calls[as_str(payload.get("call_id")) or as_str(payload.get("id"))] = call
        if kind == "local_shell_call" and payload.get("status") == "completed":
            reading.files.extend(call.paths)
            reading.edits += [(ops, at, True) for ops in call.ops]
    elif kind in TOOL_OUTPUTS:
        call = reading.calls.pop(as_str(payload.get("call_id")), None)
        output, exit_code = _output(payload.get("output"))
        applied = REJECTED not in output.lower() and exit_code in (None, 0)
        if call:
            reading.edits += [(ops, at, applied) for ops in call.ops]
        if REJECTED in output.lower():
            description = call.description if call else "tool call"
            reading.interventions.append(
                UserIntervention(kind="denied_action", text=description, at=at)
            )
        elif call and exit_code in (None, 0):
            reading.files.extend(call.paths)
    elif kind == "reasoning":
        reading.agent_busy = True


def _call(payload: dict[str, Any], workspace: str | None) -> _Call:
    """What a tool call is about, and which files it would patch."""
    name = as_str(payload.get("name"))
    if payload.get("type") == "custom_tool_call":
        text = as_str(payload.get("input"))
        return _Call(
            one_line(f"{name} {', '.join(patch_paths(text))}"),
            patch_paths(text),
            "",
            patch_edits(text),
        )
    if payload.get("type") == "local_shell_call":
        action = as_dict(payload.get("action"))
        command = _command_text(action.get("command"))
        workdir = as_str(action.get("working_directory"))
        paths = _anchor(patch_paths(command), workdir, workspace)
        label = f"apply_patch {', '.join(paths)}" if paths else command
        return _Call(one_line(label), paths, workdir, _anchored_ops(command, workdir, workspace))
    arguments = _arguments(payload.get("arguments"))
    workdir = as_str(arguments.get("workdir"))
    if name == "apply_patch":
        text = as_str(arguments.get("input")) or as_str(arguments.get("patch"))
        paths = _anchor(patch_paths(text), workdir, workspace)
        ops = _anchored_ops(text, workdir, workspace)
        return _Call(one_line(f"apply_patch {', '.join(paths)}"), paths, workdir, ops)
    if name in SHELL_TOOLS:
        command = _command_text(arguments.get("command") or arguments.get("cmd"))
        paths = _anchor(patch_paths(command), workdir, workspace)
        if paths:
            ops = _anchored_ops(command, workdir, workspace)
            return _Call(one_line(f"apply_patch {', '.join(paths)}"), paths, workdir, ops)
        return _Call(one_line(command), paths, workdir)
    return _Call(one_line(name or "tool call"), [], workdir)


def _anchored_ops(patch: str, workdir: str, workspace: str | None) -> list[EditOps]:
    ops = patch_edits(patch)
    for op, path in zip(ops, _anchor([op.path for op in ops], workdir, workspace), strict=True):
        op.path = path
    return ops


def _arguments(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return {}
    try:
        return as_dict(json.loads(value))
    except (ValueError, RecursionError):
        return {}


def _command_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return " ".join(as_str(part) for part in as_list(value))


def _anchor(paths: list[str], workdir: str, workspace: str | None) -> list[str]:
    """Shell-run patches name paths relative to the command's workdir, not the session's."""
    if not workdir or not workspace or workdir == workspace:
        return paths
    anchored = []
    for path in paths:
        is_absolute = path.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", path)
        anchored.append(path if is_absolute else str(PurePosixPath(workdir) / path))
    return anchored


def _output(value: Any) -> tuple[str, int | None]:
    """A tool output's text and exit code: a string, or JSON {"output", "metadata"}."""
    text = as_str(value) or blocks_text(value, block_types=("input_text", "output_text", "text"))
    if not text.lstrip().startswith("{"):
        return text, None
    try:
        data = as_dict(json.loads(text))
    except (ValueError, RecursionError):
        return text, None
    code = as_dict(data.get("metadata")).get("exit_code")
    exit_code = code if isinstance(code, int) and not isinstance(code, bool) else None
    return as_str(data.get("output")) or text, exit_code
