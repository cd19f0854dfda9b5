"""Helpers that write scripted model turns the way a model would answer the agent loop."""

from __future__ import annotations

import json

from harness.llm import RetryPolicy
from harness.scripted_server import ScriptTurn, WireFormat

# Tiny backoff keeps fault-injection tests fast; Retry-After itself is tested in unit tests.
FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff_sec=0.01, max_backoff_sec=0.05)
# Priced in litellm's local map, so calls through the scripted server get a real cost.
PRICED_MODEL = "openai/gpt-5.1"
# One headline alias per wire format the scripted server speaks, driven through litellm's real
# provider for it (keyed like ScriptedServer.base_url_for).
PROVIDER_ALIASES: dict[WireFormat, str] = {
    "openai": "gpt-5.1",
    "anthropic": "sonnet-4.5",
    "gemini": "gemini-3",
}


def reply_json(
    *commands: str | tuple[str, float], complete: bool = False, analysis: str = "looking"
) -> str:
    entries = [
        {"keystrokes": c, "duration": 10.0}
        if isinstance(c, str)
        else {"keystrokes": c[0], "duration": c[1]}
        for c in commands
    ]
    return json.dumps(
        {"analysis": analysis, "plan": "next step", "commands": entries, "task_complete": complete}
    )


def turn(
    *commands: str | tuple[str, float],
    complete: bool = False,
    analysis: str = "looking",
    **fields: object,
) -> ScriptTurn:
    content = reply_json(*commands, complete=complete, analysis=analysis)
    return ScriptTurn(content=content, **fields)  # type: ignore[arg-type]


def cut_off(*commands: str | tuple[str, float], analysis: str = "looking") -> ScriptTurn:
    """A reply the provider cut at the output token limit, in the middle of its JSON."""
    content = reply_json(*commands, analysis=analysis)
    return ScriptTurn(content=content[: len(content) // 2], finish_reason="length")


def done_twice() -> list[ScriptTurn]:
    """Completion needs confirmation: the model says it is done, then says so again."""
    return [turn(complete=True), turn(complete=True)]
