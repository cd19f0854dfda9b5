"""The deterministic qualifier: every check, then a verdict by fixed rules.

Checks, in order (each a ``CheckResult``; "passed" means good for the candidate):

1. ``prompt_secrets``   secrets in any text field are redacted first, so nothing after
                        this point — evidence, task spirit, the returned Candidate — holds
                        one; flag ``secret_in_prompt``.
   ``session_complete`` always passes; flags ``session_incomplete`` when the session file
                        was truncated or partly unreadable.
2. ``repo_reachable``   the repo (or the workspace path) opens;   else ``repo_unreachable``.
3. ``start_commit``     it exists and its tree reads;             else ``start_commit_missing``.
4. ``license``          OSI-approved at the start commit; else ``license_not_open_source`` or
                        ``license_unknown``; conflicting evidence: cannot tell.
5. ``existing_codebase`` real code at the start;                  else ``from_scratch``.
   ``failed_attempts``  always passes; flags the agent's wrong work the user stopped (the
                        near-misses validation replays).
6. ``fix_commit``       a verified hint, or a change the evidence singles out (see
                        ``outcome``); evidence that does not separate the best change
                        from the next cannot tell (a human picks); no change tied to the
                        user's words: ``no_fix_commit``.
7. ``nontrivial_change`` the fix changes behaviour; else ``docs_only``, ``typo_only`` or
                        ``trivial_change``.
8. ``testable_fix``     the fix changes source code;              else ``not_testable``.
9. ``instruction``      enough of the user's words survive once the fix's commits, code
                        and test names are replaced; too little: cannot tell (a human).

Checks that need the repo (or the start commit) are skipped when it is missing: the
disqualifier that caused it already decides.

Verdict rules:

* any check failed with a disqualifier code          -> ``disqualified``;
* otherwise any check could not tell (passed None)   -> ``needs_human``;
* otherwise                                          -> ``qualified``.

Flags (``secret_in_prompt``, ``session_incomplete``, ``hint_ignored``,
``start_commit_inferred``, ``mirror_stale``, ``fix_without_tests``, ``fix_range``,
``failed_attempts``) never change the verdict.

Confidence: disqualified -> the highest certainty among its codes (table below);
needs_human -> 0.5; qualified -> 0.9 for a verified hint, else 0.6 + 0.3 x how far the fix
stands out from the next candidate (1 - next's score / fix's score), + 0.05 if the fix also
changes tests.

A bad candidate never raises: an error inside a check becomes a check that could not tell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, get_args

import git

from agents.context import StageContext
from agents.qualify.config import QualifyConfig
from agents.qualify.origins import check_license, check_repo, check_start_commit
from agents.qualify.outcome import check_fix_commit, check_testable, find_fix
from agents.qualify.records import (
    CheckResult,
    DisqualifierCode,
    Finding,
    FlagCode,
    OutcomeReport,
    Qualification,
    Verdict,
)
from agents.qualify.scratch import check_existing_codebase
from agents.qualify.trivial import check_nontrivial_change, fix_patch, parse_patch, path_kind
from harness.errors import KettleError
from tools.repos.git import LocalRepo, RepoCache
from tools.sessions.attempts import failed_attempts
from tools.sessions.instruction import instruction_report, names_defined_in_tests
from tools.sessions.records import Candidate, SecretFinding
from tools.sessions.redact import redact_candidate

DISQUALIFIER_CODES = frozenset(get_args(DisqualifierCode))
FLAG_CODES = frozenset(get_args(FlagCode))
# How sure a disqualifier is: facts about the repo are near-certain; "no fix found" may
# only mean the fix landed somewhere the search does not look.
CODE_CONFIDENCE: dict[str, float] = {
    "repo_unreachable": 0.95,
    "start_commit_missing": 0.9,
    "license_not_open_source": 0.9,
    "license_unknown": 0.8,
    "from_scratch": 0.85,
    "docs_only": 0.9,
    "typo_only": 0.8,
    "trivial_change": 0.85,
    "no_fix_commit": 0.7,
    "not_testable": 0.75,
}
NEEDS_HUMAN_CONFIDENCE = 0.5
T = TypeVar("T")
_MAX_PROMPT_CHARS = 4000
# What a check may fail with on a strange repo or record; anything else is a bug in kettle.
_CHECK_ERRORS = (KettleError, git.GitError, OSError, ValueError, UnicodeError)


def compose_task_spirit(candidate: Candidate) -> str:
    """What the user wanted, in their own words: the first prompt, then each follow-up."""
    spirit = _clip(candidate.first_prompt.strip())
    follow_ups = [_clip(text.strip()) for text in candidate.follow_ups if text.strip()]
    if follow_ups:
        spirit += "\n\nThe user then added, in order:\n" + "\n".join(
            f"- {text}" for text in follow_ups
        )
    return spirit


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_PROMPT_CHARS else text[:_MAX_PROMPT_CHARS] + " […]"


def _could_not_tell(name: str, error: Exception) -> CheckResult:
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return CheckResult(name=name, passed=None, reason=f"check failed: {first_line}"[:300])


def _attempt(name: str, run: Callable[[], tuple[CheckResult, T]]) -> tuple[CheckResult, T | None]:
    """Run a check that also returns what it found; an error means "cannot tell"."""
    try:
        return run()
    except _CHECK_ERRORS as error:
        return _could_not_tell(name, error), None


def _guarded(name: str, run: Callable[[], CheckResult]) -> CheckResult:
    try:
        return run()
    except _CHECK_ERRORS as error:
        return _could_not_tell(name, error)


def decide(checks: list[CheckResult]) -> tuple[Verdict, list[Finding], list[Finding]]:
    """The verdict, the disqualifiers and the flags that the checks add up to."""
    disqualifiers = [
        Finding(code=c.code, reason=c.reason)
        for c in checks
        if c.passed is False and c.code in DISQUALIFIER_CODES
    ]
    flags = [Finding(code=c.code, reason=c.reason) for c in checks if c.code in FLAG_CODES]
    if disqualifiers:
        return "disqualified", disqualifiers, flags
    # A failed check without a disqualifier code would be a bug; let a human look.
    if any(c.passed is None or c.passed is False for c in checks):
        return "needs_human", disqualifiers, flags
    return "qualified", disqualifiers, flags


def _confidence(
    verdict: Verdict, disqualifiers: list[Finding], outcome: OutcomeReport | None
) -> float:
    if verdict == "disqualified":
        return max(CODE_CONFIDENCE.get(d.code, 0.7) for d in disqualifiers)
    if verdict == "needs_human" or outcome is None or outcome.fix is None:
        return NEEDS_HUMAN_CONFIDENCE
    if outcome.chosen_by == "hint":
        confidence = 0.9
    else:
        separation = 1.0 - 1.0 / outcome.margin if outcome.margin else 1.0
        confidence = 0.6 + 0.3 * separation
    confidence += 0.05 if outcome.fix.changes_tests else 0.0
    return round(min(0.99, confidence), 3)


def qualify_baseline(
    candidate: Candidate, repos: RepoCache, config: QualifyConfig | None = None
) -> tuple[Qualification, Candidate]:
    """Qualify ``candidate`` with deterministic checks only; return the record and a copy
    of the candidate with every secret redacted (use that copy from here on)."""
    config = config or QualifyConfig()
    redacted, secrets = redact_candidate(candidate)
    checks = [check_secrets(secrets), check_session_complete(redacted)]
    # The original candidate opens the repo: credentials in its URL may be what grants
    # access. Nothing the check records carries them (URLs are shown without user-info).
    repo_result, repo = check_repo(candidate, repos)
    checks.append(repo_result)
    start_sha = fix_sha = fix_first = license_id = None
    outcome: OutcomeReport | None = None
    if repo is not None:
        with repo:
            start_sha, license_id, outcome = _repo_checks(redacted, repo, config, checks)
            if outcome and outcome.fix:
                fix_sha, fix_first = outcome.fix.sha, outcome.fix.first
    verdict, disqualifiers, flags = decide(checks)
    qualification = Qualification(
        candidate_id=redacted.id,
        verdict=verdict,
        task_spirit=compose_task_spirit(redacted),
        start_commit=start_sha,
        fix_commit=fix_sha,
        fix_first_commit=fix_first,
        license=license_id,
        disqualifiers=disqualifiers,
        flags=flags,
        evidence=checks,
        confidence=_confidence(verdict, disqualifiers, outcome),
        decided_by="baseline",
    )
    return qualification, redacted


def _fix_check(
    candidate: Candidate, repo: LocalRepo, start_sha: str, config: QualifyConfig
) -> tuple[CheckResult, OutcomeReport]:
    report = find_fix(repo, candidate, start_sha, config)
    return check_fix_commit(report), report


def _repo_checks(
    candidate: Candidate, repo: LocalRepo, config: QualifyConfig, checks: list[CheckResult]
) -> tuple[str | None, str | None, OutcomeReport | None]:
    """Checks 3-8; appends their results and returns (start sha, license, outcome)."""
    result, start_sha = _attempt("start_commit", lambda: check_start_commit(candidate, repo))
    checks.append(result)
    if start_sha is None:
        return None, None, None
    result, report = _attempt("license", lambda: check_license(candidate, repo, start_sha))
    checks.append(result)
    checks.append(
        _guarded(
            "existing_codebase",
            lambda: check_existing_codebase(repo, start_sha, candidate.first_prompt, config),
        )
    )
    checks.append(
        _guarded("failed_attempts", lambda: check_failed_attempts(candidate, repo, start_sha))
    )
    result, outcome = _attempt("fix_commit", lambda: _fix_check(candidate, repo, start_sha, config))
    checks.append(result)
    fix = outcome.fix if outcome else None
    if outcome is not None and outcome.decision == "ambiguous":
        # The fix is a guess until a reviewer picks it: nothing is decided on the guess.
        for name in ("nontrivial_change", "testable_fix"):
            checks.append(_unsettled(name))
        return start_sha, report.license if report else None, outcome
    checks.append(
        _guarded(
            "nontrivial_change",
            lambda: check_nontrivial_change(
                repo,
                fix.sha if fix else None,
                candidate.files_touched,
                config,
                first=fix.first if fix else None,
            ),
        )
    )
    if outcome is not None:
        checks.append(check_testable(outcome.fix))
    if fix is not None:
        checks.append(
            _guarded("instruction", lambda: check_instruction(candidate, repo, fix.sha, fix.first))
        )
    return start_sha, report.license if report else None, outcome


def check_instruction(
    candidate: Candidate, repo: LocalRepo, fix_sha: str, first: str | None
) -> CheckResult:
    """Passed: enough of the user's own words survive once everything that would give the
    fix away (its commits, its code, its tests' names) is replaced. Too little: a human
    decides (an instruction in someone else's words is not the user's task)."""
    patch = fix_patch(repo, fix_sha, first)
    tests = [
        "\n".join(line for hunk in file.hunks for line in hunk.added)
        for file in parse_patch(patch)
        if path_kind(file.path) == "test"
    ]

    def known_commit(token: str) -> bool:
        try:
            return repo.resolve(token) is not None
        except KettleError:
            return True  # ambiguous: it names commits of the repository

    report = instruction_report(
        candidate,
        fix_diff=patch,
        test_names=sorted(names_defined_in_tests(tests)),
        known_commit=known_commit,
    )
    evidence = report.model_dump(exclude={"text"})
    return CheckResult(
        name="instruction",
        passed=True if report.enough else None,
        reason=report.reason,
        evidence=evidence,
    )


def check_failed_attempts(candidate: Candidate, repo: LocalRepo, start_sha: str) -> CheckResult:
    """Always passes; flags a session whose agent was stopped in wrong work: its attempts
    are near-misses validation replays (the verifier must reject them), and a difficulty
    signal (a frontier model already failed here)."""

    def read(path: str) -> str | None:
        data = repo.read_file(start_sha, path)
        return None if data is None else data.decode("utf-8", errors="replace")

    report = failed_attempts(candidate, read)
    evidence = {
        "attempts": [
            {"number": a.number, "stepped_in": a.stepped_in, "files": sorted(a.files)}
            for a in report.attempts
        ],
        "unreplayable": report.unreplayable,
    }
    if not report.attempts:
        reason = "no failed attempt of the agent to replay"
        if report.unreplayable:
            reason += f" ({len(report.unreplayable)} could not be rebuilt)"
        return CheckResult(name="failed_attempts", passed=True, reason=reason, evidence=evidence)
    return CheckResult(
        name="failed_attempts",
        passed=True,
        code="failed_attempts",
        reason=f"the user stopped the agent's wrong work {len(report.attempts)} time(s): "
        "validation replays each attempt, and the verifier must reject it",
        evidence=evidence,
    )


def check_session_complete(candidate: Candidate) -> CheckResult:
    """Always passes; flags a session that could only be read in part (its lost follow-ups
    may have changed what the user asked)."""
    if not candidate.incomplete:
        return CheckResult(name="session_complete", passed=True, reason="the session read whole")
    return CheckResult(
        name="session_complete",
        passed=True,
        code="session_incomplete",
        reason="the session was read in part: " + "; ".join(candidate.incomplete),
        evidence={"incomplete": candidate.incomplete},
    )


def _unsettled(name: str) -> CheckResult:
    return CheckResult(
        name=name,
        passed=None,
        reason="the fix is not settled: checked once a reviewer picks one of the candidates",
    )


def check_secrets(findings: list[SecretFinding]) -> CheckResult:
    """Always passes: secrets are redacted, and the flag tells a reviewer it happened."""
    if not findings:
        return CheckResult(name="prompt_secrets", passed=True, reason="no secrets found")
    kinds = sorted({finding.kind for finding in findings})
    places = sorted({finding.where for finding in findings})
    return CheckResult(
        name="prompt_secrets",
        passed=True,
        code="secret_in_prompt",
        reason=f"{len(findings)} secret(s) ({', '.join(kinds)}) found and redacted",
        evidence={"findings": [finding.model_dump() for finding in findings], "where": places},
    )


class BaselineQualifier:
    name = "baseline"

    def qualify(self, context: StageContext) -> tuple[Qualification, Candidate]:
        return qualify_baseline(context.candidate, context.repos)
