"""python -m harness.approve RUN_DIR — review the approvals a build parked.

Shows each parked item (the same panel a live run shows), records approve / reject / note
with who and when, and reopens the item so that `python -m harness.build --out RUN_DIR`
continues from there. ``--approve-all`` / ``--reject-all`` decide without asking (for
scripts); without a terminal and without those flags, nothing is decided.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from agents.context import CandidateWorkspace
from agents.factory.approvals import (
    Answer,
    ApprovalGate,
    ask_on_terminal,
    request_for,
    reviewer_name,
)
from agents.factory.ledger import LEDGER_FILE, Ledger
from harness.cli import run_cli
from harness.errors import ConfigError
from tools.report.html import summarize_run, write_reports

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def main(
    run_dir: Path = typer.Argument(..., help="The run folder of a kettle build."),
    approve_all: bool = typer.Option(False, "--approve-all", help="Approve every parked item."),
    reject_all: bool = typer.Option(False, "--reject-all", help="Reject every parked item."),
    note: str | None = typer.Option(None, "--note", help="Note recorded with --*-all."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Review parked approvals of a build run."""
    console = Console(stderr=True)

    def work() -> None:
        if approve_all and reject_all:
            raise ConfigError("--approve-all and --reject-all exclude each other")
        if not (run_dir / LEDGER_FILE).is_file():
            raise ConfigError(f"{run_dir} is not a kettle build folder (no {LEDGER_FILE})")
        ledger = Ledger(run_dir)
        try:
            parked = [record for record in ledger.stages() if record.status == "parked"]
            if not parked:
                console.print("nothing waits for a review")
                return
            gate = ApprovalGate("prompt", ledger, console=console)
            if gate.mode != "prompt" and not (approve_all or reject_all):
                raise ConfigError(
                    "no terminal to ask on", "pass --approve-all or --reject-all (with --note)"
                )
            decided = 0
            for record in parked:
                workspace = CandidateWorkspace(run_dir, record.candidate_id)
                request = request_for(record.stage, record.candidate_id, workspace, ledger)
                if approve_all or reject_all:
                    answer = Answer(decision="approved" if approve_all else "rejected", note=note)
                else:
                    answer = ask_on_terminal(console, request)
                if answer.decision is None:
                    continue
                gate.record(request, answer.decision, reviewer_name(), answer.note)
                ledger.finish(record.candidate_id, record.stage, "pending", detail="reviewed")
                decided += 1
            config = ledger.config()
            summary = summarize_run(run_dir, ledger, str(config.get("run_id", run_dir.name)),
                                    str(config.get("model") or "baseline"), [])  # fmt: skip
            write_reports(run_dir, summary)
        finally:
            ledger.close()
        console.print(
            f"{decided} decision(s) recorded; "
            f"continue with: python -m harness.build --out {run_dir}"
        )

    run_cli(work, debug=debug)


if __name__ == "__main__":
    app()
