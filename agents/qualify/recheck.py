"""Re-check what a model claims about a candidate, with code (design principle 2).

A model-driven qualifier returns a ``Qualification`` with a verdict and claims: the start
and fix commits, the license, the files the fix changes, whether it changes tests. Each
claim that can be checked against the repository is checked. Any claim that does not hold
becomes a discrepancy and downgrades the verdict to ``needs_human``: the model may still be
right about the candidate, but a person should look before anything is built on it.

Rejections are re-checked too: each disqualifier a model names is held against the
deterministic check that covers it (``typo_only`` against ``nontrivial_change`` on the
model's fix, ``from_scratch`` against ``existing_codebase``, ...). When that check found
the opposite (it passed), the model and the code disagree: ``needs_human``. When the check
could not tell, the model's judgement stands — that is what a model is asked for.

``recheck`` does not change its inputs; it reads the repo and returns a new record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agents.qualify.config import QualifyConfig
from agents.qualify.records import CheckResult, Finding, Qualification
from agents.qualify.trivial import check_nontrivial_change, path_kind
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
        if kinds <= {"test", "docs"} and self.claimed.verdict != "disqualified":
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


# The deterministic check that covers each disqualifier a model may name.
COVERING_CHECK: dict[str, str] = {
    "repo_unreachable": "repo_reachable",
    "start_commit_missing": "start_commit",
    "license_not_open_source": "license",
    "license_unknown": "license",
    "from_scratch": "existing_codebase",
    "docs_only": "nontrivial_change",
    "typo_only": "nontrivial_change",
    "trivial_change": "nontrivial_change",
    "no_fix_commit": "fix_commit",
    "not_testable": "testable_fix",
}


def _covering_result(
    code: str, claimed: Qualification, checks: list[CheckResult], repo: LocalRepo | None
) -> CheckResult | None:
    """The deterministic result for ``code``: re-run on the model's own fix when the code is
    about the fix and the model named one, else what the code's qualification found."""
    name = COVERING_CHECK.get(code)
    if name is None:
        return None
    if repo is not None and claimed.fix_commit and name in ("nontrivial_change", "testable_fix"):
        sha = _resolve(repo, claimed.fix_commit)
        if sha is not None:
            if name == "nontrivial_change":
                return check_nontrivial_change(repo, sha, [], QualifyConfig())
            info = repo.commit_info(sha)
            kinds = {path_kind(p) for p in info.stats.paths}
            touches_source = "source" in kinds
            return CheckResult(
                name=name,
                passed=touches_source,
                reason=f"fix commit {_short(sha)} "
                + ("changes source code" if touches_source else "changes no source code"),
            )
    return next((check for check in checks if check.name == name), None)


def _against_the_evidence(fix_sha: str | None, checks: list[CheckResult]) -> list[str]:
    """A model's fix that is not the one the evidence singled out with confidence."""
    found = next((check for check in checks if check.name == "fix_commit"), None)
    if found is None or found.passed is not True or not fix_sha:
        return []
    chosen = found.evidence.get("fix")
    if found.evidence.get("chosen_by") != "evidence" or not chosen:
        return []
    if fix_sha == chosen["sha"] or fix_sha in chosen["shas"]:
        return []
    return [
        f"model chose fix commit {_short(fix_sha)}, but the evidence singles out "
        f"{_short(chosen['sha'])} ({chosen.get('subject', '')[:60]})"
    ]


def recheck_disqualifiers(
    claimed: Qualification, checks: list[CheckResult], repo: LocalRepo | None
) -> tuple[list[str], list[CheckResult]]:
    """Disagreements between the model's disqualifiers and the deterministic checks."""
    problems: list[str] = []
    evidence: list[CheckResult] = []
    for finding in claimed.disqualifiers:
        result = _covering_result(finding.code, claimed, checks, repo)
        if result is None or result.passed is None:
            continue
        agrees = result.passed is False
        if not agrees:
            problems.append(
                f"model disqualified the candidate as {finding.code}, but the "
                f"{result.name} check found otherwise: {result.reason}"
            )
        evidence.append(
            CheckResult(
                name=f"recheck_{finding.code}",
                passed=agrees,
                reason=result.reason,
                evidence={"claimed": finding.reason, "check": result.name},
            )
        )
    return problems, evidence


def recheck(
    claimed: Qualification,
    candidate: Candidate,
    repo: LocalRepo | None,
    checks: list[CheckResult] | None = None,
) -> Qualification:
    """``claimed`` re-checked against ``repo``: discrepancies added, verdict downgraded to
    ``needs_human`` when any claim fails (a disqualifier included, held against the
    deterministic ``checks``), commits resolved to full shas."""
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
    if claimed.verdict == "disqualified":
        problems, rechecked = recheck_disqualifiers(claimed, checks or [], repo)
        discrepancies += problems
        evidence += rechecked
    if claimed.verdict == "qualified":
        discrepancies += _against_the_evidence(result.fix_commit, checks or [])
    result.evidence += evidence
    result.discrepancies += discrepancies
    if discrepancies:
        result.verdict = "needs_human"
        result.confidence = min(result.confidence, DOWNGRADED_CONFIDENCE)
    return result
