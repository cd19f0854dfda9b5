"""Which fail-to-pass tests measure the outcome the user asked for.

A test that fails at the start state only because its file does not load — it imports a
name the fix introduces — measures whether the solver guessed the fix's name, not whether
the behaviour is right. Such tests are kept only when the user's own words ask for that
name; otherwise they are left out of the verifier, and every decision is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agents.verifier.judge import ID_SEPARATOR, TITLE_SEPARATOR
from agents.verifier.records import JudgeRun, LeftOut

# What a file that does not load says, per language: the missing name is group "name".
_MISSING_NAME = (
    re.compile(r"cannot import name ['\"](?P<name>\w+)['\"]"),
    re.compile(r"module ['\"][\w.]+['\"] has no attribute ['\"](?P<name>\w+)['\"]"),
    re.compile(r"No module named ['\"](?P<name>[\w.]+)['\"]"),
    re.compile(r"does not provide an export named ['\"](?P<name>\w+)['\"]"),
    re.compile(r"(?P<name>\w+) is not (?:a function|a constructor|defined)"),
    re.compile(r"Cannot find module ['\"](?P<name>[^'\"]+)['\"]"),
)


def file_of_test(test_id: str) -> str:
    """The file a test id belongs to (``file::test`` or ``file > title``)."""
    return test_id.split(ID_SEPARATOR, 1)[0].split(TITLE_SEPARATOR, 1)[0]


def missing_names(load_error: str) -> list[str]:
    names: list[str] = []
    for pattern in _MISSING_NAME:
        for match in pattern.finditer(load_error):
            name = match.group("name").rsplit(".", 1)[-1].rsplit("/", 1)[-1]
            if name and name not in names:
                names.append(name)
    return names


def introduced_by_fix(name: str, added_lines: Iterable[str]) -> bool:
    """Does the fix define ``name`` (a function, class, constant, export or module)?"""
    definition = re.compile(
        rf"(\bdef\s+{name}\b|\bclass\s+{name}\b|^\s*{name}\s*[:=]|\bfunction\s+{name}\b"
        rf"|\b(const|let|var)\s+{name}\b|\bexport\b.*\b{name}\b)"
    )
    return any(definition.search(line) for line in added_lines)


def split_fail_to_pass(
    fail_to_pass: list[str],
    before: JudgeRun,
    *,
    added_lines: list[str],
    added_files: list[str],
    user_words: str,
) -> tuple[list[str], list[LeftOut]]:
    """(kept fail-to-pass tests, left-out ones with the reason for each)."""
    load_errors = {
        str(run.get("label")): str(run.get("load_error"))
        for run in before.runs
        if run.get("load_error")
    }
    kept: list[str] = []
    left: list[LeftOut] = []
    for test in fail_to_pass:
        error = load_errors.get(file_of_test(test))
        if error is None:
            kept.append(test)
            continue
        names = missing_names(error)
        new = [
            name
            for name in names
            if introduced_by_fix(name, added_lines)
            or any(re.search(rf"\b{re.escape(name)}(\.\w+)?$", path) for path in added_files)
        ]
        if not new:
            # The file fails to load at the start for another reason (a bug the fix
            # repairs at import time, say): the outcome still decides.
            kept.append(test)
            continue
        asked = [name for name in new if re.search(rf"\b{re.escape(name)}\b", user_words)]
        if asked:
            kept.append(test)
            left.append(
                LeftOut(
                    test=test,
                    kept=True,
                    reason=f"fails at the start only because {', '.join(asked)} does not exist "
                    "yet; kept: the user asks for it by name",
                )
            )
        else:
            left.append(
                LeftOut(
                    test=test,
                    kept=False,
                    reason=f"fails at the start only because its file imports "
                    f"{', '.join(new)}, a name the fix introduces and the user never asked for",
                )
            )
    return kept, left
