"""Re-check what a model claims about a candidate, with code (design principle 2).

A model-driven qualifier returns a ``Qualification`` with a verdict and claims: the start
and fix commits, the license, the files the fix changes, whether it changes tests. Each
claim that can be checked against the repository is checked. Any claim that does not hold
becomes a discrepancy and downgrades the verdict to ``needs_human``: the model may still be
right about the candidate, but a person should look before anything is built on it.

``recheck`` does not change its inputs; it reads the repo and returns a new record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agents.qualify.records import CheckResult, Finding, Qualification
from harness.errors import RepositoryError
from tools.projects.paths import classify_path
from tools.repos.git import LocalRepo
from tools.repos.licenses import (
    detect_license,
    parse_spdx_expression,
    resolve_license_name,
)
from tools.sessions.records import Candidate
from tools.sessions.redact import redact_text

DOWNGRADED_CONFIDENCE = 0.5


def _short(rev: str) -> str:
    return rev[:12]


def _resolve(repo: LocalRepo, rev: str) -> str | None:
    try:
        return repo.resolve(rev)
    except RepositoryError:
        return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _license_ids(expression: str | None) -> set[str]:
    """The license ids in an expression, without -only/-or-later/+ (what the text can tell)."""
    if not expression:
        return set()
    parsed = parse_spdx_expression(expression)
    ids: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, str):
            for suffix in ("-only", "-or-later", "+"):
                node = node.removesuffix(suffix)
            ids.add(node)
        elif isinstance(node, tuple):
            operator, left, right = node
            walk(left)
            if operator != "WITH":
                walk(right)

    walk(parsed)
    return ids


class _Rechecker:
    """Collects the results of one recheck; a helper of ``recheck``, not shared state."""

    def __init__(self, claimed: Qualification, candidate: Candidate, repo: LocalRepo) -> None:
        self.claimed = claimed
        self.candidate = candidate
        self.repo = repo
        self.discrepancies: list[str] = []
        self.evidence: list[CheckResult] = []
        self.start_sha: str | None = None
        self.fix_sha: str | None = None

    def record(self, name: str, problems: list[str], ok: str, evidence: dict) -> None:
        self.discrepancies += problems
        self.evidence.append(
            CheckResult(
                name=f"recheck_{name}",
                passed=not problems,
                reason="; ".join(problems) if problems else ok,
                evidence=evidence,
            )
        )

    def start_commit(self) -> None:
        claimed = self.claimed.start_commit
        session = self.candidate.start_commit
        problems = []
        session_sha = _resolve(self.repo, session) if session else None
        if claimed:
            self.start_sha = _resolve(self.repo, claimed)
            if self.start_sha is None:
                problems.append(f"model claimed start commit {claimed}, which does not exist")
            elif session_sha and session_sha != self.start_sha:
                problems.append(
                    f"model claimed start commit {_short(claimed)}, "
                    f"but the session started at {_short(session_sha)}"
                )
        else:
            self.start_sha = session_sha
        ok = f"start commit {_short(self.start_sha or '?')} exists"
        self.record("start_commit", problems, ok, {"claimed": claimed, "sha": self.start_sha})

    def fix_commit(self) -> None:
        claimed = self.claimed.fix_commit
        if not claimed:
            if self.claimed.verdict == "qualified":
                problem = "model qualified the candidate without naming a fix commit"
                self.record("fix_commit", [problem], "", {"claimed": None})
            return
        self.fix_sha = _resolve(self.repo, claimed)
        if self.fix_sha is None:
            problem = f"model claimed fix commit {claimed}, which does not exist in the repo"
            self.record("fix_commit", [problem], "", {"claimed": claimed})
            return
        problems = self._fix_position(claimed, self.fix_sha)
        info = self.repo.commit_info(self.fix_sha)
        kinds = {classify_path(p) for p in info.stats.paths}
        if kinds <= {"test", "docs"}:
            problems.append(
                f"model claimed fix commit {_short(claimed)}, which changes only tests or docs"
            )
        changed = set(info.stats.paths)
        for path in self.claimed.claims.fix_files:
            if path not in changed:
                problems.append(
                    f"model claimed fix commit {_short(claimed)} changes {path}, which it does not"
                )
        claimed_tests = self.claimed.claims.fix_changes_tests
        actual_tests = "test" in kinds
        if claimed_tests is not None and claimed_tests != actual_tests:
            does = "changes" if actual_tests else "does not change"
            problems.append(
                f"model claimed fix commit {_short(claimed)} "
                f"{'changes' if claimed_tests else 'does not change'} tests, but it {does} tests"
            )
        evidence = {"claimed": claimed, "sha": self.fix_sha, "paths": info.stats.paths}
        self.record("fix_commit", problems, f"fix commit {_short(self.fix_sha)} holds up", evidence)

    def _fix_position(self, claimed: str, fix_sha: str) -> list[str]:
        start = self.start_sha
        if start is None:
            return []
        if fix_sha == start:
            return [f"model claimed fix commit {_short(claimed)}, which is the start commit"]
        if self.repo.is_ancestor(fix_sha, start):
            return [
                f"model claimed fix commit {_short(claimed)}, "
                "which is already in the start commit's history"
            ]
        if not self.repo.is_ancestor(start, fix_sha):
            fix_date = _aware(self.repo.commit_info(fix_sha).committed_at)
            start_date = _aware(self.repo.commit_info(start).committed_at)
            if fix_date < start_date:
                return [
                    f"model claimed fix commit {_short(claimed)}, which is neither a "
                    "descendant of nor later than the start commit"
                ]
        return []

    def license(self) -> None:
        claimed = self.claimed.claims.license or self.claimed.license
        if self.start_sha is None:
            return
        report = detect_license(self.repo, self.start_sha)
        problems = []
        if claimed:
            claimed_ids = _license_ids(resolve_license_name(claimed))
            found_ids = _license_ids(report.license)
            if report.license and claimed_ids != found_ids:
                problems.append(f"model claimed license {claimed}, but {report.reason}")
        if self.claimed.verdict == "qualified" and report.open_source is not True:
            problems.append(
                f"model qualified the candidate, but the license check says: {report.reason}"
            )
        evidence = {"claimed": claimed, "found": report.license, "open": report.open_source}
        self.record("license", problems, report.reason, evidence)


def _consistency(claimed: Qualification) -> list[str]:
    if claimed.verdict == "qualified" and claimed.disqualifiers:
        codes = ", ".join(d.code for d in claimed.disqualifiers)
        return [f"model said qualified but listed disqualifiers: {codes}"]
    if claimed.verdict == "disqualified" and not claimed.disqualifiers:
        return ["model said disqualified without naming a disqualifier"]
    return []


def recheck(claimed: Qualification, candidate: Candidate, repo: LocalRepo | None) -> Qualification:
    """``claimed`` re-checked against ``repo``: discrepancies added, verdict downgraded to
    ``needs_human`` when any claim fails, commits resolved to full shas."""
    result = claimed.model_copy(deep=True)
    spirit, kinds = redact_text(result.task_spirit)
    if kinds:
        result.task_spirit = spirit
        result.flags.append(
            Finding(code="secret_in_prompt", reason="the model's task spirit quoted a secret")
        )
    discrepancies = _consistency(claimed)
    evidence: list[CheckResult] = []
    if repo is None:
        if claimed.verdict == "qualified":
            discrepancies.append("model qualified the candidate, but its repo cannot be reached")
    else:
        checker = _Rechecker(claimed, candidate, repo)
        checker.start_commit()
        checker.fix_commit()
        checker.license()
        discrepancies += checker.discrepancies
        evidence = checker.evidence
        result.start_commit = checker.start_sha or result.start_commit
        result.fix_commit = checker.fix_sha or result.fix_commit
    result.evidence += evidence
    result.discrepancies += discrepancies
    if discrepancies:
        result.verdict = "needs_human"
        result.confidence = min(result.confidence, DOWNGRADED_CONFIDENCE)
    return result
