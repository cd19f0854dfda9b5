"""Splitting the fix: source changes for solve.sh, test changes for the verifier."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools.repos.builder import build_repo
from tools.repos.git import RepoCache
from tools.repos.patches import applies_to, plan_solution, solve_script, split_changes
from tools.repos.records import CommitSpec, FileChange

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
CALC_FIXED = CALC.replace("return a - b", "return a + b")
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(1, 1) == 2\n"


def _repo(path: Path, commits: list[CommitSpec]) -> tuple[RepoCache, list[str]]:
    shas = build_repo(path / "repo", commits)
    return RepoCache(path / "cache"), shas


def test_split_changes_by_kind() -> None:
    changes = [
        FileChange(path="src/calc.py"),
        FileChange(path="README.md"),
        FileChange(path="tests/test_calc.py", status="added"),
        FileChange(path="tests/conftest.py"),
        FileChange(path="tests/test_old.py", status="deleted"),
    ]
    source, tests, deleted = split_changes(changes)
    assert source == ["src/calc.py", "README.md"]
    assert tests == ["tests/test_calc.py", "tests/conftest.py"]
    assert deleted == ["tests/test_old.py"]


def test_the_fix_commits_own_change_is_preferred(tmp_path: Path) -> None:
    cache, shas = _repo(
        tmp_path,
        [
            CommitSpec(message="calc", files={"calc.py": CALC, "README.md": "calc\n"}),
            CommitSpec(message="docs", files={"README.md": "calc, a calculator\n"}),
            CommitSpec(
                message="Fix add", files={"calc.py": CALC_FIXED, "tests/test_calc.py": TEST}
            ),
        ],
    )
    with cache.open(str(tmp_path / "repo")) as repo:
        patch = plan_solution(repo, shas[0], shas[2])
    assert patch.strategy == "fix_commit"
    assert patch.source_paths == ["calc.py"]
    assert patch.test_paths == ["tests/test_calc.py"]
    assert "+    return a + b" in patch.diff_text
    assert "test_calc" not in patch.diff_text and "README" not in patch.diff_text


def test_a_fix_whose_context_moved_is_cherry_picked_without_the_commits_between(
    tmp_path: Path,
) -> None:
    with_import = "from helper import helper\n" + CALC
    cache, shas = _repo(
        tmp_path,
        [
            CommitSpec(message="calc", files={"calc.py": CALC}),
            CommitSpec(
                message="helper",
                files={"helper.py": "def helper():\n    return 1\n", "calc.py": with_import},
            ),
            CommitSpec(
                message="Fix add",
                files={
                    "calc.py": with_import.replace("a - b", "a + b"),
                    "tests/test_calc.py": TEST,
                },
            ),
        ],
    )
    with cache.open(str(tmp_path / "repo")) as repo:
        patch = plan_solution(repo, shas[0], shas[2])
        assert applies_to(repo.git_dir, shas[0], patch.diff)[0]
        fixed = repo.read_file(patch.fixed_tree, "calc.py")
    assert patch.strategy == "fix_commit"
    assert patch.source_paths == ["calc.py"]
    assert patch.test_paths == ["tests/test_calc.py"]
    assert fixed == CALC_FIXED.encode()  # the fix, and nothing of the helper commit


def test_a_changelog_and_version_bump_the_commits_between_edited_are_left_out(
    tmp_path: Path,
) -> None:
    """python-slugify's fix also bumps __version__ and the changelog, both of which the
    commits in between edited: the fix's code and tests still apply on their own."""
    log = "# Changes\n\n## unreleased\n\n"

    def version(number: str) -> str:
        return f"__title__ = 'calc'\n__version__ = '{number}'\n"

    cache, shas = _repo(
        tmp_path,
        [
            CommitSpec(
                message="calc",
                files={"calc.py": CALC, "CHANGELOG.md": log, "version.py": version("1.0")},
            ),
            CommitSpec(
                message="Add sub",
                files={
                    "sub.py": "def sub(a, b):\n    return a - b\n",
                    "CHANGELOG.md": log + "- add sub\n",
                    "version.py": version("1.1"),
                },
            ),
            CommitSpec(
                message="Fix add",
                files={
                    "calc.py": CALC_FIXED,
                    "tests/test_calc.py": TEST,
                    "CHANGELOG.md": log + "- add sub\n- fix add\n",
                    "version.py": version("1.2"),
                },
            ),
        ],
    )
    with cache.open(str(tmp_path / "repo")) as repo:
        # From the start, the changelog line the fix appends sits after one it does not have.
        patch = plan_solution(repo, shas[0], shas[2])
        assert applies_to(repo.git_dir, shas[0], patch.diff)[0]
    assert patch.strategy == "fix_commit"
    assert patch.left_out == ["CHANGELOG.md", "version.py"]
    assert patch.source_paths == ["calc.py"]  # nothing of "Add sub"
    assert patch.test_paths == ["tests/test_calc.py"]


def test_a_fix_that_builds_on_later_commits_carries_them(tmp_path: Path) -> None:
    with_helper = "from helper import helper\n" + CALC.replace("a - b", "helper() - b")
    cache, shas = _repo(
        tmp_path,
        [
            CommitSpec(message="calc", files={"calc.py": CALC}),
            CommitSpec(
                message="helper",
                files={"helper.py": "def helper():\n    return 1\n", "calc.py": with_helper},
            ),
            CommitSpec(
                message="Fix add",
                files={
                    "calc.py": with_helper.replace("helper() - b", "helper() + b"),
                    "tests/test_calc.py": TEST,
                },
            ),
        ],
    )
    with cache.open(str(tmp_path / "repo")) as repo:
        patch = plan_solution(repo, shas[0], shas[2])
        assert applies_to(repo.git_dir, shas[0], patch.diff)[0]
    assert patch.strategy == "cumulative"
    assert patch.source_paths == ["calc.py", "helper.py"]
    assert patch.test_paths == ["tests/test_calc.py"]


def test_a_fix_range_is_one_fix(tmp_path: Path) -> None:
    cache, shas = _repo(
        tmp_path,
        [
            CommitSpec(message="calc", files={"calc.py": CALC}),
            CommitSpec(message="Correct add", files={"calc.py": CALC_FIXED}),
            CommitSpec(message="Cover add", files={"tests/test_calc.py": TEST}),
        ],
    )
    with cache.open(str(tmp_path / "repo")) as repo:
        patch = plan_solution(repo, shas[0], shas[2], first=shas[1])
    assert patch.strategy == "fix_commit"
    assert patch.source_paths == ["calc.py"]
    assert patch.test_paths == ["tests/test_calc.py"]


def test_applies_to_says_why_not(tmp_path: Path) -> None:
    cache, shas = _repo(tmp_path, [CommitSpec(message="calc", files={"calc.py": CALC})])
    bogus = b"--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n-nothing\n+here\n context\n"
    with cache.open(str(tmp_path / "repo")) as repo:
        ok, why = applies_to(repo.git_dir, shas[0], bogus)
    assert not ok and why


class TestSolveScript:
    def _apply(self, tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "solve.sh").write_text(script)
        return subprocess.run(
            ["bash", str(tmp_path / "solve.sh")], capture_output=True, text=True, check=False
        )

    def _diff(self, tmp_path: Path, before: dict[str, str], after: dict[str, str]) -> bytes:
        cache, shas = _repo(
            tmp_path,
            [CommitSpec(message="a", files=before), CommitSpec(message="b", files=after)],
        )
        with cache.open(str(tmp_path / "repo")) as repo:
            return plan_solution(repo, shas[0], shas[1]).diff

    def test_the_patch_applies_without_a_repository(self, tmp_path: Path) -> None:
        diff = self._diff(tmp_path, {"calc.py": CALC}, {"calc.py": CALC_FIXED, "new.py": "x\n"})
        work = tmp_path / "work"
        work.mkdir()
        (work / "calc.py").write_text(CALC)
        result = self._apply(tmp_path, solve_script(diff, workdir=str(work)))
        assert result.returncode == 0, result.stderr
        assert (work / "calc.py").read_text() == CALC_FIXED
        assert (work / "new.py").read_text() == "x\n"

    def test_a_patch_that_mentions_the_heredoc_marker_still_applies(self, tmp_path: Path) -> None:
        tricky = "KETTLE_FIX_PATCH\n"
        diff = self._diff(tmp_path, {"notes.txt": "a\n"}, {"notes.txt": "a\n" + tricky})
        (tmp_path / "work").mkdir()
        (tmp_path / "work" / "notes.txt").write_text("a\n")
        assert (
            self._apply(tmp_path, solve_script(diff, workdir=str(tmp_path / "work"))).returncode
            == 0
        )
        assert (tmp_path / "work" / "notes.txt").read_text() == "a\n" + tricky

    def test_bytes_that_are_not_utf8_travel_base64_encoded(self, tmp_path: Path) -> None:
        diff = b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-\xff\n+\xfe\n"
        script = solve_script(diff)
        assert "base64 -d" in script and "\xff" not in script

    @pytest.mark.parametrize("workdir", ["/app", "/srv/project"])
    def test_the_script_fails_loudly_and_works_in_the_workdir(self, workdir: str) -> None:
        script = solve_script(b"diff\n", workdir=workdir)
        assert "set -euo pipefail" in script and f"cd {workdir}" in script
