"""Cline task folders, and those of its forks Roo Code and Kilo Code.

On disk (VS Code global storage of the extension, e.g. ``saoudrizwan.claude-dev``,
``rooveterinaryinc.roo-cline``, ``kilocode.kilo-code``)::

    tasks/<task id>/api_conversation_history.json   what the model saw: [{role, content, ts?}]
    tasks/<task id>/ui_messages.json                what the user saw: [{ts, type: say|ask, ...}]
    tasks/<task id>/task_metadata.json              files_in_context [{path, record_source}]
    tasks/<task id>/history_item.json               Roo/Kilo: the task's index entry (workspace)
    state/taskHistory.json                          Cline: index [{id, ts, task,
                                                           cwdOnTaskInitialization}]

Cline task ids are epoch milliseconds, Roo and Kilo ids are UUIDs. What we read:

- first prompt: the ``<task>`` (Cline, old Roo) or ``<user_message>`` (Roo) block of the first
  API message; else the first ui message (``say: task`` in Cline, ``say: text`` in Roo).
- follow-ups: ui ``say: user_feedback`` (answers, replies to a finished attempt, resumption
  messages, feedback given with an approval or a denial); without ui messages, the
  ``<feedback>``/``<answer>``/``<user_message>`` blocks of later API messages.
- interventions: a tool result saying "The user denied this operation." (Roo: a JSON result
  with ``"status": "denied"``) is a denied action; "The user provided the following
  feedback" on an approved tool (Roo: ``"status": "approved"`` with feedback) is feedback;
  ui ``say: user_feedback_diff`` (and ``user_edited`` entries in task_metadata) are user
  edits; an ``api_req_started`` whose ``cancelReason`` is ``user_cancelled`` (or an
  assistant message ending "[Response interrupted by user]") is an interrupt.
- files touched: edit tools the model called and the user did not deny (XML tool tags in
  assistant text, or native ``tool_use`` blocks), ui ``say: tool`` edits (auto-approved,
  hence executed), and task_metadata entries the agent edited (``cline_edited``/``roo_edited``).
- repo and start commit: the first message's environment details carry a "Workspace
  Configuration" JSON with ``associatedRemoteUrls`` and ``latestGitCommitHash`` per root
  (recent Cline); otherwise intake resolves them from the workspace.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from harness.errors import SessionFormatError
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
    from_epoch_ms,
    one_line,
    patch_paths,
    read_json,
    repo_relative,
)
from tools.sessions.edits import EditOps, agent_edit, cline_edit, patch_edits
from tools.sessions.records import Candidate, CandidateHints, UserIntervention

ClineFlavor = Literal["cline", "roo", "kilo"]

UI_MESSAGES = "ui_messages.json"
API_HISTORY = "api_conversation_history.json"
TASK_METADATA = "task_metadata.json"
HISTORY_ITEM = "history_item.json"

# The VS Code extension ids whose global storage holds each flavor's tasks.
STORAGE_DIRS: dict[str, ClineFlavor] = {
    "saoudrizwan.claude-dev": "cline",
    "rooveterinaryinc.roo-cline": "roo",
    "kilocode.kilo-code": "kilo",
}

# Tools whose call changes a file; the value names the input holding the path.
EDIT_TOOLS = {
    "write_to_file": "path",
    "replace_in_file": "path",
    "apply_diff": "path",
    "insert_content": "path",
    "search_and_replace": "path",
    "search_replace": "file_path",
    "edit_file": "file_path",
    "edit": "file_path",
}
PATCH_TOOLS = {"apply_patch"}
# ClineSayTool.tool values that report a file change.
UI_EDIT_KINDS = {
    "editedExistingFile",
    "newFileCreated",
    "fileDeleted",
    "appliedDiff",
    "insertContent",
    "searchAndReplace",
}
AGENT_EDIT_SOURCES = {"cline_edited", "roo_edited", "kilo_edited"}

DENIED = "The user denied this operation."
APPROVAL_FEEDBACK = "The user provided the following feedback:"
STUCK_FEEDBACK = "The user has provided the following feedback to help guide you"
USER_EDITS = "The user made the following updates to your content"
TOOL_FAILED = "The tool execution failed"
INTERRUPTED = "[Response interrupted by user]"

_TAG_BLOCK = r"<{tag}>(.*?)</{tag}>"
_XML_EDIT = re.compile(r"<(" + "|".join(EDIT_TOOLS) + r")>\s*<path>(.*?)</path>", re.DOTALL)
_CWD_HEADER = re.compile(r"# Current (?:Working|Workspace) Directory \((.+?)\) Files")
_WORKSPACE_CONFIG = "# Workspace Configuration"
_FINAL_CONTENT_PATH = re.compile(r'<final_file_content path="([^"]+)">')
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def is_task_dir(path: Path) -> bool:
    """A folder holding one task's files (either transcript file is enough)."""
    return (path / UI_MESSAGES).is_file() or (path / API_HISTORY).is_file()


def detect_flavor(task_dir: Path) -> ClineFlavor:
    """Tell Cline, Roo and Kilo apart: by storage folder, then by what each one writes.

    Kilo is a Roo fork writing the same files; outside its storage folder only a
    ``--format kilo`` hint can name it.
    """
    try:
        parts = task_dir.resolve().parts
    except (OSError, RuntimeError):
        parts = task_dir.parts
    for part in reversed(parts):
        if part.lower() in STORAGE_DIRS:
            return STORAGE_DIRS[part.lower()]
    if (task_dir / HISTORY_ITEM).is_file():
        return "roo"
    try:
        head = (task_dir / TASK_METADATA).read_bytes()[:1_000_000]
    except OSError:
        head = b""
    if b"roo_edited" in head or b"roo_read_date" in head:
        return "roo"
    if b"cline_edited" in head or b"cline_read_date" in head:
        return "cline"
    if _UUID.match(task_dir.name):
        return "roo"
    return "cline"


@dataclass
class _Proposal:
    """An edit the model asked for, waiting for its tool result."""

    tool: str
    paths: list[str]
    ops: list[EditOps] = field(default_factory=list)


@dataclass
class _Reading:
    """What one pass over the API history found."""

    first_prompt: str = ""
    environment: str = ""
    follow_ups: list[str] = field(default_factory=list)
    interventions: list[UserIntervention] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    edits: list[tuple[EditOps, datetime | None, bool]] = field(default_factory=list)


def parse_cline_task(
    task_dir: Path,
    *,
    source_format: ClineFlavor | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Candidate:
    """One task folder to a Candidate; any defect is a one-line SessionFormatError."""
    if not task_dir.is_dir():
        raise format_error(task_dir, "not a task folder")
    incomplete: list[str] = []
    ui = _readable_list(task_dir / UI_MESSAGES, max_bytes, incomplete)
    api = _readable_list(task_dir / API_HISTORY, max_bytes, incomplete)
    if ui is None and api is None:
        if incomplete:
            raise format_error(task_dir, "; ".join(incomplete))
        raise format_error(task_dir, f"has neither {UI_MESSAGES} nor {API_HISTORY}")
    ui = [as_dict(item) for item in ui or []]
    api = [as_dict(item) for item in api or []]
    flavor = source_format or detect_flavor(task_dir)
    metadata = _optional_dict(task_dir / TASK_METADATA, max_bytes)
    index_entry = _index_entry(task_dir, max_bytes)

    ui_times = [moment for moment in (from_epoch_ms(item.get("ts")) for item in ui) if moment]
    reading = _read_api(api, _user_message_times(api, ui))
    first_prompt = reading.first_prompt or _first_ui_prompt(ui)
    if not first_prompt.strip():
        raise format_error(task_dir, "no task prompt found in the first message")

    workspace_config = _workspace_config(reading.environment)
    workspace = (
        as_str(index_entry.get("cwdOnTaskInitialization"))
        or as_str(index_entry.get("workspace"))
        or _cwd_from_environment(reading.environment)
        or _primary_root(workspace_config)
    ) or None
    root = as_dict(workspace_config.get(workspace or "")) or _single_root(workspace_config)

    follow_ups = _ui_follow_ups(ui) if ui else reading.follow_ups
    interventions = _ui_interventions(ui)
    interventions += _timestamped_from_ui(reading.interventions, ui)
    if not ui:
        interventions += _api_only_interventions(api)
    interventions += _watched_user_edits(metadata, interventions)
    interventions.sort(key=_order_key)

    files: list[str] = []
    for path in [*reading.files, *_ui_edited_paths(ui), *_metadata_edited_paths(metadata)]:
        add_unique(files, repo_relative(path, workspace))
    edits = [
        agent_edit(ops, relative, at, applied=applied)
        for ops, at, applied in reading.edits
        if (relative := repo_relative(ops.path, workspace))
    ]

    started = (
        min(ui_times, default=None)
        or _id_time(task_dir.name)
        or from_epoch_ms(index_entry.get("ts"))
    )
    ended = max(ui_times, default=None) or from_epoch_ms(index_entry.get("ts"))
    try:
        return Candidate(
            id=candidate_id(flavor, task_dir.name),
            source_format=flavor,
            source_path=str(task_dir),
            repo=_origin_url(root),
            start_commit=_commit_hash(root),
            first_prompt=clean_text(first_prompt.strip()),
            follow_ups=[clean_text(text) for text in follow_ups],
            user_interventions=interventions,
            files_touched=files,
            agent_edits=edits,
            started_at=started,
            ended_at=ended if ended and (not started or ended >= started) else started,
            workspace_path=clean_text(workspace) if workspace else None,
            hints=CandidateHints(),
            incomplete=incomplete,
        )
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise format_error(task_dir, f"produced an invalid record ({error})") from error


# --- loading -------------------------------------------------------------------------


def _readable_list(path: Path, max_bytes: int, problems: list[str]) -> list[Any] | None:
    """One transcript file; a truncated or corrupt one is noted and skipped, so the other
    can still tell the session (a file copied while Cline was writing it ends mid-JSON)."""
    try:
        return _optional_list(path, max_bytes)
    except SessionFormatError as error:
        problems.append(f"{path.name} could not be read ({error.message.split(': ', 1)[-1]})")
        return None


def _optional_list(path: Path, max_bytes: int) -> list[Any] | None:
    if not path.is_file():
        return None
    value = read_json(path, max_bytes)
    if not isinstance(value, list):
        raise format_error(path, f"expected a JSON array of messages, found {type(value).__name__}")
    return value


def _optional_dict(path: Path, max_bytes: int) -> dict[str, Any]:
    """Side files (metadata, index) only enrich a task: a broken one is ignored."""
    if not path.is_file():
        return {}
    try:
        return as_dict(read_json(path, max_bytes))
    except SessionFormatError:
        return {}


def _index_entry(task_dir: Path, max_bytes: int) -> dict[str, Any]:
    """The task's entry in Roo's history_item.json or Cline's state/taskHistory.json."""
    own = _optional_dict(task_dir / HISTORY_ITEM, max_bytes)
    if own:
        return own
    index = task_dir.parent.parent / "state" / "taskHistory.json"
    try:
        if not index.is_file() or index.is_symlink():
            return {}
        stat = index.stat()
    except OSError:
        return {}
    return _history_index(index, stat.st_mtime_ns, stat.st_size, max_bytes).get(task_dir.name, {})


@functools.lru_cache(maxsize=8)
def _history_index(
    index: Path, mtime_ns: int, size: int, max_bytes: int
) -> dict[str, dict[str, Any]]:
    """Cline's index of every task, read once per run rather than once per task (it holds
    thousands of entries); the modification time and size in the key drop stale copies."""
    try:
        entries = read_json(index, max_bytes)
    except SessionFormatError:
        return {}
    by_id: dict[str, dict[str, Any]] = {}
    for entry in as_list(entries):
        entry = as_dict(entry)
        if isinstance(entry.get("id"), str):
            by_id.setdefault(entry["id"], entry)
    return by_id


# --- the API history -----------------------------------------------------------------


def _content_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [as_dict(block) for block in as_list(content)]


def _result_text(block: dict[str, Any]) -> str:
    return blocks_text(block.get("content"))


def _tag_blocks(text: str, tag: str) -> list[str]:
    return [match.strip() for match in re.findall(_TAG_BLOCK.format(tag=tag), text, re.DOTALL)]


def _roo_status(text: str) -> dict[str, Any]:
    """Roo reports tool outcomes as JSON strings: {"status": "denied"|"approved", ...}."""
    stripped = text.strip()
    if not (stripped.startswith("{") and '"status"' in stripped):
        return {}
    try:
        return as_dict(json.loads(stripped))
    except (ValueError, RecursionError):
        return {}


def _proposals(message: dict[str, Any]) -> tuple[dict[str, _Proposal], list[_Proposal]]:
    """Edits an assistant message asks for: native tool_use blocks by id, XML tags in text."""
    native: dict[str, _Proposal] = {}
    xml: list[_Proposal] = []
    for block in _content_blocks(message):
        kind = block.get("type")
        if kind == "tool_use":
            name = as_str(block.get("name"))
            tool_input = as_dict(block.get("input"))
            paths = _tool_paths(name, tool_input)
            native[as_str(block.get("id"))] = _Proposal(name, paths, _tool_ops(name, tool_input))
        elif kind == "text":
            text = as_str(block.get("text"))
            for match in _XML_EDIT.finditer(text):
                path = match.group(2).strip()
                ops = cline_edit(match.group(1), _xml_params(text, match), path)
                xml.append(_Proposal(match.group(1), [path], [ops] if ops else []))
            if "<apply_patch>" in text:
                xml.append(_Proposal("apply_patch", patch_paths(text), patch_edits(text)))
    return native, xml


def _tool_ops(name: str, tool_input: dict[str, Any]) -> list[EditOps]:
    if name in PATCH_TOOLS:
        return patch_edits(as_str(tool_input.get("input")) or as_str(tool_input.get("patch")))
    if name in EDIT_TOOLS:
        path = as_str(tool_input.get(EDIT_TOOLS[name])) or as_str(tool_input.get("path"))
        ops = cline_edit(name, tool_input, path) if path else None
        return [ops] if ops else []
    return []


def _xml_params(text: str, match: re.Match[str]) -> dict[str, str]:
    """The parameters of one XML tool call: the text of each child tag, one newline of
    padding on either side removed (Cline writes ``<content>\n...\n</content>``)."""
    end = text.find(f"</{match.group(1)}>", match.end())
    body = text[match.start() : end if end >= 0 else len(text)]
    params = {}
    for name in ("content", "diff"):
        found = re.search(rf"<{name}>(.*?)</{name}>", body, re.DOTALL)
        if found:
            value = found.group(1)
            value = value[1:] if value.startswith("\n") else value
            params[name] = value[:-1] if value.endswith("\n") else value
    return params


def _tool_paths(name: str, tool_input: dict[str, Any]) -> list[str]:
    if name in PATCH_TOOLS:
        return patch_paths(as_str(tool_input.get("input")) or as_str(tool_input.get("patch")))
    if name in EDIT_TOOLS:
        path = as_str(tool_input.get(EDIT_TOOLS[name])) or as_str(tool_input.get("path"))
        return [path] if path else []
    return []


def _describe(proposals: list[_Proposal]) -> str:
    for proposal in proposals:
        if proposal.paths:
            return one_line(f"{proposal.tool} {proposal.paths[0]}")
    return proposals[0].tool if proposals else "tool use"


def _read_api(api: list[dict[str, Any]], times: list[datetime | None]) -> _Reading:
    reading = _Reading()
    first_user = next((i for i, m in enumerate(api) if m.get("role") == "user"), None)
    native: dict[str, _Proposal] = {}
    xml: list[_Proposal] = []
    for index, message in enumerate(api):
        role = message.get("role")
        if role == "assistant":
            native, xml = _proposals(message)
            continue
        if role != "user":
            continue
        texts = [as_str(b.get("text")) for b in _content_blocks(message) if b.get("type") == "text"]
        if index == first_user:
            joined = "\n".join(texts)
            prompts = _tag_blocks(joined, "task") or _tag_blocks(joined, "user_message")
            reading.first_prompt = prompts[0] if prompts else ""
            reading.environment = joined
            continue
        _read_user_turn(message, texts, native, xml, times[index], reading)
        native, xml = {}, []
    return reading


def _read_user_turn(
    message: dict[str, Any],
    texts: list[str],
    native: dict[str, _Proposal],
    xml: list[_Proposal],
    at: datetime | None,
    reading: _Reading,
) -> None:
    """One user message after the task: tool outcomes, the user's words, who stepped in."""
    denied_ids: set[str] = set()
    failed_ids: set[str] = set()
    feedback: list[str] = []
    approved_feedback = False
    result_texts: list[str] = []
    for block in _content_blocks(message):
        if block.get("type") != "tool_result":
            continue
        text = _result_text(block)
        result_texts.append(text)
        status = _roo_status(text)
        if status.get("status") == "denied" or DENIED in text:
            denied_ids.add(as_str(block.get("tool_use_id")))
        elif status.get("status") == "error" or text.startswith(TOOL_FAILED):
            failed_ids.add(as_str(block.get("tool_use_id")))
        if status.get("status") == "approved" and as_str(status.get("feedback")).strip():
            approved_feedback = True
        if as_str(status.get("feedback")).strip():
            feedback.append(as_str(status["feedback"]).strip())
    joined = "\n".join([*texts, *result_texts])
    feedback += _tag_blocks(joined, "feedback")
    denials = len(denied_ids) + sum(DENIED in text for text in texts)

    for use_id, proposal in native.items():
        applied = use_id not in denied_ids | failed_ids
        if applied:
            reading.files.extend(proposal.paths)
        reading.edits += [(ops, at, applied) for ops in proposal.ops]
    for proposal in xml:
        if not denials:
            reading.files.extend(proposal.paths)
        reading.edits += [(ops, at, not denials) for ops in proposal.ops]
    if USER_EDITS in joined:
        for path in _FINAL_CONTENT_PATH.findall(joined):
            reading.files.append(path)

    said = "\n\n".join(feedback)
    if denials:
        denied = [native[i] for i in denied_ids if i in native] or xml
        for number in range(denials):
            text = said if number == 0 and said else _describe(denied)
            reading.interventions.append(UserIntervention(kind="denied_action", text=text, at=at))
    elif said and (approved_feedback or APPROVAL_FEEDBACK in joined or STUCK_FEEDBACK in joined):
        reading.interventions.append(UserIntervention(kind="feedback", text=said, at=at))
    reading.follow_ups.extend(feedback)
    for tag in ("answer", "user_message"):
        reading.follow_ups.extend(_tag_blocks(joined, tag))


def _user_message_times(
    api: list[dict[str, Any]], ui: list[dict[str, Any]]
) -> list[datetime | None]:
    """When each API message was sent: its own ``ts`` (recent Cline), else the matching ui
    ``api_req_started`` (one per request, in order) when the counts line up."""
    times: list[datetime | None] = [from_epoch_ms(message.get("ts")) for message in api]
    if any(times):
        return times
    starts = [
        from_epoch_ms(item.get("ts"))
        for item in ui
        if item.get("type") == "say" and item.get("say") == "api_req_started"
    ]
    users = [index for index, message in enumerate(api) if message.get("role") == "user"]
    if len(starts) == len(users):
        for index, moment in zip(users, starts, strict=True):
            times[index] = moment
    return times


# --- ui messages ---------------------------------------------------------------------


def _ui_json(item: dict[str, Any]) -> dict[str, Any]:
    text = as_str(item.get("text"))
    if not text.startswith("{"):
        return {}
    try:
        return as_dict(json.loads(text))
    except (ValueError, RecursionError):
        return {}


def _first_ui_prompt(ui: list[dict[str, Any]]) -> str:
    for item in ui[:3]:
        if item.get("type") == "say" and item.get("say") in ("task", "text"):
            return as_str(item.get("text"))
    return ""


def _ui_follow_ups(ui: list[dict[str, Any]]) -> list[str]:
    return [
        as_str(item.get("text")).strip()
        for item in ui
        if item.get("type") == "say"
        and item.get("say") == "user_feedback"
        and as_str(item.get("text")).strip()
    ]


def _ui_interventions(ui: list[dict[str, Any]]) -> list[UserIntervention]:
    found: list[UserIntervention] = []
    for index, item in enumerate(ui):
        if item.get("type") != "say":
            continue
        at = from_epoch_ms(item.get("ts"))
        if item.get("say") == "user_feedback_diff":
            path = as_str(_ui_json(item).get("path"))
            found.append(UserIntervention(kind="user_edit", text=path, at=at))
        elif (
            item.get("say") == "api_req_started"
            and _ui_json(item).get("cancelReason") == "user_cancelled"
        ):
            # The request's own ts is when it started; the stop came with the last words
            # the agent streamed, the next message in the ui.
            following = ui[index + 1] if index + 1 < len(ui) else {}
            at = from_epoch_ms(following.get("ts")) or at
            found.append(UserIntervention(kind="interrupt", text="stopped the agent", at=at))
    return found


def _timestamped_from_ui(
    interventions: list[UserIntervention], ui: list[dict[str, Any]]
) -> list[UserIntervention]:
    """Denials and feedback found in the API history get the time of the matching ui
    ``user_feedback`` when their own message carried none."""
    feedback_times = {
        as_str(item.get("text")).strip(): from_epoch_ms(item.get("ts"))
        for item in ui
        if item.get("say") == "user_feedback"
    }
    return [
        item if item.at else item.model_copy(update={"at": feedback_times.get(item.text)})
        for item in interventions
    ]


def _api_only_interventions(api: list[dict[str, Any]]) -> list[UserIntervention]:
    """Without ui messages, interrupts and user edits show only as API text."""
    found: list[UserIntervention] = []
    for message in api:
        text = "\n".join(as_str(b.get("text")) for b in _content_blocks(message))
        at = from_epoch_ms(message.get("ts"))
        if message.get("role") == "assistant" and INTERRUPTED in text:
            found.append(UserIntervention(kind="interrupt", text="stopped the agent", at=at))
        if message.get("role") == "user" and USER_EDITS in text:
            path = next(iter(_FINAL_CONTENT_PATH.findall(text)), "")
            found.append(UserIntervention(kind="user_edit", text=path, at=at))
    return found


def _ui_edited_paths(ui: list[dict[str, Any]]) -> list[str]:
    paths: list[str] = []
    for item in ui:
        if item.get("type") != "say" or item.get("partial") is True:
            continue
        if item.get("say") in ("tool", "user_feedback_diff"):
            payload = _ui_json(item)
            if as_str(payload.get("tool")) in UI_EDIT_KINDS:
                paths.append(as_str(payload.get("path")))
    return paths


# --- task_metadata.json ----------------------------------------------------------------


def _metadata_entries(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    return [as_dict(entry) for entry in as_list(metadata.get("files_in_context"))]


def _metadata_edited_paths(metadata: dict[str, Any]) -> list[str]:
    return [
        as_str(entry.get("path"))
        for entry in _metadata_entries(metadata)
        if as_str(entry.get("record_source")) in AGENT_EDIT_SOURCES
    ]


def _watched_user_edits(
    metadata: dict[str, Any], known: list[UserIntervention]
) -> list[UserIntervention]:
    """Files the user changed outside the agent while the task ran (a file watcher saw it).

    The diff-view edits already reported as ``user_feedback_diff`` are tracked the same
    way; those paths are skipped so one edit is not counted twice.
    """
    seen = {item.text for item in known if item.kind == "user_edit"}
    found: list[UserIntervention] = []
    for entry in _metadata_entries(metadata):
        path = as_str(entry.get("path"))
        if entry.get("record_source") != "user_edited" or not path or path in seen:
            continue
        seen.add(path)
        at = from_epoch_ms(entry.get("user_edit_date"))
        found.append(UserIntervention(kind="user_edit", text=path, at=at))
    return found


# --- environment details ----------------------------------------------------------------


def _cwd_from_environment(environment: str) -> str:
    match = _CWD_HEADER.search(environment)
    if not match or match.group(1).startswith("Primary:"):
        return ""
    return match.group(1).strip()


def _workspace_config(environment: str) -> dict[str, Any]:
    """The ``{"workspaces": {path: {hint, associatedRemoteUrls, latestGitCommitHash}}}`` JSON."""
    start = environment.find(_WORKSPACE_CONFIG)
    if start < 0:
        return {}
    brace = environment.find("{", start)
    if brace < 0:
        return {}
    try:
        value, _ = json.JSONDecoder().raw_decode(environment, brace)
    except (ValueError, RecursionError):
        return {}
    return as_dict(as_dict(value).get("workspaces"))


def _primary_root(workspaces: dict[str, Any]) -> str:
    return next(iter(workspaces), "") if len(workspaces) == 1 else ""


def _single_root(workspaces: dict[str, Any]) -> dict[str, Any]:
    return as_dict(next(iter(workspaces.values()))) if len(workspaces) == 1 else {}


def _origin_url(root: dict[str, Any]) -> str | None:
    """``associatedRemoteUrls`` entries read "<remote>: <url>"; prefer origin."""
    remotes = [as_str(entry) for entry in as_list(root.get("associatedRemoteUrls"))]
    pairs = [entry.split(": ", 1) for entry in remotes if ": " in entry]
    for name, url in pairs:
        if name == "origin" and url.strip():
            return clean_text(url.strip())
    return clean_text(pairs[0][1].strip()) if pairs and pairs[0][1].strip() else None


def _commit_hash(root: dict[str, Any]) -> str | None:
    value = as_str(root.get("latestGitCommitHash")).strip()
    return value if re.fullmatch(r"[0-9a-fA-F]{7,64}", value) else None


def _id_time(task_id: str) -> datetime | None:
    if task_id.isascii() and task_id.isdigit() and len(task_id) <= 15:
        return from_epoch_ms(int(task_id))
    return None


def _order_key(item: UserIntervention) -> tuple[bool, float]:
    return (item.at is None, item.at.timestamp() if item.at else 0.0)
