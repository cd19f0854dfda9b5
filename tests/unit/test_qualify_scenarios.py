"""Repositories with believable histories for the qualification tests (no tests here).

Each builder writes a real git repo with ``repo_builder`` and returns the named commits
and a Candidate for the session that happened in it. Dates: the session runs on
2025-01-10 from 10:00 to 11:00 UTC; the start commit lands at 09:00 that day.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import git
from pydantic import BaseModel

from tools.repo_builder import CommitSpec, build_repo
from tools.sessions.candidate import Candidate

SESSION_START = datetime(2025, 1, 10, 10, 0, tzinfo=UTC)
SESSION_END = datetime(2025, 1, 10, 11, 0, tzinfo=UTC)

MIT_TEXT = """MIT License

Copyright (c) 2024 Jane Doe

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
"""
GPL_3_TEXT = """                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.

  The GNU General Public License is a free, copyleft license for
software and other kinds of works.
"""
PROPRIETARY_TEXT = """Copyright (c) 2024 Acme Corp. All rights reserved.

This software is proprietary and confidential. Unauthorized copying of this file,
via any medium, is strictly prohibited.
"""

PARSE_PY = '''"""Parse money amounts typed by users."""

from decimal import Decimal, InvalidOperation

_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP"}


def parse_amount(text: str) -> tuple[Decimal, str]:
    """Return (value, currency) for text such as "$3.50" or "12 EUR"."""
    text = text.strip()
    currency = "USD"
    if text and text[0] in _CURRENCY:
        currency = _CURRENCY[text[0]]
        text = text[1:]
    elif text[-3:].isalpha():
        currency = text[-3:].upper()
        text = text[:-3].strip()
    if not text.replace(".", "", 1).isdigit():
        raise ValueError(f"not an amount: {text!r}")
    try:
        return Decimal(text), currency
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {text!r}") from error
'''
PARSE_PY_EMPTY_CHECK = PARSE_PY.replace(
    '    text = text.strip()\n    currency = "USD"\n',
    '    text = text.strip()\n    if not text:\n        raise ValueError("empty amount")\n'
    '    currency = "USD"\n',
)
PARSE_PY_FIXED = PARSE_PY_EMPTY_CHECK.replace(
    '    if not text.replace(".", "", 1).isdigit():\n',
    '    digits = text[1:] if text.startswith("-") else text\n'
    '    if not digits.replace(".", "", 1).isdigit():\n',
)
FORMAT_PY = '''"""Format amounts for display."""

from decimal import Decimal

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_amount(value: Decimal, currency: str) -> str:
    symbol = SYMBOLS.get(currency)
    if symbol is None:
        return f"{value:.2f} {currency}"
    return f"{symbol}{value:.2f}"
'''
CLI_PY = '''"""Command line: python -m calc AMOUNT."""

import sys

from calc.format import format_amount
from calc.parse import parse_amount


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: calc AMOUNT", file=sys.stderr)
        return 2
    value, currency = parse_amount(argv[0])
    print(format_amount(value, currency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
'''
TEST_PARSE_PY = """from decimal import Decimal

from calc.parse import parse_amount


def test_dollars():
    assert parse_amount("$3.50") == (Decimal("3.50"), "USD")
"""


class Scenario(BaseModel):
    """A repo on disk, its named commits, and the session's Candidate."""

    path: Path
    shas: dict[str, str]
    candidate: Candidate


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 1, day, hour, 0, tzinfo=UTC)


def candidate_for(repo: str, start: str | None, prompt: str, touched: list[str]) -> Candidate:
    return Candidate(
        id="session-1",
        source_format="candidates_jsonl",
        source_path="candidates.jsonl",
        repo=repo,
        start_commit=start,
        first_prompt=prompt,
        files_touched=touched,
        started_at=SESSION_START,
        ended_at=SESSION_END,
    )


def add_side_branch(
    path: Path, base: str, files: dict[str, str], message: str, when: datetime
) -> str:
    """A commit on branch ``side`` forked from ``base``; main stays checked out."""
    repo = git.Repo(path)
    head = repo.active_branch
    branch = repo.create_head("side", base)
    branch.checkout()
    for rel, content in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(content)
        repo.index.add([rel])
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S%z")
    commit = repo.index.commit(message, author_date=stamp, commit_date=stamp, skip_hooks=True)
    head.checkout()
    repo.close()
    return commit.hexsha


def python_start_files(license_text: str | None) -> dict[str, str | None]:
    files: dict[str, str | None] = {
        "pyproject.toml": '[project]\nname = "calc"\nversion = "0.1.0"\n',
        "README.md": "# calc\n\nParse and format money.\n",
        "src/calc/__init__.py": '"""calc: money amounts."""\n\n__version__ = "0.1.0"\n',
        "src/calc/parse.py": PARSE_PY,
        "src/calc/format.py": FORMAT_PY,
        "src/calc/cli.py": CLI_PY,
        "tests/test_parse.py": TEST_PARSE_PY,
    }
    if license_text is not None:
        files["LICENSE"] = license_text
    return files


def python_bugfix(
    path: Path,
    *,
    license_text: str | None = MIT_TEXT,
    fix_lands: bool = True,
    prompt: str = "parse_amount crashes on negative amounts like '-3.50'; please fix it",
) -> Scenario:
    """A Python money parser whose negative-amount bug is fixed two days after the session,
    among decoys: a fix before the start, a docs commit, an unrelated CLI change, and a
    work-in-progress branch forked before the start."""
    specs = [
        CommitSpec(
            message="Initial calculator package",
            files=python_start_files(license_text),
            date=_at(1),
        ),
        CommitSpec(
            message="Fix crash on empty input",
            files={"src/calc/parse.py": PARSE_PY_EMPTY_CHECK},
            date=_at(5),
        ),
        CommitSpec(
            message="Show unknown currencies after the amount",
            files={"src/calc/format.py": FORMAT_PY.replace(".2f} {", ".2f}  {")},
            date=_at(10, 9),
        ),
        CommitSpec(
            message="docs: document parse_amount in the README",
            files={"README.md": "# calc\n\nUse `parse_amount(text)` to parse money.\n"},
            date=_at(11),
        ),
    ]
    names = ["initial", "before_start", "start", "docs"]
    if fix_lands:
        specs.append(
            CommitSpec(
                message="Fix parse_amount for negative amounts (#12)",
                files={
                    "src/calc/parse.py": PARSE_PY_FIXED,
                    "tests/test_parse.py": TEST_PARSE_PY
                    + '\n\ndef test_negative():\n    assert parse_amount("-3.50")[0] == '
                    'Decimal("-3.50")\n',
                },
                date=_at(12),
            )
        )
        names.append("fix")
    specs.append(
        CommitSpec(
            message="Add a usage line to the CLI",
            files={"src/calc/cli.py": CLI_PY.replace("usage: calc AMOUNT", "usage: calc AMT")},
            date=_at(13),
        )
    )
    names.append("unrelated")
    shas = dict(zip(names, build_repo(path, specs), strict=True))
    if fix_lands:
        shas["side"] = add_side_branch(
            path,
            shas["initial"],
            {"src/calc/parse.py": PARSE_PY.replace("Parse money", "Parse (WIP) money")},
            "wip: rewrite parser",
            _at(11, 15),
        )
    candidate = candidate_for(
        str(path), shas["start"], prompt, ["src/calc/parse.py", "tests/test_parse.py"]
    )
    return Scenario(path=path, shas=shas, candidate=candidate)


SLUGIFY_JS = """'use strict';

const { stripAccents } = require('./utils');

function slugify(text, separator = '-') {
  const base = stripAccents(String(text)).toLowerCase().trim();
  return base.replace(/[^a-z0-9]/g, separator);
}

module.exports = { slugify };
"""
UTILS_JS = """'use strict';

function stripAccents(text) {
  return text.normalize('NFD').replace(/[\\u0300-\\u036f]/g, '');
}

function isBlank(text) {
  return text.trim().length === 0;
}

module.exports = { stripAccents, isBlank };
"""
INDEX_JS = """'use strict';

const { slugify } = require('./slugify');
const { isBlank } = require('./utils');

function safeSlug(text) {
  if (isBlank(text)) {
    throw new Error('cannot slugify blank text');
  }
  return slugify(text);
}

module.exports = { slugify, safeSlug };
"""
SLUG_TEST_JS = """const assert = require('node:assert');
const { test } = require('node:test');
const { slugify } = require('../src/slugify');

test('lowercases', () => {
  assert.strictEqual(slugify('Hello'), 'hello');
});
"""


def js_gpl_bugfix(path: Path) -> Scenario:
    """A GPL-3.0 JavaScript slug library: repeated separators are collapsed after the session."""
    package = {"name": "tiny-slug", "version": "1.2.0", "license": "GPL-3.0-or-later"}
    specs = [
        CommitSpec(
            message="tiny-slug 1.2.0",
            files={
                "package.json": json.dumps(package, indent=2) + "\n",
                "LICENSE": GPL_3_TEXT,
                "README.md": "# tiny-slug\n",
                "src/slugify.js": SLUGIFY_JS,
                "src/utils.js": UTILS_JS,
                "src/index.js": INDEX_JS,
                "test/slugify.test.js": SLUG_TEST_JS,
            },
            date=_at(10, 9),
        ),
        CommitSpec(
            message="chore: bump version to 1.2.1",
            files={"package.json": json.dumps({**package, "version": "1.2.1"}, indent=2) + "\n"},
            date=_at(11),
        ),
        CommitSpec(
            message="fix(slugify): collapse repeated separators",
            files={
                "src/slugify.js": SLUGIFY_JS.replace(
                    "return base.replace(/[^a-z0-9]/g, separator);",
                    "return base.replace(/[^a-z0-9]+/g, separator);",
                ),
                "test/slugify.test.js": SLUG_TEST_JS + "\ntest('collapses', () => {\n"
                "  assert.strictEqual(slugify('a  b'), 'a-b');\n});\n",
            },
            date=_at(14),
        ),
    ]
    shas = dict(zip(["start", "chore", "fix"], build_repo(path, specs), strict=True))
    prompt = (
        "slugify('Hello  World') returns 'hello--world' with a double dash; "
        "repeated separators should collapse into one"
    )
    candidate = candidate_for(
        str(path), shas["start"], prompt, ["src/slugify.js", "test/slugify.test.js"]
    )
    return Scenario(path=path, shas=shas, candidate=candidate)


ERRORS_GO = """package server

import "errors"

// ErrReceive is returned when a request body cannot be read.
var ErrReceive = errors.New("could not recieve request")

// ErrTooLarge is returned when a request body exceeds the limit.
var ErrTooLarge = errors.New("request too large")
"""
HANDLER_GO = """package server

import (
	"io"
	"net/http"
)

const maxBody = 1 << 20

// Echo writes the request body back.
func Echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, ErrReceive.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		http.Error(w, ErrTooLarge.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	w.Write(body)
}
"""
MAIN_GO = """package main

import (
	"log"
	"net/http"

	"example.com/echo/server"
)

func main() {
	http.HandleFunc("/echo", server.Echo)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
"""


def go_typo_fix(path: Path) -> Scenario:
    """A Go echo server whose only later change fixes a misspelt error message."""
    specs = [
        CommitSpec(
            message="echo server",
            files={
                "go.mod": "module example.com/echo\n\ngo 1.22\n",
                "LICENSE": MIT_TEXT,
                "main.go": MAIN_GO,
                "server/handler.go": HANDLER_GO,
                "server/errors.go": ERRORS_GO,
            },
            date=_at(10, 9),
        ),
        CommitSpec(
            message="Fix spelling of receive in error message",
            files={"server/errors.go": ERRORS_GO.replace("recieve", "receive")},
            date=_at(10, 16),
        ),
    ]
    shas = dict(zip(["start", "fix"], build_repo(path, specs), strict=True))
    prompt = "The error says 'could not recieve request' — please fix the spelling"
    candidate = candidate_for(str(path), shas["start"], prompt, ["server/errors.go"])
    return Scenario(path=path, shas=shas, candidate=candidate)


def from_scratch_app(path: Path) -> Scenario:
    """An empty-ish repo where the session built a whole todo app."""
    app_files = {
        f"src/components/Item{i}.jsx": f"export const Item{i} = () => null;\n" for i in range(6)
    }
    specs = [
        CommitSpec(
            message="Initial commit",
            files={"README.md": "# todo\n", "LICENSE": MIT_TEXT, ".gitignore": "node_modules\n"},
            date=_at(10, 9),
        ),
        CommitSpec(
            message="Build the todo app",
            files={**app_files, "package.json": '{"name": "todo", "license": "MIT"}\n'},
            date=_at(10, 11),
        ),
    ]
    shas = dict(zip(["start", "app"], build_repo(path, specs), strict=True))
    prompt = "Build me a todo app with React and a small Express backend"
    candidate = candidate_for(str(path), shas["start"], prompt, sorted(app_files))
    return Scenario(path=path, shas=shas, candidate=candidate)


def ci_only_fix(path: Path) -> Scenario:
    """A session about a broken CI workflow: the fix touches only the workflow file."""
    workflow = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    python: '3.11'\n"
    ci = ".github/workflows/ci.yml"
    specs = [
        CommitSpec(
            message="calc with CI",
            files={**python_start_files(MIT_TEXT), ci: workflow},
            date=_at(10, 9),
        ),
        CommitSpec(
            message="Fix CI on Python 3.12",
            files={ci: workflow.replace("3.11", "3.12")},
            date=_at(10, 13),
        ),
    ]
    shas = dict(zip(["start", "fix"], build_repo(path, specs), strict=True))
    prompt = "CI fails on Python 3.12; fix the workflow"
    candidate = candidate_for(str(path), shas["start"], prompt, [ci])
    return Scenario(path=path, shas=shas, candidate=candidate)
