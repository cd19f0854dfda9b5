"""Session seeds as their tools record them: Claude Code, Codex CLI, Cline, candidates.jsonl.

A session seed hands builders what the factory gets from a real user: a session file (not
the commits), laid out as the tool writes it, whose workspace maps to the seed's
repository. What happened in it is simple and the same in every format: the user's first
prompt, the agent editing the files the session names, then each follow-up followed by
another edit. The shapes follow the writers the session parsers are tested against
(``tests/fixtures/sessions.py``); ``tools.sessions`` must read them back to the seed's
words, workspace and (Codex, candidates.jsonl) start commit, which ``seed check`` verifies.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness.fsio import write_text_atomic
from meta_bench.records import SessionFormat

CLINE_STORAGE = "saoudrizwan.claude-dev"
_STEP_SEC = 120
_EDIT = {"old": "return old_value", "new": "return new_value"}


@dataclass
class SessionScript:
    """What happened: prompts and edits in order, where, and when it began."""

    session_id: str
    workspace: str
    started_at: datetime
    first_prompt: str
    follow_ups: list[str]
    files: list[str]
    branch: str = "main"
    start_commit: str | None = None
    repo: str | None = None
    steps: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        first_file = self.files[:1]
        steps = [("prompt", self.first_prompt)] + [("edit", path) for path in self.files]
        for text in self.follow_ups:
            steps += [("prompt", text)] + [("edit", path) for path in first_file]
        self.steps = steps

    def at(self, index: int, tick: int = 0) -> datetime:
        return self.started_at + timedelta(seconds=_STEP_SEC * index + tick)


def session_id_for(seed_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kettle-meta-bench/{seed_id}"))


def write_session(session_format: SessionFormat, root: Path, script: SessionScript) -> Path:
    """Write the session under ``root``; return what to hand ``tools.sessions.intake``."""
    if session_format == "claude_code":
        return _write_claude_code(root / ".claude" / "projects", script)
    if session_format == "codex":
        return _write_codex(root / ".codex" / "sessions", script)
    if session_format == "cline":
        return _write_cline(root / CLINE_STORAGE, script)
    return _write_candidates(root / "candidates.jsonl", script)


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


# --- Claude Code: ~/.claude/projects/<cwd with non-alphanumerics as '-'>/<id>.jsonl ----------


def _write_claude_code(projects: Path, script: SessionScript) -> Path:
    records: list[dict[str, Any]] = []
    parent: list[str | None] = [None]
    tick = [0]

    def record(kind: str, index: int, **fields: Any) -> None:
        tick[0] += 1
        record_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{script.session_id}/{len(records)}"))
        records.append(
            {
                "parentUuid": parent[0],
                "isSidechain": False,
                "userType": "external",
                "cwd": script.workspace,
                "sessionId": script.session_id,
                "version": "2.0.14",
                "gitBranch": script.branch,
                "type": kind,
                **fields,
                "uuid": record_uuid,
                "timestamp": _iso(script.at(index, tick[0])),
            }
        )
        parent[0] = record_uuid

    def assistant(index: int, blocks: list[dict[str, Any]]) -> None:
        message = {
            "id": f"msg_{len(records):04d}",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": blocks,
            "stop_reason": None,
            "usage": {"input_tokens": 1200, "output_tokens": 80},
        }
        record("assistant", index, message=message, requestId=f"req_{len(records):04d}")

    for index, (kind, value) in enumerate(script.steps):
        if kind == "prompt":
            record("user", index, message={"role": "user", "content": value})
            assistant(index, [{"type": "text", "text": "Let me look at the code."}])
            continue
        absolute = f"{script.workspace.rstrip('/')}/{value}"
        use_id = f"toolu_01{index:022d}"
        tool_input = {"file_path": absolute, "old_string": _EDIT["old"], "new_string": _EDIT["new"]}
        assistant(index, [{"type": "tool_use", "id": use_id, "name": "Edit", "input": tool_input}])
        outcome = {
            "filePath": absolute,
            "oldString": _EDIT["old"],
            "newString": _EDIT["new"],
            "originalFile": "",
            "structuredPatch": [],
            "userModified": False,
            "replaceAll": False,
        }
        result = {
            "tool_use_id": use_id,
            "type": "tool_result",
            "content": f"The file {absolute} has been updated.",
        }
        record("user", index, message={"role": "user", "content": [result]}, toolUseResult=outcome)
    assistant(len(script.steps), [{"type": "text", "text": "Done."}])
    folder = projects / re.sub(r"[^A-Za-z0-9]", "-", script.workspace)
    return _jsonl(folder / f"{script.session_id}.jsonl", records)


# --- Codex CLI: ~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl ---------------------------


def _write_codex(sessions: Path, script: SessionScript) -> Path:
    lines: list[dict[str, Any]] = []
    tick = [0]

    def line(index: int, kind: str, payload: dict[str, Any]) -> None:
        tick[0] += 1
        lines.append(
            {"timestamp": _iso(script.at(index, tick[0])), "type": kind, "payload": payload}
        )

    git: dict[str, Any] = {"branch": script.branch}
    if script.start_commit:
        git["commit_hash"] = script.start_commit
    line(
        0,
        "session_meta",
        {
            "id": script.session_id,
            "timestamp": _iso(script.started_at),
            "cwd": script.workspace,
            "originator": "codex_cli_rs",
            "cli_version": "0.46.0",
            "instructions": None,
            "source": "cli",
            "model_provider": "openai",
            "git": git,
        },
    )
    for index, (kind, value) in enumerate(script.steps):
        if kind == "prompt":
            if index:
                line(index, "event_msg", {"type": "agent_message", "message": "Updated it."})
            content = [{"type": "input_text", "text": value}]
            line(index, "response_item", {"type": "message", "role": "user", "content": content})
            line(index, "event_msg", {"type": "user_message", "message": value, "images": []})
            line(
                index,
                "turn_context",
                {"cwd": script.workspace, "approval_policy": "on-request", "model": "gpt-5-codex"},
            )
            continue
        call_id = f"call_{index:04d}"
        patch = (
            f"*** Begin Patch\n*** Update File: {value}\n@@\n-    {_EDIT['old']}\n"
            f"+    {_EDIT['new']}\n*** End Patch\n"
        )
        line(
            index,
            "response_item",
            {
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": call_id,
                "name": "apply_patch",
                "input": patch,
            },
        )
        output = json.dumps(
            {
                "output": f"Success. Updated the following files:\nM {value}\n",
                "metadata": {"exit_code": 0, "duration_seconds": 0.0},
            }
        )
        line(
            index,
            "response_item",
            {"type": "custom_tool_call_output", "call_id": call_id, "output": output},
        )
    line(len(script.steps), "event_msg", {"type": "agent_message", "message": "Done."})
    start = script.started_at.astimezone(UTC)
    folder = sessions / f"{start:%Y}" / f"{start:%m}" / f"{start:%d}"
    name = f"rollout-{start:%Y-%m-%dT%H-%M-%S}-{script.session_id}.jsonl"
    return _jsonl(folder / name, lines)


# --- Cline: <globalStorage>/saoudrizwan.claude-dev/tasks/<ms>/ + state/taskHistory.json -----------


def _write_cline(storage: Path, script: SessionScript) -> Path:
    ui: list[dict[str, Any]] = []
    api: list[dict[str, Any]] = []
    in_context: list[dict[str, Any]] = []
    tick = [0]

    def now(index: int) -> int:
        tick[0] += 1
        return _ms(script.at(index, tick[0]))

    def environment(first: bool) -> dict[str, Any]:
        lines = ["<environment_details>", "# Current Time", "1/1/2025, 12:30:00 AM (UTC)"]
        if first:
            lines += ["", f"# Current Working Directory ({script.workspace}) Files", "README.md"]
        lines += ["", "# Current Mode", "ACT MODE", "</environment_details>"]
        return {"type": "text", "text": "\n".join(lines)}

    def request(index: int, content: list[dict[str, Any]]) -> None:
        api.append({"role": "user", "content": content, "ts": now(index)})
        text = "\n\n".join(block.get("text", "") for block in content)
        info = {"request": text, "tokensIn": 1200, "tokensOut": 85, "cost": 0.01}
        ui.append(
            {"ts": now(index), "type": "say", "say": "api_req_started", "text": json.dumps(info)}
        )

    def completion(index: int) -> None:
        text = "<attempt_completion>\n<result>\nDone.\n</result>\n</attempt_completion>"
        api.append({"role": "assistant", "content": [{"type": "text", "text": text}]})
        ui.append({"ts": now(index), "type": "say", "say": "completion_result", "text": "Done."})
        ui.append({"ts": now(index), "type": "ask", "ask": "completion_result", "text": ""})

    for index, (kind, value) in enumerate(script.steps):
        if kind == "prompt" and index == 0:
            ui.append({"ts": now(index), "type": "say", "say": "task", "text": value})
            request(
                index, [{"type": "text", "text": f"<task>\n{value}\n</task>"}, environment(True)]
            )
        elif kind == "prompt":
            completion(index)
            ui.append({"ts": now(index), "type": "say", "say": "user_feedback", "text": value})
            feedback = (
                "The user has provided feedback on the results. Consider their input to "
                f"continue the task, and then attempt completion again.\n<feedback>\n{value}\n"
                "</feedback>"
            )
            request(
                index,
                [
                    {"type": "text", "text": "[attempt_completion] Result:"},
                    {"type": "text", "text": feedback},
                    environment(False),
                ],
            )
        else:
            diff = (
                f"------- SEARCH\n    {_EDIT['old']}\n=======\n    {_EDIT['new']}\n+++++++ REPLACE"
            )
            call = (
                f"<thinking>\nI'll update {value}.\n</thinking>\n\n<replace_in_file>\n"
                f"<path>{value}</path>\n<diff>\n{diff}\n</diff>\n</replace_in_file>"
            )
            api.append({"role": "assistant", "content": [{"type": "text", "text": call}]})
            ui.append(
                {"ts": now(index), "type": "say", "say": "text", "text": f"Updating {value}."}
            )
            tool = {"tool": "editedExistingFile", "path": value, "content": diff}
            ui.append({"ts": now(index), "type": "say", "say": "tool", "text": json.dumps(tool)})
            moment = _ms(script.at(index, tick[0]))
            in_context.append(
                {
                    "path": value,
                    "record_state": "active",
                    "record_source": "cline_edited",
                    "cline_read_date": moment,
                    "cline_edit_date": moment,
                    "user_edit_date": None,
                }
            )
            saved = f"The content was successfully saved to {value}."
            request(
                index,
                [
                    {"type": "text", "text": f"[replace_in_file for '{value}'] Result:"},
                    {"type": "text", "text": saved},
                    environment(False),
                ],
            )
    completion(len(script.steps))
    task_id = str(_ms(script.started_at))
    task_dir = storage / "tasks" / task_id
    write_text_atomic(task_dir / "api_conversation_history.json", json.dumps(api))
    write_text_atomic(task_dir / "ui_messages.json", json.dumps(ui))
    metadata = {"files_in_context": in_context, "model_usage": [], "environment_history": []}
    write_text_atomic(task_dir / "task_metadata.json", json.dumps(metadata))
    entry = {
        "id": task_id,
        "ts": ui[-1]["ts"],
        "task": script.first_prompt,
        "tokensIn": 5000,
        "tokensOut": 400,
        "totalCost": 0.05,
        "cwdOnTaskInitialization": script.workspace,
    }
    write_text_atomic(storage / "state" / "taskHistory.json", json.dumps([entry]))
    return task_dir


# --- candidates.jsonl: the generic format (docs/candidates-format.md) ----------------------------


def _write_candidates(path: Path, script: SessionScript) -> Path:
    row: dict[str, Any] = {
        "id": f"session-{script.session_id[:8]}",
        "repo": script.repo,
        "start_commit": script.start_commit,
        "prompts": [script.first_prompt, *script.follow_ups],
        "files_touched": script.files,
        "branch": script.branch,
        "workspace_path": script.workspace,
        "started_at": script.started_at.isoformat(),
    }
    return _jsonl(path, [row])
