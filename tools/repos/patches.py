"""The fix, split in two: the source changes the oracle applies, the tests the verifier runs.

A fix commit usually changes source and tests together. The environment's solution
(``solution/solve.sh``) applies the source part only, as a patch embedded in the script
(no network, no git history); the changed test files become the verifier's hidden tests.

The fix's own change is preferred: the fix commit's diff (or a fix range's, from its first
commit's parent) cherry-picked onto the start state with a three-way merge, as
``git cherry-pick`` would, so unrelated commits that landed in between stay out of the
solution and of the tests. When only its bookkeeping conflicts (a changelog line or a
version bump the commits in between edited too), the code and tests are cherry-picked
without it. Only when the code conflicts does the solution carry every change from the
start commit to the fix (``cumulative``), and the report says so.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.errors import RepositoryError
from tools.projects.detect import is_test_path
from tools.projects.layout import Reader, TestSplitter
from tools.projects.paths import classify_path
from tools.repos.git import EMPTY_TREE, LocalRepo
from tools.repos.records import FileChange, SolutionPatch, Strategy

_GIT_TIMEOUT_SEC = 300


def split_changes(
    changes: list[FileChange], is_test: Callable[[str], bool] = is_test_path
) -> tuple[list[str], list[str], list[str]]:
    """(source paths, added or modified test paths, deleted test paths) of a change."""
    source = [c.path for c in changes if not is_test(c.path)]
    tests = [c.path for c in changes if is_test(c.path) and c.status != "deleted"]
    deleted = [c.path for c in changes if is_test(c.path) and c.status == "deleted"]
    return source, tests, deleted


def reader_for(repo: LocalRepo, tree: str) -> Reader:
    """Reads the text of a file of ``tree`` (None when it is absent)."""

    def read(path: str) -> str | None:
        data = repo.read_file(tree, path)
        return data.decode("utf-8", "replace") if data is not None else None

    return read


def splitter_for(repo: LocalRepo, tree: str) -> TestSplitter:
    """Tests and source of ``tree`` told apart by each project's own runner configuration."""
    return TestSplitter(reader_for(repo, tree), (entry.path for entry in repo.list_files(tree)))


def _git(git_dir: Path, args: list[str], *, stdin: bytes | None = None, env: dict | None = None):
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args],
        input=stdin,
        capture_output=True,
        timeout=_GIT_TIMEOUT_SEC,
        env={**os.environ, "GIT_LITERAL_PATHSPECS": "1", **(env or {})},
        check=False,
    )


def git_diff(git_dir: Path, base: str, head: str, paths: list[str]) -> bytes:
    """A full-context, binary-safe diff of ``paths`` from ``base`` to ``head``."""
    if not paths:
        return b""
    args = ["diff", "--binary", "--full-index", "--no-renames", "--no-color", "--no-ext-diff"]
    args += ["--no-textconv", base, head, "--", *paths]
    result = _git(git_dir, args)
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepositoryError(f"git diff {base[:12]}..{head[:12]} failed: {reason[-1:]}")
    return result.stdout


def applies_to(git_dir: Path, rev: str, diff: bytes) -> tuple[bool, str]:
    """Does ``diff`` apply cleanly to the tree of ``rev``? (checked in a throwaway index)"""
    if not diff:
        return False, "empty patch"
    with tempfile.TemporaryDirectory(prefix="kettle-apply-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        read = _git(git_dir, ["read-tree", rev], env=env)
        if read.returncode != 0:
            return False, read.stderr.decode("utf-8", "replace").strip()
        check = _git(git_dir, ["apply", "--cached", "--check", "-"], stdin=diff, env=env)
    reason = check.stderr.decode("utf-8", "replace").strip().splitlines()
    return check.returncode == 0, (reason[0] if reason else "")


def plan_solution(
    repo: LocalRepo, start: str, fix: str, *, first: str | None = None
) -> SolutionPatch:
    """The source patch for solve.sh and the fix's test files.

    ``first`` is the first commit of a fix spread over consecutive commits (the range
    first..fix); by default the fix is the one commit ``fix``.
    """
    base = _parent(repo, first or fix)
    touched = repo.diff_stats(base, fix).files
    own = git_diff(repo.git_dir, base, fix, [change.path for change in touched])
    fixed = cherry_pick_tree(repo.git_dir, start, own) if own else None
    left_out: list[str] = []
    if fixed is None and len(touched) > 1:
        # The usual conflict is bookkeeping the commits in between edited too (a changelog
        # line, a version bump): the fix's code and tests may still apply on their own,
        # without dragging those commits' changes into the solution.
        paths = [change.path for change in touched]
        aside = _conflicting_bookkeeping(repo, start, base, fix, paths)
        if aside:
            code = [path for path in paths if path not in aside]
            fixed = cherry_pick_tree(repo.git_dir, start, git_diff(repo.git_dir, base, fix, code))
            if fixed is not None:
                left_out, touched = aside, [change for change in touched if change.path in code]
    strategy: Strategy = "fix_commit"
    if fixed is None:
        strategy, fixed = "cumulative", fix
        touched = repo.diff_stats(start, fix).files
    else:
        # Only what the fix touches: the merge may not reproduce paths it left alone.
        wanted = {change.path for change in touched}
        touched = [c for c in repo.diff_stats(start, fixed).files if c.path in wanted]
    source, tests, deleted = split_changes(touched, splitter_for(repo, fixed).is_test)
    return SolutionPatch(
        start_commit=start,
        fix_commit=fix,
        first_commit=first,
        fixed_tree=fixed,
        strategy=strategy,
        source_paths=source,
        test_paths=tests,
        deleted_test_paths=deleted,
        left_out=left_out,
        diff=git_diff(repo.git_dir, start, fixed, source),
    )


# A version set to a number: __version__ = '8.0.4', "version": "1.2.3", VERSION = (1, 2).
_VERSION_LINE = re.compile(r"version\w*[\"']?\s*[:=]\s*[(\[]?[\"']?v?\d", re.IGNORECASE)


def _conflicting_bookkeeping(
    repo: LocalRepo, start: str, base: str, fix: str, paths: list[str]
) -> list[str]:
    """The paths whose own change conflicts with ``start``, if every one of them is
    bookkeeping (documentation, or a change of version lines only); else []."""
    conflicting = []
    for path in paths:
        diff = git_diff(repo.git_dir, base, fix, [path])
        if cherry_pick_tree(repo.git_dir, start, diff) is not None:
            continue
        if not (classify_path(path) == "docs" or _only_versions(diff)):
            return []
        conflicting.append(path)
    return conflicting if len(conflicting) < len(paths) else []


def _only_versions(diff: bytes) -> bool:
    """Does the diff change nothing but lines that name a version (a release bump)?"""
    changed = [
        line
        for line in diff.decode("utf-8", "replace").splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return bool(changed) and all(_VERSION_LINE.search(line) for line in changed)


def fix_diff_text(repo: LocalRepo, patch: SolutionPatch) -> str:
    """What the fix changes in the start state (source and tests), as a unified diff: the
    lines a solver must not find in the environment, nor in the instruction."""
    paths = [*patch.source_paths, *patch.test_paths, *patch.deleted_test_paths]
    return git_diff(repo.git_dir, patch.start_commit, patch.fixed_tree, paths).decode(
        "utf-8", "replace"
    )


def _parent(repo: LocalRepo, commit: str) -> str:
    parents = repo.commit_info(commit).parents
    return parents[0] if parents else EMPTY_TREE


def cherry_pick_tree(git_dir: Path, start: str, diff: bytes) -> str | None:
    """The tree of ``start`` with ``diff`` applied by a three-way merge, or None on conflict.

    Done in a throwaway index with the repository's own objects (no work tree), so it works
    on bare mirrors; the preimage blobs the merge needs are in the repository already.
    """
    with tempfile.TemporaryDirectory(prefix="kettle-pick-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        if _git(git_dir, ["read-tree", start], env=env).returncode != 0:
            return None
        applied = _git(git_dir, ["apply", "--cached", "--3way", "-"], stdin=diff, env=env)
        if applied.returncode != 0:
            return None
        tree = _git(git_dir, ["write-tree"], env=env)
        if tree.returncode != 0:
            return None
        return tree.stdout.decode().strip()


def solve_script(diff: bytes, *, workdir: str = "/app") -> str:
    """solve.sh: apply ``diff`` in ``workdir`` with ``git apply`` (works without a repo).

    Readable patches are embedded as a quoted heredoc; anything that is not UTF-8 text is
    embedded base64-encoded, so every byte arrives as it was.
    """
    header = (
        "#!/bin/bash\n"
        "# Oracle: the upstream fix's changes to the project's source, applied as an embedded\n"
        "# patch (no network, no git history). The fix's own tests are the verifier's.\n"
        "set -euo pipefail\n"
        f"cd {workdir}\n"
    )
    try:
        text = diff.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        marker = _marker(text)
        body = text if text.endswith("\n") else text + "\n"
        return header + f"git apply --verbose --whitespace=nowarn <<'{marker}'\n{body}{marker}\n"
    encoded = base64.encodebytes(diff).decode("ascii")
    marker = _marker(encoded)
    return (
        header
        + f"base64 -d <<'{marker}' | git apply --verbose --whitespace=nowarn\n{encoded}{marker}\n"
    )


def _marker(text: str) -> str:
    lines = set(text.splitlines())
    marker = "KETTLE_FIX_PATCH"
    number = 1
    while marker in lines:
        number += 1
        marker = f"KETTLE_FIX_PATCH_{number}"
    return marker
