"""The Harbor task format: a task folder's layout and ``TaskConfig``, the task.toml schema.

``TaskConfig`` mirrors the task.toml schema that Harbor 0.26 accepts, but rejects unknown
keys in known sections: a misspelt ``cpu`` that Harbor would silently ignore becomes an
error naming the file and the dotted key. Reading and writing whole folders is
``harness.task.folder``.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
import types
import typing
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import TaskFormatError

INSTRUCTION_FILE = "instruction.md"
CONFIG_FILE = "task.toml"
ENVIRONMENT_DIR = "environment"
SOLUTION_DIR = "solution"
TESTS_DIR = "tests"
DOCKERFILE = f"{ENVIRONMENT_DIR}/Dockerfile"
COMPOSE_FILE = f"{ENVIRONMENT_DIR}/docker-compose.yaml"
SOLVE_SCRIPT = f"{SOLUTION_DIR}/solve.sh"
TEST_SCRIPT = f"{TESTS_DIR}/test.sh"

# What kettle writes: the task-config format version of Harbor 0.26. Any string is read,
# because Harbor itself reads any string (older tasks say "1.0").
TASK_SCHEMA_VERSION = "1.4"

# kettle's own keys live in the free-form [metadata] section, under this table, so Harbor
# ignores them and they survive a round trip through Harbor's tooling.
KETTLE_METADATA_KEY = "kettle"

# Harbor requires [task].name to be "org/name"; kettle checks it up front so a task that
# loads here also loads in Harbor.
TASK_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")

# Keys TOML accepts unquoted; error messages show any other key quoted and escaped.
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

NetworkMode = Literal["public", "no-network", "allowlist"]


# Sizes, counts and durations that Docker or a timer will act on: NaN, infinity, zero and
# negatives would hang a trial or crash the runner later, so they are refused at load.
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]

Megabytes = Annotated[int, Field(gt=0)]


CpuCount = Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Section(BaseModel):
    """A task.toml table whose keys are all known: anything else is a typo to report."""

    model_config = ConfigDict(extra="forbid")


class Author(_Section):
    name: str
    email: str | None = None


class TaskInfo(_Section):
    """The [task] table: the package identity Harbor's registry uses."""

    name: str = Field(description="'org/name', e.g. 'kettle/pagination-off-by-one'")
    version: str | None = None
    description: str = ""
    authors: list[Author] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _org_slash_name(cls, value: str) -> str:
        if not TASK_NAME_PATTERN.match(value) or ".." in value:
            raise ValueError(f"must be 'org/name' (letters, digits, . _ -), got {value!r}")
        return value


class Healthcheck(_Section):
    command: str
    interval_sec: Seconds = 5.0
    timeout_sec: Seconds = 30.0
    start_period_sec: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    start_interval_sec: Seconds = 5.0
    retries: Annotated[int, Field(ge=0)] = 3


class EnvironmentSection(_Section):
    """The [environment] table: how the task's container is built and limited."""

    build_timeout_sec: Seconds = 600.0
    docker_image: str | None = None
    os: Literal["linux", "windows"] = "linux"
    cpus: CpuCount | None = None
    memory_mb: Megabytes | None = None
    storage_mb: Megabytes | None = None
    gpus: Annotated[int, Field(ge=0)] | None = None
    gpu_types: list[str] | None = None
    tpu: dict[str, Any] | None = None
    mcp_servers: list[dict[str, Any]] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    skills_dir: str | None = None
    healthcheck: Healthcheck | None = None
    workdir: str | None = None
    # Older tasks say allow_internet; Harbor 0.26 maps it onto network_mode when
    # network_mode is absent. Unset means "public", Harbor's default.
    allow_internet: bool | None = None
    network_mode: NetworkMode | None = None
    allowed_hosts: list[str] | None = None
    # Deprecated size strings ("2G") that Terminal-Bench-era tasks still carry.
    memory: str | None = None
    storage: str | None = None

    @property
    def internet_allowed(self) -> bool:
        """Whether the whole trial may reach the internet, by Harbor's own rules.

        An allowlist counts as no internet: kettle's runner cannot enforce one, so it
        enforces the stricter policy.
        """
        if self.network_mode is not None:
            return self.network_mode == "public"
        if self.allowed_hosts is not None:
            return False
        return self.allow_internet is not False


class AgentSection(_Section):
    timeout_sec: Seconds | None = None
    user: str | int | None = None
    network_mode: NetworkMode | None = None
    allowed_hosts: list[str] | None = None


class VerifierSection(_Section):
    timeout_sec: Seconds = 600.0
    env: dict[str, str] = Field(default_factory=dict)
    user: str | int | None = None
    environment_mode: Literal["shared", "separate"] | None = None
    environment: EnvironmentSection | None = None
    collect: list[dict[str, Any]] = Field(default_factory=list)
    network_mode: NetworkMode | None = None
    allowed_hosts: list[str] | None = None


class SolutionSection(_Section):
    env: dict[str, str] = Field(default_factory=dict)


class TaskConfig(_Section):
    """task.toml. Free-form places (metadata, env tables, steps) accept anything."""

    schema_version: str = TASK_SCHEMA_VERSION
    task: TaskInfo | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    verifier: VerifierSection = Field(default_factory=VerifierSection)
    agent: AgentSection = Field(default_factory=AgentSection)
    environment: EnvironmentSection = Field(default_factory=EnvironmentSection)
    solution: SolutionSection = Field(default_factory=SolutionSection)
    source: str | None = None
    multi_step_reward_strategy: Literal["mean", "final"] | None = None
    steps: list[dict[str, Any]] | None = None
    artifacts: list[str | dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _legacy_version_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "version" in data:
            data = dict(data)
            legacy = data.pop("version")
            data.setdefault("schema_version", legacy)
        return data

    @field_validator("metadata")
    @classmethod
    def _kettle_metadata_types(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        kettle = metadata.get(KETTLE_METADATA_KEY)
        if kettle is None:
            return metadata
        if not isinstance(kettle, dict):
            raise ValueError(f"[metadata.{KETTLE_METADATA_KEY}] must be a table")
        if "agent_internet" in kettle and not isinstance(kettle["agent_internet"], bool):
            raise ValueError(f"{KETTLE_METADATA_KEY}.agent_internet must be true or false")
        return metadata

    @property
    def agent_internet(self) -> bool:
        """Whether the solving agent may use the network.

        Harbor's own settings decide first ([agent].network_mode, then [environment]).
        ``[metadata.kettle] agent_internet = false`` can only take network away: it lets a
        task demand an offline agent under kettle's runner while staying runnable by
        Harbor 0.26, whose docker environment refuses tasks that declare no network.
        """
        if self.agent.network_mode is not None:
            allowed = self.agent.network_mode == "public"
        else:
            allowed = self.environment.internet_allowed
        kettle = self.metadata.get(KETTLE_METADATA_KEY, {})
        return allowed and kettle.get("agent_internet", True)

    @classmethod
    def from_toml(cls, text: str, source: str = CONFIG_FILE) -> TaskConfig:
        """Parse task.toml text; ``source`` names the file in error messages."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            # The decoder's message already ends in "(at line L, column C)".
            raise TaskFormatError(f"{source}: invalid TOML: {error}") from error
        except RecursionError as error:
            # tomllib parses nested arrays and inline tables recursively.
            raise TaskFormatError(
                f"{source}: invalid TOML: arrays or tables nested too deeply",
                "flatten the nesting; no task needs more than a few levels",
            ) from error
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise TaskFormatError(f"{source}: {_describe(error, data)}") from error

    def to_toml(self) -> str:
        # TOML has no null: unset keys are left out, which Harbor reads as their defaults.
        # Free-form metadata is written as given, so it reads back unchanged.
        data = self.model_dump(mode="python", exclude_none=True)
        sections = {
            key: value if key == "metadata" else _prune(value) for key, value in data.items()
        }
        try:
            return tomli_w.dumps(
                {key: value for key, value in sections.items() if not _empty(value)}
            )
        except TypeError as error:
            raise TaskFormatError(f"{CONFIG_FILE}: cannot be written as TOML ({error})") from error


def _empty(value: Any) -> bool:
    return isinstance(value, dict | list) and not value


def _prune(value: Any) -> Any:
    """Drop empty tables and arrays: Harbor reads them as their defaults."""
    if isinstance(value, dict):
        pruned = {key: _prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if not _empty(item)}
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


_EXPECTED = {
    "float": "a number",
    "int": "an integer",
    "string": "a string",
    "bool": "true or false",
    "dict": "a table",
    "model": "a table",
    "list": "an array",
}


def _describe(error: ValidationError, data: Any) -> str:
    """One line for the first problem in a validation error, in the file's own terms."""
    # An unknown key first: a typo ("comand") usually explains the missing key next to it.
    problems = sorted(error.errors(), key=lambda problem: problem["type"] != "extra_forbidden")
    first = problems[0]
    key_path = _key_path(first["loc"], data, first["type"])
    key = _dotted(key_path)
    extra = len({_key_path(p["loc"], data, p["type"]) for p in problems}) - 1
    more = f" (+{extra} more)" if extra > 0 else ""
    kind = first["type"]
    if kind == "extra_forbidden":
        known = _field_names(TaskConfig, key_path[:-1])
        close = difflib.get_close_matches(str(key_path[-1]), sorted(known), n=1)
        suggestion = f" — did you mean {close[0]}?" if close else ""
        return f"unknown key {key}{suggestion}{more}"
    if kind == "missing":
        return f"missing required key {key}{more}"
    expected = _expected_types(problems, key_path, data)
    got = first.get("input")
    if expected:
        return f"{key} must be {expected}, got {type(got).__name__} {got!r}{more}"
    message = str(first["msg"]).removeprefix("Value error, ")
    if kind in _CONSTRAINTS:
        message = f"{message}, got {got!r}"
    return f"{key}: {message}{more}"


# pydantic's range checks, whose messages do not show the offending value.
_CONSTRAINTS = frozenset(
    {"finite_number", "greater_than", "greater_than_equal", "less_than", "less_than_equal"}
)


def _dotted(key_path: tuple[Any, ...]) -> str:
    """A key path as TOML would write it: quoted keys escaped, so a message stays one line."""
    parts = [
        str(part) if isinstance(part, int) or _BARE_KEY.match(part) else json.dumps(part)
        for part in key_path
    ]
    return ".".join(parts) or "(root)"


def _key_path(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[Any, ...]:
    """The part of a pydantic location that names real keys of the input.

    Union members add type tags ("str", "int") to the location; walking the input drops
    them. A missing key is not in the input, so it is kept as the last part.
    """
    path: list[Any] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
        else:
            if kind == "missing":
                path.append(part)
            break
        path.append(part)
    return tuple(path)


def _expected_types(problems: list[Any], key_path: tuple[Any, ...], data: Any) -> str:
    names: list[str] = []
    for problem in problems:
        if _key_path(problem["loc"], data, problem["type"]) != key_path:
            continue
        if problem["type"] == "literal_error":
            names.append(f"one of {problem['ctx']['expected']}")
            continue
        base = problem["type"].split("_")[0]
        if base in _EXPECTED and _EXPECTED[base] not in names:
            names.append(_EXPECTED[base])
    return " or ".join(names)


def _field_names(model: type[BaseModel], parents: tuple[Any, ...]) -> set[str]:
    """Known keys of the table at ``parents`` (for "did you mean" suggestions)."""
    current: type[BaseModel] | None = model
    for part in parents:
        if current is None or isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        current = _model_in(field.annotation) if field else None
    return set(current.model_fields) if current else set()


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None
