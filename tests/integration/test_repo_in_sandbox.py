"""agents.repo_in_sandbox: the model's sandbox holds the repository with every ref."""

from __future__ import annotations

from pathlib import Path

from agents.repo_in_sandbox import copy_repo
from harness.sandbox.container import DockerSandbox
from tests.fixtures.fix_histories import fix_history
from tools.repos.git import open_repo


def test_every_ref_is_in_the_sandbox_and_the_start_is_checked_out(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    scenario = fix_history(tmp_path / "ledger", "merged")
    with open_repo(str(scenario.path), tmp_path / "cache") as repo:
        copy_repo(sandbox, repo, scenario.shas["start"])
    head = sandbox.exec("git -C /repo rev-parse HEAD", timeout_sec=60).stdout.strip()
    assert head == scenario.shas["start"]
    refs = sandbox.exec("git -C /repo for-each-ref --format='%(refname)'", timeout_sec=60)
    assert {"refs/heads/main", "refs/heads/csv-last-row", "refs/pull/9/head"} <= set(
        refs.stdout.split()
    )
    everything = sandbox.exec("git -C /repo log --all --format=%H", timeout_sec=60).stdout
    for name in ("merge", "branch_fix", "unmerged_pull", "later"):
        assert scenario.shas[name] in everything, name
