"""The model's reply format and a forgiving-but-precise parser for it.

The model answers one JSON object: ``{analysis, plan, commands: [{keystrokes, duration}],
task_complete}``. Small slips (code fences, a sentence around the JSON, a missing
duration) are accepted with a warning the model sees next turn; anything that leaves the
intent unclear is an error message naming the field, fed back instead of crashing.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import validation_problems

DEFAULT_DURATION_SEC = 1.0
# Garbage full of braces must not make parsing quadratic.
_MAX_OBJECT_STARTS = 50
_FENCE = re.compile(r"^```(?:json)?\s*\n(.*?)\n```\s*$", re.DOTALL)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keystrokes: str = Field(
        description="Sent to the terminal verbatim. End with \\n to run a command. "
        "tmux key names such as C-c or C-d are sent as keys."
    )
    duration: float = Field(
        DEFAULT_DURATION_SEC,
        ge=0,
        description="Seconds to wait for output at most; the harness returns early when "
        "the shell is idle again",
    )


class AgentReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analysis: str = Field(description="What the current terminal output tells you")
    plan: str = Field(description="What you will do next and why")
    commands: list[Command] = Field(description="Keystrokes to send, in order (may be empty)")
    task_complete: bool = Field(False, description="True only when the task is fully done")


class ParsedReply(BaseModel):
    reply: AgentReply | None = None
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)


def reply_schema() -> str:
    """The JSON schema the prompts show, rendered from the model so they cannot drift apart."""
    return json.dumps(AgentReply.model_json_schema(), indent=2)


def parse_reply(text: str) -> ParsedReply:
    warnings: list[str] = []
    candidate = text.strip()
    fenced = _FENCE.match(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    data, extra_text = _first_json_object(candidate)
    if data is None:
        return ParsedReply(error="no JSON object found: reply with exactly one JSON object")
    if extra_text:
        warnings.append("text outside the JSON object was ignored; send only the JSON object")
    unknown = sorted(set(data) - set(AgentReply.model_fields))
    if unknown:
        warnings.append(f"unknown fields ignored: {', '.join(unknown)}")
        data = {key: value for key, value in data.items() if key in AgentReply.model_fields}
    for index, command in enumerate(data.get("commands") or []):
        if isinstance(command, dict) and "duration" not in command:
            warnings.append(f"commands[{index}].duration missing: waited {DEFAULT_DURATION_SEC}s")
    try:
        reply = AgentReply.model_validate(data)
    except ValidationError as error:
        problems = validation_problems(error, root="reply")
        return ParsedReply(error="; ".join(problems), warnings=warnings)
    return ParsedReply(reply=reply, warnings=warnings)


def _first_json_object(text: str) -> tuple[dict[str, object] | None, bool]:
    """The first JSON object in ``text`` and whether other text surrounds it."""
    decoder = json.JSONDecoder()
    starts = [index for index, char in enumerate(text) if char == "{"][:_MAX_OBJECT_STARTS]
    for start in starts:
        try:
            value, end = decoder.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, dict):
            surrounded = bool(text[:start].strip() or text[end:].strip())
            return value, surrounded
    return None, False
