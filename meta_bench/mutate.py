"""Plausible wrong fixes: mutants of the upstream fix, for drafting a seed's wrong variants.

Only the lines the fix changed are mutated (a mutant elsewhere says nothing about the fix):

- ``mutant_revert_hunk``: one changed block goes back to the start state (a partial fix);
  only when the fix has two blocks or more, else the mutant is the start state itself;
- ``mutant_flip_condition``: one comparison or boolean operator flipped
  (``<``/``>=``, ``==``/``!=``, ``and``/``or``, ``True``/``False``, ...);
- ``mutant_off_by_one``: one integer literal moved by one;
- ``mutant_drop_branch``: one ``if``/``elif``/``else`` branch the fix wrote, removed.

Operators skip string literals and comments (as far as a line-level scan can tell), and a
mutant that does not parse (Python's ``compile``; ``node --check`` for JavaScript when node
is installed) is dropped: a syntax error is not a plausible fix. Everything here is pure
text work; ``meta_bench.draft`` keeps the mutants the upstream tests reject.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from meta_bench.records import Mutant

_FLIPS = {
    "===": "!==",
    "!==": "===",
    "==": "!=",
    "!=": "==",
    "<=": ">",
    ">=": "<",
    "<": ">=",
    ">": "<=",
    "&&": "||",
    "||": "&&",
    "and": "or",
    "or": "and",
    "True": "False",
    "False": "True",
    "true": "false",
    "false": "true",
}
_OPERATOR = re.compile(
    r"===|!==|==|!=|(?<![=<>\-])<=(?!=)|(?<![=<>\-])>=|&&|\|\||"
    r"(?<![<>=\-])<(?![<=])|(?<![<>=\-])>(?![>=])|\b(?:and|or|True|False|true|false)\b"
)
_INTEGER = re.compile(r"(?<![\w.])\d+(?![\w.])")
_BRANCH = re.compile(r"^\s*(?:\}\s*)?(?:if\b|elif\b|else\b)")
_STRING_OR_COMMENT = re.compile(
    r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`(?:\\.|[^`\\])*`|#.*$|//.*$"
)

_CODE_SUFFIXES = (
    ".py", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".go", ".rb", ".java", ".kt", ".rs",
    ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".php", ".swift", ".scala", ".sh",
)  # fmt: skip

TECHNIQUES = (
    "mutant_revert_hunk",
    "mutant_flip_condition",
    "mutant_off_by_one",
    "mutant_drop_branch",
)


Files = dict[str, str | None]


def mutants(start: Files, fixed: Files, *, limit: int = 12) -> list[Mutant]:
    """Mutants of ``fixed`` (path -> text, None = absent), round-robin over techniques."""
    by_technique: dict[str, list[Mutant]] = {t: [] for t in TECHNIQUES}
    seen = {_key(start), _key(fixed)}
    for mutant in _all_mutants(start, fixed):
        key = _key(mutant.files)
        if key in seen or not _parses(mutant.path, mutant.files[mutant.path]):
            continue
        seen.add(key)
        by_technique[mutant.technique].append(mutant)
    chosen: list[Mutant] = []
    while len(chosen) < limit and any(by_technique.values()):
        for technique in TECHNIQUES:
            if by_technique[technique] and len(chosen) < limit:
                chosen.append(by_technique[technique].pop(0))
    counters: dict[str, int] = {}
    for mutant in chosen:
        short = mutant.technique.removeprefix("mutant_")
        counters[short] = counters.get(short, 0) + 1
        mutant.name = f"{short}_{counters[short]}"
    return chosen


def _all_mutants(start: Files, fixed: Files) -> Iterator[Mutant]:
    code = sorted(path for path in fixed if path.endswith(_CODE_SUFFIXES))
    blocks = [
        (path, opcode)
        for path in code
        for opcode in _changed_blocks(start.get(path), fixed[path])
        if _changes_code(start.get(path), fixed[path], opcode)
    ]
    if len(blocks) >= 2:
        for path, (i1, i2, j1, j2) in blocks:
            old = _lines(start.get(path))
            new = _lines(fixed[path])
            text = "".join(new[:j1] + old[i1:i2] + new[j2:])
            yield _mutant(fixed, path, text, "mutant_revert_hunk", j1 + 1, "reverts one block")
    for path in code:
        text = fixed[path]
        if text is None:
            continue
        lines = _lines(text)
        prose = _triple_quoted(lines)
        for index in _changed_lines(start.get(path), text):
            line = lines[index]
            if index in prose or not _is_code(line):
                continue
            yield from _flips(fixed, path, lines, index)
            yield from _off_by_ones(fixed, path, lines, index)
            if _BRANCH.match(line):
                end = _block_end(lines, index, python=path.endswith(".py"))
                rest = "".join(lines[:index] + lines[end:])
                yield _mutant(
                    fixed,
                    path,
                    rest,
                    "mutant_drop_branch",
                    index + 1,
                    f"drops the branch `{line.strip()}`",
                )


def _flips(fixed: Files, path: str, lines: list[str], index: int) -> Iterator[Mutant]:
    line = lines[index]
    for match in _OPERATOR.finditer(line):
        if _in_literal(line, match.start()):
            continue
        old = match.group(0)
        new = _FLIPS[old]
        mutated = line[: match.start()] + new + line[match.end() :]
        yield _mutant(
            fixed,
            path,
            _with_line(lines, index, mutated),
            "mutant_flip_condition",
            index + 1,
            f"`{old}` -> `{new}` in `{line.strip()}`",
        )


def _off_by_ones(fixed: Files, path: str, lines: list[str], index: int) -> Iterator[Mutant]:
    line = lines[index]
    for match in _INTEGER.finditer(line):
        if _in_literal(line, match.start()):
            continue
        value = int(match.group(0))
        for moved in (value + 1, value - 1):
            if moved < 0:
                continue
            mutated = line[: match.start()] + str(moved) + line[match.end() :]
            yield _mutant(
                fixed,
                path,
                _with_line(lines, index, mutated),
                "mutant_off_by_one",
                index + 1,
                f"{value} -> {moved} in `{line.strip()}`",
            )


def _mutant(fixed: Files, path: str, text: str, technique: str, line: int, what: str) -> Mutant:
    return Mutant(
        name="",
        technique=technique,
        path=path,
        line=line,
        description=f"{path}:{line}: {what}",
        files={**fixed, path: text},
    )


def _changed_blocks(old: str | None, new: str | None) -> list[tuple[int, int, int, int]]:
    if new is None:
        return []
    matcher = difflib.SequenceMatcher(None, _lines(old), _lines(new), autojunk=False)
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _changes_code(old: str | None, new: str | None, opcode: tuple[int, int, int, int]) -> bool:
    """Does the block change a line of code (not only comments, docstrings, blank lines)?"""
    i1, i2, j1, j2 = opcode
    changed = _lines(old)[i1:i2] + _lines(new)[j1:j2]
    return any(_is_code(line) for line in changed)


def _is_code(line: str) -> bool:
    stripped = line.strip()
    if not stripped or stripped.startswith(("#", "//", "/*", "*")) or '"""' in stripped:
        return False
    literal = _STRING_OR_COMMENT.fullmatch(stripped.rstrip(","))
    return literal is None


def _triple_quoted(lines: list[str]) -> set[int]:
    """Indices of lines that are part of a triple-quoted string (docstrings)."""
    inside: set[int] = set()
    open_quote: str | None = None
    for index, line in enumerate(lines):
        for quote in ('"""', "'''"):
            count = line.count(quote)
            if open_quote is None and count % 2 == 1:
                open_quote = quote
                inside.add(index)
                break
            if open_quote == quote and count % 2 == 1:
                open_quote = None
                inside.add(index)
                break
        else:
            if open_quote is not None:
                inside.add(index)
    return inside


def _changed_lines(old: str | None, new: str) -> list[int]:
    return [j for _i1, _i2, j1, j2 in _changed_blocks(old, new) for j in range(j1, j2)]


def _block_end(lines: list[str], index: int, *, python: bool) -> int:
    """The index after the branch starting at ``index`` (its header and body)."""
    indent = _indent(lines[index])
    end = index + 1
    if python:
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
            end += 1
        while end > index + 1 and not lines[end - 1].strip():
            end -= 1
        return end
    if not lines[index].rstrip().endswith("{"):
        return end + (1 if end < len(lines) and _indent(lines[end]) > indent else 0)
    while end < len(lines) and not (
        _indent(lines[end]) == indent and lines[end].lstrip().startswith("}")
    ):
        end += 1
    return min(end + 1, len(lines))


def _in_literal(line: str, position: int) -> bool:
    return any(m.start() <= position < m.end() for m in _STRING_OR_COMMENT.finditer(line))


def _with_line(lines: list[str], index: int, line: str) -> str:
    return "".join([*lines[:index], line, *lines[index + 1 :]])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _lines(text: str | None) -> list[str]:
    return (text or "").splitlines(keepends=True)


def _key(files: Files) -> tuple[tuple[str, str | None], ...]:
    return tuple(sorted(files.items()))


def _parses(path: str, text: str | None) -> bool:
    if text is None:
        return True
    if path.endswith(".py"):
        try:
            compile(text, path, "exec")
        except (SyntaxError, ValueError):
            return False
        return True
    if path.endswith((".js", ".cjs", ".mjs")) and shutil.which("node"):
        with tempfile.TemporaryDirectory(prefix="kettle-mutant-") as scratch:
            file = Path(scratch) / Path(path).name
            file.write_text(text, encoding="utf-8")
            result = subprocess.run(
                ["node", "--check", str(file)], capture_output=True, timeout=60, check=False
            )
        return result.returncode == 0
    return True
