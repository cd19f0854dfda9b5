"""M8: an LLM judge rates how well an environment's verifier matches its instruction.

The judge sees what a reviewer of the task would see (instruction.md and the files of
tests/), never the seed's hidden assets, and answers with a ``JudgeVerdict``; the prompt
(``prompts/meta_judge.md``) renders the verdict's JSON schema, so prompt and parser agree.
A judge that cannot answer (a model error, an unparseable reply after one retry) gives no
M8 for that environment: its EnvScore is then computed without M8, never with a 0.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

import prompts
from agents.subagent import ModelFactory
from harness.errors import KettleError, validation_problems
from harness.llm import LiteLLMModel, Model, ModelSpec
from harness.task.folder import HarborTask
from meta_bench.records import JudgeVerdict

_MAX_FILE_CHARS = 12_000
_MAX_TOTAL_CHARS = 40_000


class AlignmentJudge:
    """Callable for ``ScoreJob.judge``: task -> (M8 or None, dollars, evidence)."""

    def __init__(
        self, model: str, *, api_base: str | None = None, make_model: ModelFactory | None = None
    ) -> None:
        spec = ModelSpec.resolve(model, api_base)
        self.model_name = spec.requested
        self._make_model = make_model or (lambda: LiteLLMModel(spec))

    def __call__(self, task: HarborTask) -> tuple[float | None, float | None, dict[str, Any]]:
        model: Model = self._make_model()
        messages = [{"role": "user", "content": judge_prompt(task)}]
        spent = 0.0
        try:
            for _attempt in range(2):
                reply = model.complete(messages, timeout_sec=300)
                spent += reply.cost_usd or 0.0
                try:
                    verdict = parse_verdict(reply.content)
                except ValueError as error:
                    messages += [
                        reply.assistant_message,
                        {
                            "role": "user",
                            "content": f"That was not valid: {error}. Reply with "
                            "the JSON object only.",
                        },
                    ]
                    continue
                return (
                    verdict.alignment,
                    spent,
                    {"judge": model.model_name, **verdict.model_dump(exclude={"alignment"})},
                )
        except KettleError as error:
            return None, spent or None, {"judge": self.model_name, "error": str(error)}
        return None, spent or None, {"judge": self.model_name, "error": "no valid verdict"}


def judge_prompt(task: HarborTask) -> str:
    files: list[tuple[str, str]] = []
    budget = _MAX_TOTAL_CHARS
    for path in sorted(task.tests_dir.rglob("*")):
        if not path.is_file() or budget <= 0:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")[: min(_MAX_FILE_CHARS, budget)]
        budget -= len(text)
        files.append((path.relative_to(task.tests_dir).as_posix(), text))
    return prompts.render(
        "meta_judge",
        instruction=task.instruction_path.read_text(encoding="utf-8"),
        test_files=files,
        output_schema=json.dumps(JudgeVerdict.model_json_schema(), indent=2),
    )


def parse_verdict(text: str) -> JudgeVerdict:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object found")
    try:
        return JudgeVerdict.model_validate_json(text[start : end + 1])
    except ValidationError as error:
        raise ValueError(validation_problems(error, root="object")[0]) from None
