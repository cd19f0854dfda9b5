"""A seed whose project cannot be fetched here (a git URL offline) is skipped with a clear
note on the leaderboard: left out of every row, never scored 0, never failing the run."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from harness.settings import Settings
from meta_bench.builders import make_builder
from meta_bench.materialize import SEEDS_DIR
from meta_bench.records import RunOptions
from meta_bench.run import MetaRun

UNREACHABLE = """schema_version = 1
id = "far-away"
title = "a fix in a repository this machine cannot reach"
language = "python"
license = "MIT"
start_ref = "0123456789abcdef0123456789abcdef01234567"
fix_ref = "89abcdef0123456789abcdef0123456789abcdef"

[source]
kind = "git"
url = "https://127.0.0.1:9/nowhere/far-away.git"

[intent]
first_prompt = "It crashes on empty input."
"""


def test_an_unreachable_git_seed_is_skipped_with_its_reason(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    (seeds / "far-away" / "hidden").mkdir(parents=True)
    (seeds / "far-away" / "seed.toml").write_text(UNREACHABLE)
    shutil.copy(
        SEEDS_DIR / "timebox-compound-durations" / "hidden" / "variants.toml",
        seeds / "far-away" / "hidden" / "variants.toml",
    )
    options = RunOptions(builders=["null"], seeds_dir=str(seeds))
    run = MetaRun(
        tmp_path / "meta",
        options,
        [make_builder("null")],
        None,  # type: ignore[arg-type]  # nothing is built: no Docker needed
        Settings(home=tmp_path / "home"),
        command="pytest",
        console=Console(quiet=True),
    )
    board = run.run()
    assert board.seeds == [] and board.rows[0].cells == []
    assert "far-away" in board.skipped_seeds and "127.0.0.1" in board.skipped_seeds["far-away"]
    assert run.ledger.units() == []
    assert "far-away" in (tmp_path / "meta" / "leaderboard.md").read_text()
