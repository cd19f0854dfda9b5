"""A build run's summary as files: summary.json and the human report, report.html.

``agents.factory.summary`` derives the summary from the ledger and the candidate folders;
this module only writes and renders it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jinja2

from harness.fsio import write_model, write_text_atomic
from tools.report.records import BuildSummary


def write_reports(run_dir: Path, summary: BuildSummary) -> tuple[Path, Path]:
    summary_path, report_path = run_dir / "summary.json", run_dir / "report.html"
    write_model(summary_path, summary)
    write_text_atomic(report_path, render_html(summary))
    return summary_path, report_path


def render_html(summary: BuildSummary) -> str:
    template = resources.files("tools.report").joinpath("templates/report.html.j2").read_text()
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(template).render(summary=summary)
