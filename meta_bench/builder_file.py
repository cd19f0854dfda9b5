"""A builder as a small file, for hill-climbing: ``--builder my-builder.toml``.

    name = "gpt-5.1-terse-verifier"
    model = "gpt-5.1"              # or "baseline"
    max_steps = 40                 # model turns per role
    budget_usd = 2.0               # dollars per build, all roles together
    [prompts]
    verifier = "verifier-terse.md" # relative to this file

A prompt file is a jinja template rendered with ``default``: the role's own prompt as the
factory rendered it (task, schema, terminal protocol). ``{{ default }}`` followed by more
advice extends it; a file without it replaces the role's prompt. The override is applied at
the edge the factory already has for models: each role gets its own model object, which
puts the rendered file where the role's prompt was in what is sent. The leaderboard
records the file's sha256 (with every prompt file it names), so two rows with the same
name but different files are told apart.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import jinja2

from agents.factory.policies import Policies, make_policies
from agents.qualify.model import ModelQualifier
from agents.reconstruct.model import ModelReconstructor
from agents.subagent import AgentSettings, ModelFactory
from agents.verifier.model import ModelVerifierWriter
from harness.errors import ConfigError
from harness.llm import Model, ModelReply, ModelSpec
from meta_bench.builders import FactoryBuilder, builder_info, litellm_version
from meta_bench.records import BuilderFile, PromptRole

# The loop's first message is the role's prompt, then the terminal (prompts/loop_start.md).
_TERMINAL_MARKER = "\n\nCurrent terminal state:\n"


def is_builder_file(name: str) -> bool:
    return name.endswith(".toml")


def read_builder_file(path: Path) -> tuple[BuilderFile, str, dict[PromptRole, str]]:
    """The file, its sha256 (with its prompt files), and each role's prompt template."""
    try:
        raw = path.read_bytes()
        config = BuilderFile.model_validate(tomllib.loads(raw.decode("utf-8")))
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such builder file") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError) as error:
        first = str(error).splitlines()
        raise ConfigError(
            f"{path}: not a builder file ({'; '.join(first[:3])})",
            "see meta_bench/builder_file.py for the fields",
        ) from error
    digest = hashlib.sha256(raw)
    templates: dict[PromptRole, str] = {}
    for role, relative in sorted(config.prompts.items()):
        prompt = (path.parent / relative).resolve()
        try:
            text = prompt.read_bytes()
        except OSError as error:
            raise ConfigError(f"{path}: prompt file {relative} for {role}: {error}") from error
        digest.update(f"\n{role}\n".encode() + text)
        templates[role] = text.decode("utf-8")
        try:
            jinja2.Environment(undefined=jinja2.StrictUndefined).parse(templates[role])
        except jinja2.TemplateSyntaxError as error:
            raise ConfigError(f"{prompt}: not a valid template ({error.message})") from error
    if config.model == "baseline" and (config.prompts or config.budget_usd):
        raise ConfigError(f"{path}: the baseline has no prompts or dollars to set")
    return config, digest.hexdigest(), templates


def load_builder_file(
    path: Path, *, api_base: str | None = None, make_model: ModelFactory | None = None
) -> FactoryBuilder:
    config, digest, templates = read_builder_file(path)
    settings: dict[str, Any] = config.model_dump(exclude={"name", "schema_version"})
    common: dict[str, Any] = {
        "role": "contestant",
        "config_path": str(path),
        "config_sha256": digest,
        "settings": settings,
    }
    if config.model == "baseline":
        info = builder_info(config.name, kind="baseline", **common)
        return FactoryBuilder(config.name, make_policies(None), info)
    spec = ModelSpec.resolve(config.model, config.api_base or api_base)
    agent = AgentSettings(
        model=spec,
        max_steps=config.max_steps,
        max_wall_sec=config.max_wall_sec,
        context_window=config.context_window,
    )
    base: ModelFactory = make_model or agent.make_model

    def for_role(role: PromptRole) -> ModelFactory:
        template = templates.get(role)
        if template is None:
            return base
        return lambda: PromptOverride(base(), template)

    policies = Policies(
        ModelQualifier(agent, for_role("qualify")),
        ModelReconstructor(agent, for_role("reconstruct")),
        ModelVerifierWriter(agent, for_role("verifier")),
    )
    info = builder_info(
        config.name,
        kind="model",
        model=spec.litellm_name,
        api_base=spec.api_base,
        litellm_version=litellm_version(),
        deterministic=False,
        **common,
    )
    return FactoryBuilder(config.name, policies, info, budget_usd=config.budget_usd)


class PromptOverride:
    """A model whose role prompt is the builder file's template, rendered with ``default``."""

    def __init__(self, model: Model, template: str) -> None:
        self._model = model
        self._template = jinja2.Environment(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True
        ).from_string(template)
        self._default: str | None = None
        self._rendered = ""

    @property
    def model_name(self) -> str:
        return self._model.model_name

    @property
    def context_window(self) -> int:
        return self._model.context_window

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        return self._model.count_tokens(self._rewrite(messages))

    def complete(
        self, messages: list[dict[str, Any]], *, timeout_sec: float | None = None
    ) -> ModelReply:
        return self._model.complete(self._rewrite(messages), timeout_sec=timeout_sec)

    def _rewrite(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self._default is None:
            first = messages[0].get("content") if messages else None
            if not isinstance(first, str) or _TERMINAL_MARKER not in first:
                return messages
            self._default = first.rpartition(_TERMINAL_MARKER)[0]
            self._rendered = self._template.render(default=self._default)
        rewritten = []
        for message in messages:
            content = message.get("content")
            if (
                message.get("role") == "user"
                and isinstance(content, str)
                and self._default in content
            ):
                message = {**message, "content": content.replace(self._default, self._rendered)}
            rewritten.append(message)
        return rewritten
