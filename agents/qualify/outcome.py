"""Find the change that fixed what the session was about: the environment's end state.

The fix is chosen from evidence, not from wording. ``history.search_space`` lists every
change that reached the project after the start commit (commits on the default branch and
the session's branch, merged branches as ranges, then unmerged branches) within a window
of steps or days. ``evidence`` scores each change on the user's own words — identifiers,
error messages, values and file names of the prompts and follow-ups, and the files the
session touched — against its message, paths and changed lines, rarer terms counting
more. "Reads like a fix" is at most a weak prior (x1.05); a branch that never reached the
project's line counts x0.7.

A fix spread over consecutive commits is one fix: a commit followed on the same line by a
commit of the same author within days, changing a source file of the first and carrying
evidence of its own, forms a fix range with it (a merged branch is a range already).

Then the decision, honest about uncertainty:

* ``confident``: the best change has evidence more telling than plain words, covers at
  least ``min_fix_coverage`` of what matching all the user's terms would score (a change
  that explains little of what the user said is a change in the same area, not their
  fix), and beats the best rival (a change that is not part of it, nor a copy of it) by
  ``fix_margin`` times — a change alone is measured against a small floor;
* ``ambiguous``: some change has evidence, but not separated like that — a human picks
  from the ranked candidates (verdict ``needs_human``);
* ``none``: no change carries evidence tied to the user's words (``no_fix_commit``).

Only changes that touch something besides tests and docs can be the fix; but when the user
talked about documentation and the evidence confidently points at a docs-only change, that
change is reported as the fix, so that the session is disqualified as ``docs_only``
instead of being paired with an unrelated code change.

A source's ``hints.fix_commit`` is verified (exists, after the start, changes more than
tests and docs) and, if it holds, preferred over any ranking.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from agents.qualify.config import QualifyConfig
from agents.qualify.evidence import (
    ChangeText,
    Scored,
    Scorer,
    UserWords,
    change_text,
    user_words,
)
from agents.qualify.history import Unit, aware, search_space
from agents.qualify.records import (
    CheckResult,
    EvidenceItem,
    FixCandidate,
    HintCheck,
    OutcomeReport,
    ScoredChange,
)
from agents.qualify.trivial import path_kind
from harness.errors import RepositoryError
from tools.repos.git import LocalRepo
from tools.repos.patches import applies_to, git_diff
from tools.repos.records import CommitInfo
from tools.sessions.records import Candidate

_NEUTRAL_KINDS = frozenset({"test", "docs"})
_FIX_PRIOR = 1.05
_UNMERGED_FACTOR = 0.7
_FOLLOW_UP_DAYS = 3
_FOLLOW_UP_SHARE = 0.35  # a follow-up needs this share of the first commit's score
_MAX_RANGE = 4
_SHOWN_TERMS = 12


def _fix_worded(message: str) -> bool:
    subject = message.strip().splitlines()[0].lower() if message.strip() else ""
    return any(
        word in subject.replace(":", " ").replace("(", " ").split()
        for word in ("fix", "fixes", "fixed", "bugfix", "hotfix", "resolve", "resolves")
    )


def _kinds(paths: list[str]) -> set[str]:
    return {path_kind(p) for p in paths}


def _eligibility(paths: list[str]) -> tuple[bool, str | None]:
    kinds = _kinds(paths)
    if not kinds:
        return False, "changes no files"
    if kinds <= _NEUTRAL_KINDS:
        return False, "changes only " + " and ".join(sorted(k + "s" for k in kinds))
    return True, None


def _same_file(a: str, b: str) -> bool:
    """Equal, or one is the other with a leading directory (a workspace-relative path)."""
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _candidate(unit: Unit, scored: Scored, touched: list[str]) -> FixCandidate:
    eligible, why_not = _eligibility(unit.paths)
    kinds = _kinds(unit.paths)
    score = scored.score * (_FIX_PRIOR if _fix_worded(unit.message) else 1.0)
    if not unit.merged:
        score *= _UNMERGED_FACTOR
    files = {}
    for commit in unit.commits:
        for change in commit.stats.files:
            files.setdefault(change.path, [0, 0])
            files[change.path][0] += change.insertions
            files[change.path][1] += change.deletions
    return FixCandidate(
        sha=unit.sha,
        first=unit.first,
        shas=unit.shas,
        subject=unit.subject,
        committed_at=unit.landed_at,
        landed_by=unit.landed_by.sha if unit.via_merge else None,
        line=unit.line,
        position=unit.position,
        merged=unit.merged,
        pr=unit.pr,
        eligible=eligible,
        why_not=why_not,
        score=round(score, 3),
        coverage=round(scored.coverage * (score / scored.score if scored.score else 0.0), 4),
        specific=round(scored.specific, 3),
        evidence=[
            EvidenceItem(
                term=match.term.text,
                kind=match.term.kind,
                origin=match.origin,
                fields=match.fields,
                points=round(match.points, 3),
            )
            for match in scored.matches[:_SHOWN_TERMS]
        ],
        shared_files=sum(1 for t in touched if any(_same_file(t, p) for p in unit.paths)),
        touches_source="source" in kinds,
        changes_tests="test" in kinds,
        docs_only=bool(kinds) and kinds <= {"docs"},
        files=len(files),
        insertions=sum(counts[0] for counts in files.values()),
        deletions=sum(counts[1] for counts in files.values()),
        paths=unit.paths,
    )


def _patch(repo: LocalRepo, unit: Unit) -> str:
    if unit.base is None:
        return ""
    try:
        return repo.patch_text(unit.base, unit.head)
    except RepositoryError:
        return ""


def _follow_up(first: Unit, second: Unit, scores: dict[str, float]) -> bool:
    """Is ``second`` the same fix carried on (a follow-up commit of the same work)?"""
    a, b = first.commits[-1], second.commits[0]
    if first.via_merge or second.via_merge or first.line != second.line:
        return False
    if first.position is None or second.position != first.position + 1:
        return False
    if a.author_email != b.author_email:
        return False
    if aware(b.committed_at) - aware(a.committed_at) > timedelta(days=_FOLLOW_UP_DAYS):
        return False
    shared_source = {p for p in first.paths if path_kind(p) == "source"} & set(second.paths)
    if not shared_source:
        return False
    return scores.get(second.sha, 0.0) >= _FOLLOW_UP_SHARE * scores.get(first.sha, 0.0) > 0


def _ranges(units: list[Unit], scores: dict[str, float]) -> list[Unit]:
    """Fix ranges: runs of consecutive follow-up commits on one line."""
    ranges: list[Unit] = []
    run: list[Unit] = []
    for unit in units:
        if run and _follow_up(run[-1], unit, scores) and len(run) < _MAX_RANGE:
            run.append(unit)
            continue
        if len(run) > 1:
            ranges.append(_joined(run))
        run = [unit]
    if len(run) > 1:
        ranges.append(_joined(run))
    return ranges


def _joined(run: list[Unit]) -> Unit:
    commits = [commit for unit in run for commit in unit.commits]
    paths = list(dict.fromkeys(path for unit in run for path in unit.paths))
    last = run[-1]
    return Unit(
        commits, last.landed_by, last.line, last.position, merged=True, pr=last.pr, paths=paths
    )


def _subject_key(subject: str) -> str:
    return re.sub(r"\s*\(#\d+\)\s*$", "", subject).strip().lower()


def _rival(
    best: FixCandidate, ranked: list[FixCandidate], same: dict[str, str]
) -> FixCandidate | None:
    """The best change that is not part of ``best`` and not a copy of it (a cherry-pick, or
    the pre-squash commits of the same pull request on a branch never merged)."""
    for other in ranked:
        if other is best or other.overlaps(best):
            continue
        copy = same.get(other.sha, "").strip()
        if (copy and copy == same.get(best.sha, "").strip()) or (
            _subject_key(other.subject) == _subject_key(best.subject)
        ):
            continue
        return other
    return None


_DOCS_REQUEST = re.compile(
    r"(?i)\b(readme|docs?|documentation|document(ed|ing|s)?|docstrings?|typos?|spelling|"
    r"misspel\w*|wording|changelog|tutorial|guide|manual)\b"
)


def asks_about_docs(candidate: Candidate) -> bool:
    """Do the user's words talk about documentation at all?"""
    return any(_DOCS_REQUEST.search(text) for text in candidate.prompts)


def _decide(
    ranked: list[FixCandidate],
    config: QualifyConfig,
    same: dict[str, str],
    ideal: float,
    *,
    docs_asked: bool,
) -> tuple[FixCandidate | None, str, float | None]:
    """(the fix, confident | ambiguous | none, its margin over the best rival)."""
    # A docs change competes only when the user talked about docs: a bug report is not
    # answered by a README edit that happens to name the same function.
    contenders = [c for c in ranked if c.eligible or (c.docs_only and docs_asked)]
    best = next((c for c in contenders if c.score > 0), None)
    # Evidence below this is no evidence at all (a docs change is read from its message
    # and paths only, so its bar is the lower one).
    floor = ideal * config.min_docs_fix_coverage / 2
    if best is None or best.score < floor:
        return None, "none", None
    score = best.score
    rival = _rival(best, contenders, same)
    joined = next(
        (
            r
            for r in contenders
            if r.first and best.sha in r.shas and rival is not None and rival.sha in r.shas
        ),
        None,
    )
    if joined is not None:
        # The best commit's closest rival is its own follow-up: the fix is the range.
        best, score = joined, max(score, joined.score)
        rival = _rival(best, contenders, same)
    # A change alone in matching is still measured against a floor: weak evidence with no
    # rival is weak evidence.
    margin = score / max(rival.score if rival else 0.0, floor)
    separated = margin >= config.fix_margin
    coverage = config.min_docs_fix_coverage if best.docs_only else config.min_fix_coverage
    telling = best.specific > 0 and score >= ideal * coverage
    if best.docs_only and not (separated and telling):
        # A docs change may only win outright; otherwise the best code change is shown.
        code = next((c for c in contenders if c.eligible and c.score > 0), None)
        if code is None:
            return None, "none", None
        return code, "ambiguous", None
    return best, "confident" if separated and telling else "ambiguous", margin


def _applies(repo: LocalRepo, start_sha: str, fix: FixCandidate, unit: Unit | None) -> bool | None:
    if unit is None or unit.base is None:
        return None
    source = [p for p in unit.paths if path_kind(p) not in _NEUTRAL_KINDS]
    if not source:
        return None
    try:
        diff = git_diff(repo.git_dir, unit.base, unit.head, source)
    except RepositoryError:
        return None
    return applies_to(repo.git_dir, start_sha, diff)[0] if diff else None


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
    elif not repo.is_ancestor(start_sha, sha) and aware(commit.committed_at) < start_date:
        landed = repo.landing_merge(sha, start_sha)
        if landed is None:
            reason = (
                f"hinted fix commit {given} is neither a descendant of nor later than the "
                "start, and no merge after the start brought it in"
            )
            return HintCheck(given=given, sha=sha, valid=False, reason=reason), None
        # Made on a branch before the session, merged after it: the merge is the fix as it
        # reached the user's line.
        merge = repo.commit_info(landed)
        eligible, why_not = _eligibility(merge.stats.paths)
        if eligible:
            reason = f"hint verified: a branch commit merged after the start by {landed[:12]}"
            return HintCheck(given=given, sha=landed, valid=True, reason=reason), merge
        reason = f"hinted fix commit {given} was merged by {landed[:12]}, which {why_not}"
    else:
        eligible, why_not = _eligibility(commit.stats.paths)
        if eligible:
            return HintCheck(given=given, sha=sha, valid=True, reason="hint verified"), commit
        reason = f"hinted fix commit {given} {why_not}, so it cannot be the fix"
        # The last commit of a pull request may only touch its tests (a reviewer's rewrite):
        # the merge that brought the branch in carries the fix with them.
        landed = repo.landing_merge(sha, start_sha)
        if landed is not None:
            merge = repo.commit_info(landed)
            if _eligibility(merge.stats.paths)[0]:
                reason = (
                    f"hint verified: {given[:12]} {why_not}; the merge that brought it in, "
                    f"{landed[:12]}, carries the fix"
                )
                return HintCheck(given=given, sha=landed, valid=True, reason=reason), merge
    return HintCheck(given=given, sha=sha, valid=False, reason=reason), None


def find_fix(
    repo: LocalRepo, candidate: Candidate, start_sha: str, config: QualifyConfig
) -> OutcomeReport:
    """Rank the changes after ``start_sha`` as fixes of ``candidate``; decide on the evidence."""
    start = repo.commit_info(start_sha)
    start_date = aware(start.committed_at)
    session_end = aware(candidate.ended_at or candidate.started_at or start.committed_at)
    session_end = max(session_end, start_date)
    until = session_end + timedelta(days=config.fix_window_days)
    space = search_space(
        repo,
        start_sha,
        branch=candidate.hints.branch,
        until=until,
        window_steps=config.fix_window_steps,
        max_branch_commits=config.max_branch_commits,
        max_unmerged=config.max_unmerged_candidates,
    )
    units = space.units[: config.max_fix_candidates]
    touched = [p.removeprefix("./") for p in candidate.files_touched]
    words = user_words(candidate)
    texts = [change_text(unit.message, unit.paths, _patch(repo, unit)) for unit in units]
    scorer = Scorer(words, texts)
    candidates = [
        _candidate(unit, scorer.score(text), touched)
        for unit, text in zip(units, texts, strict=True)
    ]
    by_sha = {c.sha: c.score for c in candidates}
    same = {c.sha: text.fingerprint for c, text in zip(candidates, texts, strict=True)}
    ranges = _ranges([u for u in units if u.merged], by_sha)
    for unit in ranges:
        text = change_text(unit.message, unit.paths, _patch(repo, unit))
        candidates.append(_candidate(unit, scorer.score(text), touched))
        same[candidates[-1].sha] = text.fingerprint
    units_by_key = {(u.first, u.sha): u for u in [*units, *ranges]}
    ranked = sorted(candidates, key=lambda c: (-c.score, c.committed_at))
    report = OutcomeReport(
        ranked=ranked[: config.ranked_fix_candidates],
        scores=[
            ScoredChange(sha=c.sha, first=c.first, subject=c.subject[:80], score=c.score)
            for c in ranked
        ],
        considered=len(units),
        lines=space.lines,
        since=start_date,
        until=until,
        reason="",
    )
    if candidate.hints.fix_commit:
        report.hint, hinted = _check_hint(repo, candidate.hints.fix_commit, start_sha, start_date)
        if hinted is not None:
            known = next((c for c in ranked if c.sha == hinted.sha and c.first is None), None)
            report.fix = known or _hinted(hinted, words, scorer, touched)
            if not report.fix.changes_tests:
                # The tip of a merged pull request whose tests came in its earlier commits:
                # the fix is what the merge brought (the tip alone would be untested).
                merged = next(
                    (c for c in candidates if c.changes_tests
                     and (unit := units_by_key.get((c.first, c.sha))) is not None
                     and unit.whole_merge and unit.commits[-1].sha == hinted.sha),
                    None,
                )  # fmt: skip
                report.fix = merged or report.fix
            report.chosen_by = "hint"
            report.decision = "confident"
            report.reason = f"fix commit {hinted.sha[:12]} from the source's hint, verified"
            if report.fix.sha != hinted.sha:
                report.reason += (
                    f"; the fix is merge {report.fix.sha[:12]}, which brought it with the "
                    "tests of its earlier commits"
                )
            return report
    docs_asked = asks_about_docs(candidate)
    fix, decision, margin = _decide(ranked, config, same, scorer.ideal, docs_asked=docs_asked)
    report.decision, report.margin = decision, round(margin, 3) if margin else None  # type: ignore[assignment]
    if fix is None:
        report.reason = _why_no_fix(len(units), ranked, words, config.fix_window_days)
        return report
    fix.applies_at_start = _applies(repo, start_sha, fix, units_by_key.get((fix.first, fix.sha)))
    report.fix, report.chosen_by = fix, "evidence"
    if fix not in report.ranked:
        report.ranked = [fix, *report.ranked[: config.ranked_fix_candidates - 1]]
    rival = _rival(fix, [c for c in ranked if c.eligible or (c.docs_only and docs_asked)], same)
    report.reason = _why_fix(fix, rival, decision, margin, len(units))
    return report


def _hinted(
    commit: CommitInfo, words: UserWords, scorer: Scorer, touched: list[str]
) -> FixCandidate:
    """The hinted commit as a candidate, when it lies outside the searched window."""
    unit = Unit([commit], commit, "hint", None, paths=commit.stats.paths)
    text: ChangeText = change_text(commit.message, commit.stats.paths, "")
    return _candidate(unit, scorer.score(text), touched)


def _terms(fix: FixCandidate, count: int = 4) -> str:
    shown = [item.term for item in fix.evidence if item.kind != "subword"][:count]
    return ", ".join(f'"{term}"' for term in shown) or "no terms"


def _why_fix(
    fix: FixCandidate,
    rival: FixCandidate | None,
    decision: str,
    margin: float | None,
    considered: int,
) -> str:
    what = f"fix {fix.label} ({fix.subject[:80]})"
    against = (
        f"the next, {rival.label}, scores {rival.score:.2f}" if rival else "no other change matches"
    )
    if decision == "confident":
        return (
            f"{what} ranked first of {considered} on the user's words ({_terms(fix)}; "
            f"score {fix.score:.2f}); {against}"
        )
    return (
        f"the evidence does not single out a fix among {considered} changes: the best, {what}, "
        f"scores {fix.score:.2f} ({_terms(fix)}) and {against}"
        + (f" (x{margin:.2f})" if margin else "")
        + ": a human should pick"
    )


def _why_no_fix(considered: int, ranked: list[FixCandidate], words: UserWords, days: float) -> str:
    window = f"within {days:g} days (or the next steps) of the session"
    if not considered:
        return f"no change landed after the start commit {window}"
    if not words.terms:
        return "the session's words give nothing to tie a change to"
    if not any(c.eligible for c in ranked):
        return f"the {considered} changes after the start {window} change only tests or docs"
    return (
        f"none of the {considered} changes after the start {window} carries evidence tied "
        "to the user's words"
    )


def check_fix_commit(report: OutcomeReport) -> CheckResult:
    """Passed: a fix was found with confidence (a verified hint, or evidence that separates
    it). Cannot tell (None): candidates exist but the evidence does not separate them."""
    evidence = {
        "chosen_by": report.chosen_by,
        "decision": report.decision,
        "fix": {
            "sha": report.fix.sha,
            "first": report.fix.first,
            "shas": report.fix.shas,
            "subject": report.fix.subject,
        }
        if report.fix
        else None,
        "margin": report.margin,
        "hint": report.hint.model_dump() if report.hint else None,
        "considered": report.considered,
        "lines": report.lines,
        "window": {"since": report.since.isoformat(), "until": report.until.isoformat()},
        "ranked": [c.model_dump(mode="json") for c in report.ranked],
        "scores": [c.model_dump(mode="json") for c in report.scores],
    }
    if report.fix is None:
        return CheckResult(
            name="fix_commit",
            passed=False,
            code="no_fix_commit",
            reason=report.reason,
            evidence=evidence,
        )
    if report.decision == "ambiguous":
        return CheckResult(name="fix_commit", passed=None, reason=report.reason, evidence=evidence)
    code = "hint_ignored" if report.hint and not report.hint.valid else None
    if code is None and report.fix.first:
        code = "fix_range"
    return CheckResult(
        name="fix_commit", passed=True, code=code, reason=report.reason, evidence=evidence
    )


def check_testable(fix: FixCandidate | None) -> CheckResult:
    """Passed: the fix changes source code a test can exercise. Flags a fix without tests."""
    if fix is None:
        return CheckResult(name="testable_fix", passed=None, reason="no fix commit to test")
    evidence = {
        "touches_source": fix.touches_source,
        "changes_tests": fix.changes_tests,
        "kinds": {path: path_kind(path) for path in fix.paths},
    }
    if not fix.touches_source:
        return CheckResult(
            name="testable_fix",
            passed=False,
            code="not_testable",
            reason=f"fix {fix.label} changes no source code, only " + ", ".join(fix.paths[:5]),
            evidence=evidence,
        )
    if not fix.changes_tests:
        return CheckResult(
            name="testable_fix",
            passed=True,
            code="fix_without_tests",
            reason=f"fix {fix.label} changes source but no tests: "
            "the verifier's tests must be written from scratch",
            evidence=evidence,
        )
    return CheckResult(
        name="testable_fix",
        passed=True,
        reason=f"fix {fix.label} changes source and tests",
        evidence=evidence,
    )
