"""The model client through litellm's real OpenAI, Anthropic and Gemini providers, each against
the scripted server speaking that provider's wire format: plain replies and provider faults."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from harness.errors import ContextWindowError, ModelError
from harness.llm import (
    PLACEHOLDER_API_KEY,
    LiteLLMModel,
    ModelSpec,
    RetryPolicy,
    provider_api_base,
)
from harness.scripted_server import (
    SafetyBlock,
    Script,
    ScriptedServer,
    ScriptTurn,
    ScriptUsage,
    WireFormat,
    fingerprint,
    thought_signature,
)
from tests.scripting import PROVIDER_ALIASES, cut_off

MESSAGES = [{"role": "user", "content": "list the files"}]
FAST = RetryPolicy(max_attempts=3, initial_backoff_sec=0.01, max_backoff_sec=0.05)
PROVIDERS: list[WireFormat] = ["openai", "anthropic", "gemini"]
# Where each provider's litellm code puts the key, and the route it calls.
KEY_HEADER = {"openai": "authorization", "anthropic": "x-api-key", "gemini": "x-goog-api-key"}
ROUTE = {
    "openai": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "gemini": "/v1beta/models/gemini-3-pro-preview:generateContent",
}


@contextmanager
def serve(*turns: ScriptTurn) -> Iterator[ScriptedServer]:
    with ScriptedServer(Script(turns=list(turns))) as server:
        yield server


def client(server: ScriptedServer, provider: WireFormat, **options: Any) -> LiteLLMModel:
    """The provider's headline alias behind the server's OpenAI-style base, as --api-base."""
    options.setdefault("retry", FAST)
    return LiteLLMModel(ModelSpec.resolve(PROVIDER_ALIASES[provider], server.base_url), **options)


def waited_between(server: ScriptedServer) -> float:
    """Seconds the client let pass between its first two requests."""
    first, second = server.recorded[:2]
    return second.received_at - first.received_at


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's real key must not reach the scripted server (or change which hint we give).
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_openai_style_api_base_reaches_each_providers_own_route(provider: WireFormat) -> None:
    with serve(ScriptTurn(content="ok")) as server:
        reply = client(server, provider).complete(MESSAGES)
    [request] = server.recorded
    assert reply.content == "ok"
    assert request.wire_format == provider
    assert request.path == ROUTE[provider]
    assert request.credential_source == KEY_HEADER[provider]
    assert request.credential == fingerprint(PLACEHOLDER_API_KEY)
    assert PLACEHOLDER_API_KEY not in request.model_dump_json()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_base_in_the_providers_own_form_is_used_as_given(provider: WireFormat) -> None:
    with serve(ScriptTurn(content="ok")) as server:
        spec = ModelSpec.resolve(PROVIDER_ALIASES[provider], server.base_url_for(provider))
        LiteLLMModel(spec, retry=FAST).complete(MESSAGES)
    assert [request.path for request in server.recorded] == [ROUTE[provider]]


@pytest.mark.parametrize(
    ("model", "given", "sent"),
    [
        ("anthropic/claude-sonnet-4-5-20250929", "http://h:1/v1", "http://h:1"),
        ("anthropic/claude-sonnet-4-5-20250929", "http://h:1/v1/", "http://h:1"),
        ("anthropic/claude-sonnet-4-5-20250929", "http://h:1/proxy/v1", "http://h:1/proxy"),
        ("anthropic/claude-sonnet-4-5-20250929", "http://h:1", "http://h:1"),
        (
            "anthropic/claude-sonnet-4-5-20250929",
            "https://gw/acct/anthropic",
            "https://gw/acct/anthropic",
        ),
        ("gemini/gemini-3-pro-preview", "http://h:1/v1", "http://h:1/v1beta"),
        ("gemini/gemini-3-pro-preview", "http://h:1", "http://h:1/v1beta"),
        ("gemini/gemini-3-pro-preview", "http://h:1/v1beta", "http://h:1/v1beta"),
        ("gemini/gemini-3-pro-preview", "http://h:1/v1alpha", "http://h:1/v1alpha"),
        ("openai/gpt-5.1", "http://h:1/v1", "http://h:1/v1"),
        ("openai/gpt-5.1", None, None),
    ],
)
def test_provider_api_base_rewrites_only_bases_the_provider_would_misroute(
    model: str, given: str | None, sent: str | None
) -> None:
    assert provider_api_base(model, given) == sent


# prompt 1000 (100 of them cached), output 300 (120 of them reasoning). Prices per million
# tokens: Sonnet 4.5 from litellm's map ($3 in, $0.30 cached, $15 out); Gemini 3 from kettle's
# quirks table ($2, $0.20, $12); GPT-5.1 from litellm's map ($1.25, $0.125, $10).
EXPECTED_COST = {
    "anthropic": (900 * 3 + 100 * 0.3 + 300 * 15) / 1e6,
    "gemini": (900 * 2 + 100 * 0.2 + 300 * 12) / 1e6,
    "openai": (900 * 1.25 + 100 * 0.125 + 300 * 10) / 1e6,
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_reply_carries_content_reasoning_usage_and_cost(provider: WireFormat) -> None:
    usage = ScriptUsage(
        prompt_tokens=1000, completion_tokens=300, cached_tokens=100, reasoning_tokens=120
    )
    turn = ScriptTurn(content='{"analysis": "a"}', reasoning_content="look first", usage=usage)
    with serve(turn) as server:
        reply = client(server, provider).complete(MESSAGES)
    assert reply.content == '{"analysis": "a"}'
    assert reply.reasoning_content == "look first"
    assert reply.finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.cached_tokens) == (1000, 100)
    assert reply.usage.completion_tokens == 300  # reasoning included, whatever the provider
    if provider == "anthropic":
        # Anthropic reports no thinking count; litellm estimates it from the thinking text.
        assert 0 < reply.usage.reasoning_tokens < 120
    else:
        assert reply.usage.reasoning_tokens == 120
    assert reply.step_metrics().extra["reasoning_tokens"] == reply.usage.reasoning_tokens
    assert reply.cost_usd == pytest.approx(EXPECTED_COST[provider])


def test_anthropic_request_is_a_messages_body_with_kettles_output_cap() -> None:
    with serve(ScriptTurn(content="ok")) as server:
        client(server, "anthropic").complete(MESSAGES)
    [request] = server.recorded
    assert request.body["model"] == "claude-sonnet-4-5-20250929"
    assert request.body["max_tokens"] == 32_000
    assert request.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "list the files"}]}
    ]
    assert request.headers["anthropic-version"] == "2023-06-01"


def test_gemini_request_is_a_generate_content_body_at_temperature_one() -> None:
    with serve(ScriptTurn(content="ok")) as server:
        client(server, "gemini").complete(MESSAGES)
    [request] = server.recorded
    assert request.model == "gemini-3-pro-preview"
    assert request.body["contents"] == [{"role": "user", "parts": [{"text": "list the files"}]}]
    assert request.body["generationConfig"]["temperature"] == 1.0


def test_gemini_thought_signature_comes_back_with_the_full_assistant_message() -> None:
    turns = (ScriptTurn(content="first", reasoning_content="deep"), ScriptTurn(content="second"))
    with serve(*turns) as server:
        model = client(server, "gemini")
        first = model.complete(MESSAGES)
        model.complete([*MESSAGES, first.assistant_message, {"role": "user", "content": "go on"}])
    signature = thought_signature(1)
    assert first.assistant_message["provider_specific_fields"]["thought_signatures"] == [signature]
    echoed = server.recorded[1].body["contents"][1]
    assert echoed["role"] == "model"
    assert {"text": "first", "thoughtSignature": signature} in echoed["parts"]


def test_anthropic_history_carries_only_the_text_of_earlier_replies() -> None:
    # kettle sends Anthropic no thinking parameter and no tools, so earlier thinking blocks
    # may be left out of the history; the quirks table keeps Anthropic on role and content.
    turns = (ScriptTurn(content="first", reasoning_content="deep"), ScriptTurn(content="second"))
    with serve(*turns) as server:
        model = client(server, "anthropic")
        first = model.complete(MESSAGES)
        model.complete([*MESSAGES, first.assistant_message, {"role": "user", "content": "go on"}])
    assert first.assistant_message == {"role": "assistant", "content": "first"}
    echoed = server.recorded[1].body["messages"][1]
    assert echoed == {"role": "assistant", "content": [{"type": "text", "text": "first"}]}
    assert "thinking" not in server.recorded[0].body


def test_anthropic_overload_529_honours_retry_after_then_succeeds() -> None:
    with serve(ScriptTurn(status=529, retry_after=1), ScriptTurn(content="ok")) as server:
        reply = client(server, "anthropic").complete(MESSAGES)
    assert reply.content == "ok"
    assert reply.attempts == 2
    assert 1.0 <= waited_between(server) < 2.0  # the backoff alone would be ~0.01 s


def test_anthropic_overload_that_persists_is_a_model_error_naming_it() -> None:
    with serve(ScriptTurn(status=529, repeat=3)) as server, pytest.raises(ModelError) as raised:
        client(server, "anthropic").complete(MESSAGES)
    assert len(server.recorded) == 3
    assert "gave up after 3 attempt(s)" in raised.value.message
    assert "overloaded_error" in raised.value.message


def test_gemini_rate_limit_honours_the_retry_delay_in_the_error_body() -> None:
    with serve(ScriptTurn(status=429, retry_after=1), ScriptTurn(content="ok")) as server:
        reply = client(server, "gemini").complete(MESSAGES)
    assert reply.content == "ok"
    assert reply.attempts == 2
    assert 1.0 <= waited_between(server) < 2.0  # no Retry-After header: RetryInfo said so


@pytest.mark.parametrize(
    ("provider", "block"),
    [("gemini", "reply"), ("gemini", "prompt"), ("anthropic", "reply"), ("openai", "reply")],
)
def test_safety_block_is_an_empty_reply_marked_content_filter(
    provider: WireFormat, block: SafetyBlock
) -> None:
    turns = (ScriptTurn(safety_block=block), ScriptTurn(content="unused"))
    with serve(*turns) as server:
        reply = client(server, provider).complete(MESSAGES)
    assert reply.content == ""
    assert reply.finish_reason == "content_filter"
    assert reply.attempts == 1  # not retried: the caller decides what a refusal means
    assert len(server.recorded) == 1
    assert reply.usage.prompt_tokens > 0
    assert reply.cost_usd is not None and reply.cost_usd > 0  # the prompt is still billed


@pytest.mark.parametrize("provider", ["gemini", "openai"])
def test_reply_without_any_choice_is_retried(provider: WireFormat) -> None:
    with serve(ScriptTurn(empty_reply=True), ScriptTurn(content="ok")) as server:
        reply = client(server, provider).complete(MESSAGES)
    assert reply.content == "ok"
    assert reply.attempts == 2


def test_reply_without_any_choice_that_persists_is_a_model_error() -> None:
    with (
        serve(ScriptTurn(empty_reply=True, repeat=3)) as server,
        pytest.raises(ModelError, match=r"gave up after 3 attempt\(s\).*no choices"),
    ):
        client(server, "gemini").complete(MESSAGES)
    assert len(server.recorded) == 3


def test_anthropic_reply_without_content_blocks_is_an_empty_reply() -> None:
    with serve(ScriptTurn(empty_reply=True)) as server:
        reply = client(server, "anthropic").complete(MESSAGES)
    assert reply.content == ""
    assert reply.finish_reason == "stop"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_reply_cut_at_max_tokens_keeps_the_partial_json_and_says_length(
    provider: WireFormat,
) -> None:
    turn = cut_off("ls -la\n")
    with serve(turn) as server:
        reply = client(server, provider).complete(MESSAGES)
    assert reply.content == turn.content
    assert reply.finish_reason == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.content)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_context_window_error_is_raised_without_retry(provider: WireFormat) -> None:
    turns = (ScriptTurn(context_window_error=True), ScriptTurn(content="unused"))
    with serve(*turns) as server, pytest.raises(ContextWindowError):
        client(server, provider).complete(MESSAGES)
    assert len(server.recorded) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_truncated_body_is_retried(provider: WireFormat) -> None:
    with serve(ScriptTurn(malformed_body=True), ScriptTurn(content="ok")) as server:
        reply = client(server, provider).complete(MESSAGES)
    assert reply.content == "ok"
    assert reply.attempts == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_server_errors_are_retried_until_success(provider: WireFormat) -> None:
    turns = (ScriptTurn(status=500), ScriptTurn(status=503), ScriptTurn(content="ok"))
    with serve(*turns) as server:
        reply = client(server, provider).complete(MESSAGES)
    assert reply.content == "ok"
    assert reply.attempts == 3


@pytest.mark.parametrize(
    ("provider", "status", "words", "hint"),
    [
        ("anthropic", 401, "authentication failed", "ANTHROPIC_API_KEY"),
        ("gemini", 401, "authentication failed", "GEMINI_API_KEY"),
        ("anthropic", 404, "model not found", "--api-base"),
        ("gemini", 404, "model not found", "--api-base"),
        ("anthropic", 400, "request rejected", "parameters"),
        ("gemini", 400, "request rejected", "parameters"),
    ],
)
def test_client_errors_are_model_errors_without_retry(
    provider: WireFormat, status: int, words: str, hint: str
) -> None:
    turns = (ScriptTurn(status=status), ScriptTurn(content="unused"))
    with serve(*turns) as server, pytest.raises(ModelError) as raised:
        client(server, provider).complete(MESSAGES)
    assert not isinstance(raised.value, ContextWindowError)
    assert len(server.recorded) == 1
    assert words in raised.value.message
    assert hint in raised.value.hint
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_exhausted_script_fails_loudly(provider: WireFormat) -> None:
    with (
        serve() as server,
        pytest.raises(ModelError, match="script exhausted"),
    ):
        client(server, provider).complete(MESSAGES)


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_streaming_works_through_litellms_provider(provider: WireFormat) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    usage = ScriptUsage(prompt_tokens=50, completion_tokens=20, reasoning_tokens=5)
    turn = ScriptTurn(content="streamed reply", reasoning_content="mull", usage=usage)
    model = ModelSpec.resolve(PROVIDER_ALIASES[provider]).litellm_name
    with serve(turn) as server:
        stream = litellm.completion(
            model=model,
            messages=MESSAGES,
            api_base=server.base_url_for(provider),
            api_key="unused",
            stream=True,
            stream_options={"include_usage": True},
            max_retries=0,
        )
        chunks = [chunk for chunk in stream if chunk.choices or getattr(chunk, "usage", None)]
    choices = [chunk.choices[0] for chunk in chunks if chunk.choices]
    deltas = [choice.delta for choice in choices]
    assert "".join(delta.content or "" for delta in deltas) == "streamed reply"
    assert "".join(getattr(delta, "reasoning_content", None) or "" for delta in deltas) == "mull"
    assert [choice.finish_reason for choice in choices if choice.finish_reason] == ["stop"]
    last_usage = [chunk.usage for chunk in chunks if getattr(chunk, "usage", None)][-1]
    assert (last_usage.prompt_tokens, last_usage.completion_tokens) == (50, 20)
    assert server.recorded[0].stream


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_a_retry_hint_longer_than_the_time_left_is_not_slept(provider: WireFormat) -> None:
    with serve(ScriptTurn(status=429, retry_after=120), ScriptTurn(content="unused")) as server:
        started = time.monotonic()
        with pytest.raises(ModelError) as raised:
            client(server, provider).complete(MESSAGES, timeout_sec=5)
        gave_up_after = time.monotonic() - started
    assert gave_up_after < 2  # neither 120 s nor the 5 s left were slept
    assert len(server.recorded) == 1
    assert "asked to wait 120s" in raised.value.message
    assert "left of this agent's time" in raised.value.message


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_a_retry_hint_beyond_kettles_limit_is_not_slept_without_a_deadline(
    provider: WireFormat,
) -> None:
    patient = FAST.model_copy(update={"max_retry_after_sec": 10})
    turns = (ScriptTurn(status=429, retry_after=3600), ScriptTurn(content="unused"))
    with (
        serve(*turns) as server,
        pytest.raises(ModelError, match=r"asked to wait 3600s.*limit of 10s"),
    ):
        client(server, provider, retry=patient).complete(MESSAGES)
    assert len(server.recorded) == 1
