"""M0, qualification: on a session seed the builder must find the upstream fix commit, or
refuse a negative seed; anything else zeroes its EnvScore without a single trial."""

from __future__ import annotations

from pathlib import Path

import pytest

from meta_bench.records import (
    BuildOutcome,
    Intent,
    MaterializedSeed,
    QualificationOutcome,
    RepoSource,
    Seed,
    SessionSetup,
)
from meta_bench.score import ScoreJob, qualification_check, score_qualification_only

FIX = "f" * 40
DISTRACTOR = "d" * 40


def seed(expect: str = "fix", session: bool = True) -> Seed:
    return Seed(
        id="s",
        title="t",
        language="python",
        license="MIT",
        source=RepoSource(kind="example", example="timebox"),
        intent=Intent(first_prompt="p"),
        session=SessionSetup(format="codex", workspace="/w", expect=expect, codes=["typo_only"])
        if session
        else None,
    )


MATERIALIZED = MaterializedSeed(
    seed_id="s",
    digest="x",
    repo="/r",
    builder_repo="/r",
    start_commit="a" * 40,
    fix_commit=FIX,
    source_paths=["x.py"],
    test_paths=["t.py"],
    strategy="fix_commit",
    folder="/f",
    distractors=[DISTRACTOR],
)


def outcome(verdict: str | None, fix: str | None = None, status: str = "built") -> BuildOutcome:
    asked = (
        QualificationOutcome(verdict=verdict, fix_commit=fix, decided_by="b", codes=["typo_only"])
        if verdict
        else None
    )
    return BuildOutcome(builder="b", seed_id="s", status=status, qualification=asked)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdict", "fix", "status", "right", "words"),
    [
        ("qualified", FIX, "built", True, "found the upstream fix"),
        ("qualified", FIX[:8], "built", True, "found the upstream fix"),
        ("qualified", DISTRACTOR, "built", False, "fix-worded distractor"),
        ("qualified", "e" * 40, "built", False, "took eeeeeeeeeeee"),
        ("disqualified", None, "refused", False, "refused work that has a fix"),
        ("needs_human", None, "refused", False, "refused work that has a fix"),
    ],
)
def test_on_a_seed_with_a_fix_only_the_upstream_fix_commit_is_right(
    verdict: str, fix: str | None, status: str, right: bool, words: str
) -> None:
    m0, check = qualification_check(seed(), MATERIALIZED, outcome(verdict, fix, status))
    assert m0 == float(right) and check is not None and check.passed is right
    assert check.metric == "M0" and words in check.message


@pytest.mark.parametrize(
    ("verdict", "status", "right"),
    [
        ("disqualified", "refused", True),
        ("needs_human", "refused", True),
        ("qualified", "built", False),
    ],
)
def test_on_a_negative_seed_only_a_refusal_is_right(verdict: str, status: str, right: bool) -> None:
    m0, check = qualification_check(seed("refuse"), MATERIALIZED, outcome(verdict, None, status))
    assert m0 == float(right) and check is not None
    assert ("rightly refused" in check.message) is right


def test_a_builder_that_never_qualifies_is_wrong_on_a_negative_seed() -> None:
    m0, _ = qualification_check(seed("refuse"), MATERIALIZED, outcome(None))
    assert m0 == 0.0


def test_seeds_that_hand_over_their_commits_have_no_qualification_metric() -> None:
    assert qualification_check(seed(session=False), MATERIALIZED, outcome(None)) == (None, None)


def test_a_refusal_or_a_wrong_fix_is_scored_without_trials(tmp_path: Path) -> None:
    def job(the_seed: Seed) -> ScoreJob:
        return ScoreJob("b", the_seed, MATERIALIZED, [], None, tmp_path / "score")

    negative = seed("refuse")
    m0, check = qualification_check(
        negative, MATERIALIZED, outcome("disqualified", status="refused")
    )
    refused = score_qualification_only(job(negative), m0 or 0.0, check, tmp_path / "a")  # type: ignore[arg-type]
    assert refused.env_score == 1.0 and refused.m0_qualification == 1.0 and not refused.states
    m0, check = qualification_check(seed(), MATERIALIZED, outcome("qualified", DISTRACTOR))
    wrong = score_qualification_only(job(seed()), m0 or 0.0, check, tmp_path / "b")  # type: ignore[arg-type]
    assert wrong.env_score == 0.0 and "distractor" in wrong.message
    assert (tmp_path / "b" / "score.json").is_file()
