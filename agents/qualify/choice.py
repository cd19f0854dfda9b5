"""A reviewer settles a qualification the evidence could not: the fix they picked becomes
the candidate's fix, and the checks that depend on the fix run on it.

The approval gate shows the ranked fix candidates of a ``needs_human`` qualification; the
reviewer approves the shown fix or picks another with a keystroke. ``settle`` rewrites the
qualification accordingly: the fix commit (and range), ``fix_commit`` passed "by the
reviewer", ``nontrivial_change``, ``testable_fix`` and ``instruction`` re-run on the chosen
change, and the
verdict decided again — a reviewer's pick that turns out to be docs-only is still
disqualified; a pick that holds is ``qualified``, decided by the reviewer.

The pick travels in the approval's note (``picked fix <sha>``) so that a rerun, or a
decision made later with ``python -m harness.approve``, applies the same pick.
"""

from __future__ import annotations

import re

from agents.qualify.baseline import check_instruction, decide
from agents.qualify.config import QualifyConfig
from agents.qualify.outcome import check_testable
from agents.qualify.records import CheckResult, FixCandidate, Qualification
from agents.qualify.trivial import check_nontrivial_change
from tools.repos.git import LocalRepo
from tools.sessions.records import Candidate

_PICK = re.compile(r"\bpicked fix ([0-9a-f]{40})\b")
REVIEWER_CONFIDENCE = 0.9


def fix_candidates(qualification: Qualification) -> list[FixCandidate]:
    """The ranked fix candidates the qualification recorded, best first."""
    check = qualification.check("fix_commit")
    if check is None:
        return []
    return [FixCandidate.model_validate(entry) for entry in check.evidence.get("ranked") or []]


def needs_a_pick(qualification: Qualification) -> bool:
    """Is the fix open for a reviewer to pick (the evidence did not decide it)?"""
    check = qualification.check("fix_commit")
    return (
        qualification.verdict == "needs_human"
        and check is not None
        and check.passed is None
        and bool(fix_candidates(qualification))
    )


def pick_note(sha: str, note: str | None) -> str:
    """The approval note that carries a pick (and the reviewer's own words, if any)."""
    return f"picked fix {sha}" + (f" — {note}" if note else "")


def picked_sha(note: str | None) -> str | None:
    match = _PICK.search(note or "")
    return match.group(1) if match else None


def settle(
    qualification: Qualification,
    pick: str | None,
    reviewer: str,
    repo: LocalRepo,
    candidate: Candidate,
    config: QualifyConfig | None = None,
) -> Qualification:
    """``qualification`` as the reviewer settled it: the fix ``pick`` (a candidate's sha;
    None keeps the shown fix), the fix's checks re-run, the verdict decided again."""
    config = config or QualifyConfig()
    candidates = fix_candidates(qualification)
    wanted = pick or qualification.fix_commit
    chosen = next((c for c in candidates if c.sha == wanted), None)
    if chosen is None:
        # Nothing to pick from (a model's needs_human): the reviewer approved it as it is.
        if qualification.verdict != "needs_human":
            return qualification
        return qualification.model_copy(
            update={
                "verdict": "qualified",
                "confidence": REVIEWER_CONFIDENCE,
                "decided_by": f"{qualification.decided_by}, approved by {reviewer}",
            }
        )
    fix_check = qualification.check("fix_commit")
    replaced = {
        "fix_commit": CheckResult(
            name="fix_commit",
            passed=True,
            code="fix_range" if chosen.first else None,
            reason=f"fix {chosen.label} ({chosen.subject[:80]}) picked by {reviewer} from "
            f"{len(candidates)} candidates",
            evidence={**(fix_check.evidence if fix_check else {}), "chosen_by": "reviewer"},
        ),
        "nontrivial_change": check_nontrivial_change(
            repo, chosen.sha, candidate.files_touched, config, first=chosen.first
        ),
        "testable_fix": check_testable(chosen),
        "instruction": check_instruction(candidate, repo, chosen.sha, chosen.first),
    }
    evidence = [replaced.pop(check.name, check) for check in qualification.evidence]
    evidence += list(replaced.values())
    verdict, disqualifiers, flags = decide(evidence)
    if verdict == "needs_human":
        verdict = "qualified"  # the reviewer has looked at what the checks could not tell
    return qualification.model_copy(
        update={
            "verdict": verdict,
            "fix_commit": chosen.sha,
            "fix_first_commit": chosen.first,
            "disqualifiers": disqualifiers,
            "flags": flags,
            "evidence": evidence,
            "confidence": REVIEWER_CONFIDENCE,
            "decided_by": f"{qualification.decided_by}, fix picked by {reviewer}",
        }
    )
