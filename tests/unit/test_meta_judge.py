"""M8: the alignment judge, through the scripted model server and real litellm."""

from __future__ import annotations

import json

import pytest

from harness.llm import LiteLLMModel, ModelSpec
from harness.scripted_server import Script, ScriptedServer, ScriptTurn
from harness.task.folder import HarborTask
from meta_bench.judge import AlignmentJudge, parse_verdict
from tests.conftest import EXAMPLE_TASKS
from tests.scripting import FAST_RETRY, PRICED_MODEL

TASK = HarborTask.load(EXAMPLE_TASKS / "stash-kwargs-cache-key")
VERDICT = {
    "alignment": 0.7,
    "over_prescriptive": ["checks the helper name _cache_key"],
    "missing": [],
    "rationale": "Covers the asked behaviour but pins one helper's name.",
}


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def judge_with(*turns: ScriptTurn) -> tuple[tuple, ScriptedServer]:
    with ScriptedServer(Script(turns=list(turns))) as server:
        judge = AlignmentJudge(
            PRICED_MODEL,
            make_model=lambda: LiteLLMModel(
                ModelSpec.resolve(PRICED_MODEL, server.base_url), retry=FAST_RETRY
            ),
        )
        return judge(TASK), server


def test_the_judge_sees_the_instruction_and_the_tests_and_its_verdict_becomes_m8() -> None:
    (m8, usd, evidence), server = judge_with(ScriptTurn(content=json.dumps(VERDICT)))
    assert m8 == 0.7 and usd and usd > 0
    assert evidence["over_prescriptive"] == ["checks the helper name _cache_key"]
    prompt = server.requests[0]["messages"][0]["content"]
    assert TASK.instruction_path.read_text().strip()[:60] in prompt
    assert "test_stash.py" in prompt and '"alignment"' in prompt


def test_an_unparseable_verdict_is_retried_once_then_gives_no_m8() -> None:
    (m8, _, evidence), server = judge_with(
        ScriptTurn(content="Looks fine to me!"), ScriptTurn(content='{"alignment": 3}')
    )
    assert m8 is None and evidence["error"] == "no valid verdict"
    assert "not valid: no JSON object" in server.requests[1]["messages"][-1]["content"]


def test_verdicts_are_parsed_from_the_first_to_the_last_brace() -> None:
    assert parse_verdict("Here: " + json.dumps(VERDICT) + " done").alignment == 0.7
    with pytest.raises(ValueError, match="alignment"):
        parse_verdict('{"alignment": -1, "rationale": "x"}')
