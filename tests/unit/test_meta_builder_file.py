"""Builders as configuration: ``--builder my-builder.toml`` names a model, role prompts,
settings and budgets; the leaderboard records the file's hash, and a role prompt file
reaches the model (through the real litellm path) in place of the role's own prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.llm import LiteLLMModel, ModelSpec
from harness.scripted_server import Script, ScriptedServer, ScriptTurn
from meta_bench.builder_file import PromptOverride, read_builder_file
from meta_bench.builders import make_builder
from tests.scripting import FAST_RETRY, PRICED_MODEL

FILE = """
name = "gpt-terse"
description = "the verifier prompt asks for fewer, sharper tests"
model = "gpt-5.1"
max_steps = 30
budget_usd = 1.5

[prompts]
verifier = "verifier-terse.md"
"""
PROMPT = "{{ default }}\n\nWrite at most five tests, each tied to a sentence of the user.\n"


def write(tmp_path: Path, text: str = FILE, prompt: str = PROMPT) -> Path:
    (tmp_path / "verifier-terse.md").write_text(prompt)
    path = tmp_path / "gpt-terse.toml"
    path.write_text(text)
    return path


def test_a_builder_file_is_a_contestant_with_its_settings_and_hash_on_record(
    tmp_path: Path,
) -> None:
    builder = make_builder(str(write(tmp_path)))
    info = builder.info
    assert builder.name == info.name == "gpt-terse"
    assert info.role == "contestant" and info.kind == "model" and not info.deterministic
    assert info.model == "openai/gpt-5.1" and info.config_path == str(tmp_path / "gpt-terse.toml")
    assert info.settings["max_steps"] == 30 and info.settings["budget_usd"] == 1.5
    assert info.settings["prompts"] == {"verifier": "verifier-terse.md"}
    assert info.config_sha256 and len(info.config_sha256) == 64


def test_the_hash_changes_with_the_file_and_with_any_prompt_file_it_names(tmp_path: Path) -> None:
    first = read_builder_file(write(tmp_path))[1]
    assert read_builder_file(write(tmp_path))[1] == first
    assert read_builder_file(write(tmp_path, prompt=PROMPT + "Be brief.\n"))[1] != first
    assert read_builder_file(write(tmp_path, text=FILE.replace("30", "31")))[1] != first


def test_a_baseline_builder_file_is_deterministic_and_has_no_prompts(tmp_path: Path) -> None:
    path = tmp_path / "plain.toml"
    path.write_text('name = "plain"\nmodel = "baseline"\n')
    info = make_builder(str(path)).info
    assert info.kind == "baseline" and info.deterministic and info.config_sha256
    path.write_text('name = "plain"\nmodel = "baseline"\n[prompts]\nqualify = "q.md"\n')
    with pytest.raises(ConfigError):
        make_builder(str(path))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('name = "x"\nmodel = "gpt-5.1"\nmax_step = 3\n', "max_step"),
        ('name = "x y"\nmodel = "gpt-5.1"\n', "name"),
        ('name = "x"\nmodel = "gpt-5.1"\n[prompts]\nverifier = "missing.md"\n', "missing.md"),
        ('name = "x"\nmodel = "gpt-5.1"\n[prompts]\njudge = "a.md"\n', "judge"),
    ],
)
def test_a_broken_builder_file_is_a_one_line_error(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        make_builder(str(path))
    assert words in raised.value.message and "\n" not in raised.value.message


def test_a_role_prompt_file_replaces_the_roles_prompt_in_what_the_model_is_sent() -> None:
    first = "You write verifiers.\nOUTPUT: /kettle/out\n\nCurrent terminal state:\n```\n$ \n```"
    turns = [ScriptTurn(content='{"a": 1}'), ScriptTurn(content='{"a": 2}')]
    with ScriptedServer(Script(turns=turns)) as server:
        spec = ModelSpec.resolve(PRICED_MODEL, server.base_url)
        model = PromptOverride(LiteLLMModel(spec, retry=FAST_RETRY), PROMPT)
        messages = [{"role": "user", "content": first}]
        reply = model.complete(messages)
        model.complete([*messages, reply.assistant_message, {"role": "user", "content": "ok"}])
        sent = [request["messages"] for request in server.requests]
    assert messages[0]["content"] == first  # the loop's own history is left alone
    for request in sent:
        content = request[0]["content"]
        assert content.startswith("You write verifiers.\nOUTPUT: /kettle/out\n\nWrite at most five")
        assert content.endswith("Current terminal state:\n```\n$ \n```")
    assert sent[1][-1]["content"] == "ok"
