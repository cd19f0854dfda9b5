"""Seed tooling: `seed check` proves every variant's class against the upstream tests and
the ideal control and names every broken variant; `seed new` drafts a seed whose wrong
variants the upstream tests reject."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.check import check_seed, static_findings
from meta_bench.draft import draft_seed
from meta_bench.materialize import SEEDS_DIR, materialize
from meta_bench.seed_format import load_seed, load_variants

SEED_DIR = SEEDS_DIR / "timebox-compound-durations"

BROKEN_VARIANTS = """
[[variants]]
name = "actually_correct"
kind = "wrong"
upstream = "rejected"
technique = "mislabelled"
description = "a correct fix filed as wrong"
rationale = "filed wrong by mistake: the upstream tests and the ideal tests both accept it"

[[variants]]
name = "actually_wrong"
kind = "correct"
upstream = "accepted"
technique = "mislabelled"
description = "a wrong fix filed as correct"
rationale = "filed correct by mistake: the upstream tests and the ideal tests reject it"

[[variants]]
name = "not_missed"
kind = "wrong"
upstream = "accepted"
technique = "mislabelled"
description = "a wrong fix the upstream tests catch, filed as one they miss"
rationale = "filed as missed by the upstream tests, but they catch it"

[[variants]]
name = "stale"
kind = "correct"
upstream = "accepted"
technique = "stale"
description = "written against another version of the file"
rationale = "its context lines are from another version: it does not apply"
"""


@pytest.mark.slow
def test_check_passes_sound_variants_and_names_every_broken_one(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    seed_dir = tmp_path / "seed"
    shutil.copytree(SEED_DIR, seed_dir)
    hidden = seed_dir / "hidden"
    shutil.copy(
        hidden / "correct" / "single_pattern.patch", hidden / "wrong" / "actually_correct.patch"
    )
    shutil.copy(
        hidden / "wrong" / "any_order_adds_up.patch", hidden / "correct" / "actually_wrong.patch"
    )
    # not_missed: a wrong_caught variant filed again as one the upstream tests miss.
    caught = (hidden / "wrong" / "repeated_units_add_up.patch").read_text()
    (hidden / "wrong" / "not_missed.patch").write_text(caught)
    stale = (hidden / "correct" / "single_pattern.patch").read_text()
    (hidden / "correct" / "stale.patch").write_text(stale.replace("from decimal", "from fractions"))
    with (hidden / "variants.toml").open("a") as handle:
        handle.write(BROKEN_VARIANTS)
    report = check_seed(
        seed_dir, docker_engine, Settings.from_env(), tmp_path / "out", run_id=test_run_id
    )
    failed = {finding.name: finding.message for finding in report.failures}
    assert not report.passed and report.status == "checked"
    assert set(failed) == {
        "wrong:actually_correct",
        "correct:actually_wrong",
        "wrong:not_missed",
        "correct:stale:applies",
        "correct:stale:distinct",  # only its context lines differ from single_pattern
        "wrong:actually_correct:distinct",
        "correct:actually_wrong:distinct",
        "wrong:not_missed:distinct",
    }
    assert "but: upstream accepted, ideal accepted" in failed["wrong:actually_correct"]
    assert "but: upstream rejected, ideal rejected" in failed["correct:actually_wrong"]
    assert "wrong_missed not_missed" in failed["wrong:not_missed"]
    assert "but: upstream rejected, ideal rejected" in failed["wrong:not_missed"]
    assert (
        "the same change as correct variant single_pattern"
        in failed["wrong:actually_correct:distinct"]
    )
    passed = {finding.name for finding in report.findings if finding.passed}
    assert {"start", "oracle", "correct:tokenizer_module", "wrong:hours_and_minutes_only"} <= passed
    assert {"correct:own_order_message", "wrong:strips_all_spaces", "variant_classes"} <= passed
    rows = {row.name: row for row in report.variants}
    assert (rows["own_order_message"].upstream, rows["own_order_message"].ideal) == (
        "rejected",
        "accepted",
    )
    assert (rows["strips_all_spaces"].upstream, rows["strips_all_spaces"].ideal) == (
        "accepted",
        "rejected",
    )
    assert report.classes["correct_rejected"] == 2 and report.classes["wrong_missed"] == 4
    assert (tmp_path / "out" / "check.json").is_file()


@pytest.mark.slow
def test_new_drafts_a_seed_whose_kept_mutants_the_upstream_tests_reject(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    settings = Settings.from_env()
    repo = materialize(load_seed(SEED_DIR), settings).repo
    start, fix = (
        subprocess.run(
            ["git", "-C", repo, "rev-parse", rev], capture_output=True, text=True, check=True
        ).stdout.strip()
        for rev in ("HEAD~2", "HEAD~1")
    )
    out = tmp_path / "draft"
    report = draft_seed(
        repo, start, fix, out, docker_engine, settings, run_id=test_run_id,
        seed_id="timebox-drafted", max_mutants=6, keep=3,
    )  # fmt: skip
    seed = load_seed(out)
    assert seed.id == "timebox-drafted" and seed.source.kind == "git"
    assert seed.language == "python" and seed.upstream_test_paths == ["tests/test_duration.py"]
    assert len(report.mutants) == 6
    assert 1 <= len(report.kept) <= 3
    variants = load_variants(out)
    assert [spec.name for spec, _ in variants] == report.kept
    assert all(
        spec.kind == "wrong" and spec.technique.startswith("mutant_") for spec, _ in variants
    )
    verdicts = {m.name: m.rejected for m in report.mutants}
    assert all(verdicts[name] for name in report.kept)
    findings = static_findings(seed, materialize(seed, settings), variants, settings)
    assert all(f.passed for f in findings if f.name.endswith(":applies"))
    assert not (out / ".draft").exists() and Path(report.work_dir).is_dir()
