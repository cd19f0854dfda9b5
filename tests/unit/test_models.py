"""The model client, driven through the real litellm path against the scripted server."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.errors import BudgetExhaustedError, ConfigError, ContextWindowError, ModelError
from harness.llm import (
    ALIASES,
    DEFAULT_CONTEXT_WINDOW,
    LiteLLMModel,
    Model,
    ModelQuirks,
    ModelSpec,
    RetryPolicy,
    ScriptedModel,
    TokenPrice,
    Usage,
    quirks_for,
    redact,
)
from harness.scripted_server import (
    Script,
    ScriptedServer,
    ScriptTurn,
    ScriptUsage,
    script_from_trajectory,
)
from harness.trajectory import Agent, Metrics, TrajectoryWriter

MESSAGES = [{"role": "user", "content": "list the files"}]
# Tiny backoff keeps the retry tests fast; Retry-After is asserted separately.
FAST = RetryPolicy(max_attempts=4, initial_backoff_sec=0.01, max_backoff_sec=0.05)
PRICED_MODEL = "openai/gpt-5.1"  # in litellm's local price map, so calls get a cost
UNPRICED_MODEL = "openai/kettle-made-up-model"


@contextmanager
def serve(*turns: ScriptTurn) -> Iterator[ScriptedServer]:
    with ScriptedServer(Script(turns=list(turns))) as server:
        yield server


def client(server: ScriptedServer, model: str = PRICED_MODEL, **options: object) -> LiteLLMModel:
    options.setdefault("retry", FAST)
    return LiteLLMModel(ModelSpec.resolve(model, server.base_url), **options)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's real key must not reach the scripted server (or change which hint we give).
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_reply_carries_content_reasoning_usage_and_cost() -> None:
    usage = ScriptUsage(prompt_tokens=1000, completion_tokens=200, cached_tokens=100)
    turn = ScriptTurn(content="ls -la", reasoning_content="look first", usage=usage)
    with serve(turn) as server:
        reply = client(server).complete(MESSAGES)
    assert reply.content == "ls -la"
    assert reply.reasoning_content == "look first"
    assert reply.usage.prompt_tokens == 1000
    assert reply.usage.completion_tokens == 200
    assert reply.usage.cached_tokens == 100
    assert reply.usage.reasoning_tokens > 0
    assert reply.assistant_message == {"role": "assistant", "content": "ls -la"}
    assert reply.model_name == "openai/gpt-5.1"
    assert reply.response_id == "chatcmpl-scripted-1"
    assert reply.attempts == 1
    assert reply.latency_sec > 0
    # gpt-5.1 in litellm's map: $1.25/M input, $0.125/M cached input, $10/M output.
    expected = (900 * 1.25 + 100 * 0.125 + 200 * 10) / 1_000_000
    assert reply.cost_usd == pytest.approx(expected)


def test_unknown_price_is_none_not_zero() -> None:
    with serve(ScriptTurn(content="hi")) as server:
        reply = client(server, UNPRICED_MODEL).complete(MESSAGES)
    assert reply.cost_usd is None
    assert reply.step_metrics().cost_usd is None


def test_rate_limit_honours_retry_after_then_succeeds() -> None:
    with serve(ScriptTurn(status=429, retry_after=1), ScriptTurn(content="ok")) as server:
        started = time.monotonic()
        reply = client(server).complete(MESSAGES)
        waited = time.monotonic() - started
    assert reply.content == "ok"
    assert reply.attempts == 2
    assert len(server.requests) == 2
    assert 1.0 <= waited < 3.0  # the backoff alone would have been ~0.01 s


def test_server_errors_are_retried_until_success() -> None:
    turns = (ScriptTurn(status=500), ScriptTurn(status=503), ScriptTurn(content="ok"))
    with serve(*turns) as server:
        reply = client(server).complete(MESSAGES)
    assert reply.content == "ok"
    assert reply.attempts == 3


def test_each_retry_is_logged_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="harness.llm")
    with serve(ScriptTurn(status=503), ScriptTurn(content="ok")) as server:
        client(server).complete(MESSAGES)
    retries = [r for r in caplog.records if r.name == "harness.llm"]
    assert len(retries) == 1
    assert "ServiceUnavailableError" in retries[0].getMessage()
    assert "attempt 1" in retries[0].getMessage()


def test_malformed_body_is_retried() -> None:
    with serve(ScriptTurn(malformed_body=True), ScriptTurn(content="ok")) as server:
        reply = client(server).complete(MESSAGES)
    assert reply.content == "ok"
    assert reply.attempts == 2


def test_hang_is_cut_by_the_request_timeout_and_retried() -> None:
    policy = FAST.model_copy(update={"request_timeout_sec": 0.5})
    with serve(ScriptTurn(hang=True), ScriptTurn(content="ok")) as server:
        started = time.monotonic()
        reply = client(server, retry=policy).complete(MESSAGES)
        elapsed = time.monotonic() - started
    assert reply.content == "ok"
    assert reply.attempts == 2
    assert 0.5 <= elapsed < 3.0


def test_retries_stop_at_max_attempts() -> None:
    three_attempts = FAST.model_copy(update={"max_attempts": 3})
    with (
        serve(*[ScriptTurn(status=500)] * 5) as server,
        pytest.raises(ModelError, match=r"gave up after 3 attempt"),
    ):
        client(server, retry=three_attempts).complete(MESSAGES)
    assert len(server.requests) == 3


def test_retries_stop_at_the_callers_deadline() -> None:
    policy = RetryPolicy(max_attempts=50, initial_backoff_sec=0.2, max_backoff_sec=0.2)
    with serve(ScriptTurn(status=500, repeat=50)) as server:
        started = time.monotonic()
        with pytest.raises(ModelError, match="gave up"):
            client(server, retry=policy).complete(MESSAGES, timeout_sec=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 1.5  # never slept past the deadline (1.0 s) by more than overhead
    assert 2 <= len(server.requests) < 12


def test_a_hang_cannot_outlast_the_callers_deadline() -> None:
    policy = FAST.model_copy(update={"request_timeout_sec": 30})
    with serve(ScriptTurn(hang=True, repeat=3)) as server:
        started = time.monotonic()
        with pytest.raises(ModelError, match="gave up"):
            client(server, retry=policy).complete(MESSAGES, timeout_sec=0.5)
        assert time.monotonic() - started < 1.5


def test_no_time_left_is_a_budget_error_before_any_request() -> None:
    with serve(ScriptTurn(content="unused")) as server, pytest.raises(BudgetExhaustedError):
        client(server).complete(MESSAGES, timeout_sec=0)
    assert server.requests == []


def test_context_window_error_is_raised_without_retry() -> None:
    turns = (ScriptTurn(context_window_error=True), ScriptTurn(content="unused"))
    with serve(*turns) as server, pytest.raises(ContextWindowError, match="context window"):
        client(server).complete(MESSAGES)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (400, "request rejected"),
        (401, "authentication failed"),
        (403, "permission denied"),
        (404, "model not found"),
    ],
)
def test_client_errors_are_model_errors_without_retry(status: int, words: str) -> None:
    turns = (ScriptTurn(status=status), ScriptTurn(content="unused"))
    with serve(*turns) as server, pytest.raises(ModelError) as raised:
        client(server).complete(MESSAGES)
    assert not isinstance(raised.value, ContextWindowError)
    assert len(server.requests) == 1
    assert words in raised.value.message
    assert "openai/gpt-5.1" in raised.value.message
    assert "\n" not in str(raised.value)


def test_authentication_hint_names_the_missing_key_variable() -> None:
    with serve(ScriptTurn(status=401)) as server, pytest.raises(ModelError) as raised:
        client(server).complete(MESSAGES)
    assert "OPENAI_API_KEY" in raised.value.hint


def test_exhausted_script_fails_loudly() -> None:
    with serve(ScriptTurn(content="only one")) as server:
        model = client(server, retry=FAST.model_copy(update={"max_attempts": 2}))
        model.complete(MESSAGES)
        with pytest.raises(ModelError, match="script exhausted"):
            model.complete(MESSAGES)


def test_api_key_never_leaks_into_reply_logs_or_errors(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    secret = "sk-kettle-canary-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    caplog.set_level(logging.DEBUG)
    turns = (
        ScriptTurn(status=429, retry_after=0),
        ScriptTurn(content="ok"),
        ScriptTurn(status=401, error_message=f"Incorrect API key provided: {secret}"),
    )
    with serve(*turns) as server:
        model = client(server)
        reply = model.complete(MESSAGES)
        with pytest.raises(ModelError) as raised:
            model.complete(MESSAGES)
    # The key was really in use (sent to the server) ...
    assert server.request_headers[0]["authorization"] == f"Bearer {secret}"
    # ... and is nowhere we keep or show, even when the provider echoes it back.
    captured = capfd.readouterr()
    for text in (
        reply.model_dump_json(),
        caplog.text,
        str(raised.value),
        captured.out,
        captured.err,
    ):
        assert secret not in text


def test_placeholder_key_lets_keyless_servers_work() -> None:
    with serve(ScriptTurn(content="ok")) as server:
        client(server).complete(MESSAGES)
    assert server.request_headers[0]["authorization"] == "Bearer kettle-no-key"


def test_gpt5_temperature_is_fixed_at_one() -> None:
    with serve(ScriptTurn(content="ok")) as server:
        client(server, temperature=0.2).complete(MESSAGES)
    assert server.requests[0]["temperature"] == 1.0


def test_caller_settings_reach_the_request() -> None:
    with serve(ScriptTurn(content="ok")) as server:
        client(server, UNPRICED_MODEL, temperature=0.3, max_tokens=123).complete(MESSAGES)
    body = server.requests[0]
    assert body["temperature"] == 0.3
    assert 123 in (body.get("max_tokens"), body.get("max_completion_tokens"))
    assert body["messages"] == MESSAGES


def test_full_assistant_message_is_kept_when_quirks_ask() -> None:
    quirks = ModelQuirks(send_full_assistant_message=True)
    turn = ScriptTurn(content="hi", reasoning_content="signed thoughts")
    with serve(turn) as server:
        reply = client(server, UNPRICED_MODEL, quirks=quirks).complete(MESSAGES)
    assert reply.assistant_message["role"] == "assistant"
    assert reply.assistant_message["content"] == "hi"
    assert reply.assistant_message["reasoning_content"] == "signed thoughts"


def test_aliases_resolve_and_other_names_pass_through() -> None:
    assert ModelSpec.resolve("gemini-3").litellm_name == "gemini/gemini-3-pro-preview"
    assert ModelSpec.resolve("sonnet-4.5").litellm_name == "anthropic/claude-sonnet-4-5-20250929"
    assert ModelSpec.resolve("opus-4.5").litellm_name == "anthropic/claude-opus-4-5-20251101"
    assert ModelSpec.resolve("gpt-5").litellm_name == "openai/gpt-5"
    assert ModelSpec.resolve("gpt-5.1").litellm_name == "openai/gpt-5.1"
    assert ModelSpec.resolve("openai/my-vllm-model").litellm_name == "openai/my-vllm-model"
    assert set(ALIASES) == {"gemini-3", "sonnet-4.5", "opus-4.5", "gpt-5", "gpt-5.1"}


def test_baseline_is_not_a_model() -> None:
    with pytest.raises(ConfigError) as raised:
        ModelSpec.resolve("baseline")
    assert raised.value.hint


def test_quirks_pick_the_longest_matching_prefix() -> None:
    assert quirks_for("gemini/gemini-3-pro-preview").context_window == 1_048_576
    assert quirks_for("gemini/gemini-3-pro-preview").send_full_assistant_message
    assert quirks_for("gemini/gemini-3-flash-preview").temperature == 1.0
    assert quirks_for("anthropic/claude-opus-4-5-20251101").max_tokens == 32_000
    assert quirks_for("openai/gpt-5.1").temperature_fixed
    assert quirks_for("openai/my-vllm-model") == ModelQuirks()


def test_context_window_comes_from_litellm_then_quirks_then_caller() -> None:
    assert LiteLLMModel(ModelSpec.resolve("sonnet-4.5")).context_window == 200_000
    # litellm 1.109.3's local map does not know Gemini 3's window; the quirks table does.
    assert LiteLLMModel(ModelSpec.resolve("gemini-3")).context_window == 1_048_576
    assert LiteLLMModel(ModelSpec.resolve(UNPRICED_MODEL)).context_window == DEFAULT_CONTEXT_WINDOW
    assert (
        LiteLLMModel(ModelSpec.resolve("gpt-5.1"), context_window=50_000).context_window == 50_000
    )


def test_gemini_3_price_has_a_long_context_tier() -> None:
    price = quirks_for("gemini/gemini-3-pro-preview").price
    assert price is not None
    short = price.cost(Usage(prompt_tokens=100_000, completion_tokens=1_000))
    assert short == pytest.approx((100_000 * 2 + 1_000 * 12) / 1_000_000)
    long = price.cost(Usage(prompt_tokens=300_000, cached_tokens=100_000, completion_tokens=1_000))
    assert long == pytest.approx((200_000 * 4 + 100_000 * 0.4 + 1_000 * 18) / 1_000_000)


def test_token_price_without_cache_price_bills_cached_tokens_as_input() -> None:
    price = TokenPrice(input_per_mtok=1.0, output_per_mtok=2.0)
    usage = Usage(prompt_tokens=1_000_000, cached_tokens=500_000, completion_tokens=1_000_000)
    assert price.cost(usage) == pytest.approx(3.0)


def test_count_tokens_works_offline() -> None:
    model = LiteLLMModel(ModelSpec.resolve("gpt-5.1"))
    short = model.count_tokens([{"role": "user", "content": "hi"}])
    long = model.count_tokens([{"role": "user", "content": "hello there " * 100}])
    assert 0 < short < long


def test_redact_masks_secret_looking_environment_values() -> None:
    env = {"MY_API_KEY": "abcdefgh12345", "HOME": "/root/abcdefgh"}
    assert redact("key abcdefgh12345 in /root/abcdefgh", env) == "key *** in /root/abcdefgh"


def test_litellm_client_and_scripted_model_satisfy_the_protocol() -> None:
    assert isinstance(LiteLLMModel(ModelSpec.resolve("gpt-5.1")), Model)
    assert isinstance(ScriptedModel(Script()), Model)


def test_scripted_model_replays_turns_in_order() -> None:
    script = Script(
        turns=[
            ScriptTurn(content="first", cost_usd=0.01),
            ScriptTurn(content="again", repeat=2),
        ]
    )
    model = ScriptedModel(script, model_name="scripted", context_window=1000)
    replies = [model.complete(MESSAGES) for _ in range(3)]
    assert [reply.content for reply in replies] == ["first", "again", "again"]
    assert replies[0].cost_usd == 0.01
    assert replies[1].cost_usd is None
    assert replies[0].usage.prompt_tokens > 0
    assert model.requests == [MESSAGES] * 3
    assert model.context_window == 1000
    with pytest.raises(ModelError, match="script exhausted"):
        model.complete(MESSAGES)


def test_scripted_model_raises_what_the_real_client_raises_after_retries() -> None:
    script = Script(
        turns=[
            ScriptTurn(context_window_error=True),
            ScriptTurn(status=500),
            ScriptTurn(hang=True),
            ScriptTurn(content="fine"),
        ]
    )
    model = ScriptedModel(script)
    with pytest.raises(ContextWindowError):
        model.complete(MESSAGES)
    with pytest.raises(ModelError):
        model.complete(MESSAGES)
    with pytest.raises(ModelError, match="timed out"):
        model.complete(MESSAGES)
    assert model.complete(MESSAGES).content == "fine"


def test_scripted_model_returns_a_safety_block_and_fails_an_empty_reply_as_litellm_does() -> None:
    script = Script(
        turns=[ScriptTurn(content="withheld", safety_block="reply"), ScriptTurn(empty_reply=True)]
    )
    model = ScriptedModel(script)
    blocked = model.complete(MESSAGES)
    assert (blocked.content, blocked.finish_reason) == ("", "content_filter")
    with pytest.raises(ModelError, match="without any reply"):
        model.complete(MESSAGES)


def test_recorded_run_replays_through_the_real_client(tmp_path: Path) -> None:
    writer = TrajectoryWriter(
        tmp_path / "trajectory.json", session_id="s", agent=Agent(name="kettle", version="0")
    )
    writer.add_step("user", "task")
    writer.add_step("agent", '{"commands": [{"keystrokes": "ls\\n"}]}')
    writer.add_step("agent", '{"task_complete": true}')
    with ScriptedServer(script_from_trajectory(tmp_path / "trajectory.json")) as server:
        model = client(server)
        replayed = [model.complete(MESSAGES).content for _ in range(2)]
    assert replayed == [step.text for step in writer.steps if step.source == "agent"]


def test_a_price_the_user_gives_prices_an_unpriced_model() -> None:
    price = TokenPrice(input_per_mtok=3.0, output_per_mtok=15.0)
    spec = ModelSpec.resolve(UNPRICED_MODEL).model_copy(update={"price": price})
    assert not ModelSpec.resolve(UNPRICED_MODEL).price_known() and spec.price_known()
    usage = ScriptUsage(prompt_tokens=1_000_000, completion_tokens=100_000)
    with serve(ScriptTurn(content="hi", usage=usage)) as server:
        spec = spec.model_copy(update={"api_base": server.base_url})
        reply = LiteLLMModel(spec, retry=FAST).complete(MESSAGES)
    assert reply.cost_usd == pytest.approx(3.0 + 1.5)


def test_a_replay_makes_every_recorded_call_again_with_its_usage_and_ending(
    tmp_path: Path,
) -> None:
    """Summaries (with the context-window errors before them), a reply a safety filter
    withheld, a reply cut at the output limit, a run that ended on a model error: the
    replay answers each call as the provider did, with the recorded token counts."""
    writer = TrajectoryWriter(
        tmp_path / "trajectory.json", session_id="s", agent=Agent(name="kettle", version="0")
    )
    writer.add_step("user", "task")
    usage = Metrics(prompt_tokens=900, completion_tokens=40, extra={"reasoning_tokens": 12})
    writer.add_step("agent", '{"commands": []}', metrics=usage)
    writer.add_context_management_step(
        "the summary",
        details={
            "trigger": "context_window_error",
            "window_errors": 1,
            "summary_metrics": {"prompt_tokens": 500, "completion_tokens": 30},
        },
    )
    writer.add_step("agent", "", metrics=Metrics(extra={"finish_reason": "content_filter"}))
    writer.add_step("agent", '{"analy', metrics=Metrics(extra={"finish_reason": "length"}))
    writer.finish("model_error", reason="gave up: overloaded")
    script = script_from_trajectory(tmp_path / "trajectory.json")
    kinds = [
        "window" if t.context_window_error else "blocked" if t.safety_block else
        f"error {t.status}" if t.status else f"{t.content!r} {t.finish_reason}"
        for t in script.turns
    ]  # fmt: skip
    assert kinds == [
        """'{"commands": []}' stop""",
        "window",  # the turn that overflowed
        "window",  # the first summary attempt
        "'the summary' stop",
        "blocked",
        """'{"analy' length""",
        "error 400",
    ]
    assert script.turns[0].usage == ScriptUsage(
        prompt_tokens=900, completion_tokens=40, reasoning_tokens=12
    )
    assert script.turns[3].usage.prompt_tokens == 500
    with ScriptedServer(script) as server:
        model = client(server)
        first = model.complete(MESSAGES)
        assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (900, 40)
        for _ in range(2):
            with pytest.raises(ContextWindowError):
                model.complete(MESSAGES)
        assert model.complete(MESSAGES).content == "the summary"
        assert model.complete(MESSAGES).finish_reason == "content_filter"
        assert model.complete(MESSAGES).finish_reason == "length"
        with pytest.raises(ModelError, match="request rejected"):
            model.complete(MESSAGES)
