"""Every session parser, fed random bytes, random JSON and mutated real sessions, either
returns a valid Candidate or raises SessionFormatError — nothing else."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import SessionFormatError
from tests.fixtures.sessions import (
    Deny,
    Edit,
    Feedback,
    Interrupt,
    Prompt,
    SessionSpec,
    UserEdit,
    cline_storage,
    write_claude_code_session,
    write_cline_task,
    write_codex_rollout,
)
from tools.sessions.candidates_jsonl import parse_candidates_jsonl
from tools.sessions.claude_code import parse_claude_code_session
from tools.sessions.cline import API_HISTORY, TASK_METADATA, UI_MESSAGES, parse_cline_task
from tools.sessions.codex import parse_codex_rollout
from tools.sessions.intake import load_sessions
from tools.sessions.records import Candidate

FUZZ = settings(
    max_examples=int(os.environ.get("KETTLE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SPEC = SessionSpec(
    workspace="/home/alice/src/widgets",
    steps=[
        Prompt(text="fix the export"),
        Edit(path="src/export.py"),
        Deny(path="src/db.py", feedback="not the db"),
        UserEdit(path="src/export.py"),
        Feedback(text="use csv"),
        Interrupt(),
        Prompt(text="go on"),
    ],
    git_commit="ab" * 20,
    git_remote="https://github.com/acme/widgets.git",
    branch="main",
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(
        ["user", "assistant", "say", "ask", "tool_use", "tool_result", "text", "session_meta",
         "user_message", "turn_aborted", "interrupted", "user_feedback", "api_req_started",
         "The user denied this operation.", "<task>x</task>", "[Request interrupted by user]",
         "*** Begin Patch\n*** Update File: ../../etc/x\n*** End Patch", "/etc/passwd",
         "2025-01-01T00:00:00Z", "Edit", "apply_patch", "rejected by user", "file_path"]
    )
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(
        st.sampled_from(
            ["type", "role", "content", "text", "say", "ask", "ts", "payload", "message", "uuid",
             "parentUuid", "timestamp", "cwd", "sessionId", "name", "input", "id", "tool_use_id",
             "call_id", "output", "git", "prompts", "repo", "start_commit", "files_in_context",
             "path", "record_source", "toolUseResult", "isMeta", "attachment", "reason"]
        )
        | st.text(max_size=8),
        inner,
        max_size=6,
    ),
    max_leaves=30,
)  # fmt: skip


@contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def _check(candidate: Candidate) -> None:
    """A returned candidate is usable downstream: it serializes and its paths are safe."""
    assert candidate.first_prompt.strip()
    candidate.model_dump_json()
    for path in candidate.files_touched:
        assert not path.startswith("/") and ".." not in path.split("/")


def _only_format_errors(parse: Callable[[], Candidate]) -> None:
    try:
        candidate = parse()
    except SessionFormatError as error:
        assert "\n" not in error.message
        return
    _check(candidate)


# --- random bytes ----------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes_into_jsonl_parsers(data):
    with _scratch() as folder:
        path = folder / "session.jsonl"
        path.write_bytes(data)
        _only_format_errors(lambda: parse_claude_code_session(path))
        _only_format_errors(lambda: parse_codex_rollout(path))
        try:
            candidates, errors = parse_candidates_jsonl(path)
        except SessionFormatError:
            return
        assert all(isinstance(error, SessionFormatError) for error in errors)
        for candidate in candidates:
            _check(candidate)


@FUZZ
@given(ui=st.binary(max_size=1000), api=st.binary(max_size=1000), meta=st.binary(max_size=300))
def test_random_bytes_into_cline_task_files(ui, api, meta):
    with _scratch() as folder:
        (folder / UI_MESSAGES).write_bytes(ui)
        (folder / API_HISTORY).write_bytes(api)
        (folder / TASK_METADATA).write_bytes(meta)
        _only_format_errors(lambda: parse_cline_task(folder))


# --- random JSON structures ---------------------------------------------------------------


@FUZZ
@given(lines=st.lists(json_values, min_size=1, max_size=8))
def test_random_json_lines_into_jsonl_parsers(lines):
    with _scratch() as folder:
        path = folder / "session.jsonl"
        path.write_text("\n".join(json.dumps(line) for line in lines))
        _only_format_errors(lambda: parse_claude_code_session(path))
        _only_format_errors(lambda: parse_codex_rollout(path))
        try:
            candidates, _ = parse_candidates_jsonl(path)
        except SessionFormatError:
            return
        for candidate in candidates:
            _check(candidate)


@FUZZ
@given(ui=json_values, api=json_values, meta=json_values)
def test_random_json_into_cline_task_files(ui, api, meta):
    with _scratch() as folder:
        (folder / UI_MESSAGES).write_text(json.dumps(ui))
        (folder / API_HISTORY).write_text(json.dumps(api))
        (folder / TASK_METADATA).write_text(json.dumps(meta))
        _only_format_errors(lambda: parse_cline_task(folder))


# --- mutated real sessions ------------------------------------------------------------------


def _locations(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON value, found without recursion."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        current = stack.pop()
        items = current.items() if isinstance(current, dict) else enumerate(current)
        for key, child in list(items):
            found.append((current, key))
            if isinstance(child, dict | list):
                stack.append(child)
    return found


def _mutate(value: Any, data: st.DataObject) -> Any:
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        if not isinstance(value, dict | list) or not (places := _locations(value)):
            return value
        container, key = data.draw(st.sampled_from(places))
        action = data.draw(st.sampled_from(["delete", "replace", "null", "stringify", "wrap"]))
        if action == "delete":
            del container[key]
        elif action == "replace":
            container[key] = data.draw(json_values)
        elif action == "null":
            container[key] = None
        elif action == "stringify":
            container[key] = json.dumps(container[key])
        else:
            container[key] = [container[key]]
    return value


def _mutate_jsonl(path: Path, data: st.DataObject) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("\n".join(json.dumps(r) for r in _mutate(records, data)) + "\n")


@FUZZ
@given(data=st.data())
def test_mutated_claude_code_sessions(data):
    with _scratch() as folder:
        path = write_claude_code_session(folder, SPEC)
        _mutate_jsonl(path, data)
        _only_format_errors(lambda: parse_claude_code_session(path))


@FUZZ
@given(data=st.data())
def test_mutated_codex_rollouts(data):
    with _scratch() as folder:
        path = write_codex_rollout(folder, SPEC)
        _mutate_jsonl(path, data)
        _only_format_errors(lambda: parse_codex_rollout(path))


@FUZZ
@given(data=st.data(), flavor=st.sampled_from(["cline", "roo"]))
def test_mutated_cline_tasks(data, flavor):
    with _scratch() as folder:
        task = write_cline_task(cline_storage(folder, flavor), SPEC, flavor=flavor)
        for name in (UI_MESSAGES, API_HISTORY, TASK_METADATA):
            if data.draw(st.booleans()):
                value = json.loads((task / name).read_text())
                (task / name).write_text(json.dumps(_mutate(value, data)))
        _only_format_errors(lambda: parse_cline_task(task))


@FUZZ
@given(data=st.data())
def test_mutated_candidates_lines(data):
    row = {
        "id": "acme-1",
        "repo": "https://github.com/acme/w",
        "start_commit": "3f2c1a9",
        "prompts": ["fix it", "more"],
        "files_touched": ["a.py"],
        "user_interventions": [{"kind": "feedback", "text": "x"}],
    }
    with _scratch() as folder:
        path = folder / "candidates.jsonl"
        path.write_text(json.dumps(_mutate(row, data)) + "\n")
        try:
            candidates, errors = parse_candidates_jsonl(path)
        except SessionFormatError:
            return
        assert all("candidates.jsonl:1:" in str(error) for error in errors)
        for candidate in candidates:
            _check(candidate)


@FUZZ
@given(data=st.data())
def test_intake_never_raises_on_a_folder_of_mutated_sessions(data):
    with _scratch() as folder:
        paths = [
            write_claude_code_session(folder / "claude", SPEC),
            write_codex_rollout(folder / "codex", SPEC),
        ]
        for path in paths:
            if data.draw(st.booleans()):
                _mutate_jsonl(path, data)
        result = load_sessions([folder])
        assert len(result.candidates) + len(result.errors) == 2
        for candidate in result.candidates:
            _check(candidate)
