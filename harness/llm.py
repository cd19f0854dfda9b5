"""The model edge: one client on litellm, plus a scripted stand-in for tests.

Everything above this module sees only the ``Model`` protocol: ``complete(messages)`` returns
a ``ModelReply`` (content, usage, cost, latency) or raises a ``ModelError`` /
``ContextWindowError``. Retries live here and nowhere else: litellm and the provider SDKs are
told not to retry, and tenacity retries transient failures with exponential backoff and
jitter, honouring Retry-After, bounded by attempts and by the caller's remaining time.

Decisions worth knowing:
- A 200 with a truncated or garbage body reaches us as litellm's InternalServerError (the
  OpenAI SDK fails to parse it), APIConnectionError (Anthropic) or a 422 BadRequestError
  (Gemini); each is retried like any 5xx, since proxies do truncate. So is a 200 without a
  single choice (Gemini's empty candidate list without a block reason).
- Providers say how long to wait in different places: ``Retry-After`` / ``retry-after-ms``
  headers (OpenAI, Anthropic), or a ``google.rpc.RetryInfo`` ``retryDelay`` in the error
  body (Gemini, which sends no header). Both are honoured, within the caller's deadline:
  a wait that would end past it (or past ``RetryPolicy.max_retry_after_sec``) is not slept;
  the call gives up at once with a ModelError that says how long the provider asked for.
- ``--api-base`` is OpenAI-style (the base URL including ``/v1``); ``provider_api_base``
  turns it into the form litellm's Anthropic and Gemini providers need.
- A price litellm does not know is ``cost_usd=None``, never 0: a budget must not believe an
  unpriced call was free. litellm 1.109.3's local map reports a price of 0 for models it
  lacks (e.g. gemini/gemini-3-pro-preview); that counts as unknown. A price the user gives
  (``ModelSpec.price``, from ``--price-in/--price-out``) wins over both.
- API keys stay in the environment, where litellm reads them. They are never copied into a
  reply, and error messages are scrubbed of any secret-looking environment value.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType, ModuleType
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import tenacity
from pydantic import BaseModel, Field

from harness.errors import BudgetExhaustedError, ConfigError, ContextWindowError, ModelError
from harness.scripted_server import Script, ScriptPlayer, estimate_usage
from harness.trajectory import Metrics

log = logging.getLogger(__name__)

BASELINE = "baseline"

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "gemini-3": "gemini/gemini-3-pro-preview",
        "sonnet-4.5": "anthropic/claude-sonnet-4-5-20250929",
        "opus-4.5": "anthropic/claude-opus-4-5-20251101",
        "gpt-5": "openai/gpt-5",
        "gpt-5.1": "openai/gpt-5.1",
    }
)

# Sent when --api-base points at a server that needs no key (vLLM, Ollama, the scripted
# server): litellm's OpenAI path refuses to start without some key.
PLACEHOLDER_API_KEY = "kettle-no-key"
# Used when neither the caller, litellm nor the quirks table knows the window. Erring low
# only means summarizing earlier than needed; erring high means overflowing.
DEFAULT_CONTEXT_WINDOW = 128_000
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
_ERROR_NAME_CHAIN = re.compile(r"^(?:[\w.]*(?:Error|Exception|Timeout)\s*[:-]\s*)+")
# Google's APIs put the wait in the error body (google.rpc.RetryInfo, a JSON Duration).
_RETRY_DELAY = re.compile(r'"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"')
# How litellm's Gemini provider reports a 200 whose body it cannot parse (as a 422 it made up).
_UNPARSEABLE_REPLY = "Error converting to valid response block"


class ModelSpec(BaseModel):
    """A model as the user named it, resolved once: what travels from the command line to
    every agent loop (``--model`` and ``--api-base`` in, a litellm string out)."""

    requested: str = Field(description="What the user typed: an alias or a litellm string")
    litellm_name: str = Field(description="The litellm model string the client calls")
    api_base: str | None = Field(
        None, description="An endpoint, OpenAI-style (…/v1) or in the provider's own form"
    )
    price: TokenPrice | None = Field(
        None, description="The user's price (--price-in/--price-out): wins over litellm's"
    )

    @classmethod
    def resolve(cls, name: str, api_base: str | None = None) -> ModelSpec:
        """The spec for an alias or litellm string; ``baseline`` is not a model."""
        requested = name.strip()
        if requested == BASELINE:
            raise ConfigError(
                "'baseline' is not a model: it selects each role's deterministic policy",
                "handle --model baseline before creating a model client",
            )
        if not requested:
            raise ConfigError("no model name given", f"use a litellm string or one of {_aliases()}")
        return cls(
            requested=requested,
            litellm_name=ALIASES.get(requested, requested),
            api_base=api_base or None,
        )

    def require_api_key(self) -> None:
        """Fail early, in one line, when the provider's key is missing (before any work).

        A custom ``api_base`` (vLLM, Ollama, a proxy) often needs no key, so it is not checked.
        """
        if self.api_base:
            return
        found = _import_litellm().validate_environment(model=self.litellm_name)
        if not found.get("keys_in_environment", True):
            missing = " or ".join(found.get("missing_keys") or ["the provider's API key"])
            raise ConfigError(
                f"{self.requested}: {missing} is not set",
                "export the key, pass --api-base for a local server, or use --model baseline",
            )

    def price_known(self) -> bool:
        """Whether a call can be priced: the user's price, litellm's, or kettle's quirks."""
        if self.price is not None or quirks_for(self.litellm_name).price is not None:
            return True
        return _litellm_price_known(_model_info(_import_litellm(), self.litellm_name))


def _aliases() -> str:
    return ", ".join(ALIASES)


def _model_info(litellm: ModuleType, model_name: str) -> dict[str, Any]:
    try:
        return dict(litellm.get_model_info(model_name))
    except Exception:  # litellm raises for models it has never heard of
        return {}


def _litellm_price_known(info: Mapping[str, Any]) -> bool:
    # litellm 1.109.3 reports a price of 0 for some models it lacks: that is not a price.
    return bool(info.get("input_cost_per_token") or info.get("output_cost_per_token"))


def provider_api_base(model_name: str, api_base: str | None) -> str | None:
    """``api_base`` in the form litellm's provider for ``model_name`` needs.

    litellm (1.109.3) appends ``/v1/messages`` to an Anthropic api_base and
    ``/models/<model>:generateContent`` to a Gemini one, so kettle's OpenAI-style ``…/v1``
    would reach ``…/v1/v1/messages`` and a Gemini path without its API version. A trailing
    ``/v1`` is therefore dropped for ``anthropic/`` models and becomes ``/v1beta`` (the
    Gemini API's version, Gemini 3 included) for ``gemini/`` models, as does a bare host.
    Any other base, and every other provider's, passes unchanged.
    """
    if not api_base:
        return None
    provider = model_name.split("/", 1)[0]
    parts = urlsplit(api_base)
    path = parts.path.rstrip("/")
    if provider == "anthropic" and path.endswith("/v1"):
        path = path.removesuffix("/v1")
    elif provider == "gemini" and (path == "" or path.endswith("/v1")):
        path = path.removesuffix("/v1") + "/v1beta"
    else:
        return api_base
    return urlunsplit(parts._replace(path=path))


class TokenPrice(BaseModel):
    """USD per million tokens, for models litellm cannot price yet."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(None, ge=0)
    long_context_above: int | None = Field(
        None, description="Prompts with more tokens than this are billed at the long_* prices"
    )
    long_input_per_mtok: float | None = Field(None, ge=0)
    long_output_per_mtok: float | None = Field(None, ge=0)
    long_cached_input_per_mtok: float | None = Field(None, ge=0)

    def cost(self, usage: Usage) -> float:
        long = self.long_context_above is not None and usage.prompt_tokens > self.long_context_above
        input_price = (self.long_input_per_mtok if long else None) or self.input_per_mtok
        output_price = (self.long_output_per_mtok if long else None) or self.output_per_mtok
        cached_price = (self.long_cached_input_per_mtok if long else None) or (
            self.cached_input_per_mtok if self.cached_input_per_mtok is not None else input_price
        )
        uncached = usage.prompt_tokens - usage.cached_tokens
        total = uncached * input_price
        total += usage.cached_tokens * cached_price + usage.completion_tokens * output_price
        return total / 1_000_000


class ModelQuirks(BaseModel):
    """What one family of models needs beyond litellm's defaults."""

    temperature: float | None = Field(None, description="Sent unless the caller sets one")
    temperature_fixed: bool = Field(False, description="The provider accepts no other value")
    max_tokens: int | None = Field(None, description="Output cap sent unless the caller sets one")
    send_full_assistant_message: bool = Field(
        False, description="Echo the provider's whole assistant message back in the history"
    )
    context_window: int | None = Field(None, description="Used when litellm does not know it")
    price: TokenPrice | None = Field(None, description="Used when litellm does not know it")


_GEMINI_3 = ModelQuirks(
    # Google recommends 1.0 for Gemini 3; lower values cause looping. Thought signatures ride
    # on the assistant message and must come back with it or multi-turn reasoning degrades.
    temperature=1.0,
    send_full_assistant_message=True,
)

# Keyed by litellm name prefix; the longest matching prefix wins.
QUIRKS: Mapping[str, ModelQuirks] = MappingProxyType(
    {
        "gemini/gemini-3": _GEMINI_3,
        # litellm 1.109.3's local map has no entry for this model (window None, price 0).
        # Figures from Google's Gemini API model card and pricing page.
        "gemini/gemini-3-pro-preview": _GEMINI_3.model_copy(
            update={
                "context_window": 1_048_576,
                "price": TokenPrice(
                    input_per_mtok=2.0,
                    output_per_mtok=12.0,
                    cached_input_per_mtok=0.2,
                    long_context_above=200_000,
                    long_input_per_mtok=4.0,
                    long_output_per_mtok=18.0,
                    long_cached_input_per_mtok=0.4,
                ),
            }
        ),
        # litellm's Anthropic default output cap (4096) is too small for an agent's turn.
        "anthropic/": ModelQuirks(max_tokens=32_000),
        # GPT-5 family: reasoning models that accept only the default temperature.
        "openai/gpt-5": ModelQuirks(temperature=1.0, temperature_fixed=True),
    }
)


def quirks_for(model_name: str) -> ModelQuirks:
    """The quirks of the longest table prefix matching a litellm model string."""
    matches = [prefix for prefix in QUIRKS if model_name.startswith(prefix)]
    return QUIRKS[max(matches, key=len)] if matches else ModelQuirks()


ModelSpec.model_rebuild()  # its price is a TokenPrice, defined after it


class Usage(BaseModel):
    """Tokens of one reply. prompt_tokens includes cached_tokens; completion_tokens includes
    reasoning_tokens (OpenAI's conventions, which litellm normalizes every provider to)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0


class ModelReply(BaseModel):
    """One successful completion, with everything the loop records about it."""

    schema_version: int = 1
    model_name: str = Field(description="The litellm model string that was asked")
    provider_model: str | None = Field(None, description="The model the provider says answered")
    response_id: str | None = None
    content: str
    reasoning_content: str | None = None
    assistant_message: dict[str, Any] = Field(
        description="The message to append to the history (the provider's whole message when "
        "the model's quirks say so, else role and content)"
    )
    finish_reason: str | None = Field(None, description="'length' means the output was cut")
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = Field(None, description="None when the price is unknown")
    latency_sec: float = Field(0.0, description="Wall time of the call, retries included")
    attempts: int = 1

    def step_metrics(self) -> Metrics:
        """The ATIF metrics of the trajectory step this reply produced."""
        return Metrics(
            prompt_tokens=self.usage.prompt_tokens,
            completion_tokens=self.usage.completion_tokens,
            cached_tokens=self.usage.cached_tokens,
            cost_usd=self.cost_usd,
            extra={
                "reasoning_tokens": self.usage.reasoning_tokens,
                "latency_sec": round(self.latency_sec, 3),
                "attempts": self.attempts,
                # What a replay needs to answer as the provider did (harness.scripted_server).
                "finish_reason": self.finish_reason,
            },
        )


@runtime_checkable
class Model(Protocol):
    """What the loop needs from a model. Tests substitute ``ScriptedModel`` here."""

    @property
    def model_name(self) -> str: ...

    @property
    def context_window(self) -> int: ...

    def count_tokens(self, messages: list[dict[str, Any]]) -> int: ...

    def complete(
        self, messages: list[dict[str, Any]], *, timeout_sec: float | None = None
    ) -> ModelReply:
        """One completion. ``timeout_sec`` is the caller's remaining wall time for this call,
        retries included; no attempt and no backoff sleep runs past it."""
        ...


class RetryPolicy(BaseModel):
    """How hard to try before a transient failure becomes a ModelError."""

    max_attempts: int = Field(6, ge=1)
    initial_backoff_sec: float = Field(2.0, ge=0)
    max_backoff_sec: float = Field(60.0, ge=0)
    max_retry_after_sec: float = Field(
        900.0,
        ge=0,
        description="A provider asking to wait longer than this (Retry-After, retryDelay) "
        "is not waited for: the call gives up at once, saying so",
    )
    request_timeout_sec: float = Field(600.0, gt=0, description="One HTTP attempt at most")


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with the value of every secret-looking environment variable masked."""
    env = os.environ if environ is None else environ
    for name, value in env.items():
        if len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "***")
    return text


def _one_line(error: BaseException, limit: int = 300) -> str:
    """``ErrorClass: the provider's words`` on one line, secrets masked."""
    text = " ".join(str(error).split())
    # litellm prefixes a chain of class and provider names ("litellm.BadRequestError:
    # ContextWindowExceededError: OpenAIException - ..."); one class name is enough.
    text = _ERROR_NAME_CHAIN.sub("", text)
    text = f"{type(error).__name__}: {text}"
    return redact(text if len(text) <= limit else text[: limit - 1] + "…")


def _import_litellm() -> ModuleType:
    # Without this litellm fetches its price map from the internet at import time.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # else every error prints a banner to stdout
    return litellm


class EmptyResponseError(Exception):
    """A 200 that holds no reply at all (no choice; Gemini: no candidate, no block reason).

    Raised inside the retry loop so the call is retried, then reported as a ModelError.
    """


def _retry_after_sec(error: BaseException) -> float | None:
    """Seconds the provider asked us to wait, if it said: Retry-After / retry-after-ms
    headers, else Google's RetryInfo retryDelay in the error body."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or getattr(error, "litellm_response_headers", None)
    from_headers = _retry_after_header_sec(headers) if headers else None
    if from_headers is not None:
        return from_headers
    # litellm keeps the provider's error body in the message; its response is a stub.
    if delay := _RETRY_DELAY.search(str(error)):
        return float(delay[1])
    return None


def _retry_after_header_sec(headers: Mapping[str, str]) -> float | None:
    if (milliseconds := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class LiteLLMModel:
    """A ``Model`` for a resolved ``ModelSpec``, optionally behind the spec's ``api_base``.

    ``api_base`` is an OpenAI-style base URL including ``/v1`` (vLLM, Ollama, a proxy, the
    scripted server), or a provider's own form; ``provider_api_base`` adapts the former for
    ``anthropic/`` and ``gemini/`` models. Keeping a real model name behind a local server
    (``openai/gpt-5.1``, ``sonnet-4.5``) keeps litellm's price for it.
    """

    def __init__(
        self,
        spec: ModelSpec,
        *,
        context_window: int | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        reasoning_effort: str | None = None,
        retry: RetryPolicy | None = None,
        quirks: ModelQuirks | None = None,
    ) -> None:
        self.spec = spec
        self._model_name = spec.litellm_name
        self._litellm = _import_litellm()
        self.api_base = spec.api_base
        self.quirks = quirks if quirks is not None else quirks_for(self._model_name)
        self.retry = retry or RetryPolicy()
        self._context_window_override = context_window
        if temperature is not None and self.quirks.temperature_fixed:
            log.warning(
                "%s accepts only temperature %s; ignoring %s",
                self._model_name,
                self.quirks.temperature,
                temperature,
            )
            temperature = None
        self._temperature = temperature if temperature is not None else self.quirks.temperature
        self._max_tokens = max_tokens if max_tokens is not None else self.quirks.max_tokens
        self._reasoning_effort = reasoning_effort
        self._model_info = self._lookup_model_info()

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def context_window(self) -> int:
        """Tokens the prompt may hold: caller's figure, else litellm's, else the quirks'."""
        known = (
            self._context_window_override
            or self._model_info.get("max_input_tokens")
            or self.quirks.context_window
        )
        return int(known or DEFAULT_CONTEXT_WINDOW)

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        try:
            return int(self._litellm.token_counter(model=self._model_name, messages=messages))
        except Exception as error:  # a tokenizer gap must not stop a run: estimate instead
            log.debug("token_counter failed for %s (%s); estimating", self._model_name, error)
            return sum(len(str(message.get("content") or "")) for message in messages) // 4

    def complete(
        self, messages: list[dict[str, Any]], *, timeout_sec: float | None = None
    ) -> ModelReply:
        started = time.monotonic()
        if timeout_sec is not None and timeout_sec <= 0:
            raise BudgetExhaustedError("wall time", f"{self._model_name}: no time left to call")
        deadline = None if timeout_sec is None else started + timeout_sec
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(self._is_transient),
            wait=self._wait,
            stop=tenacity.stop_after_attempt(self.retry.max_attempts)
            | _stop_at(deadline)
            | self._stop_at_long_retry_hint,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response = retrying(self._attempt, messages, deadline)
        except Exception as error:
            attempts = retrying.statistics.get("attempt_number", 1)
            elapsed = time.monotonic() - started
            mapped = self._model_error(error, attempts, elapsed, deadline)
            if mapped is None:
                raise  # not a provider failure but a bug: let it surface as itself
            raise mapped from error
        attempts = retrying.statistics.get("attempt_number", 1)
        return self._reply(response, attempts, time.monotonic() - started)

    def _attempt(self, messages: list[dict[str, Any]], deadline: float | None) -> Any:
        timeout = self.retry.request_timeout_sec
        if deadline is not None:
            timeout = max(0.001, min(timeout, deadline - time.monotonic()))
        response = self._litellm.completion(
            messages=messages, timeout=timeout, **self._call_params()
        )
        if not response.choices:
            raise EmptyResponseError("the provider answered 200 without any reply (no choices)")
        return response

    def _call_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self._model_name,
            # tenacity above is the only retry layer: litellm and the provider SDK must not
            # retry underneath it, or attempts multiply and deadlines slip.
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,
        }
        if self.api_base:
            params["api_base"] = provider_api_base(self._model_name, self.api_base)
            env = self._litellm.validate_environment(model=self._model_name)
            if not env.get("keys_in_environment"):
                params["api_key"] = PLACEHOLDER_API_KEY
        if self._temperature is not None:
            params["temperature"] = self._temperature
        if self._max_tokens is not None:
            params["max_tokens"] = self._max_tokens
        if self._reasoning_effort is not None:
            params["reasoning_effort"] = self._reasoning_effort
        return params

    def _is_transient(self, error: BaseException) -> bool:
        lite = self._litellm
        if isinstance(error, EmptyResponseError):
            return True
        if isinstance(error, lite.BadRequestError) and _UNPARSEABLE_REPLY in str(error):
            return True  # a truncated 200 body, which the other providers report as 5xx
        if isinstance(error, lite.ContextWindowExceededError | lite.BadRequestError):
            return False
        transient = (
            lite.RateLimitError,
            lite.InternalServerError,
            lite.ServiceUnavailableError,
            lite.BadGatewayError,
            lite.APIConnectionError,
            lite.Timeout,
        )
        if isinstance(error, transient):
            return True
        # Provider-specific 5xx (e.g. Anthropic's 529 "overloaded") arrive as plain APIError.
        status = getattr(error, "status_code", None)
        return isinstance(error, lite.APIError) and isinstance(status, int) and status >= 500

    def _wait(self, state: tenacity.RetryCallState) -> float:
        policy = self.retry
        exponential = policy.initial_backoff_sec * 2 ** (state.attempt_number - 1)
        backoff = min(policy.max_backoff_sec, exponential)
        wait = backoff * random.uniform(0.5, 1.0)  # jitter: retries of parallel agents spread out
        error = state.outcome.exception() if state.outcome else None
        retry_after = _retry_after_sec(error) if error else None
        return max(wait, retry_after) if retry_after is not None else wait

    def _stop_at_long_retry_hint(self, state: tenacity.RetryCallState) -> bool:
        """Give up at once when the provider asks for a wait longer than the policy allows
        (the caller's deadline is ``_stop_at``'s): sleeping it would only delay the error."""
        return state.upcoming_sleep > self.retry.max_retry_after_sec

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: attempt %d failed (%s); retrying in %.1fs",
            self._model_name,
            state.attempt_number,
            _one_line(error) if error else "unknown error",
            state.upcoming_sleep,
        )

    def _model_error(
        self, error: Exception, attempts: int, elapsed: float, deadline: float | None = None
    ) -> ModelError | None:
        lite = self._litellm
        name = self._model_name
        reason = _one_line(error)
        if isinstance(error, lite.ContextWindowExceededError):
            return ContextWindowError(
                f"{name}: the prompt exceeds the context window ({self.context_window} tokens): "
                f"{reason}"
            )
        if self._is_transient(error):
            asked = _retry_after_sec(error)
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if asked is not None and (
                asked > self.retry.max_retry_after_sec or (left is not None and asked >= left)
            ):
                limit = (
                    f"the {left:.0f}s left of this agent's time"
                    if left is not None and asked >= left
                    else f"kettle's limit of {self.retry.max_retry_after_sec:.0f}s"
                )
                return ModelError(
                    f"{name}: gave up after {attempts} attempt(s): the provider asked to wait "
                    f"{asked:.0f}s before retrying, more than {limit}: {reason}",
                    "the provider is rate-limiting: retry later, or allow more time",
                )
            return ModelError(
                f"{name}: gave up after {attempts} attempt(s) in {elapsed:.1f}s: {reason}",
                "the provider is failing or rate-limiting: retry later, or allow more time",
            )
        if isinstance(error, lite.AuthenticationError):
            return ModelError(f"{name}: authentication failed: {reason}", self._key_hint())
        if isinstance(error, lite.PermissionDeniedError):
            return ModelError(
                f"{name}: permission denied: {reason}",
                "check that your API key's account has access to this model",
            )
        if isinstance(error, lite.NotFoundError):
            return ModelError(
                f"{name}: model not found: {reason}",
                f"check the model name (a litellm string or one of {_aliases()}) and --api-base",
            )
        if isinstance(error, lite.BadRequestError):
            return ModelError(
                f"{name}: request rejected: {reason}",
                "check the model's parameters and the messages sent",
            )
        import openai  # every litellm provider error derives from the OpenAI SDK's base

        if isinstance(error, openai.OpenAIError):
            return ModelError(f"{name}: {reason}")
        return None

    def _key_hint(self) -> str:
        missing = self._litellm.validate_environment(model=self._model_name).get("missing_keys")
        if missing:
            return f"set {' or '.join(missing)} in the environment"
        return "check that the API key in the environment is valid for this provider"

    def _reply(self, response: Any, attempts: int, elapsed: float) -> ModelReply:
        choice = response.choices[0]
        message = choice.message
        content = message.content or ""
        usage = _usage_of(response)
        if self.quirks.send_full_assistant_message:
            assistant_message = message.model_dump(exclude_none=True)
        else:
            assistant_message = {"role": "assistant", "content": content}
        return ModelReply(
            model_name=self._model_name,
            provider_model=getattr(response, "model", None),
            response_id=getattr(response, "id", None),
            content=content,
            reasoning_content=getattr(message, "reasoning_content", None) or None,
            assistant_message=assistant_message,
            finish_reason=getattr(choice, "finish_reason", None),
            usage=usage,
            cost_usd=self._cost(response, usage),
            latency_sec=elapsed,
            attempts=attempts,
        )

    def _lookup_model_info(self) -> dict[str, Any]:
        return _model_info(self._litellm, self._model_name)

    def _cost(self, response: Any, usage: Usage) -> float | None:
        if self.spec.price is not None:
            return self.spec.price.cost(usage)
        if not _litellm_price_known(self._model_info):
            return self.quirks.price.cost(usage) if self.quirks.price else None
        cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        if cost is None:
            try:
                cost = self._litellm.completion_cost(completion_response=response)
            except Exception:  # unknown price: say so, do not crash a run over accounting
                return None
        return float(cost)


def _stop_at(deadline: float | None) -> Callable[[tenacity.RetryCallState], bool]:
    """Stop retrying when the next sleep would end at or past the caller's deadline."""

    def stop(state: tenacity.RetryCallState) -> bool:
        if deadline is None:
            return False
        return time.monotonic() + state.upcoming_sleep >= deadline

    return stop


def _usage_of(response: Any) -> Usage:
    usage = getattr(response, "usage", None)
    if usage is None:
        return Usage()
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    completion_details = getattr(usage, "completion_tokens_details", None)
    return Usage(
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        cached_tokens=getattr(prompt_details, "cached_tokens", 0) or 0,
        reasoning_tokens=getattr(completion_details, "reasoning_tokens", 0) or 0,
    )


class ScriptedModel:
    """A deterministic, in-process ``Model`` replaying a ``Script`` — for tests of code
    above the model edge. It has no retry layer: a fault turn reaches the caller as the
    error the real client raises once retrying is over (ContextWindowError for a context
    window turn, ModelError for any other fault)."""

    def __init__(
        self,
        script: Script,
        *,
        model_name: str = "scripted",
        context_window: int = DEFAULT_CONTEXT_WINDOW,
        send_full_assistant_message: bool = False,
    ) -> None:
        self._player = ScriptPlayer(script)
        self._model_name = model_name
        self._context_window = context_window
        self._full_message = send_full_assistant_message
        self.requests: list[list[dict[str, Any]]] = []

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def context_window(self) -> int:
        return self._context_window

    @property
    def turns_remaining(self) -> int:
        return self._player.remaining

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        return sum(len(str(message.get("content") or "")) for message in messages) // 4

    def complete(
        self, messages: list[dict[str, Any]], *, timeout_sec: float | None = None
    ) -> ModelReply:
        started = time.monotonic()
        self.requests.append([dict(message) for message in messages])
        turn = self._player.next_turn()
        name = self._model_name
        if turn is None:
            raise ModelError(
                f"{name}: script exhausted after {self._player.served} turns",
                "add turns to the test's script",
            )
        if turn.delay_sec:
            time.sleep(turn.delay_sec if timeout_sec is None else min(turn.delay_sec, timeout_sec))
        if turn.context_window_error:
            raise ContextWindowError(f"{name}: the prompt exceeds the context window (scripted)")
        if turn.hang or (timeout_sec is not None and turn.delay_sec > timeout_sec):
            raise ModelError(f"{name}: gave up: request timed out (scripted)")
        if turn.malformed_body:
            raise ModelError(f"{name}: gave up: malformed response body (scripted)")
        if turn.status is not None:
            raise ModelError(f"{name}: provider answered HTTP {turn.status} (scripted)")
        if turn.empty_reply:
            raise ModelError(f"{name}: gave up: the provider answered without any reply (scripted)")
        # A safety block is a reply, as litellm returns it: no text, finish reason content_filter.
        content = "" if turn.safety_block else turn.content
        usage = estimate_usage(turn, messages)
        assistant_message: dict[str, Any] = {"role": "assistant", "content": content}
        if self._full_message and turn.reasoning_content is not None:
            assistant_message["reasoning_content"] = turn.reasoning_content
        return ModelReply(
            model_name=name,
            provider_model=name,
            response_id=f"scripted-{self._player.served}",
            content=content,
            reasoning_content=turn.reasoning_content,
            assistant_message=assistant_message,
            finish_reason="content_filter" if turn.safety_block else turn.finish_reason,
            usage=Usage(**usage.model_dump()),
            cost_usd=turn.cost_usd,
            latency_sec=time.monotonic() - started,
        )
