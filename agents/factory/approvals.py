"""Human-in-the-loop approval gates.

Modes: ``auto`` approves what the deterministic checks recommend and parks the rest for a
human; ``queue`` parks everything; ``prompt`` asks on the terminal (a rich panel with the
verdict, evidence, diff stats, validation matrix and cost) and falls back to ``queue`` when
there is no terminal, so an unattended run never blocks. Every decision is recorded in the
ledger with who made it, when, and an optional note.

A qualification whose evidence did not single out the fix (``needs_human``) shows its
ranked fix candidates with the user's words each one matched; the reviewer approves the
shown fix or picks another with its number. The pick is recorded in the approval's note
(``agents.qualify.choice``). ``auto`` never approves such a qualification, nor a task
whose qualification a human has not settled, nor one whose verifier does not exercise
what the instruction asks.
"""

from __future__ import annotations

import getpass
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from agents.context import CandidateWorkspace
from agents.factory.ledger import Ledger
from agents.factory.records import (
    Answer,
    ApprovalRequest,
    ApproveMode,
    FixChoice,
    GateOutcome,
)
from agents.qualify.choice import fix_candidates, needs_a_pick, pick_note
from agents.qualify.records import FixCandidate, Qualification
from harness.fsio import read_model
from tools.report.records import ApprovalRecord, Decision
from tools.validation.agreement import NAME as AGREEMENT
from tools.validation.validate import ValidationReport

GATES = {"approve_qualification": "qualification", "approve_task": "task"}
# The stage whose output each gate decides on.
_DECIDES_ON = {"approve_qualification": "qualify", "approve_task": "validate"}
# Validation warnings that do not fail a task but keep ``auto`` from publishing it.
BLOCKING_WARNINGS = frozenset({AGREEMENT})


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
        if earlier is not None and not self._stale(earlier):
            return earlier.decision
        if self.mode == "queue" or (self.mode == "auto" and not request.recommended):
            return "parked"
        if self.mode == "auto":
            return self.record(request, "approved", "auto", "recommended by kettle's checks")
        with self._terminal:
            answer = self._ask(request)
        if answer.fix_choice is not None:
            picked = next(c for c in request.fix_choices if c.number == answer.fix_choice)
            answer = Answer(decision="approved", note=pick_note(picked.sha, answer.note))
        if answer.decision is None:
            return "parked"
        return self.record(request, answer.decision, reviewer_name(), answer.note)

    def _stale(self, earlier: ApprovalRecord) -> bool:
        """A decision about what an earlier run produced (before a --requalify, or a
        repeated validation) does not count for what the stage produced since."""
        stage = _DECIDES_ON.get(earlier.gate)
        if stage is None:
            return False
        produced = self._ledger.stage(earlier.candidate_id, stage).finished_at
        return produced is not None and produced > earlier.decided_at

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


def prompt_text(request: ApprovalRequest) -> str:
    """The question under the panel; the keys are escaped, or rich would take "[a]" for
    markup and print "pprove"."""
    keys = "[a]pprove, [r]eject, add a [n]ote, or decide [l]ater"
    if request.fix_choices:
        last = request.fix_choices[-1].number
        keys = f"[a]pprove the shown fix, pick a fix [1-{last}], [r]eject, add a [n]ote, or "
        keys += "decide [l]ater"
    return escape(keys)


def ask_on_terminal(console: Console, request: ApprovalRequest) -> Answer:
    """Show the request as a panel and ask: approve, reject, note, later, or pick a fix."""
    console.print(render_request(request))
    note: str | None = None
    picks = {str(choice.number): choice.number for choice in request.fix_choices}
    while True:
        choice = Prompt.ask(
            prompt_text(request),
            choices=["a", "r", "n", "l", *picks],
            default="a" if request.recommended else "l",
            console=console,
        )
        if choice == "n":
            note = Prompt.ask("note", console=console) or None
            continue
        if choice in picks:
            return Answer(decision="approved", note=note, fix_choice=picks[choice])
        decisions: dict[str, Decision | None] = {"a": "approved", "r": "rejected", "l": None}
        return Answer(decision=decisions[choice], note=note)


def render_request(request: ApprovalRequest) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in request.facts:
        table.add_row(key, Text(value))
    parts: list[Table] = [table]
    if request.fix_choices:
        parts.append(_choices_table(request.fix_choices))
    verdict = (
        "[green]recommended[/green]" if request.recommended else "[yellow]needs a look[/yellow]"
    )
    return Panel(
        Group(*parts),
        title=f"{request.title} — {verdict}",
        subtitle=f"{request.candidate_id} · gate: {request.gate}",
    )


def _choices_table(choices: list[FixChoice]) -> Table:
    table = Table(title="fix candidates (pick one with its number)", title_justify="left")
    for column in ("#", "fix", "subject", "score", "the user's words it matched (where)"):
        table.add_column(column)
    for choice in choices:
        table.add_row(
            str(choice.number),
            choice.label,
            Text(choice.subject[:60]),
            f"{choice.score:.1f}",
            Text(choice.evidence),
        )
    return table


_FIELD_LETTER = {"message": "msg", "paths": "path", "source": "code", "tests": "tests"}


def _evidence_line(candidate: FixCandidate, count: int = 6) -> str:
    shown = [item for item in candidate.evidence if item.kind != "subword"][:count]
    return "; ".join(
        f"{item.term} ({'/'.join(_FIELD_LETTER.get(f, f) for f in item.fields)})" for item in shown
    )


def fix_choices(qualification: Qualification, limit: int = 5) -> list[FixChoice]:
    """The ranked candidates of a qualification whose fix a reviewer must pick."""
    if not needs_a_pick(qualification):
        return []
    return [
        FixChoice(
            number=number,
            sha=candidate.sha,
            label=candidate.label,
            subject=candidate.subject,
            score=candidate.score,
            evidence=_evidence_line(candidate) or "no terms",
        )
        for number, candidate in enumerate(fix_candidates(qualification)[:limit], 1)
        if candidate.eligible
    ]


def qualification_request(candidate_id: str, workspace: CandidateWorkspace) -> ApprovalRequest:
    qualification = read_model(workspace.qualification_path, Qualification)
    choices = fix_choices(qualification)
    fix = qualification.fix_commit or "-"
    if qualification.fix_first_commit and qualification.fix_commit:
        fix = f"{qualification.fix_first_commit}..{qualification.fix_commit}"
    facts: list[tuple[str, str]] = [
        ("verdict", f"{qualification.verdict} (confidence {qualification.confidence:.2f})"),
        ("decided by", qualification.decided_by),
        ("task spirit", qualification.task_spirit[:600]),
        ("fix commit", fix + (" (the best candidate, unsettled)" if choices else "")),
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
        fix_choices=choices,
    )


def task_request(
    candidate_id: str, workspace: CandidateWorkspace, ledger: Ledger
) -> ApprovalRequest:
    """The task gate: the validation matrix, and time and cost per stage so far.

    Recommended only when validation passed, the qualification is settled (``qualified``:
    by the checks, or by a reviewer at the first gate) and no warning says the verifier
    does not exercise what the instruction asks."""
    report = read_model(workspace.validation_dir / "validation.json", ValidationReport)
    qualification = workspace.stored_qualification()
    settled = qualification is not None and qualification.verdict == "qualified"
    blocking = [check for check in report.warnings if check.name in BLOCKING_WARNINGS]
    facts: list[tuple[str, str]] = [("draft", str(workspace.draft))]
    if not settled:
        verdict = qualification.verdict if qualification else "missing"
        facts.append(("qualification", f"{verdict}: a human must settle it first"))
    facts += [(f"blocks auto-approval: {check.name}", check.message) for check in blocking]
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
        recommended=report.passed and settled and not blocking,
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
