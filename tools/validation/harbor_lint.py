"""Harbor's own linter on a task: ``harbor lint --select ALL``, its findings as a check.

Harbor 0.26 ships a static linter for task folders (an invalid task.toml, a verifier that
shares the agent's container, an agent running as root, unpinned images or Python
dependencies, tests or the solution copied into the agent's image, ...). A published task
must pass it with every rule selected, so validation runs it whenever Harbor is installed
(``python -m harness.setup --harbor``) and reports each finding; without Harbor the check
is not run, and says why.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from pydantic import BaseModel, TypeAdapter, ValidationError

from tools.validation.records import ValidationCheck

NAME = "static:harbor_lint"
_TIMEOUT_SEC = 300


class LintFinding(BaseModel):
    """One finding as ``harbor lint --json`` prints it."""

    rule: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None


def check_harbor_lint(task_root: Path, harbor_python: Path) -> ValidationCheck:
    """Run Harbor's linter with every rule on ``task_root``; one check, each finding named."""
    started = time.monotonic()
    harbor = harbor_python.parent / "harbor"
    command = [str(harbor), "lint", "--select", "ALL", "--json", str(task_root)]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=_TIMEOUT_SEC, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return _failed(f"Harbor's linter could not run ({error})", {}, started)
    try:
        findings = TypeAdapter(list[LintFinding]).validate_json(completed.stdout or "null")
    except ValidationError:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        return _failed(
            f"Harbor's linter exited {completed.returncode} without a report: {tail[0][:300]}",
            {},
            started,
        )
    if not findings:
        return ValidationCheck(
            name=NAME,
            category="static",
            passed=True,
            message="harbor lint --select ALL reports no finding",
            duration_sec=_since(started),
        )
    shown = [_describe(finding, task_root) for finding in findings]
    return _failed(
        f"harbor lint --select ALL reports {len(findings)} finding(s): {'; '.join(shown[:3])}"
        + (f" (+{len(shown) - 3} more)" if len(shown) > 3 else ""),
        {"findings": [json.loads(f.model_dump_json()) for f in findings]},
        started,
    )


def _describe(finding: LintFinding, task_root: Path) -> str:
    try:
        where = Path(finding.path).resolve().relative_to(task_root.resolve()).as_posix()
    except ValueError:
        where = finding.path
    line = f":{finding.line}" if finding.line else ""
    return f"[{finding.rule}] {where}{line}: {finding.message}"


def _failed(message: str, evidence: dict[str, object], started: float) -> ValidationCheck:
    return ValidationCheck(
        name=NAME,
        category="static",
        passed=False,
        message=message,
        evidence=evidence,
        duration_sec=_since(started),
    )


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
