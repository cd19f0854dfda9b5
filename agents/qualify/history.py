"""Where a fix can be: the changes that reached the project after the start commit.

A session rarely starts on the fix's parent: the fix lands days later, after other commits,
on the project's default branch (or the session's own branch) — as a commit of its own, as
a squashed pull request, or as a branch merged in with a merge commit. So the search walks
the first-parent line of those branches from the start commit on, and each step on it is a
*unit* of change:

* a plain commit on the line is a unit by itself;
* a merge commit brings a branch: the branch's own commits are one unit, named by the
  merge (its first-parent change ``M^1..M`` is exactly what the branch brought, so later
  stages read it like any fix commit), and its message includes the merge's (a pull
  request's title often lives there). A very long merged branch is split into its commits;
* commits on other branches that never reached those lines are units too, marked
  ``merged=False``: a fix there is possible (a local branch) but weak.

Pull-request refs (``refs/pull/N/head``) name where a branch came from; they are never
walked on their own, since a mirror holds thousands of them, most never merged.

The window is a number of steps on the line *or* a number of days after the session,
whichever reaches further, so a slow project's fix is still found months later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tools.repos.git import LocalRepo
from tools.repos.records import CommitInfo

_PR_IN_SUBJECT = re.compile(r"\(#(\d+)\)\s*$|^Merge pull request #(\d+)\b")
_PULL_HEAD = re.compile(r"^refs/pull/(\d+)/head$")
_OTHER_BRANCH = re.compile(r"^refs/(heads|remotes/[^/]+)/")


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Unit:
    """One change that reached the project: a commit, or a merged branch as a range."""

    commits: list[CommitInfo]  # oldest first; merges left out
    landed_by: CommitInfo  # the commit on the line that brought it (itself, or the merge)
    line: str  # the ref it reached, or "unmerged"
    position: int | None  # steps after the start on the line (1 = the next one)
    merged: bool = True
    pr: int | None = None
    paths: list[str] = field(default_factory=list)
    whole_merge: bool = False  # the unit is everything its merge brought (M^1..M)

    @property
    def sha(self) -> str:
        """The commit whose first-parent change is this unit: the merge, for a merged branch
        (so every later stage reads it like any fix commit), else the last commit."""
        return self.landed_by.sha if self.whole_merge else self.commits[-1].sha

    @property
    def first(self) -> str | None:
        """The first commit of a range of commits on the line (None for one commit or a
        merge, whose own change already spans its branch)."""
        if self.whole_merge or len(self.commits) == 1:
            return None
        return self.commits[0].sha

    @property
    def shas(self) -> list[str]:
        """Every commit of the change: a merged branch's commits, then its merge."""
        shas = [commit.sha for commit in self.commits]
        return [*shas, self.landed_by.sha] if self.whole_merge else shas

    @property
    def landed_at(self) -> datetime:
        return aware(self.landed_by.committed_at)

    @property
    def via_merge(self) -> bool:
        return self.landed_by.sha not in [commit.sha for commit in self.commits]

    @property
    def base(self) -> str | None:
        """The tree the unit's change starts from (None for a root commit)."""
        if self.whole_merge:
            return self.landed_by.parents[0]
        parents = self.commits[0].parents
        return parents[0] if parents else None

    @property
    def head(self) -> str:
        return self.landed_by.sha if self.whole_merge else self.sha

    @property
    def message(self) -> str:
        messages = [commit.message for commit in self.commits]
        if self.via_merge:
            messages.insert(0, self.landed_by.message)
        return "\n\n".join(messages)

    @property
    def subject(self) -> str:
        return self.commits[-1].subject


@dataclass
class SearchSpace:
    units: list[Unit]
    lines: list[str]
    default_branch: str | None
    walked: int = 0  # steps taken on the lines (units may be fewer: empty merges)


def _pr_number(message: str, tip: str, pulls: dict[str, int]) -> int | None:
    subject = message.strip().splitlines()[0] if message.strip() else ""
    match = _PR_IN_SUBJECT.search(subject)
    if match:
        return int(match.group(1) or match.group(2))
    return pulls.get(tip)


def _paths(commits: list[CommitInfo], landed_by: CommitInfo, via_merge: bool) -> list[str]:
    if via_merge and landed_by.stats.paths:
        return landed_by.stats.paths
    seen: dict[str, None] = {}
    for commit in commits:
        seen.update(dict.fromkeys(commit.stats.paths))
    return list(seen)


def _lines(repo: LocalRepo, branch: str | None) -> tuple[list[str], str | None]:
    default = repo.default_branch()
    lines = [default] if default else (["HEAD"] if repo.resolve("HEAD") else [])
    if branch:
        for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
            target = repo.resolve(ref)
            if target and ref not in lines and all(repo.resolve(line) != target for line in lines):
                lines.append(ref)
                break
    return lines, default


def search_space(
    repo: LocalRepo,
    start_sha: str,
    *,
    branch: str | None,
    until: datetime,
    window_steps: int,
    max_branch_commits: int,
    max_unmerged: int,
) -> SearchSpace:
    """Every unit that landed after ``start_sha`` within the window, in landing order."""
    start = repo.commit_info(start_sha)
    start_date = aware(start.committed_at)
    lines, default = _lines(repo, branch)
    refs = repo.refs()
    pulls = {sha: int(m.group(1)) for ref, sha in refs.items() if (m := _PULL_HEAD.match(ref))}
    units: list[Unit] = []
    seen: set[str] = set()
    walked = 0
    for line in lines:
        steps = repo.log([line, f"^{start_sha}"], first_parent=True, reverse=True)
        position = 0
        for step in steps:
            if aware(step.committed_at) < start_date and not repo.is_ancestor(start_sha, step.sha):
                continue  # on the line before the session began, outside its history
            position += 1
            if position > window_steps and aware(step.committed_at) > until:
                break
            walked += 1
            units += _units_of(
                repo, step, start_sha, line, position, max_branch_commits, pulls, seen
            )
    units += _unmerged(repo, refs, lines, start_sha, start_date, until, max_unmerged, seen)
    return SearchSpace(units=units, lines=lines, default_branch=default, walked=walked)


def _units_of(
    repo: LocalRepo,
    step: CommitInfo,
    start_sha: str,
    line: str,
    position: int,
    max_branch_commits: int,
    pulls: dict[str, int],
    seen: set[str],
) -> list[Unit]:
    if len(step.parents) <= 1:
        if step.sha in seen:
            return []
        seen.add(step.sha)
        pr = _pr_number(step.message, step.sha, pulls)
        return [Unit([step], step, line, position, pr=pr, paths=step.stats.paths)]
    branch = [
        commit
        for commit in repo.log(
            [step.sha, f"^{step.parents[0]}", f"^{start_sha}"], no_merges=True, reverse=True
        )
        if commit.sha not in seen
    ]
    if not branch:
        return []
    seen.update(commit.sha for commit in branch)
    pr = _pr_number(step.message, step.parents[-1], pulls)
    if len(branch) <= max_branch_commits:
        paths = _paths(branch, step, via_merge=True)
        return [Unit(branch, step, line, position, pr=pr, paths=paths, whole_merge=True)]
    # A long-lived branch (a release or development line) is many changes, not one fix.
    return [
        Unit([commit], step, line, position, pr=pr, paths=commit.stats.paths) for commit in branch
    ]


def _unmerged(
    repo: LocalRepo,
    refs: dict[str, str],
    lines: list[str],
    start_sha: str,
    start_date: datetime,
    until: datetime,
    limit: int,
    seen: set[str],
) -> list[Unit]:
    """Commits on other branches that never reached the lines, within the dates."""
    others = sorted(
        {
            sha
            for ref, sha in refs.items()
            if _OTHER_BRANCH.match(ref) and not ref.endswith("/HEAD") and ref not in lines
        }
    )
    if not others or limit <= 0:
        return []
    excluded = [f"^{line}" for line in lines] + [f"^{start_sha}"]
    found = [
        commit
        for commit in repo.log([*others, *excluded], no_merges=True, reverse=True, since=start_date)
        if commit.sha not in seen and start_date <= aware(commit.committed_at) <= until
    ]
    units = []
    for commit in found[:limit]:
        seen.add(commit.sha)
        units.append(
            Unit([commit], commit, "unmerged", None, merged=False, paths=commit.stats.paths)
        )
    return units
