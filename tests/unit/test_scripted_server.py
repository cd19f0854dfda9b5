"""The scripted server: turns in order, in OpenAI's, Anthropic's and Gemini's wire formats,
faults as each provider sends them, and a record of what the client sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness.scripted_server import (
    Script,
    ScriptedServer,
    ScriptTurn,
    ScriptUsage,
    estimate_usage,
    fingerprint,
    script_from_trajectory,
    thought_signature,
)
from harness.trajectory import Agent, Metrics, TrajectoryWriter

REPO_ROOT = Path(__file__).resolve().parents[2]


def post(server: ScriptedServer, body: dict[str, Any], timeout: float = 5) -> tuple[int, Any, Any]:
    """(status, headers, raw body bytes) of one chat completion request."""
    return post_to(server, "/v1/chat/completions", body, timeout=timeout)


def post_to(
    server: ScriptedServer,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    timeout: float = 5,
) -> tuple[int, Any, Any]:
    """(status, headers, raw body bytes) of one POST to ``path`` on the server."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def sse_events(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """(event name, data) of each server-sent event in a streamed body."""
    events = []
    for block in raw.decode().replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields and fields["data"] != "[DONE]":
            events.append((fields.get("event"), json.loads(fields["data"])))
    return events


CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
MESSAGES_API = "/v1/messages"
ANTHROPIC = {
    "model": "claude-x",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "hi"}],
}
GENERATE = "/v1beta/models/gemini-x:generateContent"
GEMINI = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_turns_are_served_in_order_and_requests_recorded() -> None:
    script = Script(turns=[ScriptTurn(content="one"), ScriptTurn(content="two")])
    with ScriptedServer(script) as server:
        answers = [json.loads(post(server, {**CHAT, "n": i})[2]) for i in range(2)]
    assert [a["choices"][0]["message"]["content"] for a in answers] == ["one", "two"]
    assert [a["id"] for a in answers] == ["chatcmpl-scripted-1", "chatcmpl-scripted-2"]
    assert [body["n"] for body in server.requests] == [0, 1]
    assert answers[0]["model"] == "m"


def test_usage_defaults_are_estimated_and_overrides_kept() -> None:
    turn = ScriptTurn(
        content="x" * 40,
        reasoning_content="y" * 20,
        usage=ScriptUsage(prompt_tokens=77, cached_tokens=7),
    )
    usage = estimate_usage(turn, CHAT["messages"])
    assert usage.prompt_tokens == 77
    assert usage.cached_tokens == 7
    assert usage.reasoning_tokens == 5
    assert usage.completion_tokens == 10 + 5  # completion includes reasoning, as with OpenAI


def test_repeat_serves_a_turn_several_times() -> None:
    script = Script(turns=[ScriptTurn(content="again", repeat=3), ScriptTurn(content="done")])
    assert [t.content for t in script.expanded()] == ["again", "again", "again", "done"]


def test_rate_limit_turn_sends_retry_after() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(status=429, retry_after=2)])) as server:
        status, headers, body = post(server, CHAT)
    assert status == 429
    assert headers["Retry-After"] == "2"
    assert json.loads(body)["error"]["code"] == "rate_limit_exceeded"


def test_context_window_turn_sends_openais_400() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(context_window_error=True)])) as server:
        status, _, body = post(server, CHAT)
    error = json.loads(body)["error"]
    assert status == 400
    assert error["code"] == "context_length_exceeded"
    assert error["message"].startswith("This model's maximum context length is")


def test_malformed_turn_sends_invalid_json_with_200() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(content="hi", malformed_body=True)])) as server:
        status, _, body = post(server, CHAT)
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_hang_turn_never_answers() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(hang=True)])) as server:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            post(server, CHAT, timeout=0.3)
        assert time.monotonic() - started < 2
    # stop() returned although a handler was still hanging


def test_delay_slows_the_answer() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(content="late", delay_sec=0.3)])) as server:
        started = time.monotonic()
        status, _, _ = post(server, CHAT)
    assert status == 200
    assert time.monotonic() - started >= 0.3


def test_exhausted_script_answers_500_saying_so() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(content="only")])) as server:
        post(server, CHAT)
        status, _, body = post(server, CHAT)
    assert status == 500
    assert "script exhausted" in json.loads(body)["error"]["message"]


def test_models_endpoint_lists_the_model() -> None:
    with (
        ScriptedServer(Script(), model_name="replay") as server,
        urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as response,
    ):
        listing = json.loads(response.read())
    assert [model["id"] for model in listing["data"]] == ["replay"]


def test_streaming_works_through_litellm() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    turn = ScriptTurn(content="streamed reply", usage=ScriptUsage(prompt_tokens=9))
    with ScriptedServer(Script(turns=[turn])) as server:
        stream = litellm.completion(
            model="openai/kettle-stream-test",
            messages=CHAT["messages"],
            api_base=server.base_url,
            api_key="unused",
            stream=True,
            stream_options={"include_usage": True},
            max_retries=0,
        )
        chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "streamed reply"
    assert server.requests[0]["stream"] is True


def test_a_turn_injects_at_most_one_fault() -> None:
    with pytest.raises(ValidationError):
        ScriptTurn(status=500, hang=True)
    with pytest.raises(ValidationError):
        ScriptTurn(safety_block="reply", empty_reply=True)
    with pytest.raises(ValidationError):
        ScriptTurn(status=429, safety_block="prompt")
    with pytest.raises(ValidationError):
        ScriptTurn(retry_after=1)


def test_script_round_trips_through_json(tmp_path: Path) -> None:
    script = Script(turns=[ScriptTurn(content="a"), ScriptTurn(status=503, retry_after=1)])
    path = tmp_path / "script.json"
    path.write_text(script.model_dump_json())
    assert Script.load(path) == script


def test_recorded_run_replays_as_a_script(tmp_path: Path) -> None:
    writer = TrajectoryWriter(
        tmp_path / "trajectory.json", session_id="s1", agent=Agent(name="kettle", version="0")
    )
    writer.add_step("system", "You are an agent.")
    writer.add_step("user", "Fix the bug.")
    metrics = Metrics(prompt_tokens=50, completion_tokens=5, cost_usd=0.001)
    writer.add_step("agent", '{"commands": []}', reasoning_content="hmm", metrics=metrics)
    writer.add_context_management_step("summarized")
    writer.add_step("agent", '{"task_complete": true}')
    script = script_from_trajectory(tmp_path / "trajectory.json")
    assert [turn.content for turn in script.turns] == [
        '{"commands": []}',
        '{"task_complete": true}',
    ]
    assert script.turns[0].reasoning_content == "hmm"
    assert script.turns[0].usage.prompt_tokens == 50
    assert script.turns[0].cost_usd == 0.001


def test_command_line_serves_a_script_file(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(Script(turns=[ScriptTurn(content="from the cli")]).model_dump_json())
    command = [sys.executable, "-m", "harness.scripted_server", "--script", str(path)]
    process = subprocess.Popen(
        [*command, "--port", "0"], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        base_url = banner.split(" at ")[1].split()[0]
        request = urllib.request.Request(
            f"{base_url}/chat/completions",
            data=json.dumps(CHAT).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            answer = json.loads(response.read())
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert answer["choices"][0]["message"]["content"] == "from the cli"


THINKING_TURN = ScriptTurn(
    content="answer",
    reasoning_content="pondering",
    usage=ScriptUsage(
        prompt_tokens=100, completion_tokens=30, cached_tokens=40, reasoning_tokens=12
    ),
)


def test_anthropic_reply_has_the_messages_shape() -> None:
    with ScriptedServer(Script(turns=[THINKING_TURN])) as server:
        status, _, raw = post_to(server, MESSAGES_API, ANTHROPIC)
    reply = json.loads(raw)
    assert status == 200
    assert reply["type"] == "message"
    assert (reply["role"], reply["model"], reply["stop_reason"]) == (
        "assistant",
        "claude-x",
        "end_turn",
    )
    assert reply["content"] == [
        {"type": "thinking", "thinking": "pondering", "signature": thought_signature(1)},
        {"type": "text", "text": "answer"},
    ]
    # Anthropic's input_tokens leave out cache reads; thinking is inside output_tokens.
    assert reply["usage"] == {
        "input_tokens": 60,
        "output_tokens": 30,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 40,
    }


def test_gemini_reply_has_the_generate_content_shape() -> None:
    with ScriptedServer(Script(turns=[THINKING_TURN])) as server:
        status, _, raw = post_to(server, GENERATE, GEMINI)
    reply = json.loads(raw)
    assert status == 200
    [candidate] = reply["candidates"]
    assert candidate["finishReason"] == "STOP"
    assert candidate["content"] == {
        "role": "model",
        "parts": [
            {"text": "pondering", "thought": True},
            {"text": "answer", "thoughtSignature": thought_signature(1)},
        ],
    }
    # Google counts thoughts apart from the candidates' tokens; the prompt includes the cache.
    assert reply["usageMetadata"] == {
        "promptTokenCount": 100,
        "candidatesTokenCount": 18,
        "thoughtsTokenCount": 12,
        "cachedContentTokenCount": 40,
        "totalTokenCount": 130,
    }
    assert reply["modelVersion"] == "gemini-x"


def dig(reply: Any, *keys: str | int) -> Any:
    for key in keys:
        reply = reply[key]
    return reply


@pytest.mark.parametrize(
    ("path", "body", "finish_at", "text_at", "finish"),
    [
        (
            "/v1/chat/completions",
            CHAT,
            ("choices", 0, "finish_reason"),
            ("choices", 0, "message", "content"),
            "length",
        ),
        (MESSAGES_API, ANTHROPIC, ("stop_reason",), ("content", 0, "text"), "max_tokens"),
        (
            GENERATE,
            GEMINI,
            ("candidates", 0, "finishReason"),
            ("candidates", 0, "content", "parts", 0, "text"),
            "MAX_TOKENS",
        ),
    ],
)
def test_a_reply_cut_at_max_tokens_says_so_in_each_providers_words(
    path: str,
    body: dict[str, Any],
    finish_at: tuple[str | int, ...],
    text_at: tuple[str | int, ...],
    finish: str,
) -> None:
    turn = ScriptTurn(content='{"analysis": "cut he', finish_reason="length")
    with ScriptedServer(Script(turns=[turn])) as server:
        reply = json.loads(post_to(server, path, body)[2])
    assert dig(reply, *finish_at) == finish
    assert dig(reply, *text_at) == '{"analysis": "cut he'


def test_anthropic_overload_is_a_529_overloaded_error_with_retry_after() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(status=529, retry_after=3)])) as server:
        status, headers, raw = post_to(server, MESSAGES_API, ANTHROPIC)
    assert status == 529
    assert headers["Retry-After"] == "3"
    assert json.loads(raw) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_gemini_rate_limit_states_its_retry_delay_in_the_body_not_a_header() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(status=429, retry_after=17)])) as server:
        status, headers, raw = post_to(server, GENERATE, GEMINI)
    error = json.loads(raw)["error"]
    assert status == 429
    assert "Retry-After" not in headers
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    retry_info = [d for d in error["details"] if d["@type"].endswith("google.rpc.RetryInfo")]
    assert retry_info == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}
    ]


def test_gemini_safety_block_of_the_reply_has_a_candidate_without_parts() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(safety_block="reply")])) as server:
        reply = json.loads(post_to(server, GENERATE, GEMINI)[2])
    [candidate] = reply["candidates"]
    assert candidate["finishReason"] == "SAFETY"
    assert "content" not in candidate
    assert candidate["safetyRatings"][0]["blocked"] is True


def test_gemini_safety_block_of_the_prompt_has_no_candidates() -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(safety_block="prompt")])) as server:
        reply = json.loads(post_to(server, GENERATE, GEMINI)[2])
    assert "candidates" not in reply
    assert reply["promptFeedback"]["blockReason"] == "SAFETY"


def test_empty_reply_has_no_answer_in_any_format() -> None:
    script = Script(turns=[ScriptTurn(empty_reply=True, repeat=3)])
    with ScriptedServer(script) as server:
        openai = json.loads(post_to(server, "/v1/chat/completions", CHAT)[2])
        anthropic = json.loads(post_to(server, MESSAGES_API, ANTHROPIC)[2])
        gemini = json.loads(post_to(server, GENERATE, GEMINI)[2])
    assert openai["choices"] == []
    assert anthropic["content"] == []
    assert "candidates" not in gemini
    assert "promptFeedback" not in gemini


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        (MESSAGES_API, ANTHROPIC, "prompt is too long"),
        (GENERATE, GEMINI, "exceeds the maximum number of tokens allowed"),
    ],
)
def test_context_window_error_uses_the_providers_wording(
    path: str, body: dict[str, Any], words: str
) -> None:
    with ScriptedServer(Script(turns=[ScriptTurn(context_window_error=True)])) as server:
        status, _, raw = post_to(server, path, body)
    assert status == 400
    assert words in raw.decode()


def test_anthropic_stream_sends_the_messages_events_in_order() -> None:
    with ScriptedServer(Script(turns=[THINKING_TURN])) as server:
        status, headers, raw = post_to(server, MESSAGES_API, {**ANTHROPIC, "stream": True})
    events = sse_events(raw)
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    assert [name for name, _ in events] == [
        "message_start",
        *["content_block_start", "content_block_delta", "content_block_delta"],
        "content_block_stop",
        *["content_block_start", "content_block_delta", "content_block_stop"],
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert events[-2][1]["usage"]["output_tokens"] == 30


def test_gemini_stream_is_sse_chunks_and_needs_alt_sse() -> None:
    stream = "/v1beta/models/gemini-x:streamGenerateContent"
    with ScriptedServer(Script(turns=[THINKING_TURN])) as server:
        refused, _, _ = post_to(server, stream, GEMINI)
        status, _, raw = post_to(server, f"{stream}?alt=sse", GEMINI)
    chunks = [data for _, data in sse_events(raw)]
    assert refused == 400
    assert status == 200
    parts = [chunk["candidates"][0]["content"]["parts"][0] for chunk in chunks]
    assert parts == [
        {"text": "pondering", "thought": True},
        {"text": "answer", "thoughtSignature": thought_signature(1)},
    ]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] == 130


def test_gemini_is_served_under_the_api_versions_litellm_calls() -> None:
    script = Script(turns=[ScriptTurn(content="ok", repeat=2)])
    with ScriptedServer(script) as server:
        beta = post_to(server, GENERATE, GEMINI)[0]
        alpha = post_to(server, "/v1alpha/models/gemini-x:generateContent", GEMINI)[0]
        # A Gemini path under OpenAI's /v1 is a misrouted api_base, not a Gemini call.
        misrouted = post_to(server, "/v1/models/gemini-x:generateContent", GEMINI)[0]
    assert (beta, alpha, misrouted) == (200, 200, 404)
    assert len(server.recorded) == 2


def test_recorded_requests_mask_credentials_but_tell_keys_apart() -> None:
    secret = "sk-ant-canary-0123456789"
    script = Script(turns=[ScriptTurn(content="ok", repeat=3)])
    with ScriptedServer(script) as server:
        post_to(server, MESSAGES_API, ANTHROPIC, headers={"x-api-key": secret})
        post_to(server, f"{GENERATE}?key={secret}", GEMINI)
        post(server, CHAT)
    anthropic, gemini, openai = server.recorded
    assert (anthropic.wire_format, anthropic.path, anthropic.model) == (
        "anthropic",
        MESSAGES_API,
        "claude-x",
    )
    assert anthropic.headers["x-api-key"] == "***"
    assert (anthropic.credential, anthropic.credential_source) == (fingerprint(secret), "x-api-key")
    assert (gemini.wire_format, gemini.model, gemini.query) == (
        "gemini",
        "gemini-x",
        {"key": "***"},
    )
    assert (gemini.credential, gemini.credential_source) == (fingerprint(secret), "query:key")
    assert (openai.credential, openai.body) == (None, CHAT)
    assert [record.number for record in server.recorded] == [1, 2, 3]
    assert all(secret not in record.model_dump_json() for record in server.recorded)
    assert server.base_url_for("anthropic") == f"http://127.0.0.1:{server.port}"
    assert server.base_url_for("gemini") == f"http://127.0.0.1:{server.port}/v1beta"
