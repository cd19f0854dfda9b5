"""The starter pack: every seed loads, has enough hidden variants, and (for the team-written
seeds, which need no download) every hidden patch applies to its start commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.settings import Settings
from meta_bench.check import MIN_CORRECT, MIN_WRONG, static_findings
from meta_bench.materialize import SEEDS_DIR, load_seeds, materialize
from meta_bench.seed_format import load_seed, load_variants

SEED_DIRS = load_seeds(SEEDS_DIR)
EXAMPLE_SEEDS = [d for d in SEED_DIRS if load_seed(d).source.kind == "example"]


def test_the_starter_pack_has_eight_seeds_in_two_languages_four_of_them_real() -> None:
    seeds = [load_seed(path) for path in SEED_DIRS]
    assert len(seeds) >= 8
    assert len({seed.language for seed in seeds}) >= 2
    assert sum(seed.source.kind in ("git", "pypi", "npm") for seed in seeds) >= 4
    assert len({seed.id for seed in seeds}) == len(seeds)
    assert all(path.name == load_seed(path).id for path in SEED_DIRS)


@pytest.mark.parametrize("seed_dir", SEED_DIRS, ids=lambda path: path.name)
def test_every_seed_has_an_intent_and_enough_hidden_variants(seed_dir: Path) -> None:
    seed = load_seed(seed_dir)
    variants = load_variants(seed_dir)
    assert seed.intent.first_prompt.strip()
    assert sum(spec.kind == "correct" for spec, _ in variants) >= MIN_CORRECT
    assert sum(spec.kind == "wrong" for spec, _ in variants) >= MIN_WRONG
    for spec, patch in variants:
        assert patch.startswith("diff --git a/") or patch.startswith("--- "), spec.name
        assert not any(f" b/{path}\n" in patch for path in seed.upstream_test_paths), spec.name


@pytest.mark.parametrize("seed_dir", EXAMPLE_SEEDS, ids=lambda path: path.name)
def test_every_patch_of_a_team_written_seed_applies_and_differs(
    seed_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    seed = load_seed(seed_dir)
    findings = static_findings(seed, materialize(seed, settings), load_variants(seed_dir), settings)
    assert [f.message for f in findings if not f.passed] == []


def test_team_written_seeds_cover_python_and_node() -> None:
    languages = {load_seed(path).language for path in EXAMPLE_SEEDS}
    assert {"python", "javascript"} <= languages
    assert len(EXAMPLE_SEEDS) >= 4
