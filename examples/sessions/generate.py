"""Regenerate the bundled example sessions (run from the repository root):

    .venv/bin/python examples/sessions/generate.py

Each session is described once, as what happened (the user's prompts, the agent's edits,
the moments the user stepped in), and written in its tool's own on-disk format by the
writers in tests/fixtures/sessions.py, the same ones the parsers are tested against. The
Codex rollout names the commit it started from, so the example repositories are built
first (tools/repos/examples.py) to read that commit's sha. Rerun this after changing an
example project's history: the committed sessions must match the repositories.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fixtures.sessions import (  # noqa: E402 (the repository root goes on sys.path first)
    Deny,
    Edit,
    Interrupt,
    Prompt,
    SessionSpec,
    cline_storage,
    write_claude_code_session,
    write_cline_task,
    write_codex_rollout,
)
from tools.repos.examples import (  # noqa: E402
    SESSIONS_DIR,
    WORKSPACE_ROOT,
    ensure_example_repos,
    example_shas,
)

# The start of each session, and the commit (1-based, in history.toml) it began on.
VERSPEC_START_COMMIT = 3

LEDGERLINE_PARSING = SessionSpec(
    session_id="0b7c6a52-8e1f-4f0e-9d8a-3c5b2e71a9d4",
    workspace=f"{WORKSPACE_ROOT}/ledgerline",
    branch="main",
    started_at=datetime(2025, 2, 24, 10, 0, tzinfo=UTC),
    step_seconds=150,
    steps=[
        Prompt(
            text="The monthly report from ledgerline is wrong for my credit union's export: "
            "card payments and transfers show up as income. Their CSV writes debits in "
            "parentheses, like `(45.00)` or `($1,200.00)`, and ledgerline reads those as "
            "positive amounts. Can you fix the amount parsing so they come out negative? "
            "A line from the export looks like `2025-02-14,Coffee Corner,(4.50)`."
        ),
        Edit(path="src/ledgerline/parse.py"),
        Deny(
            path="tests/test_parse.py",
            feedback="Don't rewrite the existing tests, they cover formats we still import "
            "every month. Add new ones if you need to.",
        ),
        Prompt(
            text="One more: the savings account export puts the minus sign after the number, "
            'like `250.00-`. Right now such a line makes the whole import fail with "not an '
            'amount". Those are debits too.'
        ),
        Edit(path="src/ledgerline/parse.py"),
        Interrupt(),
        Prompt(
            text="Hold on. Plain amounts like `1,234.56`, `-3.20` and `$12.00` must keep "
            "working exactly as before. And something like `(-4.00)` is garbage: reject it "
            "like any other bad amount instead of guessing a sign."
        ),
        Edit(path="src/ledgerline/parse.py"),
        Prompt(text="thanks!"),
    ],
)

LEDGERLINE_TYPO = SessionSpec(
    session_id="9c41e0d7-2b6a-4f8e-a5c3-71d2e8b04f16",
    workspace=f"{WORKSPACE_ROOT}/ledgerline",
    started_at=datetime(2025, 2, 11, 14, 0, tzinfo=UTC),
    steps=[
        Prompt(
            text='When no rule matches an entry, ledgerline warns "Unkown category for ...". '
            "Please fix the spelling of that warning."
        ),
        Edit(path="src/ledgerline/report.py"),
    ],
)


def verspec_session(start_sha: str) -> SessionSpec:
    return SessionSpec(
        session_id="5f2d8c1e-7a4b-4c9e-b1d3-9e6f0a2c4b88",
        workspace=f"{WORKSPACE_ROOT}/verspec",
        branch="main",
        git_commit=start_sha,
        started_at=datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        step_seconds=120,
        steps=[
            Prompt(
                text="Our plugin host uses verspec to check plugin compatibility, and since "
                "we released host 1.10.2 it rejects every plugin that declares `^1.9.0`: "
                "`satisfies('1.10.2', '^1.9.0')` returns false. Version numbers with two "
                "digits seem to sort wrong everywhere, `sort()` also puts 1.10.0 before "
                "1.9.3. Can you fix the comparison?"
            ),
            Edit(path="src/compare.js"),
            Interrupt(),
            Prompt(
                text="Prerelease numbers have the same problem: 2.0.0-rc.10 should be newer "
                "than 2.0.0-rc.9."
            ),
            Deny(
                path="package.json",
                feedback="No dependencies please, verspec stays dependency-free. Fix it in "
                "our own code.",
            ),
            Edit(path="src/parse.js"),
            Edit(path="src/compare.js"),
        ],
    )


def generate(out: Path) -> list[Path]:
    """Write every example session under ``out``; return the session paths."""
    with tempfile.TemporaryDirectory(prefix="kettle-example-repos-") as scratch:
        repos = ensure_example_repos(Path(scratch))
        verspec_start = example_shas(repos["verspec"])[VERSPEC_START_COMMIT - 1]
    return [
        write_claude_code_session(out / "claude-code" / "projects", LEDGERLINE_PARSING),
        write_codex_rollout(out / "codex" / "sessions", verspec_session(verspec_start)),
        write_cline_task(cline_storage(out / "cline"), LEDGERLINE_TYPO),
    ]


def main() -> None:
    for folder in ("claude-code", "codex", "cline"):
        shutil.rmtree(SESSIONS_DIR / folder, ignore_errors=True)
    for path in generate(SESSIONS_DIR):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
