"""The model-driven qualifier: the loop, in a sandbox with the repository and the session.

Deterministic checks run first (secrets are redacted before a model sees anything, and a
repo that cannot be reached is not worth a model call). The model then judges origins,
journey and outcome and writes a qualification file; every factual claim in it is
re-checked by code, and a claim that fails downgrades the verdict to ``needs_human``.
"""

from __future__ import annotations

import json
from typing import get_args

from pydantic import ValidationError

from agents.context import StageContext, agent_image
from agents.qualify.baseline import qualify_baseline
from agents.qualify.recheck import recheck
from agents.qualify.records import (
    CheckResult,
    DisqualifierCode,
    Finding,
    Qualification,
    QualificationClaims,
    QualifierOutput,
)
from agents.repo_in_sandbox import copy_repo
from agents.subagent import OUTPUT_DIR, AgentSettings, ModelFactory, run_subagent
from harness.errors import SandboxError, validation_problems
from harness.sandbox.records import Sandbox
from tools.sessions.records import Candidate

# Facts no judgement can change: the model is not asked, or cannot overrule them.
UNREACHABLE = {"repo_unreachable", "start_commit_missing"}
HARD_FACTS = UNREACHABLE | {"license_not_open_source"}


class ModelQualifier:
    def __init__(self, agent: AgentSettings, make_model: ModelFactory | None = None) -> None:
        self.name = agent.model.requested
        self._agent = agent
        self._make_model = make_model

    def qualify(self, context: StageContext) -> tuple[Qualification, Candidate]:
        baseline, candidate = qualify_baseline(context.candidate, context.repos)
        if set(baseline.codes()) & UNREACHABLE:
            return baseline, candidate
        accepted: list[QualifierOutput] = []

        def setup(sandbox: Sandbox) -> None:
            with context.repos.open(candidate.repo or "") as repo:
                copy_repo(sandbox, repo, baseline.start_commit or "HEAD")
            sandbox.write_file("/session/candidate.json", candidate.model_dump_json(indent=2))
            checks = [check.model_dump(mode="json") for check in baseline.evidence]
            sandbox.write_file("/session/checks.json", json.dumps(checks, indent=2))

        def check(sandbox: Sandbox) -> str | None:
            try:
                raw = sandbox.read_file(f"{OUTPUT_DIR}/qualification.json")
                output = QualifierOutput.model_validate_json(raw)
            except SandboxError:
                return f"{OUTPUT_DIR}/qualification.json does not exist yet: write it first."
            except ValidationError as error:
                problems = "; ".join(validation_problems(error, root="file"))
                return f"{OUTPUT_DIR}/qualification.json is not valid: {problems}. Fix it."
            accepted.append(output)
            return None

        result = run_subagent(
            context,
            self._agent,
            role="qualify",
            image=agent_image(context),
            prompt_name="qualify",
            prompt_variables={
                "start_commit": baseline.start_commit or "unknown",
                "output_schema": json.dumps(QualifierOutput.model_json_schema(), indent=2),
                "codes": ", ".join(get_args(DisqualifierCode)),
            },
            setup=setup,
            check=check,
            make_model=self._make_model,
            workdir="/repo",
        )
        if not accepted:
            return _model_gave_up(baseline, result.status), candidate
        claimed = self._to_qualification(accepted[-1], baseline)
        with context.repos.open(candidate.repo or "") as repo:
            checked = recheck(claimed, candidate, repo, baseline.evidence)
        return _keep_hard_facts(checked, baseline), candidate

    def _to_qualification(self, output: QualifierOutput, baseline: Qualification) -> Qualification:
        model_evidence = [
            CheckResult(name=f"model_evidence_{i + 1}", passed=True, reason=text[:500])
            for i, text in enumerate(output.evidence)
        ]
        return Qualification(
            candidate_id=baseline.candidate_id,
            verdict=output.verdict,
            task_spirit=output.task_spirit,
            start_commit=baseline.start_commit,
            fix_commit=output.fix_commit,
            license=output.license,
            disqualifiers=[Finding(code=d.code, reason=d.reason) for d in output.disqualifiers],
            flags=baseline.flags,
            evidence=[*baseline.evidence, *model_evidence],
            confidence=output.confidence,
            decided_by=self.name,
            claims=QualificationClaims(
                license=output.license,
                fix_files=output.fix_files,
                fix_changes_tests=output.fix_changes_tests,
            ),
        )


def _keep_hard_facts(checked: Qualification, baseline: Qualification) -> Qualification:
    overruled = [f for f in baseline.disqualifiers if f.code in HARD_FACTS]
    if not overruled or checked.verdict == "disqualified":
        return checked
    notes = [
        f"the model overruled a fact checked by code: {f.code} ({f.reason})" for f in overruled
    ]
    return checked.model_copy(
        update={
            "verdict": "needs_human",
            "discrepancies": [*checked.discrepancies, *notes],
            "confidence": min(checked.confidence, 0.5),
        }
    )


def _model_gave_up(baseline: Qualification, status: str) -> Qualification:
    """The model never produced a valid answer: keep the code's findings, ask a human."""
    note = f"the model qualifier ended without a valid answer ({status})"
    verdict = "disqualified" if baseline.verdict == "disqualified" else "needs_human"
    return baseline.model_copy(
        update={
            "verdict": verdict,
            "discrepancies": [*baseline.discrepancies, note],
            "confidence": min(baseline.confidence, 0.5),
        }
    )
