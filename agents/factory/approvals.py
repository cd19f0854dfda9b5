"""Human-in-the-loop approval gates.

Modes: ``auto`` approves what the deterministic checks recommend and parks the rest for a
human; ``queue`` parks everything; ``prompt`` asks on the terminal (a rich panel with the
verdict, evidence, diff stats, validation matrix and cost) and falls back to ``queue`` when
there is no terminal, so an unattended run never blocks. Every decision is recorded in the
ledger with who made it, when, and an optional note.
"""

from __future__ import annotations

import getpass
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from agents.context import CandidateWorkspace
from agents.factory.ledger import Ledger
from agents.factory.records import Answer, ApprovalRequest, ApproveMode, GateOutcome
from agents.qualify.records import Qualification
from harness.fsio import read_model
from tools.report.records import ApprovalRecord, Decision
from tools.validation.validate import ValidationReport

GATES = {"approve_qualification": "qualification", "approve_task": "task"}


Asker = Callable[[ApprovalRequest], Answer]


def reviewer_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class ApprovalGate:
    """Decides at a gate according to the run's mode; safe to call from worker threads."""

    def __init__(
        self,
        mode: ApproveMode,
        ledger: Ledger,
        *,
        console: Console | None = None,
        ask: Asker | None = None,
        interactive: bool | None = None,
    ) -> None:
        interactive = sys.stdin.isatty() if interactive is None else interactive
        self.mode: ApproveMode = "queue" if mode == "prompt" and not interactive else mode
        self._ledger = ledger
        self._console = console or Console(stderr=True)
        self._ask = ask or self._ask_on_terminal
        self._terminal = threading.Lock()  # one question on screen at a time

    def decide(self, request: ApprovalRequest) -> GateOutcome:
        earlier = self._ledger.approval(request.candidate_id, request.gate)
        if earlier is not None:
            return earlier.decision
        if self.mode == "queue" or (self.mode == "auto" and not request.recommended):
            return "parked"
        if self.mode == "auto":
            return self.record(request, "approved", "auto", "recommended by kettle's checks")
        with self._terminal:
            answer = self._ask(request)
        if answer.decision is None:
            return "parked"
        return self.record(request, answer.decision, reviewer_name(), answer.note)

    def record(
        self, request: ApprovalRequest, decision: Decision, who: str, note: str | None
    ) -> Decision:
        self._ledger.record_approval(
            ApprovalRecord(
                candidate_id=request.candidate_id,
                gate=request.gate,
                decision=decision,
                decided_by=who,
                decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
                note=note,
            )
        )
        return decision

    def _ask_on_terminal(self, request: ApprovalRequest) -> Answer:
        return ask_on_terminal(self._console, request)


def ask_on_terminal(console: Console, request: ApprovalRequest) -> Answer:
    """Show the request as a panel and ask: approve, reject, note, or later."""
    console.print(render_request(request))
    note: str | None = None
    while True:
        choice = Prompt.ask(
            "[a]pprove, [r]eject, add a [n]ote, or decide [l]ater",
            choices=["a", "r", "n", "l"],
            default="a" if request.recommended else "l",
            console=console,
        )
        if choice == "n":
            note = Prompt.ask("note", console=console) or None
            continue
        decisions: dict[str, Decision | None] = {"a": "approved", "r": "rejected", "l": None}
        return Answer(decision=decisions[choice], note=note)


def render_request(request: ApprovalRequest) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in request.facts:
        table.add_row(key, Text(value))
    verdict = (
        "[green]recommended[/green]" if request.recommended else "[yellow]needs a look[/yellow]"
    )
    return Panel(
        Group(table),
        title=f"{request.title} — {verdict}",
        subtitle=f"{request.candidate_id} · gate: {request.gate}",
    )


def qualification_request(candidate_id: str, workspace: CandidateWorkspace) -> ApprovalRequest:
    qualification = read_model(workspace.qualification_path, Qualification)
    facts: list[tuple[str, str]] = [
        ("verdict", f"{qualification.verdict} (confidence {qualification.confidence:.2f})"),
        ("decided by", qualification.decided_by),
        ("task spirit", qualification.task_spirit[:600]),
        ("fix commit", qualification.fix_commit or "-"),
        ("license", qualification.license or "-"),
    ]
    facts += [(f"disqualifier {f.code}", f.reason) for f in qualification.disqualifiers]
    facts += [(f"flag {f.code}", f.reason) for f in qualification.flags]
    facts += [("discrepancy", text) for text in qualification.discrepancies]
    fix = qualification.check("fix_commit")
    if fix is not None and fix.evidence.get("diff_stats"):
        facts.append(("diff stats", str(fix.evidence["diff_stats"])))
    facts += [
        (f"check {check.name}", f"{_mark(check.passed)} {check.reason}")
        for check in qualification.evidence
    ]
    return ApprovalRequest(
        candidate_id=candidate_id,
        gate="approve_qualification",
        title="Qualify this session?",
        recommended=qualification.verdict == "qualified",
        facts=facts,
    )


def task_request(
    candidate_id: str, workspace: CandidateWorkspace, ledger: Ledger
) -> ApprovalRequest:
    """The task gate: the validation matrix, and time and cost per stage so far."""
    report = read_model(workspace.validation_dir / "validation.json", ValidationReport)
    facts: list[tuple[str, str]] = [("draft", str(workspace.draft))]
    facts += [
        (f"{check.category} {check.name}", f"{_mark(check.passed)} {check.message}")
        for check in report.checks
    ]
    for record in ledger.stages(candidate_id):
        if record.status == "done" and record.duration_sec:
            cost = f"${record.cost_usd:.4f}" if record.cost_usd is not None else "no model cost"
            facts.append((f"stage {record.stage}", f"{record.duration_sec:.0f}s, {cost}"))
    return ApprovalRequest(
        candidate_id=candidate_id,
        gate="approve_task",
        title="Publish this environment?",
        recommended=report.passed,
        facts=facts,
    )


def request_for(
    gate: str, candidate_id: str, workspace: CandidateWorkspace, ledger: Ledger
) -> ApprovalRequest:
    if gate == "approve_qualification":
        return qualification_request(candidate_id, workspace)
    return task_request(candidate_id, workspace, ledger)


def _mark(passed: bool | None) -> str:
    return {True: "✓", False: "✗", None: "?"}[passed]
