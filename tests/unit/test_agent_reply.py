"""Parsing the model's reply: small slips pass with a warning, unclear intent is an error."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.agent_reply import DEFAULT_DURATION_SEC, parse_reply, reply_schema

GOOD = {"analysis": "a", "plan": "p", "commands": [{"keystrokes": "ls\n", "duration": 2}]}


def test_a_well_formed_reply_parses_without_warnings() -> None:
    parsed = parse_reply(json.dumps(GOOD))
    assert parsed.error is None and parsed.warnings == []
    assert parsed.reply is not None and parsed.reply.commands[0].keystrokes == "ls\n"
    assert parsed.reply.task_complete is False


def test_code_fences_are_accepted() -> None:
    parsed = parse_reply("```json\n" + json.dumps(GOOD) + "\n```")
    assert parsed.reply is not None and parsed.warnings == []


def test_text_around_the_json_is_a_warning_not_an_error() -> None:
    parsed = parse_reply("Here is my answer:\n" + json.dumps(GOOD) + "\nGood luck!")
    assert parsed.reply is not None
    assert any("outside the JSON" in w for w in parsed.warnings)


def test_missing_duration_defaults_with_a_warning() -> None:
    data = {**GOOD, "commands": [{"keystrokes": "ls\n"}]}
    parsed = parse_reply(json.dumps(data))
    assert parsed.reply.commands[0].duration == DEFAULT_DURATION_SEC
    assert any("duration missing" in w for w in parsed.warnings)


def test_no_json_at_all_is_an_error() -> None:
    assert "no JSON object" in parse_reply("I will now run ls.").error


def test_wrong_types_name_the_field() -> None:
    parsed = parse_reply(json.dumps({**GOOD, "commands": [{"keystrokes": 5, "duration": 1}]}))
    assert parsed.reply is None and "commands.0.keystrokes" in parsed.error


def test_missing_fields_name_the_field() -> None:
    parsed = parse_reply(json.dumps({"analysis": "a", "commands": []}))
    assert parsed.reply is None and "plan" in parsed.error


def test_unknown_fields_are_ignored_with_a_warning() -> None:
    parsed = parse_reply(json.dumps({**GOOD, "confidence": 0.9}))
    assert parsed.reply is not None and any("confidence" in w for w in parsed.warnings)


def test_negative_duration_is_an_error() -> None:
    data = {**GOOD, "commands": [{"keystrokes": "ls\n", "duration": -1}]}
    assert "duration" in parse_reply(json.dumps(data)).error


def test_schema_shown_to_the_model_comes_from_the_reply_model() -> None:
    schema = json.loads(reply_schema())
    assert set(schema["properties"]) == {"analysis", "plan", "commands", "task_complete"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_text_never_raises(text: str) -> None:
    parsed = parse_reply(text)
    assert (parsed.reply is None) != (parsed.error is None)


def test_brace_storms_stay_fast() -> None:
    parsed = parse_reply("{" * 20_000 + "x")
    assert parsed.error is not None
