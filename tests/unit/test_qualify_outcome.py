"""agents.qualify.outcome: finding and ranking the commit that fixed the session's problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.qualify.config import QualifyConfig
from agents.qualify.outcome import file_overlap, find_fix, message_cue
from agents.qualify.records import OutcomeReport
from tests.fixtures.qualify_repos import Scenario, python_bugfix
from tools.repos.git import open_repo
from tools.sessions.records import CandidateHints


def test_file_overlap_is_an_f1_with_partial_credit_for_the_same_directory() -> None:
    assert file_overlap(["src/a.py"], ["src/a.py"]) == 1.0
    assert file_overlap(["src/a.py"], ["lib/b.py"]) == 0.0
    assert file_overlap(["src/a.py"], ["src/b.py"]) == pytest.approx(0.3)
    half = file_overlap(["src/a.py", "src/b.py"], ["src/a.py"])
    assert 0.6 < half < 1.0
    assert file_overlap([], ["src/a.py"]) == 0.0


def test_workspace_prefixed_paths_match_repo_paths() -> None:
    assert file_overlap(["app/src/a.py"], ["src/a.py"]) == 1.0


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Fix crash when the amount is negative (#12)", 1.0),
        ("Fix crash on negative input", 0.8),
        ("Closes #12", 0.6),
        ("fix: handle negative amount", 1.0),
        ("Refactor parser internals", 0.0),
        ("docs: explain negative amount handling", 0.1),
        ("chore: bump version", 0.0),
    ],
)
def test_message_cues_reward_fix_words_and_the_users_own_words(
    message: str, expected: float
) -> None:
    keywords = {"negative", "amount", "parse_amount"}
    assert message_cue(message, keywords) == pytest.approx(expected)


def _find(scenario: Scenario, **updates: object) -> OutcomeReport:
    candidate = scenario.candidate.model_copy(update=updates)
    with open_repo(str(scenario.path), scenario.path.parent / "cache") as repo:
        return find_fix(repo, candidate, scenario.shas["start"], QualifyConfig())


def test_without_touched_files_a_fix_needs_a_fix_message(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    report = _find(scenario, files_touched=[])
    assert report.fix is not None
    assert report.fix.sha == scenario.shas["fix"]
    assert report.chosen_by == "ranking"


def test_commits_before_the_start_are_never_candidates(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    report = _find(scenario)
    considered = {candidate.sha for candidate in report.ranked}
    assert scenario.shas["before_start"] not in considered
    assert scenario.shas["start"] not in considered
    assert report.considered == 4  # docs, fix, unrelated, and the side branch


def test_a_shared_directory_alone_does_not_make_a_fix(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc", fix_lands=False)
    report = _find(scenario)
    assert report.fix is None
    unrelated = next(c for c in report.ranked if c.sha == scenario.shas["unrelated"])
    assert unrelated.overlap > 0 and unrelated.shared_files == 0


def test_hint_that_changes_only_docs_is_rejected(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    report = _find(scenario, hints=CandidateHints(fix_commit=scenario.shas["docs"]))
    assert report.hint is not None and not report.hint.valid
    assert "changes only docs" in report.hint.reason
    assert report.fix is not None and report.fix.sha == scenario.shas["fix"]


def test_fix_evidence_carries_diff_stats(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    fix = _find(scenario).fix
    assert fix is not None
    assert sorted(fix.paths) == ["src/calc/parse.py", "tests/test_parse.py"]
    assert (fix.files, fix.insertions, fix.deletions) == (2, 6, 1)
    assert fix.touches_source and fix.changes_tests
