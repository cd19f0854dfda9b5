"""Origins: can we get the repository, the start commit, and may we use the code?"""

from __future__ import annotations

from datetime import UTC

from agents.qualify.records import CheckResult
from harness.errors import RepositoryError
from tools.repos.git import LocalRepo, RepoCache, display_url
from tools.repos.licenses import detect_license, is_open_source, resolve_license_name
from tools.repos.records import LicenseReport
from tools.sessions.records import Candidate


def repo_source(candidate: Candidate) -> str | None:
    """The repo to open: the named one, else the session's workspace if it is a path."""
    return candidate.repo or candidate.workspace_path


def check_repo(candidate: Candidate, repos: RepoCache) -> tuple[CheckResult, LocalRepo | None]:
    """Passed: the repository could be opened (a mirror refreshed, or a local path read)."""
    source = repo_source(candidate)
    if not source:
        result = CheckResult(
            name="repo_reachable",
            passed=False,
            code="repo_unreachable",
            reason="the candidate names no repository and no workspace path",
        )
        return result, None
    shown = display_url(source)
    try:
        repo = repos.open(source)
    except RepositoryError as error:
        result = CheckResult(
            name="repo_reachable",
            passed=False,
            code="repo_unreachable",
            reason=error.message,
            evidence={"source": shown, "hint": error.hint},
        )
        return result, None
    evidence = {"source": shown, "mirrored": repo.mirrored, "refreshed": repo.refreshed}
    if not repo.refreshed:
        result = CheckResult(
            name="repo_reachable",
            passed=True,
            code="mirror_stale",
            reason=f"{shown} could not be refreshed; using the cached mirror",
            evidence=evidence,
        )
        return result, repo
    result = CheckResult(
        name="repo_reachable", passed=True, reason=f"{shown} is readable", evidence=evidence
    )
    return result, repo


def check_start_commit(candidate: Candidate, repo: LocalRepo) -> tuple[CheckResult, str | None]:
    """Passed: the start commit exists and its tree can be read (so it can be checked out).

    Without a start commit (Claude Code sessions record none) the last commit before the
    session started, on the session's branch, stands in — flagged, since uncommitted work
    at the time is invisible.
    """
    given = candidate.start_commit
    try:
        if given:
            sha = repo.resolve(given)
            if sha is None:
                return _missing(f"start commit {given} does not exist in {repo.shown_source}"), None
            inferred = False
        else:
            sha = _infer_start(candidate, repo)
            if sha is None:
                return _missing("the candidate has no start commit and none can be inferred"), None
            inferred = True
        files = repo.list_files(sha)
    except RepositoryError as error:
        return _missing(error.message), None
    evidence = {"given": given, "sha": sha, "files": len(files), "inferred": inferred}
    if inferred:
        started = candidate.started_at.isoformat() if candidate.started_at else "?"
        result = CheckResult(
            name="start_commit",
            passed=True,
            code="start_commit_inferred",
            reason=f"start commit {sha[:12]} inferred: the last commit before {started}",
            evidence=evidence,
        )
        return result, sha
    result = CheckResult(
        name="start_commit",
        passed=True,
        reason=f"start commit {sha[:12]} exists ({len(files)} files)",
        evidence=evidence,
    )
    return result, sha


def _infer_start(candidate: Candidate, repo: LocalRepo) -> str | None:
    if candidate.started_at is None:
        return None
    started = candidate.started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    branch = candidate.hints.branch
    refs = [f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"] if branch else []
    for ref in [*refs, "HEAD"]:
        if repo.resolve(ref):
            return repo.last_commit_before(ref, started)
    return None


def _missing(reason: str) -> CheckResult:
    return CheckResult(
        name="start_commit", passed=False, code="start_commit_missing", reason=reason
    )


def check_license(
    candidate: Candidate, repo: LocalRepo, start_sha: str
) -> tuple[CheckResult, LicenseReport]:
    """Passed: the code at the start commit is under an open-source license."""
    report = detect_license(repo, start_sha)
    evidence: dict[str, object] = {
        "license": report.license,
        "findings": [finding.model_dump() for finding in report.findings],
    }
    hint = candidate.hints.license
    code = None
    if hint:
        hinted = resolve_license_name(hint)
        evidence["hint"] = hint
        evidence["hint_agrees"] = hinted == report.license
        if report.license and hinted != report.license:
            code = "hint_ignored"
            evidence["hint_reason"] = f"source says {hint}, the repo says {report.license}"
    if report.open_source is False:
        code = "license_unknown" if _unknown(report) else "license_not_open_source"
    result = CheckResult(
        name="license",
        passed=report.open_source,
        code=code,
        reason=report.reason,
        evidence=evidence,
    )
    return result, report


def _unknown(report: LicenseReport) -> bool:
    """Not open because nothing recognisable was found, rather than a known closed license."""
    return report.license is None or is_open_source(report.license) is None
