"""agents.qualify.outcome: the fix is found from evidence tied to the user's words, and an
undecidable case goes to a human instead of becoming a confident guess."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from agents.qualify.baseline import qualify_baseline
from agents.qualify.config import QualifyConfig
from agents.qualify.outcome import find_fix
from agents.qualify.records import OutcomeReport
from tests.fixtures.fix_histories import FIX_MESSAGE, fix_history, merge_pull_request
from tests.fixtures.qualify_repos import Scenario, python_bugfix
from tools.repos.builder import build_repo
from tools.repos.git import RepoCache, open_repo
from tools.repos.records import CommitSpec
from tools.sessions.records import Candidate, CandidateHints


def _find(scenario: Scenario, **updates: object) -> OutcomeReport:
    candidate = scenario.candidate.model_copy(update=updates)
    with open_repo(str(scenario.path), scenario.path.parent / "cache") as repo:
        return find_fix(repo, candidate, scenario.shas["start"], QualifyConfig())


def _named(scenario: Scenario, sha: str | None) -> str | None:
    return next((name for name, known in scenario.shas.items() if known == sha), sha)


def test_unrelated_fix_worded_commits_between_start_and_fix_do_not_win(tmp_path: Path) -> None:
    scenario = fix_history(tmp_path / "ledger")
    report = _find(scenario)
    assert report.decision == "confident"
    assert _named(scenario, report.fix.sha if report.fix else None) == "fix"
    fix_worded = {"distractor_1", "distractor_2", "distractor_3"}
    scores = {_named(scenario, c.sha): c.score for c in report.ranked}
    assert all(scores.get(name, 0.0) * 2 < scores["fix"] for name in fix_worded)
    assert report.margin is not None and report.margin >= QualifyConfig().fix_margin
    # Every change considered is on the record, best first.
    assert len(report.scores) == report.considered
    assert report.scores[0].sha == scenario.shas["fix"]


def test_a_fix_whose_message_never_says_fix_is_found_by_what_it_changes(tmp_path: Path) -> None:
    scenario = fix_history(tmp_path / "ledger")
    assert "fix" not in FIX_MESSAGE.lower()
    fix = _find(scenario).fix
    assert fix is not None and fix.sha == scenario.shas["fix"]
    evidence = {item.term: item for item in fix.evidence}
    # The user's own identifier and value, found in the code and in the new test.
    assert "source" in evidence["export_csv"].fields
    assert "tests" in evidence["smith, j"].fields


def test_a_fix_in_two_consecutive_commits_is_one_fix_range(tmp_path: Path) -> None:
    scenario = fix_history(tmp_path / "ledger", "consecutive")
    report = _find(scenario)
    assert report.decision == "confident"
    assert report.fix is not None
    assert (report.fix.first, report.fix.sha) == (
        scenario.shas["fix"],
        scenario.shas["follow_up"],
    )
    qualification, _ = qualify_baseline(scenario.candidate, RepoCache(tmp_path / "cache"))
    assert qualification.verdict == "qualified"
    assert qualification.fix_first_commit == scenario.shas["fix"]
    assert qualification.fix_commit == scenario.shas["follow_up"]
    assert "fix_range" in qualification.codes()


def test_a_fix_on_a_merged_side_branch_is_named_by_its_merge(tmp_path: Path) -> None:
    scenario = fix_history(tmp_path / "ledger", "merged")
    report = _find(scenario)
    assert report.decision == "confident"
    fix = report.fix
    assert fix is not None
    # The merge's own change is exactly what the branch brought: later stages read it
    # like any fix commit; the branch's commits are on the record.
    assert fix.sha == scenario.shas["merge"]
    assert scenario.shas["branch_fix"] in fix.shas and scenario.shas["branch_tests"] in fix.shas
    assert fix.landed_by == scenario.shas["merge"] and fix.pr == 7
    assert fix.touches_source and fix.changes_tests


def test_two_equally_plausible_fixes_go_to_a_human_with_both_shown(tmp_path: Path) -> None:
    scenario = fix_history(tmp_path / "ledger", "twins")
    report = _find(scenario)
    assert report.decision == "ambiguous"
    top_two = {_named(scenario, c.sha) for c in report.ranked[:2]}
    assert top_two == {"fix", "twin"}
    qualification, _ = qualify_baseline(scenario.candidate, RepoCache(tmp_path / "cache"))
    assert qualification.verdict == "needs_human"
    check = qualification.check("fix_commit")
    assert check is not None and check.passed is None
    assert "a human should pick" in check.reason
    # Nothing is decided on the guess: the checks of the fix wait for the reviewer's pick.
    nontrivial = qualification.check("nontrivial_change")
    assert nontrivial is not None and nontrivial.passed is None
    assert not qualification.disqualifiers


def test_pull_request_refs_are_never_walked(tmp_path: Path) -> None:
    scenario = fix_history(tmp_path / "ledger")
    report = _find(scenario)
    assert report.considered == 5  # three distractors, the fix, the later commit
    assert scenario.shas["unmerged_pull"] not in {c.sha for c in report.ranked}


def test_commits_before_the_start_are_never_candidates(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    report = _find(scenario)
    considered = {candidate.sha for candidate in report.ranked}
    assert scenario.shas["before_start"] not in considered
    assert scenario.shas["start"] not in considered
    assert report.considered == 4  # docs, fix, unrelated, and the side branch


def test_a_branch_that_never_reached_the_line_counts_less(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    side = next(c for c in _find(scenario).ranked if c.sha == scenario.shas["side"])
    assert side.merged is False and side.line == "unmerged"


def test_hint_that_changes_only_docs_is_rejected(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    report = _find(scenario, hints=CandidateHints(fix_commit=scenario.shas["docs"]))
    assert report.hint is not None and not report.hint.valid
    assert "changes only docs" in report.hint.reason
    assert report.fix is not None and report.fix.sha == scenario.shas["fix"]


@pytest.mark.parametrize(
    ("before_start", "tip_only_tests"),
    [(False, False), (True, False), (False, True)],
    ids=["branch_after", "branch_before", "tip_only_tests"],
)
def test_a_hinted_pull_request_tip_is_the_fix_its_merge_brought(
    tmp_path: Path, before_start: bool, tip_only_tests: bool
) -> None:
    """A hint names the last commit of a pull request (setuptools-scm's fix: the tests came
    in its first commit; simplejson's: the tip only rewrites the test), or a branch commit
    made before the session and merged after it (langgraph's): the fix is the merge, tests
    included."""
    scenario = fix_history(tmp_path / "ledger", "unfixed")
    base = scenario.shas["initial" if before_start else "start"]
    shas = merge_pull_request(
        scenario.path, base, before_start=before_start, tip_only_tests=tip_only_tests
    )
    report = _find(scenario, hints=CandidateHints(fix_commit=shas["pr_tip"]))
    assert report.hint is not None and report.hint.valid, report.hint
    assert report.fix is not None and report.fix.sha == shas["pr_merge"]
    assert report.fix.changes_tests
    assert report.chosen_by == "hint" and shas["pr_merge"][:12] in report.reason


def test_a_hinted_commit_no_merge_after_the_start_brought_is_rejected(tmp_path: Path) -> None:
    scenario = fix_history(tmp_path / "ledger")
    with git.Repo(scenario.path) as repo:
        repo.git.branch("stale", scenario.shas["initial"])
    report = _find(scenario, hints=CandidateHints(fix_commit=scenario.shas["initial"]))
    assert report.hint is not None and not report.hint.valid


def test_fix_evidence_carries_diff_stats(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    fix = _find(scenario).fix
    assert fix is not None
    assert sorted(fix.paths) == ["src/calc/parse.py", "tests/test_parse.py"]
    assert (fix.files, fix.insertions, fix.deletions) == (2, 6, 1)
    assert fix.touches_source and fix.changes_tests


def test_a_docs_request_is_matched_to_the_docs_change_not_to_later_code(tmp_path: Path) -> None:
    readme = "# tool\n\nRun `tool.extract_urllib(url)` to split a URL.\n"
    code = "def extract(url):\n    return url.split('.')\n\n\nclass Extractor:\n"
    code += "    def extract_urllib(self, url):\n        return extract(url)\n"
    shas = build_repo(
        tmp_path / "tool",
        [
            CommitSpec(
                message="tool 1.0",
                files={
                    "README.md": readme,
                    "LICENSE": "MIT License\n\nPermission is hereby granted, free of charge",
                    "tool/__init__.py": "from tool.core import extract, Extractor\n",
                    "tool/core.py": code,
                    "tool/cli.py": "import sys\n\nfrom tool.core import extract\n",
                },
            ),
            CommitSpec(
                message="README: call extract_urllib on an Extractor instance",
                files={
                    "README.md": readme.replace("tool.extract_urllib", "Extractor().extract_urllib")
                },
            ),
            CommitSpec(
                message="Add doctest coverage for the core helpers",
                files={"tool/core.py": code + "\n\n# doctests below\n", "conftest.py": "\n"},
            ),
        ],
    )
    candidate = Candidate(
        id="docs-1",
        source_format="candidates_jsonl",
        source_path="candidates.jsonl",
        repo=str(tmp_path / "tool"),
        start_commit=shas[0],
        first_prompt="The README example calls `tool.extract_urllib(url)`, which raises "
        "`AttributeError: module 'tool' has no attribute 'extract_urllib'`. Please correct "
        "the README snippet; do not change the library.",
    )
    qualification, _ = qualify_baseline(candidate, RepoCache(tmp_path / "cache"))
    assert qualification.fix_commit == shas[1]
    assert qualification.verdict == "disqualified"
    assert "docs_only" in {f.code for f in qualification.disqualifiers}
