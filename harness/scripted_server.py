"""A scripted model server: the model edge for tests, demos and replays.

It answers on 127.0.0.1 with the turns of a ``Script``, in order, one turn per request, in
whichever of three providers' wire formats the request arrived — including faults (rate
limits with the provider's retry hint, 5xx, Anthropic's 529 overload, a truncated body, a
context-window error, a safety block, an empty answer, a request that never gets one). kettle's real
model client (litellm) talks to it exactly as it talks to each provider, so tests exercise
litellm's real OpenAI, Anthropic and Gemini code without a network or an API key.

    python -m harness.scripted_server --script script.json --port 8000

or, in tests::

    with ScriptedServer(Script(turns=[ScriptTurn(content="hi")])) as server:
        LiteLLMModel(ModelSpec.resolve("sonnet-4.5", server.base_url)).complete(messages)

Formats, routes, and the ``api_base`` each litellm provider needs to reach them (litellm
1.109.3; ``server.base_url_for(provider)`` returns it):

=========  =====================================================  =========================
format     routes                                                 litellm ``api_base``
=========  =====================================================  =========================
OpenAI     ``POST /v1/chat/completions`` (``stream: true`` too),  ``http://127.0.0.1:P/v1``
           ``GET /v1/models``                                     (litellm appends
                                                                  ``/chat/completions``)
Anthropic  ``POST /v1/messages`` (``stream: true`` → SSE events)  ``http://127.0.0.1:P``
                                                                  (litellm appends
                                                                  ``/v1/messages``)
Gemini     ``POST /v1beta/models/<model>:generateContent`` and    ``http://127.0.0.1:P/v1beta``
           ``…:streamGenerateContent?alt=sse`` (also under        (litellm appends
           ``/v1alpha``, which litellm uses for Gemini 3 against  ``/models/<model>:<method>``)
           Google); key in ``x-goog-api-key`` or ``?key=``
=========  =====================================================  =========================

kettle's client (``harness.llm.provider_api_base``) turns the OpenAI-style ``…/v1`` into
the other two forms itself, so ``server.base_url`` works with every model name.

A turn renders in each format as that provider would send it:

- ``content`` / ``reasoning_content``: OpenAI ``message.content`` / ``reasoning_content``;
  Anthropic a ``text`` block after a ``thinking`` block (with a ``signature``); Gemini a text
  part after a ``thought: true`` part, the text part carrying a ``thoughtSignature``.
  Signatures are ``thought_signature(request_number)``, so a test can look for them coming
  back in the next request.
- ``finish_reason`` is OpenAI's word; ``length`` becomes Anthropic's ``max_tokens`` and
  Gemini's ``MAX_TOKENS`` (any other value is sent as given).
- ``usage.reasoning_tokens``: OpenAI ``completion_tokens_details.reasoning_tokens``; Gemini
  ``thoughtsTokenCount`` (``candidatesTokenCount`` then excludes them, as Google counts);
  Anthropic reports no split (thinking is billed inside ``output_tokens``).
- ``status`` answers the provider's error body for that status (Anthropic's 529 is an
  ``overloaded_error``; Gemini's 429 is ``RESOURCE_EXHAUSTED``). ``retry_after`` is a
  ``Retry-After`` header for OpenAI and Anthropic, and a ``google.rpc.RetryInfo``
  ``retryDelay`` in the error details for Gemini (Google sends no header).
- ``safety_block``: ``"reply"`` is Gemini's ``finishReason: SAFETY`` with no parts,
  Anthropic's ``stop_reason: refusal``, OpenAI's ``finish_reason: content_filter``;
  ``"prompt"`` is Gemini's answer with no candidates and ``promptFeedback.blockReason``
  (rendered as ``"reply"`` in the other formats, which have no such answer).
- ``empty_reply``: a 200 with no answer in it (Gemini: no candidates and no block reason;
  OpenAI: ``choices: []``; Anthropic: ``content: []``).

Every request is recorded (``server.recorded``): path, query, headers (credentials masked,
the key presented kept only as a ``fingerprint``) and the parsed body — what the client
really sent.

When the script runs out the server answers 500 with a body that says so, so a test that
asks for more turns than it scripted fails with that message instead of hanging.

One server can also play many scripts at once, one per agent (``routes``): a request
under ``/agents/<name>/`` (the name URL-quoted) is answered from the script of that name,
the rest of its path routed as above, so each agent's ``api_base`` ends in
``/agents/<name>/v1``. That is how a recorded build is replayed: every agent of every
candidate gets back the replies it got the first time (``agents.factory.replay``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, NamedTuple, Protocol
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import typer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.cli import run_cli
from harness.errors import ConfigError
from harness.fsio import read_model
from harness.trajectory import Metrics, Trajectory

log = logging.getLogger(__name__)

# OpenAI's exact wording and code for an over-long prompt: litellm recognizes both and raises
# ContextWindowExceededError, which kettle must tell apart from other 400s.
CONTEXT_WINDOW_MESSAGE = (
    "This model's maximum context length is {limit} tokens. However, your messages resulted "
    "in {used} tokens. Please reduce the length of the messages."
)
SCRIPTED_CONTEXT_LIMIT = 128_000
EXHAUSTED_STATUS = 500

WireFormat = Literal["openai", "anthropic", "gemini"]
SafetyBlock = Literal["reply", "prompt"]

# Where clients put credentials: masked in recordings, fingerprinted to tell keys apart.
_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key")
_SECRET_HEADERS = frozenset({*_CREDENTIAL_HEADERS, "proxy-authorization", "cookie"})
_SECRET_QUERY_PARAMS = frozenset({"key"})
_GEMINI_ROUTE = re.compile(
    r"^/(?:v1beta|v1alpha)/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$"
)


class ScriptUsage(BaseModel):
    """Token counts the server reports; a field left out is estimated from text lengths."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int | None = Field(None, ge=0)
    completion_tokens: int | None = Field(None, ge=0)
    cached_tokens: int | None = Field(None, ge=0)
    reasoning_tokens: int | None = Field(None, ge=0)


class ScriptTurn(BaseModel):
    """One response. At most one fault (status, malformed_body, context_window_error, hang,
    safety_block, empty_reply)."""

    model_config = ConfigDict(extra="forbid")

    content: str = ""
    reasoning_content: str | None = None
    usage: ScriptUsage = Field(default_factory=ScriptUsage)
    cost_usd: float | None = Field(
        None,
        description="Only for the in-process ScriptedModel: the server cannot report a cost "
        "(litellm prices calls itself from the model name).",
    )
    finish_reason: str = Field(
        "stop",
        description="OpenAI's word; 'length' (cut at the output limit) becomes Anthropic's "
        "'max_tokens' and Gemini's 'MAX_TOKENS'",
    )
    delay_sec: float = Field(0.0, ge=0, description="Wait this long before answering")
    status: int | None = Field(
        None, ge=400, le=599, description="Answer with this HTTP error status instead"
    )
    retry_after: float | None = Field(
        None,
        ge=0,
        description="Seconds the provider asks the client to wait: a Retry-After header "
        "(OpenAI, Anthropic) or a google.rpc.RetryInfo retryDelay (Gemini)",
    )
    error_message: str | None = Field(None, description="Message in the error body")
    malformed_body: bool = Field(False, description="200 with a truncated, invalid JSON body")
    context_window_error: bool = Field(
        False, description="The provider's 400 for an over-long prompt"
    )
    hang: bool = Field(False, description="Never answer; the client must time out")
    safety_block: SafetyBlock | None = Field(
        None,
        description="A 200 whose answer the provider's safety filter withheld: 'reply' "
        "(Gemini finishReason SAFETY, no parts) or 'prompt' (Gemini: no candidates, "
        "promptFeedback.blockReason)",
    )
    empty_reply: bool = Field(
        False,
        description="A 200 with no answer in it: Gemini with no candidates and no "
        "promptFeedback, OpenAI 'choices: []', Anthropic 'content: []'",
    )
    repeat: int = Field(1, ge=1, description="Serve this turn this many times in a row")

    @model_validator(mode="after")
    def _one_fault_at_most(self) -> ScriptTurn:
        faults = [
            self.status is not None,
            self.malformed_body,
            self.context_window_error,
            self.hang,
            self.safety_block is not None,
            self.empty_reply,
        ]
        if sum(faults) > 1:
            raise ValueError("a turn injects at most one fault")
        if self.retry_after is not None and self.status is None:
            raise ValueError("retry_after needs an error status (e.g. 429)")
        return self

    @property
    def is_fault(self) -> bool:
        return (
            self.status is not None
            or self.malformed_body
            or self.context_window_error
            or self.hang
            or self.safety_block is not None
            or self.empty_reply
        )


class Script(BaseModel):
    """An ordered list of responses, stored as JSON."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    turns: list[ScriptTurn] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Script:
        return read_model(path, cls)

    def expanded(self) -> list[ScriptTurn]:
        """The turns in serving order, ``repeat`` unrolled."""
        return [turn for turn in self.turns for _ in range(turn.repeat)]


class RecordedRequest(BaseModel):
    """One request as the server received it, credentials masked: what the client sent."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(description="1 for the first request the server received")
    received_at: float = Field(
        description="time.monotonic() on arrival: gaps between requests show client backoff"
    )
    wire_format: WireFormat
    path: str = Field(description="Without the query string")
    query: dict[str, str] = Field(default_factory=dict, description="Credentials masked")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Lower-cased names; credential values masked"
    )
    credential: str | None = Field(
        None, description="fingerprint() of the API key the client presented"
    )
    credential_source: str | None = Field(
        None,
        description="Where the key was: a header name ('authorization' for a Bearer token, "
        "'x-api-key', 'x-goog-api-key') or 'query:key'",
    )
    model: str | None = Field(None, description="The model the request names (body or path)")
    stream: bool = False
    body: dict[str, Any] = Field(default_factory=dict)
    script: str | None = Field(None, description="The routed script that answered, if any")


class ScriptPlayer:
    """Hands out a script's turns one at a time, safely across threads."""

    def __init__(self, script: Script) -> None:
        self._turns = script.expanded()
        self._next = 0
        self._lock = threading.Lock()

    def next_turn(self) -> ScriptTurn | None:
        with self._lock:
            if self._next >= len(self._turns):
                return None
            turn = self._turns[self._next]
            self._next += 1
            return turn

    @property
    def served(self) -> int:
        return self._next

    @property
    def remaining(self) -> int:
        return len(self._turns) - self._next


def fingerprint(secret: str) -> str:
    """How a recording shows a credential: enough to tell keys apart, never the key."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def thought_signature(request_number: int) -> str:
    """The opaque signature on the reasoning of the server's answer to request N."""
    return base64.b64encode(f"kettle-scripted-thought-{request_number}".encode()).decode()


def _estimate_tokens(text: str) -> int:
    # About four characters per token: rough, but stable and good enough for budgets in tests.
    return max(1, len(text) // 4) if text else 0


def estimate_usage(turn: ScriptTurn, messages: list[Any]) -> ScriptUsage:
    """The turn's usage with every missing count estimated from the text lengths.

    As with OpenAI, completion tokens include reasoning tokens and prompt tokens include
    cached tokens.
    """
    given = turn.usage
    reasoning = given.reasoning_tokens
    if reasoning is None:
        reasoning = _estimate_tokens(turn.reasoning_content or "")
    completion = given.completion_tokens
    if completion is None:
        completion = max(1, _estimate_tokens(turn.content) + reasoning)
    prompt = given.prompt_tokens
    if prompt is None:
        prompt = max(1, _estimate_tokens(json.dumps(messages, default=str)))
    return ScriptUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=given.cached_tokens or 0,
        reasoning_tokens=reasoning,
    )


def script_from_trajectory(trajectory: Trajectory | Path) -> Script:
    """A script that replays a recorded run: every model call the agent made, in order.

    Each agent step's reply becomes one turn, with its recorded usage (so replayed token
    counts and costs match the original), reasoning and finish reason (a reply cut at the
    output limit, or withheld by a safety filter, is answered the same way). A history
    summarization replays its calls too: the context-window errors that led to it, the
    summary itself. A run that ended on a model error ends on one again.
    """
    if isinstance(trajectory, Path):
        trajectory = read_model(trajectory, Trajectory)
    turns: list[ScriptTurn] = []
    for step in trajectory.steps:
        managed = (step.extra or {}).get("context_management")
        if step.source == "system" and isinstance(managed, dict):
            turns += _summary_turns(managed, step.text)
        elif step.source == "agent" and step.llm_call_count != 0:
            turns.append(_reply_turn(step.text, step.reasoning_content, step.metrics))
    extra = trajectory.extra or {}
    if extra.get("status") == "model_error":
        turns.append(ScriptTurn(status=400, error_message=str(extra.get("reason") or "")))
    return Script(turns=turns)


def _reply_turn(content: str, reasoning: str | None, metrics: Metrics | None) -> ScriptTurn:
    extra = (metrics.extra if metrics else None) or {}
    finish_reason = str(extra.get("finish_reason") or "stop")
    usage = ScriptUsage(
        prompt_tokens=metrics.prompt_tokens if metrics else None,
        completion_tokens=metrics.completion_tokens if metrics else None,
        cached_tokens=metrics.cached_tokens if metrics else None,
        reasoning_tokens=extra.get("reasoning_tokens"),
    )
    if finish_reason == "content_filter" and not content:
        # Rendered as each provider withholds a reply, so litellm reports it the same way.
        return ScriptTurn(safety_block="reply", usage=usage)
    return ScriptTurn(
        content=content,
        reasoning_content=reasoning,
        usage=usage,
        cost_usd=metrics.cost_usd if metrics else None,
        finish_reason=finish_reason,
    )


def _summary_turns(managed: dict[str, Any], summary: str) -> list[ScriptTurn]:
    """The model calls behind one summarization, as the loop records them."""
    turns = []
    if managed.get("trigger") == "context_window_error":
        turns.append(ScriptTurn(context_window_error=True))  # the turn that overflowed
    turns += [ScriptTurn(context_window_error=True)] * int(managed.get("window_errors") or 0)
    if isinstance(managed.get("summary_metrics"), dict):
        turns.append(_reply_turn(summary, None, Metrics.model_validate(managed["summary_metrics"])))
    elif managed.get("model_error"):
        turns.append(ScriptTurn(status=400, error_message=str(managed["model_error"])))
    return turns


def error_body(message: str, error_type: str, code: str | None = None) -> dict[str, Any]:
    """An error body shaped like OpenAI's."""
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


# Each provider's words for an error status and a finish reason (OpenAI's are the script's).
_OPENAI_ERRORS: Mapping[int, tuple[str, str | None, str]] = MappingProxyType(
    {
        400: ("invalid_request_error", None, "Scripted bad request."),
        401: ("invalid_request_error", "invalid_api_key", "Scripted authentication failure."),
        403: ("invalid_request_error", "permission_denied", "Scripted permission denied."),
        404: ("invalid_request_error", "model_not_found", "Scripted: the model does not exist."),
        429: ("requests", "rate_limit_exceeded", "Scripted rate limit reached."),
    }
)
_ANTHROPIC_STOP_REASONS: Mapping[str, str] = MappingProxyType(
    {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
)
_ANTHROPIC_ERRORS: Mapping[int, tuple[str, str]] = MappingProxyType(
    {
        400: ("invalid_request_error", "Scripted bad request."),
        401: ("authentication_error", "invalid x-api-key"),
        403: ("permission_error", "Scripted permission denied."),
        404: ("not_found_error", "Scripted: the model does not exist."),
        413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
        429: ("rate_limit_error", "Scripted rate limit reached."),
        529: ("overloaded_error", "Overloaded"),
    }
)
_GEMINI_FINISH_REASONS: Mapping[str, str] = MappingProxyType(
    {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
)
_GEMINI_ERRORS: Mapping[int, tuple[str, str]] = MappingProxyType(
    {
        400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        401: ("UNAUTHENTICATED", "API key not valid. Please pass a valid API key."),
        403: ("PERMISSION_DENIED", "Scripted permission denied."),
        404: ("NOT_FOUND", "Scripted: the model does not exist."),
        429: (
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
        ),
        500: ("INTERNAL", "An internal error has occurred."),
        503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
        504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
    }
)
_GEMINI_BLOCKED_RATING: Mapping[str, Any] = MappingProxyType(
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
)


class _Answer(NamedTuple):
    """What one turn renders to, before the wire format frames it."""

    number: int
    model: str
    turn: ScriptTurn
    usage: ScriptUsage


class _WireFormat(Protocol):
    """One provider's request and response shapes."""

    name: WireFormat

    def prompt(self, body: dict[str, Any]) -> list[Any]:
        """The part of a request that counts as prompt, for estimating its tokens."""
        ...

    def reply(self, answer: _Answer) -> dict[str, Any]:
        """The whole answer, as one JSON body."""
        ...

    def stream(self, reply: dict[str, Any], body: dict[str, Any]) -> Iterator[bytes]:
        """The reply as the provider's server-sent events."""
        ...

    def status_error(self, turn: ScriptTurn) -> tuple[dict[str, Any], dict[str, str]]:
        """The error body (and headers) of a scripted error status."""
        ...

    def context_window_error(self, used: int) -> dict[str, Any]:
        """The 400 body for a prompt of ``used`` tokens, in the provider's own words."""
        ...

    def server_error(self, message: str) -> dict[str, Any]:
        """A 500 body saying ``message`` (the script ran out)."""
        ...


def _retry_after_header(turn: ScriptTurn) -> dict[str, str]:
    return {} if turn.retry_after is None else {"Retry-After": f"{turn.retry_after:g}"}


class _OpenAIFormat:
    name: WireFormat = "openai"

    def prompt(self, body: dict[str, Any]) -> list[Any]:
        return list(body.get("messages") or [])

    def reply(self, answer: _Answer) -> dict[str, Any]:
        turn, usage = answer.turn, answer.usage
        message: dict[str, Any] = {"role": "assistant", "content": turn.content}
        if turn.reasoning_content is not None:
            message["reasoning_content"] = turn.reasoning_content
        finish_reason = "content_filter" if turn.safety_block else turn.finish_reason
        prompt = usage.prompt_tokens or 0
        completion = usage.completion_tokens or 0
        choice = {"index": 0, "message": message, "finish_reason": finish_reason}
        return {
            "id": f"chatcmpl-scripted-{answer.number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": answer.model,
            "choices": [] if turn.empty_reply else [choice],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
                "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            },
        }

    def stream(self, reply: dict[str, Any], body: dict[str, Any]) -> Iterator[bytes]:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        head = {key: reply[key] for key in ("id", "created", "model")}
        head["object"] = "chat.completion.chunk"

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        chunks = []
        for choice in reply["choices"]:
            message = choice["message"]
            chunks.append(chunk({"role": "assistant", "content": ""}))
            if message.get("reasoning_content"):
                chunks.append(chunk({"reasoning_content": message["reasoning_content"]}))
            if message["content"]:
                chunks.append(chunk({"content": message["content"]}))
            chunks.append(chunk({}, choice["finish_reason"]))
        if include_usage:
            chunks.append({**head, "choices": [], "usage": reply["usage"]})
        for each in chunks:
            yield f"data: {json.dumps(each)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    def status_error(self, turn: ScriptTurn) -> tuple[dict[str, Any], dict[str, str]]:
        status = turn.status or 500
        default = ("server_error", None, f"Scripted server error {status}.")
        error_type, code, message = _OPENAI_ERRORS.get(status, default)
        body = error_body(turn.error_message or message, error_type, code)
        return body, _retry_after_header(turn)

    def context_window_error(self, used: int) -> dict[str, Any]:
        message = CONTEXT_WINDOW_MESSAGE.format(limit=SCRIPTED_CONTEXT_LIMIT, used=used)
        error = error_body(message, "invalid_request_error", "context_length_exceeded")
        error["error"]["param"] = "messages"
        return error

    def server_error(self, message: str) -> dict[str, Any]:
        return error_body(message, "script_exhausted")


class _AnthropicFormat:
    """Anthropic's Messages API (``POST /v1/messages``)."""

    name: WireFormat = "anthropic"

    def prompt(self, body: dict[str, Any]) -> list[Any]:
        return [body.get("system"), *(body.get("messages") or [])]

    def reply(self, answer: _Answer) -> dict[str, Any]:
        turn, usage = answer.turn, answer.usage
        content: list[dict[str, Any]] = []
        if turn.reasoning_content is not None:
            signature = thought_signature(answer.number)
            content.append(
                {"type": "thinking", "thinking": turn.reasoning_content, "signature": signature}
            )
        if turn.content or turn.reasoning_content is None:
            content.append({"type": "text", "text": turn.content})
        if turn.empty_reply:
            content = []
        if turn.safety_block:
            stop_reason = "refusal"
        else:
            stop_reason = _ANTHROPIC_STOP_REASONS.get(turn.finish_reason, turn.finish_reason)
        cached = usage.cached_tokens or 0
        return {
            "id": f"msg_scripted_{answer.number}",
            "type": "message",
            "role": "assistant",
            "model": answer.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            # Anthropic's input_tokens leave out cache reads; output_tokens include thinking.
            "usage": {
                "input_tokens": (usage.prompt_tokens or 0) - cached,
                "output_tokens": usage.completion_tokens or 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": cached,
            },
        }

    def stream(self, reply: dict[str, Any], body: dict[str, Any]) -> Iterator[bytes]:
        def event(kind: str, data: dict[str, Any]) -> bytes:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

        usage = reply["usage"]
        opening_usage = {**usage, "output_tokens": 1}  # Anthropic counts output as it streams
        start = {**reply, "content": [], "stop_reason": None, "usage": opening_usage}
        yield event("message_start", {"message": start})
        for index, block in enumerate(reply["content"]):
            if block["type"] == "thinking":
                opening = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [
                    {"type": "thinking_delta", "thinking": block["thinking"]},
                    {"type": "signature_delta", "signature": block["signature"]},
                ]
            else:
                opening = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": block["text"]}]
            yield event("content_block_start", {"index": index, "content_block": opening})
            for delta in deltas:
                yield event("content_block_delta", {"index": index, "delta": delta})
            yield event("content_block_stop", {"index": index})
        stop = {"stop_reason": reply["stop_reason"], "stop_sequence": None}
        yield event("message_delta", {"delta": stop, "usage": usage})
        yield event("message_stop", {})

    def status_error(self, turn: ScriptTurn) -> tuple[dict[str, Any], dict[str, str]]:
        status = turn.status or 500
        error_type, message = _ANTHROPIC_ERRORS.get(status, ("api_error", "Internal server error"))
        error = {"type": error_type, "message": turn.error_message or message}
        return {"type": "error", "error": error}, _retry_after_header(turn)

    def context_window_error(self, used: int) -> dict[str, Any]:
        # Anthropic's wording; litellm maps "prompt is too long" to ContextWindowExceededError.
        message = f"prompt is too long: {used} tokens > {SCRIPTED_CONTEXT_LIMIT} maximum"
        return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}

    def server_error(self, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": "api_error", "message": message}}


class _GeminiFormat:
    """Google's Gemini API (``models/<model>:generateContent``)."""

    name: WireFormat = "gemini"

    def prompt(self, body: dict[str, Any]) -> list[Any]:
        return [body.get("systemInstruction"), *(body.get("contents") or [])]

    def reply(self, answer: _Answer) -> dict[str, Any]:
        turn, usage = answer.turn, answer.usage
        prompt = usage.prompt_tokens or 0
        completion = usage.completion_tokens or 0
        reasoning = min(usage.reasoning_tokens or 0, completion)
        # Google counts thoughts apart: candidatesTokenCount + thoughtsTokenCount = output.
        metadata: dict[str, Any] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": completion - reasoning,
            "totalTokenCount": prompt + completion,
        }
        if reasoning:
            metadata["thoughtsTokenCount"] = reasoning
        if usage.cached_tokens:
            metadata["cachedContentTokenCount"] = usage.cached_tokens
        head = {"modelVersion": answer.model, "responseId": f"scripted-{answer.number}"}
        if turn.empty_reply:
            return {"usageMetadata": metadata, **head}
        if turn.safety_block == "prompt":
            feedback = {"blockReason": "SAFETY", "safetyRatings": [dict(_GEMINI_BLOCKED_RATING)]}
            usage_of_prompt = {"promptTokenCount": prompt, "totalTokenCount": prompt}
            return {"promptFeedback": feedback, "usageMetadata": usage_of_prompt, **head}
        if turn.safety_block == "reply":
            candidate: dict[str, Any] = {
                "finishReason": "SAFETY",
                "index": 0,
                "safetyRatings": [dict(_GEMINI_BLOCKED_RATING)],
            }
            metadata["candidatesTokenCount"] = 0
            metadata["totalTokenCount"] = prompt
            return {"candidates": [candidate], "usageMetadata": metadata, **head}
        parts: list[dict[str, Any]] = []
        answer_part: dict[str, Any] = {"text": turn.content}
        if turn.reasoning_content is not None:
            parts.append({"text": turn.reasoning_content, "thought": True})
            answer_part["thoughtSignature"] = thought_signature(answer.number)
        parts.append(answer_part)
        finish = _GEMINI_FINISH_REASONS.get(turn.finish_reason, turn.finish_reason)
        candidate = {
            "content": {"role": "model", "parts": parts},
            "finishReason": finish,
            "index": 0,
        }
        return {"candidates": [candidate], "usageMetadata": metadata, **head}

    def stream(self, reply: dict[str, Any], body: dict[str, Any]) -> Iterator[bytes]:
        # One chunk per part; the last carries the finish reason and the usage, as Google's.
        candidates = reply.get("candidates")
        if not candidates:  # blocked or empty: the whole answer is one chunk
            yield _gemini_event(reply)
            return
        head = {"modelVersion": reply["modelVersion"], "responseId": reply["responseId"]}
        last = candidates[0]
        parts = last.get("content", {}).get("parts", [])
        for part in parts[:-1]:
            content = {"role": "model", "parts": [part]}
            yield _gemini_event({"candidates": [{"content": content, "index": 0}], **head})
        if parts:
            last = {**last, "content": {"role": "model", "parts": parts[-1:]}}
        yield _gemini_event({**reply, "candidates": [last]})

    def status_error(self, turn: ScriptTurn) -> tuple[dict[str, Any], dict[str, str]]:
        status = turn.status or 500
        code, message = _GEMINI_ERRORS.get(status, ("UNKNOWN", f"Scripted server error {status}."))
        error: dict[str, Any] = {
            "code": status,
            "message": turn.error_message or message,
            "status": code,
        }
        if turn.retry_after is not None:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/"
                            "generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        }
                    ],
                },
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{turn.retry_after:g}s",
                },
            ]
        return {"error": error}, {}  # Google states the delay in the body, never in a header

    def context_window_error(self, used: int) -> dict[str, Any]:
        message = (
            f"The input token count ({used}) exceeds the maximum number of tokens allowed "
            f"({SCRIPTED_CONTEXT_LIMIT})."
        )
        return {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}

    def server_error(self, message: str) -> dict[str, Any]:
        return {"error": {"code": 500, "message": message, "status": "INTERNAL"}}


def _gemini_event(chunk: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(chunk)}\r\n\r\n".encode()


_FORMATS: Mapping[WireFormat, _WireFormat] = MappingProxyType(
    {
        "openai": _OpenAIFormat(),
        "anthropic": _AnthropicFormat(),
        "gemini": _GeminiFormat(),
    }
)


class _Route(NamedTuple):
    wire: _WireFormat
    model: str | None  # named by the path (Gemini); else by the body
    stream: bool | None  # decided by the path (Gemini); else by the body


def _route(path: str) -> _Route | None:
    path = path.rstrip("/")
    if path in ("/v1/chat/completions", "/chat/completions"):
        return _Route(_FORMATS["openai"], None, None)
    if path == "/v1/messages":
        return _Route(_FORMATS["anthropic"], None, None)
    if match := _GEMINI_ROUTE.match(path):
        stream = match["method"] == "streamGenerateContent"
        return _Route(_FORMATS["gemini"], match["model"], stream)
    return None


AGENT_ROUTE_PREFIX = "/agents/"


def agent_route_base(root: str, name: str) -> str:
    """The OpenAI-style ``api_base`` under which the server answers from script ``name``."""
    return f"{root.rstrip('/')}{AGENT_ROUTE_PREFIX}{quote(name, safe='')}/v1"


def _split_agent_route(path: str) -> tuple[str | None, str]:
    """(script name, the rest of the path) for ``/agents/<name>/...``; (None, path) else."""
    if not path.startswith(AGENT_ROUTE_PREFIX):
        return None, path
    name, _, rest = path[len(AGENT_ROUTE_PREFIX) :].partition("/")
    return unquote(name), "/" + rest


def _record(
    number: int,
    route: _Route,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: dict[str, Any],
) -> RecordedRequest:
    """The request with every credential masked, and a fingerprint of the key presented."""
    lowered = {name.lower(): value for name, value in headers.items()}
    credential = source = None
    for name in _CREDENTIAL_HEADERS:
        if value := lowered.get(name):
            credential, source = value.removeprefix("Bearer ").strip(), name
            break
    if credential is None and query.get("key"):
        credential, source = query["key"], "query:key"
    masked_headers = {
        name: ("***" if name in _SECRET_HEADERS else value) for name, value in lowered.items()
    }
    masked_query = {
        name: ("***" if name in _SECRET_QUERY_PARAMS else value) for name, value in query.items()
    }
    stream = route.stream if route.stream is not None else bool(body.get("stream"))
    return RecordedRequest(
        number=number,
        received_at=time.monotonic(),
        wire_format=route.wire.name,
        path=path,
        query=masked_query,
        headers=masked_headers,
        credential=fingerprint(credential) if credential else None,
        credential_source=source,
        model=route.model or body.get("model"),
        stream=stream,
        body=body,
    )


class _ServerState:
    """Everything one server instance shares between its request threads."""

    def __init__(
        self, script: Script, model_name: str, routes: Mapping[str, Script] | None = None
    ) -> None:
        self.player = ScriptPlayer(script)
        self.players = {name: ScriptPlayer(routed) for name, routed in (routes or {}).items()}
        self.model_name = model_name
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.recorded: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hung handler must not block shutdown

    def __init__(self, address: tuple[str, int], state: _ServerState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("scripted server: " + format, *args)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            model = {"id": self.server.state.model_name, "object": "model", "owned_by": "kettle"}
            self._send_json(HTTPStatus.OK, {"object": "list", "data": [model]})
        else:
            self._send_json(HTTPStatus.NOT_FOUND, error_body(f"no route {self.path}", "not_found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        url = urlsplit(self.path)
        script, api_path = _split_agent_route(url.path)
        state = self.server.state
        player = state.player if script is None else state.players.get(script)
        route = _route(api_path)
        if route is None or player is None:
            self._send_json(HTTPStatus.NOT_FOUND, error_body(f"no route {self.path}", "not_found"))
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(HTTPStatus.BAD_REQUEST, error_body("body is not JSON", "invalid_json"))
            return
        query = dict(parse_qsl(url.query))
        if route.stream and query.get("alt") != "sse":
            # Without alt=sse Google streams one JSON array; litellm always asks for SSE.
            message = "the scripted server streams Gemini replies only as SSE (?alt=sse)"
            self._send_json(HTTPStatus.BAD_REQUEST, route.wire.server_error(message))
            return
        with state.lock:
            number = len(state.requests) + 1
            record = _record(number, route, api_path, query, dict(self.headers.items()), body)
            record = record.model_copy(update={"script": script})
            state.requests.append(body)
            state.headers.append(dict(self.headers.items()))
            state.recorded.append(record)
        turn = player.next_turn()
        if turn is None:
            named = f" {script!r}" if script else ""
            message = (
                f"scripted server: script{named} exhausted — request #{number} arrived "
                f"after all {player.served} scripted turns were served"
            )
            log.error(message)
            self._send_json(EXHAUSTED_STATUS, route.wire.server_error(message))
            return
        if turn.delay_sec and state.stopping.wait(turn.delay_sec):
            return
        self._answer(route.wire, turn, body, record)

    def _answer(
        self, wire: _WireFormat, turn: ScriptTurn, body: dict[str, Any], record: RecordedRequest
    ) -> None:
        state = self.server.state
        if turn.hang:
            state.stopping.wait()  # until the server stops; the client gives up long before
            return
        if turn.status is not None:
            payload, headers = wire.status_error(turn)
            self._send_json(turn.status, payload, headers)
            return
        prompt = wire.prompt(body)
        if turn.context_window_error:
            used = max(SCRIPTED_CONTEXT_LIMIT + 1, _estimate_tokens(json.dumps(prompt)))
            self._send_json(HTTPStatus.BAD_REQUEST, wire.context_window_error(used))
            return
        model = record.model or state.model_name
        answer = _Answer(record.number, model, turn, estimate_usage(turn, prompt))
        reply = wire.reply(answer)
        if turn.malformed_body:
            text = json.dumps(reply)
            self._send_bytes(HTTPStatus.OK, text[: len(text) // 2].encode(), "application/json")
        elif record.stream:
            self._send_stream(wire.stream(reply, body))
        else:
            self._send_json(HTTPStatus.OK, reply)

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("scripted server: client went away before the answer")

    def _send_stream(self, events: Iterator[bytes]) -> None:
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for event in events:
                self.wfile.write(event)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            log.debug("scripted server: client went away mid-stream")
        self.close_connection = True


class ScriptedServer:
    """The scripted server on 127.0.0.1, in a background thread; a context manager.

    ``port=0`` picks a free port. ``recorded`` holds every request received, in order, with
    credentials masked; ``requests`` their JSON bodies, and ``request_headers`` their raw
    headers (credentials included, for tests that prove a key was sent).
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        port: int = 0,
        model_name: str = "scripted-model",
        routes: Mapping[str, Script] | None = None,
    ) -> None:
        self._state = _ServerState(script or Script(), model_name, routes)
        self._httpd = _HTTPServer(("127.0.0.1", port), self._state)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-style base (``…/v1``); kettle's client adapts it for other providers."""
        return self.base_url_for("openai")

    def base_url_for(self, provider: WireFormat) -> str:
        """The ``api_base`` litellm's ``provider`` needs to reach this server (see above)."""
        root = f"http://127.0.0.1:{self.port}"
        return {"openai": f"{root}/v1", "anthropic": root, "gemini": f"{root}/v1beta"}[provider]

    @property
    def recorded(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.recorded)

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        with self._state.lock:
            return list(self._state.headers)

    @property
    def turns_remaining(self) -> int:
        return self._state.player.remaining

    def route_base(self, name: str) -> str:
        """The OpenAI-style ``api_base`` of the routed script ``name``."""
        return agent_route_base(f"http://127.0.0.1:{self.port}", name)

    def routes_remaining(self) -> dict[str, int]:
        """Turns each routed script has not served yet (a faithful replay leaves none)."""
        return {name: player.remaining for name, player in self._state.players.items()}

    def start(self) -> ScriptedServer:
        # A short poll interval makes stop() (and so every test using the server) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # wakes delayed and hung handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait(self) -> None:
        """Block until the server stops (the CLI's foreground)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.command()
def main(
    script: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Script JSON file")
    ] = None,
    trajectory: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="ATIF trajectory to replay instead"),
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = any free port)")] = 8000,
    model_name: Annotated[str, typer.Option(help="Model id listed by /v1/models")] = (
        "scripted-model"
    ),
    debug: Annotated[bool, typer.Option(help="Log every request; tracebacks on errors")] = False,
) -> None:
    """Serve a script's turns (or a recorded run's replies) as OpenAI, Anthropic and Gemini."""

    def serve() -> None:
        if script is not None and trajectory is None:
            loaded, source = Script.load(script), script
        elif trajectory is not None and script is None:
            loaded, source = script_from_trajectory(trajectory), trajectory
        else:
            raise ConfigError("give exactly one of --script and --trajectory")
        server = ScriptedServer(loaded, port=port, model_name=model_name)
        typer.echo(f"serving {source} at {server.base_url} (Ctrl-C to stop)")
        with server, contextlib.suppress(KeyboardInterrupt):
            server.wait()

    run_cli(serve, debug=debug)


if __name__ == "__main__":
    app()
