"""The starter pack: real projects in two languages; every seed's variants in four classes
with rationales, an ideal control, and (team-written seeds, which need no download) every
hidden patch applying to its start commit; session seeds with distractors; negative seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.settings import Settings
from meta_bench.check import MIN_PER_CLASS, static_findings
from meta_bench.materialize import SEEDS_DIR, load_seeds, materialize
from meta_bench.records import VARIANT_CLASSES
from meta_bench.seed_format import load_hidden, load_seed

SEED_DIRS = load_seeds(SEEDS_DIR)
SEEDS = {path.name: load_seed(path) for path in SEED_DIRS}
EXAMPLE_SEEDS = [d for d in SEED_DIRS if SEEDS[d.name].source.kind == "example"]
POSITIVE = [d for d in SEED_DIRS if not SEEDS[d.name].refuses]
BUNDLED_EXAMPLE_FIXES = {"ledgerline", "verspec"}  # the examples' sessions use these fixes


def test_the_starter_pack_is_mostly_real_projects_in_two_languages() -> None:
    seeds = list(SEEDS.values())
    assert len(seeds) >= 24
    assert {seed.language for seed in seeds} >= {"python", "javascript"}
    real = [s for s in seeds if s.source.kind in ("git", "pypi", "npm")]
    assert len(real) >= 16
    assert len([s for s in real if not s.refuses]) >= 14  # real fixes with hidden variants
    assert len({seed.id for seed in seeds}) == len(seeds)
    assert all(path.name == SEEDS[path.name].id for path in SEED_DIRS)
    assert not {seed.source.example for seed in seeds} & BUNDLED_EXAMPLE_FIXES


def test_the_pack_presents_work_as_sessions_in_every_format_and_has_negative_seeds() -> None:
    sessions = [seed.session for seed in SEEDS.values() if seed.session is not None]
    assert {s.format for s in sessions} == {"claude_code", "codex", "cline", "candidates_jsonl"}
    negative = {code for s in sessions if s.expect == "refuse" for code in s.codes}
    assert {"from_scratch", "typo_only", "docs_only", "no_fix_commit"} <= negative
    for session in sessions:
        assert any(c.role == "distractor" for c in session.history), session
        assert session.expect == "refuse" or session.fix_message


@pytest.mark.parametrize("seed_dir", POSITIVE, ids=lambda path: path.name)
def test_every_seed_has_variants_of_each_class_with_rationales_and_an_ideal_control(
    seed_dir: Path,
) -> None:
    seed = SEEDS[seed_dir.name]
    hidden = load_hidden(seed_dir)
    assert seed.intent.first_prompt.strip()
    counts = {name: 0 for name in VARIANT_CLASSES}
    for spec, patch in hidden.variants:
        counts[spec.variant_class] += 1
        assert spec.upstream is not None, spec.name  # declared, so seed check can prove it
        assert len(spec.rationale) > 40, spec.name
        assert patch.startswith("diff --git a/") or patch.startswith("--- "), spec.name
        touched = [*seed.upstream_test_paths, *hidden.ideal_files]
        assert not any(f" b/{path}\n" in patch for path in touched), spec.name
    for name, count in counts.items():
        assert count >= MIN_PER_CLASS or name in hidden.exempt, (name, counts)
    assert all(len(why) > 40 for why in hidden.exempt.values())
    assert hidden.ideal is not None and hidden.ideal_files


@pytest.mark.parametrize("seed_dir", EXAMPLE_SEEDS, ids=lambda path: path.name)
def test_every_patch_of_a_team_written_seed_applies_and_differs(
    seed_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    seed = SEEDS[seed_dir.name]
    hidden = load_hidden(seed_dir)
    findings = static_findings(seed, materialize(seed, settings), hidden.variants, settings, hidden)
    assert [f.message for f in findings if not f.passed] == []
