"""Find the commit that fixed what the session was about: the environment's end state.

Candidates are the non-merge commits on any ref that are not in the start commit's history
and landed between the start commit and ``fix_window_days`` after the session ended. A
commit can only be a fix if it changes something besides tests and docs. Eligible commits
are ranked by

* overlap (weight 0.6): F1 of the session's touched files against the commit's changed
  files, tests and docs left out on both sides; a file in the same directory counts 0.3;
* message cues (0.25): "fix", "bug", "#123", "closes", "regression", … and words shared
  with the user's prompts; "docs", "chore", "bump", "release", … cap the cue;
* recency (0.15): 1 for commits during the session, falling to 0 at the window's end;

times 0.7 for commits on branches that do not descend from the start commit. When the
session touched files, a fix must change at least one of them; when it did not, a fix needs
a message cue.

A source's ``hints.fix_commit`` is verified (exists, after the start, changes more than
tests and docs) and, if it holds, preferred over any ranking.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from agents.qualify.config import QualifyConfig
from agents.qualify.records import CheckResult, FixCandidate, HintCheck, OutcomeReport
from harness.errors import RepositoryError
from tools.projects.paths import classify_path
from tools.repos.git import LocalRepo
from tools.repos.records import CommitInfo
from tools.sessions.records import Candidate

_FIX_CUE = re.compile(
    r"(?i)\b(fix(e[sd]|ing)?|bug(fix)?|hotfix|issue|clos(e[sd]?|ing)|resolve[sd]?|regression|"
    r"crash(es|ing)?|broken|error|fail(s|ing|ure)?|wrong|incorrect)\b|#\d+|\bgh-\d+\b"
)
_CHORE_CUE = re.compile(
    r"(?i)^(docs?|chore|bump|release|version|merge|style|format|lint|ci|build|test[s]?)\b"
    r"|\b(typo|readme|changelog|bump version|release v?\d)"
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
_STOPWORD_TEXT = (
    "this that with from have when what which there their them they then than into your "
    "please should would could make does doesn about after before also just like some "
    "only still want need file files code function error test tests work working"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_DIR_CREDIT = 0.3
_NON_DESCENDANT_FACTOR = 0.7
_NEUTRAL_KINDS = frozenset({"test", "docs"})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _code_paths(paths: list[str]) -> list[str]:
    return [p for p in paths if classify_path(p) not in _NEUTRAL_KINDS]


def _same_file(a: str, b: str) -> bool:
    """Equal, or one is the other with a leading directory (a workspace-relative path)."""
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _side_credit(side: list[str], other: list[str]) -> float:
    credit = 0.0
    other_dirs = {str(PurePosixPath(p).parent) for p in other}
    for path in side:
        if any(_same_file(path, o) for o in other):
            credit += 1.0
        elif str(PurePosixPath(path).parent) in other_dirs:
            credit += _DIR_CREDIT
    return credit


def file_overlap(touched: list[str], changed: list[str]) -> float:
    """F1 of ``changed`` against ``touched`` (exact matches 1, same directory 0.3)."""
    if not touched or not changed:
        return 0.0
    recall = _side_credit(touched, changed) / len(touched)
    precision = _side_credit(changed, touched) / len(changed)
    return 0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)


def prompt_keywords(candidate: Candidate) -> set[str]:
    return {
        word.lower()
        for prompt in candidate.prompts
        for word in _WORD.findall(prompt)
        if word.lower() not in _STOPWORDS
    }


def message_cue(message: str, keywords: set[str]) -> float:
    """0..1: how much the commit message reads like a fix of this session's problem."""
    cue = 0.6 if _FIX_CUE.search(message) else 0.0
    shared = {word.lower() for word in _WORD.findall(message)} & keywords
    cue += 0.2 * min(len(shared), 2)
    if _CHORE_CUE.search(message.strip().splitlines()[0] if message.strip() else "") and not (
        _FIX_CUE.search(message)
    ):
        cue = min(cue, 0.1)
    return round(min(cue, 1.0), 3)


def _eligibility(commit: CommitInfo) -> tuple[bool, str | None]:
    kinds = {classify_path(p) for p in commit.stats.paths}
    if not kinds:
        return False, "changes no files"
    if kinds <= _NEUTRAL_KINDS:
        return False, "changes only " + " and ".join(sorted(k + "s" for k in kinds))
    return True, None


def _candidate(
    commit: CommitInfo,
    *,
    descendant: bool,
    touched: list[str],
    keywords: set[str],
    session_end: datetime,
    window: timedelta,
) -> FixCandidate:
    eligible, why_not = _eligibility(commit)
    kinds = {classify_path(p) for p in commit.stats.paths}
    touched_code = _code_paths(touched) or touched
    changed_code = _code_paths(commit.stats.paths)
    overlap = file_overlap(touched_code, changed_code)
    shared = sum(1 for t in touched_code if any(_same_file(t, c) for c in changed_code))
    cue = message_cue(commit.message, keywords)
    late = (_aware(commit.committed_at) - session_end) / window
    recency = round(max(0.0, min(1.0, 1.0 - late)), 3)
    # Without touched files, the message and the timing are all there is to go on.
    with_files = 0.6 * overlap + 0.25 * cue + 0.15 * recency
    score = with_files if touched else 0.6 * cue + 0.4 * recency
    if not descendant:
        score *= _NON_DESCENDANT_FACTOR
    return FixCandidate(
        sha=commit.sha,
        subject=commit.subject,
        committed_at=commit.committed_at,
        descendant=descendant,
        eligible=eligible,
        why_not=why_not,
        score=round(score, 3),
        overlap=round(overlap, 3),
        shared_files=shared,
        cue=cue,
        recency=recency,
        touches_source="source" in kinds,
        changes_tests="test" in kinds,
        files=len(commit.stats.files),
        insertions=commit.stats.insertions,
        deletions=commit.stats.deletions,
        paths=commit.stats.paths,
    )


def _selectable(candidate: FixCandidate, *, touched: bool) -> bool:
    if not candidate.eligible:
        return False
    # A shared directory helps the ranking but is no evidence on its own.
    return candidate.shared_files > 0 if touched else candidate.cue >= 0.6


def _check_hint(
    repo: LocalRepo, given: str, start_sha: str, start_date: datetime
) -> tuple[HintCheck, CommitInfo | None]:
    try:
        sha = repo.resolve(given)
    except RepositoryError as error:
        return HintCheck(given=given, valid=False, reason=error.message), None
    if sha is None:
        reason = f"hinted fix commit {given} does not exist in the repo"
        return HintCheck(given=given, valid=False, reason=reason), None
    commit = repo.commit_info(sha)
    if sha == start_sha:
        reason = f"hinted fix commit {given} is the start commit itself"
    elif repo.is_ancestor(sha, start_sha):
        reason = f"hinted fix commit {given} is already in the start commit's history"
    elif not repo.is_ancestor(start_sha, sha) and _aware(commit.committed_at) < start_date:
        reason = f"hinted fix commit {given} is neither a descendant of nor later than the start"
    else:
        eligible, why_not = _eligibility(commit)
        if eligible:
            return HintCheck(given=given, sha=sha, valid=True, reason="hint verified"), commit
        reason = f"hinted fix commit {given} {why_not}, so it cannot be the fix"
    return HintCheck(given=given, sha=sha, valid=False, reason=reason), None


def find_fix(
    repo: LocalRepo, candidate: Candidate, start_sha: str, config: QualifyConfig
) -> OutcomeReport:
    """Rank the commits after ``start_sha`` as fixes of ``candidate``; pick the best."""
    start = repo.commit_info(start_sha)
    start_date = _aware(start.committed_at)
    session_end = _aware(candidate.ended_at or candidate.started_at or start.committed_at)
    session_end = max(session_end, start_date)
    window = timedelta(days=config.fix_window_days)
    until = session_end + window
    touched = [p.removeprefix("./") for p in candidate.files_touched]
    keywords = prompt_keywords(candidate)
    descendants = repo.descendants(start_sha)
    commits = repo.commits_after(start_sha, since=start_date, until=until)
    scored = [
        _candidate(
            commit,
            descendant=commit.sha in descendants,
            touched=touched,
            keywords=keywords,
            session_end=session_end,
            window=window,
        )
        for commit in commits
    ]
    scored.sort(key=lambda c: (not _selectable(c, touched=bool(touched)), -c.score, c.committed_at))
    ranked = scored[: config.ranked_fix_candidates]
    report = OutcomeReport(
        ranked=ranked, considered=len(scored), since=start_date, until=until, reason=""
    )
    if candidate.hints.fix_commit:
        report.hint, hinted = _check_hint(repo, candidate.hints.fix_commit, start_sha, start_date)
        if hinted is not None:
            report.fix = _candidate(
                hinted,
                descendant=hinted.sha in descendants,
                touched=touched,
                keywords=keywords,
                session_end=session_end,
                window=window,
            )
            report.chosen_by = "hint"
            report.reason = f"fix commit {hinted.sha[:12]} from the source's hint, verified"
            return report
    best = next((c for c in scored if _selectable(c, touched=bool(touched))), None)
    if best is not None:
        report.fix = best
        report.chosen_by = "ranking"
        report.reason = (
            f"fix commit {best.sha[:12]} ranked first of {len(scored)} "
            f"(overlap {best.overlap}, cue {best.cue}, recency {best.recency}): {best.subject}"
        )
        return report
    report.reason = _why_no_fix(scored, touched=bool(touched), days=config.fix_window_days)
    return report


def _why_no_fix(scored: list[FixCandidate], *, touched: bool, days: float) -> str:
    window = f"within {days:g} days of the session"
    if not scored:
        return f"no commit landed after the start commit {window}"
    if not any(c.eligible for c in scored):
        return f"the {len(scored)} commits after the start {window} change only tests or docs"
    if touched:
        return (
            f"none of the {len(scored)} commits after the start {window} touch the session's files"
        )
    return f"none of the {len(scored)} commits after the start {window} reads like a fix"


def check_fix_commit(report: OutcomeReport) -> CheckResult:
    """Passed: a fix commit was found (a verified hint, or the best-ranked commit)."""
    evidence = {
        "chosen_by": report.chosen_by,
        "hint": report.hint.model_dump() if report.hint else None,
        "considered": report.considered,
        "window": {"since": report.since.isoformat(), "until": report.until.isoformat()},
        "ranked": [c.model_dump(mode="json") for c in report.ranked],
    }
    if report.fix is None:
        return CheckResult(
            name="fix_commit",
            passed=False,
            code="no_fix_commit",
            reason=report.reason,
            evidence=evidence,
        )
    code = "hint_ignored" if report.hint and not report.hint.valid else None
    return CheckResult(
        name="fix_commit", passed=True, code=code, reason=report.reason, evidence=evidence
    )


def check_testable(report: OutcomeReport) -> CheckResult:
    """Passed: the fix changes source code a test can exercise. Flags a fix without tests."""
    fix = report.fix
    if fix is None:
        return CheckResult(name="testable_fix", passed=None, reason="no fix commit to test")
    evidence = {
        "touches_source": fix.touches_source,
        "changes_tests": fix.changes_tests,
        "kinds": {path: classify_path(path) for path in fix.paths},
    }
    if not fix.touches_source:
        return CheckResult(
            name="testable_fix",
            passed=False,
            code="not_testable",
            reason=f"fix commit {fix.sha[:12]} changes no source code, only "
            + ", ".join(fix.paths[:5]),
            evidence=evidence,
        )
    if not fix.changes_tests:
        return CheckResult(
            name="testable_fix",
            passed=True,
            code="fix_without_tests",
            reason=f"fix commit {fix.sha[:12]} changes source but no tests: "
            "the verifier's tests must be written from scratch",
            evidence=evidence,
        )
    return CheckResult(
        name="testable_fix",
        passed=True,
        reason=f"fix commit {fix.sha[:12]} changes source and tests",
        evidence=evidence,
    )
