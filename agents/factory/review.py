"""Reviewing the approvals a build parked (``python -m harness.approve``).

Each parked item gets the same panel a live run shows; the decision is recorded with who
and when, and the item is reopened so that ``python -m harness.build --out RUN_DIR``
continues from there. Deciding for all at once (``approve_all`` / ``reject_all``) is for
scripts; without a terminal and without those, nothing is decided.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from agents.context import CandidateWorkspace
from agents.factory.approvals import ApprovalGate, ask_on_terminal, request_for, reviewer_name
from agents.factory.ledger import LEDGER_FILE, Ledger
from agents.factory.records import Answer, BuildConfig
from agents.factory.summary import summarize_run
from harness.errors import ConfigError
from harness.llm import BASELINE
from tools.report.html import write_reports


def review_parked(
    run_dir: Path,
    *,
    approve_all: bool,
    reject_all: bool,
    note: str | None,
    console: Console,
) -> int:
    """Decide the parked items of ``run_dir``; returns how many were decided."""
    if approve_all and reject_all:
        raise ConfigError("--approve-all and --reject-all exclude each other")
    if not (run_dir / LEDGER_FILE).is_file():
        raise ConfigError(f"{run_dir} is not a kettle build folder (no {LEDGER_FILE})")
    ledger = Ledger(run_dir)
    try:
        parked = [record for record in ledger.stages() if record.status == "parked"]
        if not parked:
            console.print("nothing waits for a review")
            return 0
        gate = ApprovalGate("prompt", ledger, console=console)
        if gate.mode != "prompt" and not (approve_all or reject_all):
            raise ConfigError(
                "no terminal to ask on", "pass --approve-all or --reject-all (with --note)"
            )
        decided = 0
        for record in parked:
            workspace = CandidateWorkspace(run_dir, record.candidate_id)
            request = request_for(record.stage, record.candidate_id, workspace, ledger)
            if approve_all or reject_all:
                answer = Answer(decision="approved" if approve_all else "rejected", note=note)
            else:
                answer = ask_on_terminal(console, request)
            if answer.decision is None:
                continue
            gate.record(request, answer.decision, reviewer_name(), answer.note)
            ledger.finish(record.candidate_id, record.stage, "pending", detail="reviewed")
            decided += 1
        config = BuildConfig.model_validate({"run_id": run_dir.name, **ledger.config()})
        builder = config.model.requested if config.model else BASELINE
        summary = summarize_run(run_dir, ledger, config.run_id, builder, [])
        write_reports(run_dir, summary)
    finally:
        ledger.close()
    console.print(
        f"{decided} decision(s) recorded; continue with: python -m harness.build --out {run_dir}"
    )
    return decided
