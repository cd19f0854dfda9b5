"""The scripted OpenAI-compatible server: turns in order, faults as providers send them."""

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
    script_from_trajectory,
)
from harness.trajectory import Agent, Metrics, TrajectoryWriter

REPO_ROOT = Path(__file__).resolve().parents[2]


def post(server: ScriptedServer, body: dict[str, Any], timeout: float = 5) -> tuple[int, Any, Any]:
    """(status, headers, raw body bytes) of one chat completion request."""
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


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
