"""agents.qualify.recheck: a model's claims are verified by code; false ones send the
candidate to a human."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.qualify.recheck import recheck
from agents.qualify.records import Finding, Qualification, QualificationClaims
from tests.fixtures.qualify_repos import PROPRIETARY_TEXT, Scenario, python_bugfix
from tools.repos.git import LocalRepo, open_repo


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    return python_bugfix(tmp_path / "calc")


@pytest.fixture
def repo(scenario: Scenario, tmp_path: Path) -> Iterator[LocalRepo]:
    with open_repo(str(scenario.path), tmp_path / "cache") as local:
        yield local


def _model_says(scenario: Scenario, **updates: object) -> Qualification:
    """What an honest model would answer; tests plant false claims through ``updates``."""
    honest = Qualification(
        candidate_id=scenario.candidate.id,
        verdict="qualified",
        task_spirit="Make parse_amount accept negative amounts such as -3.50.",
        start_commit=scenario.shas["start"],
        fix_commit=scenario.shas["fix"][:8],
        license="MIT",
        confidence=0.9,
        decided_by="gemini-3",
        claims=QualificationClaims(
            license="MIT",
            fix_files=["src/calc/parse.py", "tests/test_parse.py"],
            fix_changes_tests=True,
        ),
    )
    return honest.model_copy(update=updates)


def test_true_claims_keep_the_verdict_and_resolve_short_shas(
    scenario: Scenario, repo: LocalRepo
) -> None:
    checked = recheck(_model_says(scenario), scenario.candidate, repo)
    assert checked.discrepancies == []
    assert checked.verdict == "qualified"
    assert checked.confidence == 0.9
    assert checked.fix_commit == scenario.shas["fix"]
    assert {c.name for c in checked.evidence} == {
        "recheck_start_commit",
        "recheck_fix_commit",
        "recheck_license",
    }
    assert all(c.passed for c in checked.evidence)


def test_fix_commit_that_does_not_exist_is_caught(scenario: Scenario, repo: LocalRepo) -> None:
    claimed = _model_says(scenario, fix_commit="deadbeef")
    checked = recheck(claimed, scenario.candidate, repo)
    assert checked.verdict == "needs_human"
    assert checked.discrepancies == [
        "model claimed fix commit deadbeef, which does not exist in the repo"
    ]
    assert checked.confidence == 0.5


def test_input_record_is_not_modified(scenario: Scenario, repo: LocalRepo) -> None:
    claimed = _model_says(scenario, fix_commit="deadbeef")
    before = claimed.model_dump()
    recheck(claimed, scenario.candidate, repo)
    assert claimed.model_dump() == before


def test_fix_commit_from_before_the_start_is_caught(scenario: Scenario, repo: LocalRepo) -> None:
    claimed = _model_says(
        scenario,
        fix_commit=scenario.shas["before_start"],
        claims=QualificationClaims(fix_files=["src/calc/parse.py"]),
    )
    checked = recheck(claimed, scenario.candidate, repo)
    assert checked.verdict == "needs_human"
    assert "already in the start commit's history" in checked.discrepancies[0]


def test_docs_commit_claimed_as_fix_is_caught(scenario: Scenario, repo: LocalRepo) -> None:
    claimed = _model_says(scenario, fix_commit=scenario.shas["docs"], claims=QualificationClaims())
    checked = recheck(claimed, scenario.candidate, repo)
    assert any("changes only tests or docs" in d for d in checked.discrepancies)


def test_files_the_fix_does_not_change_are_caught(scenario: Scenario, repo: LocalRepo) -> None:
    claims = QualificationClaims(
        license="MIT", fix_files=["src/calc/parse.py", "src/calc/money.py"], fix_changes_tests=True
    )
    checked = recheck(_model_says(scenario, claims=claims), scenario.candidate, repo)
    assert checked.verdict == "needs_human"
    assert checked.discrepancies == [
        f"model claimed fix commit {scenario.shas['fix'][:8]} changes src/calc/money.py, "
        "which it does not"
    ]


def test_wrong_claim_about_tests_is_caught(scenario: Scenario, repo: LocalRepo) -> None:
    claims = QualificationClaims(license="MIT", fix_changes_tests=False)
    checked = recheck(_model_says(scenario, claims=claims), scenario.candidate, repo)
    assert checked.discrepancies == [
        f"model claimed fix commit {scenario.shas['fix'][:8]} does not change tests, "
        "but it changes tests"
    ]


def test_wrong_license_claim_is_caught(scenario: Scenario, repo: LocalRepo) -> None:
    claims = QualificationClaims(license="Apache-2.0", fix_changes_tests=True)
    checked = recheck(_model_says(scenario, claims=claims), scenario.candidate, repo)
    assert checked.verdict == "needs_human"
    assert checked.discrepancies == [
        "model claimed license Apache-2.0, but open source: LICENSE says MIT"
    ]


def test_equivalent_license_spellings_are_not_discrepancies(
    scenario: Scenario, repo: LocalRepo
) -> None:
    claims = QualificationClaims(license="MIT License", fix_changes_tests=True)
    assert (
        recheck(_model_says(scenario, claims=claims), scenario.candidate, repo).discrepancies == []
    )


def test_qualifying_a_proprietary_repo_is_caught(tmp_path: Path) -> None:
    scenario = python_bugfix(tmp_path / "closed", license_text=PROPRIETARY_TEXT)
    claimed = _model_says(scenario, claims=QualificationClaims(), license=None)
    with open_repo(str(scenario.path), tmp_path / "cache") as repo:
        checked = recheck(claimed, scenario.candidate, repo)
    assert checked.verdict == "needs_human"
    assert checked.discrepancies == [
        "model qualified the candidate, but the license check says: "
        "not open source: LICENSE says LicenseRef-Proprietary"
    ]


def test_start_commit_that_does_not_exist_is_caught(scenario: Scenario, repo: LocalRepo) -> None:
    checked = recheck(_model_says(scenario, start_commit="f00dfeed"), scenario.candidate, repo)
    assert "model claimed start commit f00dfeed, which does not exist" in checked.discrepancies


def test_qualified_without_a_fix_commit_is_caught(scenario: Scenario, repo: LocalRepo) -> None:
    checked = recheck(_model_says(scenario, fix_commit=None), scenario.candidate, repo)
    assert checked.discrepancies == ["model qualified the candidate without naming a fix commit"]


def test_verdict_that_contradicts_its_own_disqualifiers_is_caught(
    scenario: Scenario, repo: LocalRepo
) -> None:
    claimed = _model_says(
        scenario, disqualifiers=[Finding(code="trivial_change", reason="tiny diff")]
    )
    checked = recheck(claimed, scenario.candidate, repo)
    assert checked.discrepancies == [
        "model said qualified but listed disqualifiers: trivial_change"
    ]


def test_unreachable_repo_cannot_back_a_qualified_verdict(scenario: Scenario) -> None:
    checked = recheck(_model_says(scenario), scenario.candidate, None)
    assert checked.verdict == "needs_human"
    assert checked.discrepancies == [
        "model qualified the candidate, but its repo cannot be reached"
    ]


def test_a_trivial_change_rejection_of_a_behavioural_fix_is_not_final(
    scenario: Scenario, repo: LocalRepo
) -> None:
    claimed = _model_says(
        scenario,
        verdict="disqualified",
        disqualifiers=[Finding(code="trivial_change", reason="one-character change")],
        confidence=0.7,
    )
    checked = recheck(claimed, scenario.candidate, repo)
    assert checked.verdict == "needs_human"
    assert checked.confidence == 0.5
    assert checked.check("recheck_trivial_change").passed is False


def test_secret_quoted_in_the_task_spirit_is_redacted(scenario: Scenario, repo: LocalRepo) -> None:
    key = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"
    claimed = _model_says(scenario, task_spirit=f"Fix parsing; the user's token is {key}")
    checked = recheck(claimed, scenario.candidate, repo)
    assert key not in checked.model_dump_json()
    assert [flag.code for flag in checked.flags] == ["secret_in_prompt"]
    assert checked.verdict == "qualified"


def _baseline_checks(scenario: Scenario, tmp_path: Path) -> list:
    from agents.qualify.baseline import qualify_baseline
    from tools.repos.git import RepoCache

    qualification, _ = qualify_baseline(scenario.candidate, RepoCache(tmp_path / "cache-b"))
    return qualification.evidence


def test_a_rejection_the_checks_contradict_goes_to_a_human(
    scenario: Scenario, repo: LocalRepo, tmp_path: Path
) -> None:
    claimed = _model_says(
        scenario,
        verdict="disqualified",
        disqualifiers=[Finding(code="typo_only", reason="only a wording change")],
    )
    checked = recheck(claimed, scenario.candidate, repo, _baseline_checks(scenario, tmp_path))
    assert checked.verdict == "needs_human"
    assert any(
        "disqualified the candidate as typo_only, but the nontrivial_change check" in text
        for text in checked.discrepancies
    )


def test_a_from_scratch_rejection_of_a_real_codebase_goes_to_a_human(
    scenario: Scenario, repo: LocalRepo, tmp_path: Path
) -> None:
    claimed = _model_says(
        scenario,
        verdict="disqualified",
        fix_commit=None,
        disqualifiers=[Finding(code="from_scratch", reason="the user wanted a new app")],
    )
    checked = recheck(claimed, scenario.candidate, repo, _baseline_checks(scenario, tmp_path))
    assert checked.verdict == "needs_human"
    assert checked.check("recheck_from_scratch").passed is False


def test_a_rejection_the_checks_agree_with_stands(
    scenario: Scenario, repo: LocalRepo, tmp_path: Path
) -> None:
    claimed = _model_says(
        scenario,
        verdict="disqualified",
        fix_commit=scenario.shas["docs"],
        claims=QualificationClaims(),
        disqualifiers=[Finding(code="docs_only", reason="the change is a README edit")],
    )
    checked = recheck(claimed, scenario.candidate, repo, _baseline_checks(scenario, tmp_path))
    assert checked.verdict == "disqualified"
    assert checked.check("recheck_docs_only").passed is True


def test_a_fix_other_than_the_one_the_evidence_singles_out_goes_to_a_human(
    scenario: Scenario, repo: LocalRepo, tmp_path: Path
) -> None:
    claimed = _model_says(
        scenario, fix_commit=scenario.shas["unrelated"], claims=QualificationClaims()
    )
    checked = recheck(claimed, scenario.candidate, repo, _baseline_checks(scenario, tmp_path))
    assert checked.verdict == "needs_human"
    assert any("the evidence singles out" in text for text in checked.discrepancies)
    agreeing = recheck(
        _model_says(scenario), scenario.candidate, repo, _baseline_checks(scenario, tmp_path)
    )
    assert agreeing.verdict == "qualified"
