"""Find the repository and start commit of a session that names only its workspace.

Cline and Claude Code record the directory the agent worked in, not a repo URL or a
commit. If that directory (or where ``--repo-map`` says it now lives) is a git work
tree here, the repo is its ``origin`` URL (else its local path), and the start commit is
what HEAD was when the session began:

1. from HEAD's reflog, the last entry at or before the start (exact, including checkouts
   of old commits) — only when the workspace is the session's own directory, since a
   mapped copy's reflog records another machine's history;
2. else the newest commit on the session's branch (else HEAD) committed at or before the
   start.

A map target that is a URL gives the repo but no commit (qualification can infer one from
the start time once it has cloned). Anything unresolvable leaves the fields None: the
candidate still loads and qualification rejects it with a reason.

``--repo-map`` also maps repository URLs, by prefix on whole path components, whatever
their spelling (``https://github.com/org/repo.git``, ``git@github.com:org/repo``): an
air-gapped lab points a session's upstream at a local mirror. An explicit map wins over the
URL a session names: a mapped URL is replaced (the session's URL is kept as
``named_repo``), and a mapped workspace decides the repository even when the session also
named a URL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import git

from harness.errors import ConfigError
from tools.sessions.records import Candidate

log = logging.getLogger(__name__)

_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[^/\s:@]+@[^/\s:]+:)")

RepoMap = Mapping[str, str]


def parse_repo_map(items: list[str]) -> dict[str, str]:
    """``["OLD=NEW", ...]`` (the CLI's ``--repo-map``) to ``{old prefix: new path or URL}``."""
    mapping: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ConfigError(
                f"--repo-map {item!r}: expected OLD=NEW",
                "e.g. --repo-map /home/alice/src/app=/srv/mirrors/app "
                "or /home/alice/src/app=https://github.com/acme/app",
            )
        target = new.strip()
        # A local target is made absolute now: later stages run git in other folders.
        mapping[_normalize(old.strip())] = (
            target if is_url(target) else str(Path(target).expanduser().resolve())
        )
    return mapping


def is_url(target: str) -> bool:
    return bool(_URL.match(target))


def _normalize(path: str) -> str:
    text = path.replace("\\", "/")
    return text.rstrip("/") or "/"


def url_key(url: str) -> str:
    """A URL's host and path, the way ``--repo-map`` compares them: no scheme, user, port,
    trailing slash or ``.git``; ``git@host:path`` and ``https://host/path`` meet."""
    text = url.strip()
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/]*@)?([^/]*)(/.*)?$", text)
    if match:
        host, path = match.group(1), match.group(2) or ""
    else:
        scp = re.match(r"^(?:[^@/\s]+@)?([^:/\s]+):(.*)$", text)
        if not scp:
            return text.rstrip("/")
        host, path = scp.group(1), "/" + scp.group(2)
    host = host.lower().rsplit(":", 1)[0] if ":" in host else host.lower()
    path = path.rstrip("/")
    path = path.removesuffix(".git")
    return f"{host}{path}"


def map_url(url: str, repo_map: RepoMap | None) -> tuple[str, bool]:
    """Where a repository URL is now, and whether the map moved it (longest prefix wins)."""
    key = url_key(url)
    best, target = "", ""
    for old, new in (repo_map or {}).items():
        if not is_url(old):
            continue
        prefix = url_key(old)
        if (key == prefix or key.startswith(prefix + "/")) and len(prefix) > len(best):
            best, target = prefix, new
    if not best:
        return url, False
    rest = key[len(best) :].lstrip("/")
    if not rest:
        return target, True
    if is_url(target):
        return f"{target.rstrip('/')}/{rest}", True
    return str(Path(target) / rest), True


def map_workspace(workspace: str, repo_map: RepoMap | None) -> tuple[str, bool]:
    """Where a session's workspace is now, and whether the map moved it.

    The longest mapped prefix wins, matched on whole path components, and the rest of
    the path is kept: ``/home/a/src=/srv`` maps ``/home/a/src/app`` to ``/srv/app``.
    """
    here = _normalize(workspace)
    targets = {_normalize(old): new for old, new in (repo_map or {}).items() if not is_url(old)}
    best = ""
    for old in targets:
        matches = here == old or here.startswith(old.rstrip("/") + "/")
        if matches and len(old) > len(best):
            best = old
    if not best:
        return workspace, False
    target = targets[best]
    rest = here[len(best) :].lstrip("/")
    if is_url(target) or not rest:
        return target, True
    return str(Path(target) / rest), True


def resolve_origin(candidate: Candidate, repo_map: RepoMap | None = None) -> Candidate:
    """Apply ``--repo-map`` to the repository URL; fill ``repo`` and ``start_commit`` from
    the workspace where the transcript had none (or where the workspace is mapped)."""
    return _mapped_url(_resolve_workspace(candidate, repo_map), repo_map)


def _resolve_workspace(candidate: Candidate, repo_map: RepoMap | None) -> Candidate:
    named = candidate.repo
    if named and is_url(named) and map_url(named, repo_map)[1]:
        # An explicit map of the URL wins; the workspace can still give the start commit.
        if candidate.start_commit or not candidate.workspace_path:
            return candidate
        return _from_workspace(candidate, repo_map, keep_repo=True)
    if not candidate.workspace_path:
        return candidate
    if named and map_workspace(candidate.workspace_path, repo_map)[1]:
        # The user mapped this workspace on purpose: that decides the repository.
        resolved = _from_workspace(
            candidate.model_copy(update={"repo": None}), repo_map, keep_repo=False
        )
        if resolved.repo and resolved.repo != named:
            return resolved.model_copy(update={"named_repo": named})
        return resolved.model_copy(update={"repo": resolved.repo or named})
    if candidate.repo and candidate.start_commit:
        return candidate
    return _from_workspace(candidate, repo_map, keep_repo=True)


def _mapped_url(candidate: Candidate, repo_map: RepoMap | None) -> Candidate:
    """The repository URL (named by the session, or found through the workspace) moved to
    where ``--repo-map`` says it is."""
    if not candidate.repo or not is_url(candidate.repo):
        return candidate
    moved, mapped = map_url(candidate.repo, repo_map)
    if not mapped:
        return candidate
    named = candidate.named_repo or candidate.repo
    return candidate.model_copy(update={"repo": moved, "named_repo": named})


def _from_workspace(
    candidate: Candidate, repo_map: RepoMap | None, *, keep_repo: bool
) -> Candidate:
    assert candidate.workspace_path is not None
    target, mapped = map_workspace(candidate.workspace_path, repo_map)
    if is_url(target):
        repo = candidate.repo if keep_repo and candidate.repo else target
        return candidate.model_copy(update={"repo": repo})
    if "\x00" in target:  # not a path any filesystem accepts
        return candidate
    local = Path(target)
    if not local.is_dir():
        return candidate
    try:
        repo = git.Repo(local, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, OSError):
        return candidate
    try:
        with repo:
            return _fill_from(candidate, repo, local, use_reflog=not mapped)
    except (git.GitError, ValueError, OSError) as error:
        log.warning("%s: could not read %s (%s)", candidate.source_path, local, error)
        return candidate


def _fill_from(candidate: Candidate, repo: git.Repo, local: Path, *, use_reflog: bool) -> Candidate:
    if repo.bare or not repo.working_tree_dir:
        # A bare mirror: it names the repository, but has no HEAD history of the session.
        return candidate if candidate.repo else candidate.model_copy(update={"repo": str(local)})
    root = Path(repo.working_tree_dir).resolve()
    update: dict[str, object] = {}
    if not candidate.repo:
        update["repo"] = origin_url(repo) or str(root)
    if not candidate.start_commit:
        update["start_commit"] = start_commit_at(
            repo, candidate.started_at, candidate.hints.branch, use_reflog=use_reflog
        )
    # Sessions name files relative to the workspace; a workspace inside the repo (a
    # monorepo package) needs its path in front to make them repo-relative.
    inner = local.resolve().relative_to(root) if local.resolve() != root else None
    if inner and candidate.files_touched:
        update["files_touched"] = [f"{inner.as_posix()}/{path}" for path in candidate.files_touched]
    return candidate.model_copy(update=update)


def origin_url(repo: git.Repo) -> str | None:
    """The ``origin`` remote's URL: where the user's repository is published, if anywhere."""
    for remote in repo.remotes:
        if remote.name == "origin":
            try:
                return remote.url or None
            except (ValueError, git.GitError):
                return None
    return None


def start_commit_at(
    repo: git.Repo, when: datetime | None, branch: str | None = None, *, use_reflog: bool = True
) -> str | None:
    """The commit HEAD held at ``when``: reflog first (if allowed), then branch history."""
    if when is None:
        return None
    if use_reflog:
        sha = _reflog_head_at(repo, when)
        if sha:
            return sha
    rev = _branch_rev(repo, branch)
    try:
        sha = repo.git.rev_list("-1", f"--before=@{int(when.timestamp())}", rev, "--").strip()
    except git.GitCommandError:
        return None
    return sha or None


def _reflog_head_at(repo: git.Repo, when: datetime) -> str | None:
    moment = when.timestamp()
    try:
        entries = list(repo.head.log())
    except (OSError, ValueError, git.GitError):
        return None
    chosen = None
    for entry in entries:
        if entry.time[0] <= moment:
            chosen = entry.newhexsha
    if not chosen or set(chosen) == {"0"}:
        return None
    try:
        return repo.commit(chosen).hexsha
    except (ValueError, git.BadName, git.GitError):
        return None


def _branch_rev(repo: git.Repo, branch: str | None) -> str:
    """The session's branch if this repo has it (locally or as origin's), else HEAD."""
    if branch:
        for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
            try:
                repo.git.rev_parse("--verify", "--quiet", ref)
            except git.GitCommandError:
                continue
            return ref
    return "HEAD"
