"""A scripted OpenAI-compatible server: the model edge for tests, demos and replays.

It answers ``POST /v1/chat/completions`` (plain and ``stream: true``) and ``GET /v1/models``
on 127.0.0.1 with the turns of a ``Script``, in order, one turn per request — including
faults (429 with Retry-After, 5xx, a truncated body, a context-window error, a request that
never gets an answer). kettle's real model client (litellm) talks to it exactly as it talks
to a provider, so tests exercise the real path without a network or an API key.

    python -m harness.scripted_server --script script.json --port 8000

or, in tests::

    with ScriptedServer(Script(turns=[ScriptTurn(content="hi")])) as server:
        LiteLLMModel(ModelSpec.resolve("openai/gpt-5.1", server.base_url)).complete(messages)

When the script runs out the server answers 500 with a body that says so, so a test that
asks for more turns than it scripted fails with that message instead of hanging.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.cli import run_cli
from harness.errors import ConfigError
from harness.fsio import read_model
from harness.trajectory import Trajectory

log = logging.getLogger(__name__)

# OpenAI's exact wording and code for an over-long prompt: litellm recognizes both and raises
# ContextWindowExceededError, which kettle must tell apart from other 400s.
CONTEXT_WINDOW_MESSAGE = (
    "This model's maximum context length is {limit} tokens. However, your messages resulted "
    "in {used} tokens. Please reduce the length of the messages."
)
SCRIPTED_CONTEXT_LIMIT = 128_000
EXHAUSTED_STATUS = 500


class ScriptUsage(BaseModel):
    """Token counts the server reports; a field left out is estimated from text lengths."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int | None = Field(None, ge=0)
    completion_tokens: int | None = Field(None, ge=0)
    cached_tokens: int | None = Field(None, ge=0)
    reasoning_tokens: int | None = Field(None, ge=0)


class ScriptTurn(BaseModel):
    """One response. At most one fault (status, malformed_body, context_window_error, hang)."""

    model_config = ConfigDict(extra="forbid")

    content: str = ""
    reasoning_content: str | None = None
    usage: ScriptUsage = Field(default_factory=ScriptUsage)
    cost_usd: float | None = Field(
        None,
        description="Only for the in-process ScriptedModel: the server cannot report a cost "
        "(litellm prices calls itself from the model name).",
    )
    finish_reason: str = "stop"
    delay_sec: float = Field(0.0, ge=0, description="Wait this long before answering")
    status: int | None = Field(
        None, ge=400, le=599, description="Answer with this HTTP error status instead"
    )
    retry_after: float | None = Field(None, ge=0, description="Retry-After header, seconds")
    error_message: str | None = Field(None, description="Message in the error body")
    malformed_body: bool = Field(False, description="200 with a truncated, invalid JSON body")
    context_window_error: bool = Field(False, description="OpenAI's 400 for an over-long prompt")
    hang: bool = Field(False, description="Never answer; the client must time out")
    repeat: int = Field(1, ge=1, description="Serve this turn this many times in a row")

    @model_validator(mode="after")
    def _one_fault_at_most(self) -> ScriptTurn:
        faults = [
            self.status is not None,
            self.malformed_body,
            self.context_window_error,
            self.hang,
        ]
        if sum(faults) > 1:
            raise ValueError("a turn injects at most one fault")
        if self.retry_after is not None and self.status is None:
            raise ValueError("retry_after needs an error status (e.g. 429)")
        return self

    @property
    def is_fault(self) -> bool:
        return (
            self.status is not None or self.malformed_body or self.context_window_error or self.hang
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


def _estimate_tokens(text: str) -> int:
    # About four characters per token: rough, but stable and good enough for budgets in tests.
    return max(1, len(text) // 4) if text else 0


def estimate_usage(turn: ScriptTurn, messages: list[dict[str, Any]]) -> ScriptUsage:
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
    """A script that replays a recorded run: each agent step's message becomes one turn.

    Usage comes from the step's metrics where recorded, so replayed token accounting matches
    the original run.
    """
    if isinstance(trajectory, Path):
        trajectory = read_model(trajectory, Trajectory)
    turns = []
    for step in trajectory.steps:
        if step.source != "agent" or step.llm_call_count == 0:
            continue
        metrics = step.metrics
        usage = ScriptUsage(
            prompt_tokens=metrics.prompt_tokens if metrics else None,
            completion_tokens=metrics.completion_tokens if metrics else None,
            cached_tokens=metrics.cached_tokens if metrics else None,
        )
        turns.append(
            ScriptTurn(
                content=step.text,
                reasoning_content=step.reasoning_content,
                usage=usage,
                cost_usd=metrics.cost_usd if metrics else None,
            )
        )
    return Script(turns=turns)


def error_body(message: str, error_type: str, code: str | None = None) -> dict[str, Any]:
    """An error body shaped like OpenAI's."""
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def _status_error(turn: ScriptTurn) -> dict[str, Any]:
    status = turn.status or 500
    kinds = {
        400: ("invalid_request_error", None, "Scripted bad request."),
        401: ("invalid_request_error", "invalid_api_key", "Scripted authentication failure."),
        403: ("invalid_request_error", "permission_denied", "Scripted permission denied."),
        404: ("invalid_request_error", "model_not_found", "Scripted: the model does not exist."),
        429: ("requests", "rate_limit_exceeded", "Scripted rate limit reached."),
    }
    default = ("server_error", None, f"Scripted server error {status}.")
    error_type, code, message = kinds.get(status, default)
    return error_body(turn.error_message or message, error_type, code)


class _ServerState:
    """Everything one server instance shares between its request threads."""

    def __init__(self, script: Script, model_name: str) -> None:
        self.player = ScriptPlayer(script)
        self.model_name = model_name
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
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
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send_json(HTTPStatus.NOT_FOUND, error_body(f"no route {self.path}", "not_found"))
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(HTTPStatus.BAD_REQUEST, error_body("body is not JSON", "invalid_json"))
            return
        state = self.server.state
        with state.lock:
            state.requests.append(body)
            state.headers.append(dict(self.headers.items()))
            request_number = len(state.requests)
        turn = state.player.next_turn()
        if turn is None:
            served = state.player.served
            message = (
                f"scripted server: script exhausted — request #{request_number} arrived "
                f"after all {served} scripted turns were served"
            )
            log.error(message)
            self._send_json(EXHAUSTED_STATUS, error_body(message, "script_exhausted"))
            return
        if turn.delay_sec and state.stopping.wait(turn.delay_sec):
            return
        self._answer(turn, body, request_number)

    def _answer(self, turn: ScriptTurn, body: dict[str, Any], number: int) -> None:
        state = self.server.state
        if turn.hang:
            state.stopping.wait()  # until the server stops; the client gives up long before
            return
        if turn.status is not None:
            headers = {}
            if turn.retry_after is not None:
                headers["Retry-After"] = f"{turn.retry_after:g}"
            self._send_json(turn.status, _status_error(turn), headers)
            return
        messages = body.get("messages") or []
        if turn.context_window_error:
            used = max(SCRIPTED_CONTEXT_LIMIT + 1, _estimate_tokens(json.dumps(messages)))
            message = CONTEXT_WINDOW_MESSAGE.format(limit=SCRIPTED_CONTEXT_LIMIT, used=used)
            error = error_body(message, "invalid_request_error", "context_length_exceeded")
            error["error"]["param"] = "messages"
            self._send_json(HTTPStatus.BAD_REQUEST, error)
            return
        completion = _completion(turn, body, number, state.model_name)
        if turn.malformed_body:
            text = json.dumps(completion)
            self._send_bytes(HTTPStatus.OK, text[: len(text) // 2].encode(), "application/json")
        elif body.get("stream"):
            self._send_stream(completion, body)
        else:
            self._send_json(HTTPStatus.OK, completion)

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

    def _send_stream(self, completion: dict[str, Any], body: dict[str, Any]) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for chunk in _stream_chunks(completion, include_usage):
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            log.debug("scripted server: client went away mid-stream")
        self.close_connection = True


def _completion(
    turn: ScriptTurn, body: dict[str, Any], number: int, default_model: str
) -> dict[str, Any]:
    usage = estimate_usage(turn, body.get("messages") or [])
    message: dict[str, Any] = {"role": "assistant", "content": turn.content}
    if turn.reasoning_content is not None:
        message["reasoning_content"] = turn.reasoning_content
    prompt = usage.prompt_tokens or 0
    completion = usage.completion_tokens or 0
    return {
        "id": f"chatcmpl-scripted-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or default_model,
        "choices": [{"index": 0, "message": message, "finish_reason": turn.finish_reason}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        },
    }


def _stream_chunks(completion: dict[str, Any], include_usage: bool) -> Iterator[dict[str, Any]]:
    head = {key: completion[key] for key in ("id", "created", "model")}
    head["object"] = "chat.completion.chunk"
    message = completion["choices"][0]["message"]
    finish_reason = completion["choices"][0]["finish_reason"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    if message.get("reasoning_content"):
        yield chunk({"reasoning_content": message["reasoning_content"]})
    if message["content"]:
        yield chunk({"content": message["content"]})
    yield chunk({}, finish_reason)
    if include_usage:
        yield {**head, "choices": [], "usage": completion["usage"]}


class ScriptedServer:
    """The scripted server on 127.0.0.1, in a background thread; a context manager.

    ``port=0`` picks a free port. ``requests`` holds the JSON bodies received, in order, and
    ``request_headers`` their headers, for assertions.
    """

    def __init__(
        self, script: Script, *, port: int = 0, model_name: str = "scripted-model"
    ) -> None:
        self._state = _ServerState(script, model_name)
        self._httpd = _HTTPServer(("127.0.0.1", port), self._state)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

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
    """Serve a script's turns (or a recorded run's replies) as an OpenAI-compatible API."""

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
