"""The run report a lab reads at a glance: the yield funnel with minutes per stage, the
failures grouped by stage and reason and linked to their candidates, no terminal codes."""

from __future__ import annotations

from pathlib import Path

from agents.context import CandidateWorkspace
from agents.factory.ledger import Ledger
from agents.factory.records import STAGES
from agents.factory.summary import summarize_run
from harness.fsio import write_model
from tools.report.html import render_html
from tools.sessions.records import Candidate

# How far each candidate got: (stage, status, detail) in order; the rest stays pending.
JOURNEYS = {
    "a": [("qualify", "done", "qualified"), ("approve_qualification", "done", None),
          ("reconstruct", "done", None), ("verifier", "done", None),
          ("validate", "done", None), ("approve_task", "done", None), ("publish", "done", "/t/a")],
    "b": [("qualify", "done", "qualified"), ("approve_qualification", "done", None),
          ("reconstruct", "failed", "the dependencies do not install (npm ci): "
           "\x1b[31mERR! 404\x1b[0m for https://registry.example/left-pad-1.3.0.tgz")],
    "c": [("qualify", "done", "qualified"), ("approve_qualification", "done", None),
          ("reconstruct", "failed", "the dependencies do not install (npm ci): ERR! 404 for "
           "https://registry.example/is-odd-3.0.1.tgz")],
    "d": [("qualify", "done", "disqualified: typo_only")],
}  # fmt: skip


def _run(tmp_path: Path) -> Path:
    ledger = Ledger(tmp_path)
    for candidate_id, journey in JOURNEYS.items():
        write_model(
            CandidateWorkspace(tmp_path, candidate_id).candidate_path,
            Candidate(
                id=candidate_id,
                source_format="candidates_jsonl",
                source_path="c.jsonl",
                repo="/r",
                start_commit="abc1234",
                first_prompt="fix it",
            ),
        )
        ledger.add_candidate(candidate_id, "c.jsonl", list(STAGES))
        for stage, status, detail in journey:
            ledger.start(candidate_id, stage)
            ledger.finish(candidate_id, stage, status, duration_sec=60.0, detail=detail)  # type: ignore[arg-type]
    ledger.close()
    return tmp_path


def test_the_funnel_counts_how_far_candidates_got_and_the_minutes_each_stage_took(
    tmp_path: Path,
) -> None:
    run = _run(tmp_path)
    ledger = Ledger(run)
    summary = summarize_run(run, ledger, "r1", "baseline", [])
    ledger.close()
    steps = {step.name: step.count for step in summary.funnel}
    assert steps == {
        "candidates": 4,
        "qualified": 0,  # no qualification.json: the verdict is unknown here
        "reconstructed": 1,
        "verified": 1,
        "validated": 1,
        "published": 1,
    }
    minutes = {step.name: step.minutes for step in summary.funnel}
    assert minutes["reconstructed"] == 3.0  # three candidates spent a minute each


def test_failures_are_grouped_by_reason_with_specifics_removed_and_no_colour_codes(
    tmp_path: Path,
) -> None:
    run = _run(tmp_path)
    ledger = Ledger(run)
    summary = summarize_run(run, ledger, "r1", "baseline", [])
    ledger.close()
    reconstruct = [group for group in summary.failures if group.stage == "reconstruct"]
    assert len(reconstruct) == 1 and reconstruct[0].candidates == ["b", "c"]
    assert "\x1b" not in reconstruct[0].reason
    html = render_html(summary)
    assert 'id="funnel"' in html and 'href="#b"' in html and "\x1b" not in html
