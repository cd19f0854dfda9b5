"""The approval panel of an undecided fix: candidates with their evidence, a pick by
keystroke, and no automatic approval of what a human has not settled."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from agents.context import CandidateWorkspace
from agents.factory.approvals import (
    ApprovalGate,
    ask_on_terminal,
    prompt_text,
    qualification_request,
    task_request,
)
from agents.factory.ledger import Ledger
from agents.factory.records import Answer, ApprovalRequest, FixChoice
from agents.qualify.baseline import qualify_baseline
from agents.qualify.choice import picked_sha, settle
from agents.qualify.records import Qualification
from harness.fsio import write_model
from tests.fixtures.fix_histories import fix_history
from tests.fixtures.qualify_repos import Scenario
from tools.repos.git import RepoCache
from tools.sessions.instruction import compose_instruction
from tools.validation.agreement import check_agreement
from tools.validation.records import ValidationCheck, ValidationReport


@pytest.fixture
def twins(tmp_path: Path) -> tuple[Scenario, Qualification, CandidateWorkspace, RepoCache]:
    scenario = fix_history(tmp_path / "ledger", "twins")
    repos = RepoCache(tmp_path / "cache")
    qualification, _ = qualify_baseline(scenario.candidate, repos)
    workspace = CandidateWorkspace(tmp_path / "run", scenario.candidate.id)
    write_model(workspace.qualification_path, qualification)
    return scenario, qualification, workspace, repos


_REPLIES: list[str] = []


@pytest.fixture(autouse=True)
def keyboard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the reviewer types, one reply per question (rich reads it with input())."""
    _REPLIES.clear()
    monkeypatch.setattr("builtins.input", lambda *_args: _REPLIES.pop(0))
    return _REPLIES


def _screen(request: ApprovalRequest, answers: list[str]) -> tuple[str, Answer]:
    console = Console(file=io.StringIO(), width=160, force_terminal=False)
    _REPLIES[:] = answers
    answer = ask_on_terminal(console, request)
    return console.file.getvalue(), answer  # type: ignore[attr-defined]


def test_the_prompt_shows_its_keys_instead_of_losing_them_to_markup() -> None:
    request = ApprovalRequest(candidate_id="c", gate="approve_task", title="t", recommended=True)
    screen, answer = _screen(request, ["a"])
    assert "[a]pprove, [r]eject, add a [n]ote, or decide [l]ater" in screen
    assert "pprove, eject" not in screen.replace("[a]pprove, [r]eject", "")
    assert answer.decision == "approved"
    assert "[1-" in prompt_text(
        request.model_copy(update={"fix_choices": [_choice(1), _choice(2)]})
    )


def _choice(number: int) -> FixChoice:
    return FixChoice(
        number=number, sha="0" * 40, label="0" * 12, subject="s", score=1.0, evidence=""
    )


def test_an_undecided_fix_shows_its_candidates_with_their_evidence(twins) -> None:
    scenario, _, workspace, _ = twins
    request = qualification_request(scenario.candidate.id, workspace)
    assert request.recommended is False
    picks = {choice.sha: choice for choice in request.fix_choices}
    assert {scenario.shas["fix"], scenario.shas["twin"]} <= set(picks)
    assert "export_csv" in picks[scenario.shas["twin"]].evidence
    screen, _ = _screen(request, ["l"])
    assert "fix candidates" in screen and "export_csv" in screen
    assert "(the best candidate, unsettled)" in screen


def test_auto_mode_never_approves_an_undecided_fix(twins, tmp_path: Path) -> None:
    scenario, _, workspace, _ = twins
    gate = ApprovalGate("auto", Ledger(tmp_path / "ledger-db"), interactive=False)
    assert gate.decide(qualification_request(scenario.candidate.id, workspace)) == "parked"


def test_a_reviewer_picks_a_fix_with_one_keystroke_and_it_becomes_the_fix(
    twins, tmp_path: Path
) -> None:
    scenario, qualification, workspace, repos = twins
    request = qualification_request(scenario.candidate.id, workspace)
    twin = next(c for c in request.fix_choices if c.sha == scenario.shas["twin"])
    ledger = Ledger(tmp_path / "ledger-db")
    gate = ApprovalGate(
        "prompt", ledger, ask=lambda r: _screen(r, [str(twin.number)])[1], interactive=True
    )
    assert gate.decide(request) == "approved"
    recorded = ledger.approval(scenario.candidate.id, "approve_qualification")
    assert recorded is not None and picked_sha(recorded.note) == scenario.shas["twin"]
    with repos.open(str(scenario.path)) as repo:
        settled = settle(
            qualification, picked_sha(recorded.note), recorded.decided_by, repo, scenario.candidate
        )
    assert settled.verdict == "qualified"
    assert settled.fix_commit == scenario.shas["twin"]
    assert "fix picked by" in settled.decided_by
    assert settled.check("nontrivial_change").passed is True
    assert settled.check("fix_commit").evidence["chosen_by"] == "reviewer"


def _validation(workspace: CandidateWorkspace, warnings: list[ValidationCheck]) -> None:
    from datetime import UTC, datetime

    report = ValidationReport(
        task_id="t",
        passed=True,
        checks=[
            ValidationCheck(name="oracle", category="oracle", passed=True, message="ok"),
            *warnings,
        ],
        started_at=datetime.now(UTC),
        duration_sec=1.0,
    )
    write_model(workspace.validation_dir / "validation.json", report)


def test_the_task_gate_waits_for_a_human_to_settle_the_qualification(twins, tmp_path) -> None:
    scenario, qualification, workspace, repos = twins
    _validation(workspace, [])
    ledger = Ledger(tmp_path / "ledger-db")
    unsettled = task_request(scenario.candidate.id, workspace, ledger)
    assert unsettled.recommended is False
    with repos.open(str(scenario.path)) as repo:
        write_model(
            workspace.qualification_path,
            settle(qualification, None, "ana", repo, scenario.candidate),
        )
    assert task_request(scenario.candidate.id, workspace, ledger).recommended is True


def test_an_instruction_the_verifier_does_not_exercise_blocks_auto_approval(
    twins, tmp_path
) -> None:
    scenario, qualification, workspace, repos = twins
    with repos.open(str(scenario.path)) as repo:
        write_model(
            workspace.qualification_path,
            settle(qualification, None, "ana", repo, scenario.candidate),
        )
    # A verifier planted from another change: it tests load_config, the user asked about
    # export_csv.
    tests = tmp_path / "planted-tests"
    tests.mkdir()
    (tests / "test_config.py").write_text(
        "from ledger.config import load_config\n\n\ndef test_empty_settings(tmp_path):\n"
        "    (tmp_path / 'c.json').write_text('')\n"
        "    assert load_config(tmp_path / 'c.json') == {}\n"
    )
    instruction = compose_instruction(scenario.candidate)
    mismatch = check_agreement(instruction, ["tests/test_config.py::test_empty_settings"], tests)
    assert not mismatch.passed
    _validation(workspace, [mismatch])
    request = task_request(scenario.candidate.id, workspace, Ledger(tmp_path / "ledger-db"))
    assert request.recommended is False
    assert any("blocks auto-approval" in key for key, _ in request.facts)
    gate = ApprovalGate("auto", Ledger(tmp_path / "ledger-db-2"), interactive=False)
    assert gate.decide(request) == "parked"
