"""A build run's summary: derived from the ledger and the candidate folders, never kept
separately, so it can be regenerated at any time and always agrees with what is on disk.
``tools.report`` renders it as summary.json and report.html."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from agents.context import CandidateWorkspace
from agents.factory.ledger import Ledger
from agents.qualify.records import Qualification
from harness.fsio import read_model
from harness.text import strip_ansi
from tools.report.records import (
    ApprovalRecord,
    BuildSummary,
    CandidateSummary,
    CheckRow,
    FailureGroup,
    FunnelStep,
    StageRecord,
)
from tools.sessions.intake import IntakeError
from tools.sessions.records import Candidate
from tools.validation.validate import ValidationReport


def summarize_run(
    run_dir: Path, ledger: Ledger, run_id: str, builder: str, intake_errors: list[IntakeError]
) -> BuildSummary:
    approvals = ledger.approvals()
    summaries = [
        _candidate_summary(run_dir, candidate_id, ledger.stages(candidate_id), approvals)
        for candidate_id in ledger.candidate_ids()
    ]
    counts: dict[str, int] = {"candidates": len(summaries)}
    for summary in summaries:
        counts[summary.state] = counts.get(summary.state, 0) + 1
        if summary.verdict:
            counts[f"verdict_{summary.verdict}"] = counts.get(f"verdict_{summary.verdict}", 0) + 1
    costs = [s.cost_usd for s in summaries if s.cost_usd is not None]
    return BuildSummary(
        run_id=run_id,
        builder=builder,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        counts=counts,
        cost_usd=round(sum(costs), 6) if costs else None,
        funnel=funnel(summaries),
        failures=failure_groups(summaries),
        candidates=summaries,
        intake_errors=intake_errors,
    )


# The yield funnel: each step is reached when its stage is done (qualified: and the
# verdict says so), in the order a candidate travels.
_FUNNEL = (
    ("qualified", "qualify"),
    ("reconstructed", "reconstruct"),
    ("verified", "verifier"),
    ("validated", "validate"),
    ("published", "publish"),
)
_VOLATILE = re.compile(r"\b[0-9a-f]{7,40}\b|\b\d+(\.\d+)?s?\b|/[\w./-]+|'[^']*'|\"[^\"]*\"")


def funnel(summaries: list[CandidateSummary]) -> list[FunnelStep]:
    steps = [FunnelStep(name="candidates", count=len(summaries))]
    for name, stage in _FUNNEL:
        reached = 0
        minutes = 0.0
        for summary in summaries:
            record = next((s for s in summary.stages if s.stage == stage), None)
            if record is None:
                continue
            minutes += (record.duration_sec or 0.0) / 60
            if record.status == "done" and (name != "qualified" or summary.verdict == "qualified"):
                reached += 1
        steps.append(FunnelStep(name=name, count=reached, minutes=round(minutes, 2)))
    return steps


def failure_groups(summaries: list[CandidateSummary]) -> list[FailureGroup]:
    """Why candidates stopped, grouped by stage and by the reason with specifics removed."""
    groups: dict[tuple[str, str], list[str]] = {}
    for summary in summaries:
        stopped = _stopped_at(summary)
        if stopped is None:
            continue
        stage, reason = stopped
        key = (stage, _VOLATILE.sub("…", strip_ansi(reason)).strip()[:160])
        groups.setdefault(key, []).append(summary.candidate_id)
    return [
        FailureGroup(stage=stage, reason=reason, candidates=ids)
        for (stage, reason), ids in sorted(groups.items(), key=lambda item: -len(item[1]))
    ]


def _stopped_at(summary: CandidateSummary) -> tuple[str, str] | None:
    failed = next((s for s in summary.stages if s.status == "failed"), None)
    if failed is not None:
        return failed.stage, (failed.detail or "failed").split(" — ")[-1]
    if summary.state in ("disqualified", "rejected"):
        return "qualify", summary.reasons[0].split(":")[0] if summary.reasons else summary.state
    return None


def _candidate_summary(
    run_dir: Path, candidate_id: str, stages: list[StageRecord], approvals: list[ApprovalRecord]
) -> CandidateSummary:
    workspace = CandidateWorkspace(run_dir, candidate_id)
    candidate = read_model(workspace.candidate_path, Candidate)
    summary = CandidateSummary(
        candidate_id=candidate_id,
        source_format=candidate.source_format,
        source_path=candidate.source_path,
        repo=candidate.repo,
        stages=stages,
        approvals=[a for a in approvals if a.candidate_id == candidate_id],
        duration_sec=round(sum(s.duration_sec or 0 for s in stages), 3),
        state=_state(stages),
    )
    costs = [s.cost_usd for s in stages if s.cost_usd is not None]
    summary.cost_usd = round(sum(costs), 6) if costs else None
    if workspace.qualification_path.is_file():
        qualification = read_model(workspace.qualification_path, Qualification)
        summary.verdict = qualification.verdict
        summary.task_spirit = qualification.task_spirit
        summary.reasons = [f"{f.code}: {f.reason}" for f in qualification.disqualifiers] + [
            f"{f.code}: {f.reason}" for f in qualification.flags
        ]
    validation_path = workspace.validation_dir / "validation.json"
    if validation_path.is_file():
        report = read_model(validation_path, ValidationReport)
        summary.validation = [
            CheckRow(category=c.category, name=c.name, passed=c.passed, message=c.message)
            for c in report.checks
        ]
    published = next((s for s in stages if s.stage == "publish" and s.status == "done"), None)
    summary.published = published.detail if published else None
    if workspace.trajectories.is_dir():
        summary.trajectories = sorted(
            str(path.relative_to(run_dir)) for path in workspace.trajectories.glob("*.json")
        )
    return summary


def _state(stages: list[StageRecord]) -> str:
    by_stage = {s.stage: s for s in stages}
    if by_stage.get("publish") and by_stage["publish"].status == "done":
        return "published"
    if any(s.status == "failed" for s in stages):
        return "failed"
    if any(s.status == "parked" for s in stages):
        return "parked"
    for stage in stages:
        if stage.status == "done" and stage.detail:
            if stage.detail.startswith("disqualified"):
                return "disqualified"
            if stage.detail.startswith("rejected"):
                return "rejected"
    return "open"
