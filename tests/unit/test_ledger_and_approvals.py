"""The run ledger and the approval gates: resumable bookkeeping, recorded decisions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agents.factory.approvals import ApprovalGate
from agents.factory.ledger import Ledger
from agents.factory.records import Answer, ApprovalRequest
from harness.errors import LedgerError

STAGES = ["qualify", "approve_qualification", "reconstruct"]


def request(recommended: bool = True) -> ApprovalRequest:
    return ApprovalRequest(
        candidate_id="c1", gate="approve_qualification", title="t", recommended=recommended
    )


def test_new_candidates_start_with_every_stage_pending(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.add_candidate("c1", "/s/1.jsonl", STAGES)
    assert [(r.stage, r.status) for r in ledger.stages("c1")] == [(s, "pending") for s in STAGES]


def test_registering_again_keeps_progress(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.add_candidate("c1", "/s/1.jsonl", STAGES)
    ledger.start("c1", "qualify")
    ledger.finish("c1", "qualify", "done", duration_sec=1.5, cost_usd=0.01, detail="qualified")
    ledger.add_candidate("c1", "/s/1.jsonl", STAGES)
    record = ledger.stage("c1", "qualify")
    assert (record.status, record.attempts, record.cost_usd) == ("done", 1, 0.01)


def test_a_stage_left_running_by_a_crash_is_repeated(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.add_candidate("c1", "/s", STAGES)
    ledger.start("c1", "qualify")
    ledger.close()  # the process dies here
    reopened = Ledger(tmp_path)
    interrupted = reopened.recover_interrupted()
    assert [r.stage for r in interrupted] == ["qualify"]
    assert reopened.stage("c1", "qualify").status == "pending"


def test_a_ledger_of_another_kind_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('kind', 'something-else')")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="something-else"):
        Ledger(tmp_path)


def test_a_corrupt_ledger_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ledger.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError, match="not a usable ledger"):
        Ledger(tmp_path)


def test_auto_mode_approves_recommended_items_and_parks_the_rest(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    gate = ApprovalGate("auto", ledger, interactive=False)
    assert gate.decide(request(recommended=False)) == "parked"
    assert gate.decide(request(recommended=True)) == "approved"
    decision = ledger.approval("c1", "approve_qualification")
    assert decision is not None and decision.decided_by == "auto"


def test_prompt_mode_without_a_terminal_queues_instead_of_blocking(tmp_path: Path) -> None:
    def never(_request: ApprovalRequest) -> Answer:
        raise AssertionError("must not ask without a terminal")

    gate = ApprovalGate("prompt", Ledger(tmp_path), ask=never, interactive=False)
    assert gate.mode == "queue"
    assert gate.decide(request()) == "parked"


def test_prompt_mode_records_the_reviewers_decision_and_note(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    gate = ApprovalGate(
        "prompt",
        ledger,
        ask=lambda _r: Answer(decision="rejected", note="fix is a revert"),
        interactive=True,
    )
    assert gate.decide(request()) == "rejected"
    decision = ledger.approval("c1", "approve_qualification")
    assert decision is not None
    assert (decision.decision, decision.note) == ("rejected", "fix is a revert")
    assert decision.decided_by and decision.decided_at


def test_a_recorded_decision_is_reused_on_rerun(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ApprovalGate(
        "prompt", ledger, ask=lambda _r: Answer(decision="approved"), interactive=True
    ).decide(request())
    queue = ApprovalGate("queue", ledger, interactive=False)
    assert queue.decide(request()) == "approved"


def test_decide_later_parks_the_item(tmp_path: Path) -> None:
    gate = ApprovalGate("prompt", Ledger(tmp_path), ask=lambda _r: Answer(), interactive=True)
    assert gate.decide(request()) == "parked"
