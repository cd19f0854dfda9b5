"""Build real git repositories from a description of their history.

Tests and the bundled examples need repositories with a believable past (a start commit
with a bug, later commits that fix it) without committing third-party code. A history is
a list of ``CommitSpec``; ``build_repo`` replays it with gitpython and returns the shas.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import git

from tools.repos.records import CommitSpec

DEFAULT_AUTHOR = ("Kettle Fixture", "fixture@kettle.invalid")


def build_repo(
    path: Path,
    commits: list[CommitSpec],
    *,
    branch: str = "main",
    remote_url: str | None = None,
    author: tuple[str, str] = DEFAULT_AUTHOR,
) -> list[str]:
    """Create a git repo at ``path`` with one commit per spec; return the commit shas in order.

    Commits are dated deterministically (one hour apart from 2025-01-01 unless a spec
    names its own date) so the same specs always give the same history.
    """
    path.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path, initial_branch=branch)
    with repo.config_writer() as config:
        config.set_value("user", "name", author[0])
        config.set_value("user", "email", author[1])
        config.set_value("commit", "gpgsign", "false")
    if remote_url:
        repo.create_remote("origin", remote_url)
    actor = git.Actor(*author)
    shas: list[str] = []
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for index, spec in enumerate(commits):
        for rel_path, content in spec.files.items():
            target = path / rel_path
            if content is None:
                repo.index.remove([rel_path], working_tree=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            if rel_path in spec.executable:
                target.chmod(0o755)
            repo.index.add([rel_path])
        for rel_path, link_target in spec.symlinks.items():
            target = path / rel_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            target.symlink_to(link_target)
            repo.git.add(rel_path)  # the index API would follow the link
        when = spec.date or base + timedelta(hours=index)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S%z")
        commit = repo.index.commit(
            spec.message,
            author=actor,
            committer=actor,
            author_date=stamp,
            commit_date=stamp,
            skip_hooks=True,
        )
        if spec.tag:
            repo.create_tag(spec.tag, ref=commit)
        shas.append(commit.hexsha)
    # Leave the working tree at the last commit, clean, like a real clone.
    repo.head.reset(index=True, working_tree=True)
    return shas
