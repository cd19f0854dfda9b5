"""leak:fix_in_image: a fix that repeats lines its file already has elsewhere (the same
guard in one more method) is not mistaken for a start state that already holds the fix."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tools.repos.builder import build_repo
from tools.repos.git import RepoCache
from tools.repos.records import CommitSpec
from tools.validation.image_scan import FixSearch, start_counts, start_counts_in
from tools.validation.records import HiddenFacts

GUARD = (
    "        if include_private_domains is None:\n"
    "            include_private_domains = self.include_private_domains\n"
)
START = (
    "class Extract:\n"
    "    def __call__(self, url, include_private_domains=None):\n"
    + GUARD
    + "        return self._split(url, include_private_domains)\n"
    "\n"
    "    def parts(self, url, include_private_domains=None):\n"
    "        return self._split(url, include_private_domains)\n"
)
FIXED = START.replace(
    "    def parts(self, url, include_private_domains=None):\n",
    "    def parts(self, url, include_private_domains=None):\n" + GUARD,
)
FIX_DIFF = (
    "diff --git a/extract.py b/extract.py\n"
    "--- a/extract.py\n"
    "+++ b/extract.py\n"
    "@@ -6,2 +6,4 @@ class Extract:\n"
    "     def parts(self, url, include_private_domains=None):\n"
    "+        if include_private_domains is None:\n"
    "+            include_private_domains = self.include_private_domains\n"
    "         return self._split(url, include_private_domains)\n"
)


class OneFileSandbox:
    """Just enough of a sandbox for the calibration: the image holds ``text`` at /app."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read_file(self, path: str, max_bytes: int = 0) -> bytes:
        assert path == "/app/extract.py"
        return self.text.encode()


def _calibrated(image_text: str, *, with_counts: bool) -> FixSearch:
    counts = start_counts(FIX_DIFF, lambda path: START) if with_counts else {}
    search = FixSearch(HiddenFacts(fix_diff=FIX_DIFF, start_counts=counts))
    search.calibrate(OneFileSandbox(image_text), "/app")  # type: ignore[arg-type]
    return search


def test_the_start_commits_counts_tell_a_repeated_guard_from_the_fix() -> None:
    assert start_counts(FIX_DIFF, lambda path: START) == {
        "extract.py": {
            "if include_private_domains is None:": 1,
            "include_private_domains = self.include_private_domains": 1,
        }
    }
    assert _calibrated(START, with_counts=True).already_fixed == {}


def test_an_image_built_from_the_fixed_commit_is_still_caught() -> None:
    assert _calibrated(FIXED, with_counts=True).already_fixed == {
        "extract.py": [
            "if include_private_domains is None:",
            "include_private_domains = self.include_private_domains",
        ]
    }


def test_without_the_start_commit_every_present_line_counts_as_before() -> None:
    """python -m tools.validation on a task alone has no repository to count in."""
    assert _calibrated(START, with_counts=False).already_fixed != {}


def test_the_counts_are_read_from_the_repository_at_the_start_commit(tmp_path: Path) -> None:
    """What the factory's validation, the model verifier and the meta-benchmark's scorer do
    whenever they have the repository (a scorer without counts once failed a seed whose
    fix added test methods like ones its test file already had)."""
    day = datetime(2024, 5, 1, tzinfo=UTC)
    start, _ = build_repo(
        tmp_path / "repo",
        [
            CommitSpec(message="start", files={"extract.py": START}, date=day),
            CommitSpec(message="fix", files={"extract.py": FIXED}, date=day),
        ],
    )
    with RepoCache(tmp_path / "cache").open(str(tmp_path / "repo")) as repo:
        counts = start_counts_in(repo, start, FIX_DIFF)
    assert counts == start_counts(FIX_DIFF, lambda path: START)
    search = FixSearch(HiddenFacts(fix_diff=FIX_DIFF, start_counts=counts))
    search.calibrate(OneFileSandbox(START), "/app")  # type: ignore[arg-type]
    assert search.already_fixed == {}


def test_a_fix_line_found_in_many_files_of_the_image_is_boilerplate_not_a_copy() -> None:
    """python-slugify: the fixed __main__.py's one distinctive line is
    `from __future__ import annotations`, which 750 files of the image have."""
    future = "from __future__ import annotations"
    diff = (
        "diff --git a/slugify/__main__.py b/slugify/__main__.py\n"
        "--- a/slugify/__main__.py\n"
        "+++ b/slugify/__main__.py\n"
        "@@ -1,1 +1,2 @@\n"
        f"+{future}\n"
        " import argparse\n"
    )
    search = FixSearch(HiddenFacts(fix_diff=diff))
    common = {f"/usr/lib/python3/dist-packages/m{n}.py": {future} for n in range(200)}
    search.drop_common(common)
    assert search.copies({future}) == {} and search.common_lines == [future]
    # A line a handful of files have is still searched: copies of the fix are that few.
    search = FixSearch(HiddenFacts(fix_diff=diff))
    search.drop_common({f"/opt/venv/site-packages/slugify/m{n}.py": {future} for n in range(3)})
    assert search.copies({future}) == {"slugify/__main__.py": [future]}
