"""Builders: who may take which seed, what they are handed, and what is recorded about them."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.settings import Settings
from meta_bench.builders import make_builder, seed_candidate, seed_qualification
from meta_bench.materialize import SEEDS_DIR, materialize
from meta_bench.seed_format import load_seed

SEED = load_seed(SEEDS_DIR / "pagewise-last-page")
INTENT_ONLY = SEED.model_copy(update={"visibility": "intent_only"})


@pytest.mark.parametrize(
    ("name", "applies"),
    [("baseline", False), ("openai/gpt-5.1", False), ("reference", True), ("null", True)],
)
def test_on_intent_only_seeds_only_the_reference_and_null_builders_apply(
    name: str, applies: bool
) -> None:
    builder = make_builder(name)
    assert builder.not_applicable(SEED) is None
    reason = builder.not_applicable(INTENT_ONLY)
    assert (reason is None) is applies
    if reason:
        assert "fix commit" in reason


def test_builders_record_who_they_are() -> None:
    model = make_builder("gpt-5.1", api_base="http://127.0.0.1:1/v1")
    assert model.info.kind == "model" and model.info.role == "contestant"
    assert model.info.model == "openai/gpt-5.1" and model.info.litellm_version
    assert model.info.api_base == "http://127.0.0.1:1/v1"
    assert make_builder("reference").info.role == "reference"
    assert make_builder("null").info.role == "control"
    baseline = make_builder("baseline").info
    assert baseline.role == "contestant" and baseline.model is None
    assert baseline.code_revision and baseline.kettle_version


def test_a_builder_is_handed_the_intent_and_the_repository_but_nothing_of_the_seed_folder(
    tmp_path: Path,
) -> None:
    found = materialize(SEED, Settings(home=tmp_path))
    candidate = seed_candidate(SEED, found.builder_repo, found.start_commit)
    qualification = seed_qualification(SEED, candidate, found.start_commit, found.fix_commit)
    assert candidate.first_prompt == SEED.intent.first_prompt
    assert candidate.follow_ups == SEED.intent.follow_ups
    assert str(SEEDS_DIR) not in candidate.model_dump_json()
    assert str(SEEDS_DIR) not in qualification.model_dump_json()
    assert qualification.verdict == "qualified" and qualification.fix_commit == found.fix_commit
    assert "page 0" in qualification.task_spirit  # the follow-ups are part of the spirit
