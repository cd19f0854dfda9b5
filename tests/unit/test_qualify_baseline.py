"""agents.qualify.baseline: whole candidates in, verdicts with reasons out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agents.qualify.baseline import qualify_baseline
from agents.qualify.config import QualifyConfig
from agents.qualify.records import Qualification
from tests.fixtures.qualify_repos import (
    PROPRIETARY_TEXT,
    SESSION_START,
    candidate_for,
    ci_only_fix,
    from_scratch_app,
    go_typo_fix,
    js_gpl_bugfix,
    one_file_library,
    python_bugfix,
)
from tools.repos.git import RepoCache
from tools.sessions.records import Candidate, CandidateHints, UserIntervention


@pytest.fixture
def repos(tmp_path: Path) -> RepoCache:
    return RepoCache(tmp_path / "repo-cache")


def _qualify(candidate: Candidate, repos: RepoCache, **config: object) -> Qualification:
    qualification, _ = qualify_baseline(candidate, repos, QualifyConfig(**config))
    return qualification


def _codes(qualification: Qualification) -> set[str]:
    return {finding.code for finding in qualification.disqualifiers}


def test_python_bug_fix_is_qualified_with_the_real_fix_ranked_first(
    tmp_path: Path, repos: RepoCache
) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    qualification = _qualify(scenario.candidate, repos)
    assert qualification.verdict == "qualified", qualification.disqualifiers
    assert qualification.fix_commit == scenario.shas["fix"]
    assert qualification.start_commit == scenario.shas["start"]
    assert qualification.license == "MIT"
    assert qualification.decided_by == "baseline"
    assert qualification.disqualifiers == []
    assert qualification.confidence > 0.8
    ranked = qualification.check("fix_commit").evidence["ranked"]
    assert ranked[0]["sha"] == scenario.shas["fix"]
    assert ranked[0]["changes_tests"] is True
    ranked_shas = [entry["sha"] for entry in ranked]
    assert scenario.shas["before_start"] not in ranked_shas
    docs = next(entry for entry in ranked if entry["sha"] == scenario.shas["docs"])
    assert docs["eligible"] is False
    side = next(entry for entry in ranked if entry["sha"] == scenario.shas["side"])
    assert side["merged"] is False
    assert qualification.check("testable_fix").passed is True


def test_every_check_explains_itself_in_one_line(tmp_path: Path, repos: RepoCache) -> None:
    qualification = _qualify(python_bugfix(tmp_path / "calc").candidate, repos)
    names = [check.name for check in qualification.evidence]
    assert names == [
        "prompt_secrets",
        "session_complete",
        "repo_reachable",
        "start_commit",
        "license",
        "existing_codebase",
        "failed_attempts",
        "fix_commit",
        "nontrivial_change",
        "testable_fix",
        "instruction",
    ]
    for check in qualification.evidence:
        assert check.reason and "\n" not in check.reason


def test_task_spirit_keeps_the_follow_ups_in_order(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(
        update={"follow_ups": ["also '-0' should parse", "keep the currency symbol"]}
    )
    spirit = _qualify(candidate, repos).task_spirit
    assert spirit.startswith("parse_amount crashes on negative amounts")
    assert spirit.index("also '-0' should parse") < spirit.index("keep the currency symbol")


def test_a_mirrored_url_qualifies_like_the_local_path(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    bare = tmp_path / "calc.git"
    subprocess.run(["git", "clone", "--mirror", "-q", str(scenario.path), str(bare)], check=True)
    candidate = scenario.candidate.model_copy(update={"repo": f"file://{bare}"})
    qualification = _qualify(candidate, repos)
    assert qualification.verdict == "qualified"
    assert qualification.fix_commit == scenario.shas["fix"]
    assert qualification.check("repo_reachable").evidence["mirrored"] is True


def test_javascript_gpl_project_is_qualified_as_open_source(
    tmp_path: Path, repos: RepoCache
) -> None:
    scenario = js_gpl_bugfix(tmp_path / "slug")
    qualification = _qualify(scenario.candidate, repos)
    assert qualification.verdict == "qualified", qualification.disqualifiers
    assert qualification.license == "GPL-3.0"
    assert qualification.fix_commit == scenario.shas["fix"]
    ranked = qualification.check("fix_commit").evidence["ranked"]
    chore = next(entry for entry in ranked if entry["sha"] == scenario.shas["chore"])
    assert chore["score"] < ranked[0]["score"]


def test_go_typo_fix_is_disqualified_as_typo_only(tmp_path: Path, repos: RepoCache) -> None:
    scenario = go_typo_fix(tmp_path / "echo")
    qualification = _qualify(scenario.candidate, repos)
    assert qualification.verdict == "disqualified"
    assert _codes(qualification) == {"typo_only"}
    assert qualification.fix_commit == scenario.shas["fix"]


def test_app_built_from_scratch_is_disqualified(tmp_path: Path, repos: RepoCache) -> None:
    qualification = _qualify(from_scratch_app(tmp_path / "todo").candidate, repos)
    assert qualification.verdict == "disqualified"
    assert "from_scratch" in _codes(qualification)
    assert "0 source files" in qualification.check("existing_codebase").reason


def test_a_small_library_in_one_file_is_an_existing_codebase(
    tmp_path: Path, repos: RepoCache
) -> None:
    qualification = _qualify(one_file_library(tmp_path / "mini").candidate, repos)
    assert "from_scratch" not in _codes(qualification)
    assert qualification.check("existing_codebase").passed is True
    assert "1 source files (121 lines)" in qualification.check("existing_codebase").reason


def test_scaffolding_prompt_in_a_small_repo_is_from_scratch(
    tmp_path: Path, repos: RepoCache
) -> None:
    prompt = "Create a new project from scratch for invoices"
    candidate = python_bugfix(tmp_path / "calc", prompt=prompt).candidate
    qualification = _qualify(candidate, repos)
    assert "from_scratch" in _codes(qualification)


def test_scaffolding_prompt_in_a_large_repo_goes_to_a_human(
    tmp_path: Path, repos: RepoCache
) -> None:
    prompt = "Create a new CLI app for invoices next to the parser"
    candidate = python_bugfix(tmp_path / "calc", prompt=prompt).candidate
    qualification = _qualify(candidate, repos, scratch_prompt_repo_files=2)
    assert qualification.verdict == "needs_human"
    assert qualification.check("existing_codebase").passed is None


def test_repo_without_a_license_is_disqualified_as_unknown(
    tmp_path: Path, repos: RepoCache
) -> None:
    qualification = _qualify(python_bugfix(tmp_path / "calc", license_text=None).candidate, repos)
    assert qualification.verdict == "disqualified"
    assert _codes(qualification) == {"license_unknown"}
    assert qualification.fix_commit is not None  # the other checks still ran


def test_all_rights_reserved_license_is_disqualified(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc", license_text=PROPRIETARY_TEXT)
    qualification = _qualify(scenario.candidate, repos)
    assert _codes(qualification) == {"license_not_open_source"}
    assert qualification.license == "LicenseRef-Proprietary"


def test_session_whose_fix_never_landed_has_no_fix_commit(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc", fix_lands=False)
    qualification = _qualify(scenario.candidate, repos)
    assert qualification.verdict == "disqualified"
    assert _codes(qualification) == {"no_fix_commit"}
    assert qualification.fix_commit is None
    assert "evidence tied to the user's words" in qualification.check("fix_commit").reason


def test_fix_after_the_window_is_not_found(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    narrow = {"fix_window_days": 1, "fix_window_steps": 1}
    assert _qualify(scenario.candidate, repos, **narrow).fix_commit is None
    assert _qualify(scenario.candidate, repos, fix_window_days=3, fix_window_steps=1).fix_commit
    # The window reaches a number of steps on the branch, whatever their dates.
    assert _qualify(scenario.candidate, repos, fix_window_days=1, fix_window_steps=2).fix_commit


def test_fix_of_ci_configuration_only_is_not_testable(tmp_path: Path, repos: RepoCache) -> None:
    scenario = ci_only_fix(tmp_path / "ci")
    qualification = _qualify(scenario.candidate, repos)
    assert qualification.fix_commit == scenario.shas["fix"]
    assert _codes(qualification) == {"not_testable"}


def test_docs_only_session_is_disqualified(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(
        update={"first_prompt": "Document parse_amount", "files_touched": ["README.md"]}
    )
    qualification = _qualify(candidate, repos)
    assert qualification.verdict == "disqualified"
    assert "docs_only" in _codes(qualification)
    # The docs change the user asked for is found, not an unrelated later code change.
    assert qualification.fix_commit == scenario.shas["docs"]


ANTHROPIC_KEY = "sk-ant-api03-" + "Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Ji0Hg9Fe8Dc7Ba6" * 2
AWS_KEY = "AKIAZ7Q4N2LM8P3RX5TY"


def test_secret_in_prompt_is_flagged_and_redacted_everywhere(
    tmp_path: Path, repos: RepoCache
) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(
        update={
            "first_prompt": f"{scenario.candidate.first_prompt}. My key is {ANTHROPIC_KEY}",
            "follow_ups": [f"the deploy uses {AWS_KEY}"],
            "user_interventions": [UserIntervention(kind="feedback", text=f"key={ANTHROPIC_KEY}")],
        }
    )
    qualification, redacted = qualify_baseline(candidate, repos)
    assert qualification.verdict == "qualified"
    assert [flag.code for flag in qualification.flags] == ["secret_in_prompt"]
    for text in (qualification.model_dump_json(), redacted.model_dump_json()):
        assert ANTHROPIC_KEY not in text
        assert AWS_KEY not in text
    assert "[REDACTED:anthropic_api_key]" in redacted.first_prompt
    assert "[REDACTED:aws_access_key_id]" in qualification.task_spirit
    assert redacted.files_touched == candidate.files_touched


@pytest.mark.parametrize(
    "url", ["file:///nonexistent/kettle/repo.git", "https://127.0.0.1:9/acme/app.git"]
)
def test_unreachable_repo_is_disqualified_with_a_one_line_reason(
    url: str, repos: RepoCache
) -> None:
    candidate = candidate_for(url, "abc1234", "fix the bug", ["a.py"])
    qualification = _qualify(candidate, repos)
    assert qualification.verdict == "disqualified"
    assert _codes(qualification) == {"repo_unreachable"}
    reason = qualification.disqualifiers[0].reason
    assert reason.startswith("cannot reach ") and "\n" not in reason


def test_candidate_without_any_repo_is_disqualified_not_a_crash(repos: RepoCache) -> None:
    candidate = candidate_for("", None, "fix it", []).model_copy(update={"repo": None})
    assert _codes(_qualify(candidate, repos)) == {"repo_unreachable"}


def test_missing_start_commit_is_disqualified(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(update={"start_commit": "0123abcd"})
    qualification = _qualify(candidate, repos)
    assert _codes(qualification) == {"start_commit_missing"}
    assert "0123abcd does not exist" in qualification.disqualifiers[0].reason


def test_start_commit_is_inferred_from_the_session_time(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(update={"start_commit": None})
    qualification = _qualify(candidate, repos)
    assert qualification.start_commit == scenario.shas["start"]
    assert "start_commit_inferred" in [flag.code for flag in qualification.flags]
    assert qualification.verdict == "qualified"
    assert SESSION_START.isoformat() in qualification.check("start_commit").reason


def test_hinted_fix_commit_that_does_not_exist_is_ignored_with_a_reason(
    tmp_path: Path, repos: RepoCache
) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(
        update={"hints": CandidateHints(fix_commit="deadbeef")}
    )
    qualification = _qualify(candidate, repos)
    assert qualification.verdict == "qualified"
    assert qualification.fix_commit == scenario.shas["fix"]
    hint = qualification.check("fix_commit").evidence["hint"]
    assert hint["valid"] is False
    assert hint["reason"] == "hinted fix commit deadbeef does not exist in the repo"
    assert "hint_ignored" in [flag.code for flag in qualification.flags]


def test_valid_hinted_fix_commit_is_preferred(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    hinted = scenario.shas["unrelated"]
    candidate = scenario.candidate.model_copy(
        update={"hints": CandidateHints(fix_commit=hinted[:10])}
    )
    qualification = _qualify(candidate, repos)
    assert qualification.fix_commit == hinted
    assert qualification.check("fix_commit").evidence["chosen_by"] == "hint"


def test_hinted_fix_commit_before_the_start_is_rejected(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(
        update={"hints": CandidateHints(fix_commit=scenario.shas["before_start"])}
    )
    qualification = _qualify(candidate, repos)
    assert qualification.fix_commit == scenario.shas["fix"]
    reason = qualification.check("fix_commit").evidence["hint"]["reason"]
    assert "already in the start commit's history" in reason


def test_license_hint_that_disagrees_is_flagged(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(update={"hints": CandidateHints(license="GPL-3.0")})
    qualification = _qualify(candidate, repos)
    assert qualification.license == "MIT"
    assert "hint_ignored" in [flag.code for flag in qualification.flags]


def test_qualification_round_trips_through_json(tmp_path: Path, repos: RepoCache) -> None:
    qualification = _qualify(python_bugfix(tmp_path / "calc").candidate, repos)
    again = Qualification.model_validate_json(qualification.model_dump_json())
    assert again == qualification
    assert again.schema_version == 1


def test_workspace_path_stands_in_for_a_missing_repo(tmp_path: Path, repos: RepoCache) -> None:
    scenario = python_bugfix(tmp_path / "calc")
    candidate = scenario.candidate.model_copy(
        update={"repo": None, "workspace_path": str(scenario.path)}
    )
    assert _qualify(candidate, repos).verdict == "qualified"


def test_a_plain_directory_is_unreachable_not_a_crash(tmp_path: Path, repos: RepoCache) -> None:
    (tmp_path / "plain").mkdir()
    candidate = candidate_for(str(tmp_path / "plain"), "abc1234", "fix it", ["a.py"])
    qualification = _qualify(candidate, repos)
    assert _codes(qualification) == {"repo_unreachable"}
    assert "not a git repository" in qualification.disqualifiers[0].reason
