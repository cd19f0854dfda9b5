"""The build stages of one candidate, each a function from a run to a ``StageOutcome``.

A stage reads what earlier stages wrote in the candidate's folder and writes its own
outputs atomically before it reports ``done``; the pipeline records the outcome in the
ledger. A stage that ends the candidate (disqualified, rejected) says so with ``stop``.

The work stages need only the candidate's folder and a Docker engine, so they may run on
any node of a cluster (``WORKER_STAGES``); the approval gates and publishing need the
driver's terminal, ledger and run folder (``DriverServices``) and always run there.
"""

from __future__ import annotations

import logging
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agents.context import StageContext
from agents.factory.approvals import ApprovalGate, qualification_request, task_request
from agents.factory.assemble import draft_config, publish, task_id_for, write_draft_config
from agents.factory.ledger import Ledger
from agents.factory.policies import Policies
from agents.factory.records import StageName, StageOutcome
from agents.qualify.choice import picked_sha, settle
from agents.qualify.records import Qualification
from agents.reconstruct.records import ReconstructionReport
from agents.verifier.files import VERIFIER_MACHINERY
from agents.verifier.records import VerifierReport
from harness.errors import KettleError, RunStorageError
from harness.fsio import is_storage_error, read_model, storage_error, write_model
from tools.report.records import ApprovalRecord
from tools.repos.git import LocalRepo
from tools.repos.patches import fix_diff_text, plan_solution
from tools.sessions.attempts import failed_attempts
from tools.sessions.instruction import compose_instruction
from tools.sessions.records import Candidate
from tools.validation.agreement import NAME as AGREEMENT
from tools.validation.agreement import check_agreement
from tools.validation.image_scan import start_counts_in
from tools.validation.records import NearMiss
from tools.validation.validate import HARBOR_PARITY, HiddenFacts, ValidationReport, validate_task

WORKER_STAGES: frozenset[StageName] = frozenset({"qualify", "reconstruct", "verifier", "validate"})

log = logging.getLogger(__name__)


@dataclass
class DriverServices:
    """What only the driver has: the reviewer's terminal, the ledger, the published tasks."""

    gate: ApprovalGate
    ledger: Ledger
    tasks_dir: Path


@dataclass
class CandidateRun:
    """One candidate's way through the stages."""

    context: StageContext
    policies: Policies
    driver: DriverServices | None = None  # None on a worker node

    @property
    def candidate_id(self) -> str:
        return self.context.candidate.id

    def on_driver(self) -> DriverServices:
        if self.driver is None:
            raise RuntimeError("approval and publishing stages run on the driver only")
        return self.driver

    def qualification(self) -> Qualification:
        if self.context.qualification is None:
            self.context.qualification = read_model(
                self.context.workspace.qualification_path, Qualification
            )
        return self.context.qualification


def qualify(run: CandidateRun) -> StageOutcome:
    context, workspace = run.context, run.context.workspace
    qualification, redacted = run.policies.qualifier.qualify(context)
    write_model(workspace.candidate_path, redacted)
    write_model(workspace.qualification_path, qualification)
    context.candidate, context.qualification = redacted, qualification
    codes = ", ".join(qualification.codes()) or "no findings"
    if qualification.verdict == "disqualified":
        return StageOutcome(status="done", detail=f"disqualified: {codes}", stop=True)
    return StageOutcome(status="done", detail=f"{qualification.verdict}: {codes}")


def approve_qualification(run: CandidateRun) -> StageOutcome:
    driver = run.on_driver()
    request = qualification_request(run.candidate_id, run.context.workspace)
    decision = driver.gate.decide(request)
    if decision == "approved":
        settled = _settle(run, driver.ledger.approval(run.candidate_id, "approve_qualification"))
        if settled is not None and settled.verdict == "disqualified":
            codes = ", ".join(finding.code for finding in settled.disqualifiers)
            return StageOutcome(status="done", detail=f"disqualified: {codes}", stop=True)
    return _gate_outcome(decision)


def _settle(run: CandidateRun, approval: ApprovalRecord | None) -> Qualification | None:
    """A reviewer's approval settles a needs_human qualification (with the fix they picked)."""
    qualification = run.qualification()
    pick = picked_sha(approval.note if approval else None)
    if qualification.verdict != "needs_human" and pick is None:
        return None
    reviewer = approval.decided_by if approval else "a reviewer"
    candidate = run.context.candidate
    with run.context.repos.open(candidate.repo or candidate.workspace_path or "") as repo:
        settled = settle(qualification, pick, reviewer, repo, candidate)
    write_model(run.context.workspace.qualification_path, settled)
    run.context.qualification = settled
    return settled


def reconstruct(run: CandidateRun) -> StageOutcome:
    context, workspace = run.context, run.context.workspace
    shutil.rmtree(workspace.draft, ignore_errors=True)  # a repeated attempt starts clean
    qualification = run.qualification()
    instruction = compose_instruction(context.candidate)
    config = draft_config(context.candidate, qualification, None, run.policies.builder_name)
    write_draft_config(workspace, config, instruction)
    report = run.policies.reconstructor.reconstruct(context)
    # The reconstructor knows the language and workdir now: task.toml follows.
    config = draft_config(context.candidate, qualification, report, run.policies.builder_name)
    write_draft_config(workspace, config, (workspace.draft / "instruction.md").read_text())
    write_model(workspace.reconstruction_path, report)
    return _report_outcome(report)


def write_verifier(run: CandidateRun) -> StageOutcome:
    workspace = run.context.workspace
    reconstruction = read_model(workspace.reconstruction_path, ReconstructionReport)
    shutil.rmtree(workspace.draft / "tests", ignore_errors=True)
    report = run.policies.verifier_writer.write_verifier(run.context, reconstruction)
    write_model(workspace.verifier_path, report)
    return _report_outcome(report)


def validate(run: CandidateRun) -> StageOutcome:
    context = run.context
    report = validate_task(
        context.engine,
        context.settings,
        context.workspace.draft,
        hidden=hidden_facts(run),
        out_dir=context.workspace.validation_dir,
        run_id=context.run_id,
        repeats=context.validation_repeats,
        # Published tasks also run under Harbor, which does not undo an agent's tampering
        # with interpreters and tools: exploits are probed without kettle's repairs.
        probe_options=HARBOR_PARITY,
    )
    report = _with_agreement(run, report)
    # The agreement warning keeps auto-approval away; it fails no validation.
    failed = [check for check in report.checks if not check.passed and check.name != AGREEMENT]
    if failed:
        detail = "; ".join(f"{check.name}: {check.message}" for check in failed[:3])
        return StageOutcome(status="failed", detail=f"validation failed — {detail}")
    return StageOutcome(status="done", detail=f"{len(report.checks)} checks passed")


def _with_agreement(run: CandidateRun, report: ValidationReport) -> ValidationReport:
    """The report with the instruction/verifier agreement check (a warning) added."""
    workspace = run.context.workspace
    instruction = workspace.draft / "instruction.md"
    if not workspace.verifier_path.is_file() or not instruction.is_file():
        return report
    verifier = read_model(workspace.verifier_path, VerifierReport)
    check = check_agreement(
        instruction.read_text(errors="replace"),
        verifier.fail_to_pass,
        workspace.draft / "tests",
        machinery=VERIFIER_MACHINERY,
    )
    updated = report.model_copy(update={"checks": [*report.checks, check]})
    write_model(workspace.validation_dir / "validation.json", updated)
    return updated


def approve_task(run: CandidateRun) -> StageOutcome:
    driver = run.on_driver()
    request = task_request(run.candidate_id, run.context.workspace, driver.ledger)
    return _gate_outcome(driver.gate.decide(request))


def publish_task(run: CandidateRun) -> StageOutcome:
    workspace, driver = run.context.workspace, run.on_driver()
    report = read_model(workspace.validation_dir / "validation.json", ValidationReport)
    task_id = task_id_for(run.context.candidate)
    spent = sum(r.cost_usd or 0.0 for r in driver.ledger.stages(run.candidate_id))
    replays = [check for check in report.checks if check.category == "replay"]
    published = publish(
        workspace,
        driver.tasks_dir,
        task_id,
        {
            "validated": report.passed,
            "validation_checks": len(report.checks),
            "build_cost_usd": round(spent, 6),
            # A difficulty signal: the session's agent failed here, and the verifier says so.
            "failed_attempts": len(replays),
            "failed_attempts_rejected": sum(check.passed for check in replays),
        },
    )
    return StageOutcome(status="done", detail=str(published.root))


def hidden_facts(run: CandidateRun) -> HiddenFacts:
    """What the solving agent must never find (the fix itself, and where it lives), and the
    session's failed attempts, which the verifier must reject."""
    qualification = run.qualification()
    candidate = run.context.candidate
    fix_diff = None
    near_misses: list[NearMiss] = []
    counts: dict[str, dict[str, int]] = {}
    if qualification.fix_commit and qualification.start_commit and candidate.repo:
        with run.context.repos.open(candidate.repo) as repo:
            patch = plan_solution(
                repo,
                qualification.start_commit,
                qualification.fix_commit,
                first=qualification.fix_first_commit,
            )
            fix_diff = fix_diff_text(repo, patch)
            near_misses = session_near_misses(candidate, repo, qualification.start_commit)
            if fix_diff:
                counts = start_counts_in(repo, qualification.start_commit, fix_diff)
    # An instruction the verifier writer rewrote must still carry the user's request.
    verifier = run.context.workspace.verifier_path
    rewritten = verifier.is_file() and read_model(verifier, VerifierReport).instruction_changed
    return HiddenFacts(
        fix_diff=fix_diff,
        fix_commit=qualification.fix_commit,
        start_commit=qualification.start_commit,
        near_misses=near_misses,
        start_counts=counts,
        user_request=compose_instruction(run.context.candidate) if rewritten else None,
    )


def session_near_misses(candidate: Candidate, repo: LocalRepo, start: str) -> list[NearMiss]:
    """The session's failed attempts, rebuilt on the start commit's files."""

    def read(path: str) -> str | None:
        data = repo.read_file(start, path)
        return None if data is None else data.decode("utf-8", errors="replace")

    return [
        NearMiss(
            name=f"failed_attempt_{attempt.number}",
            files=attempt.files,
            note=f"the user stepped in{_when(attempt.at)}: {attempt.stepped_in}",
        )
        for attempt in failed_attempts(candidate, read).attempts
    ]


def _when(moment: datetime | None) -> str:
    return f" at {moment:%Y-%m-%d %H:%M}" if moment else ""


def _gate_outcome(decision: str) -> StageOutcome:
    if decision == "parked":
        return StageOutcome(
            status="parked", detail="waiting for a reviewer (python -m harness.approve)"
        )
    if decision == "rejected":
        return StageOutcome(status="done", detail="rejected by a reviewer", stop=True)
    return StageOutcome(status="done", detail="approved")


def _report_outcome(report: ReconstructionReport | VerifierReport) -> StageOutcome:
    if report.status == "ok":
        return StageOutcome(status="done", detail=report.message or None)
    return StageOutcome(status="failed", detail=report.message)


STAGE_FUNCTIONS: dict[StageName, Callable[[CandidateRun], StageOutcome]] = {
    "qualify": qualify,
    "approve_qualification": approve_qualification,
    "reconstruct": reconstruct,
    "verifier": write_verifier,
    "validate": validate,
    "approve_task": approve_task,
    "publish": publish_task,
}


def execute_stage(run: CandidateRun, stage: StageName) -> StageOutcome:
    """Run one stage; its own failures become a failed outcome, never an exception.

    A full disk is re-raised (no candidate can write anything either), and so is Ctrl-C.
    A bug in one candidate's stage is logged to its crash file and fails only that stage.
    """
    run.context.stage_cost_usd = None
    try:
        return STAGE_FUNCTIONS[stage](run)
    except RunStorageError:
        raise
    except OSError as error:
        if is_storage_error(error):
            raise storage_error(error) from error
        return _crashed(run, stage, error)
    except KettleError as error:
        return StageOutcome(status="failed", detail=str(error))
    except Exception as error:
        return _crashed(run, stage, error)


def _crashed(run: CandidateRun, stage: str, error: Exception) -> StageOutcome:
    logs = run.context.workspace.logs
    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"{stage}-crash.txt").write_text(traceback.format_exc(), encoding="utf-8")
    log.exception("stage %s of %s crashed", stage, run.candidate_id)
    return StageOutcome(status="failed", detail=f"internal error: {error!r}")
