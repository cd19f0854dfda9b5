"""Is a change trivial: docs only, whitespace only, comments only, or a typo in text?

An environment needs a change in behaviour that a test can tell apart. A commit that fixes
"recieved" in an error message or reflows a comment gives a verifier nothing to check.

The analysis reads the fix commit's zero-context diff hunk by hunk. It errs towards
"behavioural": a wrongly kept candidate is caught later (its start state must fail the
verifier), a wrongly dropped one is lost. So a changed word counts as a typo only when it is
provably inside a string literal or a comment on its own line, is similar to the word it
replaced, and the whole change touches few words. Typos fixed in identifiers are real bugs
(an AttributeError), never typo-only.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, Field

from agents.qualify.config import QualifyConfig
from agents.qualify.records import CheckResult, DisqualifierCode
from tools.projects.paths import classify_path
from tools.repos.git import LocalRepo, unquote_path

ChangeKind = Literal[
    "behavioural",
    "docs_only",
    "tests_only",
    "whitespace_only",
    "comment_only",
    "typo_only",
    "empty",
]
HunkKind = Literal["docs", "tests", "whitespace", "comment", "typo", "behavioural"]

_HASH_COMMENTS_TEXT = (
    ".py .pyi .pyx .sh .bash .zsh .rb .pl .pm .r .jl .ex .exs .nim .cr .ps1 .toml .yml .yaml "
    ".cfg .ini .mk .cmake .php"
)
_HASH_COMMENTS = frozenset(_HASH_COMMENTS_TEXT.split())
_SLASH_COMMENTS_TEXT = (
    ".js .mjs .cjs .jsx .ts .tsx .mts .cts .go .rs .java .kt .kts .scala .groovy .c .h .cc "
    ".cpp .cxx .hh .hpp .hxx .m .mm .cs .fs .swift .php .dart .vue .svelte .sol .zig .v .sv .d "
    ".gradle .json5"
)
_SLASH_COMMENTS = frozenset(_SLASH_COMMENTS_TEXT.split())
_DASH_COMMENTS_TEXT = ".sql .lua .hs .elm"
_DASH_COMMENTS = frozenset(_DASH_COMMENTS_TEXT.split())
_QUOTES = frozenset("\"'`")
_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|\s+|.")
_TEXT_TOKEN = re.compile(r"[A-Za-z]+|\s+|['-]")
_MIN_WORD_SIMILARITY = 0.6


class Hunk(BaseModel):
    removed: list[str] = Field(default_factory=list)
    added: list[str] = Field(default_factory=list)


class FilePatch(BaseModel):
    path: str
    binary: bool = False
    hunks: list[Hunk] = Field(default_factory=list)


class ChangeAnalysis(BaseModel):
    """What kind of change a diff is, file by file."""

    kind: ChangeKind
    changed_words: int = 0
    files: dict[str, str] = Field(default_factory=dict, description="path -> kind of change")


def parse_patch(patch: str) -> list[FilePatch]:
    """Files and hunks of a unified diff (as ``git show -U0`` prints it)."""
    files: list[FilePatch] = []
    current: FilePatch | None = None
    old_path = ""
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            current = None
            old_path = ""
        elif line.startswith("--- ") and current is None:
            old_path = _patch_path(line[4:])
        elif line.startswith("+++ ") and current is None:
            new_path = _patch_path(line[4:])
            current = FilePatch(path=new_path or old_path)
            files.append(current)
        elif line.startswith("Binary files "):
            match = re.match(r"Binary files (.+) and (.+) differ$", line)
            paths = [_patch_path(p) for p in match.groups()] if match else ["(binary)"]
            files.append(FilePatch(path=paths[-1] or paths[0], binary=True))
        elif line.startswith("@@") and current is not None:
            current.hunks.append(Hunk())
        elif current is not None and current.hunks:
            if line.startswith("-"):
                current.hunks[-1].removed.append(line[1:])
            elif line.startswith("+"):
                current.hunks[-1].added.append(line[1:])
    return files


def _patch_path(raw: str) -> str:
    """``a/x.py`` -> ``x.py``; ``/dev/null`` -> empty."""
    path = unquote_path(raw.strip())
    if path == "/dev/null":
        return ""
    return path[2:] if path[:2] in {"a/", "b/"} else path


def path_kind(path: str) -> str:
    """A path's kind for judging a fix: ``classify_path``'s, except that a library's own
    ``testing`` package (``falcon/testing/``, ``numpy/testing/``: helpers it ships to its
    users) is source, not the project's tests."""
    kind = classify_path(path)
    parts = path.split("/")
    if kind == "test" and len(parts) > 2 and "testing" in parts[1:-1]:
        others = {part.lower() for part in parts[:-1] if part != "testing"}
        if not others & {"test", "tests"} and classify_path(parts[-1]) == "source":
            return "source"
    return kind


def _comment_markers(path: str) -> tuple[str, ...]:
    suffix = PurePosixPath(path).suffix.lower()
    markers: tuple[str, ...] = ()
    if suffix in _HASH_COMMENTS or PurePosixPath(path).name.lower() == "makefile":
        markers += ("#",)
    if suffix in _SLASH_COMMENTS:
        markers += ("//", "/*")
    if suffix in _DASH_COMMENTS:
        markers += ("--",)
    if suffix in {".html", ".xml", ".vue", ".svelte", ".md"}:
        markers += ("<!--",)
    return markers


def text_spans(line: str, path: str) -> list[tuple[int, int, str]]:
    """(start, end, "string" | "comment") character ranges of literals and comments on one
    line. Strings continued from earlier lines cannot be seen and count as code."""
    markers = _comment_markers(path)
    stripped = line.lstrip()
    indent = len(line) - len(stripped)
    if "/*" in markers and (stripped in {"*", "*/"} or stripped.startswith(("* ", "*/"))):
        return [(indent, len(line), "comment")]
    spans: list[tuple[int, int, str]] = []
    index = 0
    while index < len(line):
        char = line[index]
        marker = next((m for m in markers if line.startswith(m, index)), None)
        if marker is not None:
            spans.append((index, len(line), "comment"))
            break
        if char in _QUOTES:
            end = index + 1
            while end < len(line) and line[end] != char:
                end += 2 if line[end] == "\\" else 1
            spans.append((index, min(end + 1, len(line)), "string"))
            index = end + 1
            continue
        index += 1
    return spans


def _inside(position: int, spans: list[tuple[int, int, str]]) -> bool:
    return any(start <= position < end for start, end, _ in spans)


def _is_comment_line(line: str, path: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return True
    indent = len(line) - len(line.lstrip())
    return any(kind == "comment" and start == indent for start, _, kind in text_spans(line, path))


def typo_words(old_line: str, new_line: str, path: str, *, prose: bool) -> int | None:
    """How many words a typo-like edit changed, or None if the edit is more than that.

    ``prose`` lines (docs) may change anywhere; in code every changed word must sit in a
    string or comment, and each replaced word must resemble the one it replaced.
    """
    old = [(m.group(), m.start()) for m in _TOKEN.finditer(old_line)]
    new = [(m.group(), m.start()) for m in _TOKEN.finditer(new_line)]
    old_spans = [] if prose else text_spans(old_line, path)
    new_spans = [] if prose else text_spans(new_line, path)
    matcher = SequenceMatcher(a=[t for t, _ in old], b=[t for t, _ in new], autojunk=False)
    words = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old_part, new_part = old[i1:i2], new[j1:j2]
        if not all(_TEXT_TOKEN.fullmatch(token) for token, _ in old_part + new_part):
            return None
        if not prose and not (
            all(_inside(pos, old_spans) for token, pos in old_part if token.strip())
            and all(_inside(pos, new_spans) for token, pos in new_part if token.strip())
        ):
            return None
        old_words = [t for t, _ in old_part if t.isalpha()]
        new_words = [t for t, _ in new_part if t.isalpha()]
        if tag == "replace" and old_words and new_words:
            similarity = SequenceMatcher(a=" ".join(old_words), b=" ".join(new_words)).ratio()
            if similarity < _MIN_WORD_SIMILARITY:
                return None
        elif max(len(old_words), len(new_words)) > 1:
            return None  # inserting or dropping more than one word rewrites, not corrects
        words += max(len(old_words), len(new_words))
    return words


def _hunk_typo_words(hunk: Hunk, path: str) -> int | None:
    """Words changed if every line of the hunk is a typo-like edit of its counterpart."""
    if len(hunk.removed) != len(hunk.added):
        return None
    total = 0
    for old_line, new_line in zip(hunk.removed, hunk.added, strict=True):
        words = typo_words(old_line, new_line, path, prose=False)
        if words is None:
            return None
        total += words
    return total


def _classify_hunk(hunk: Hunk, path: str) -> tuple[HunkKind, int]:
    kind = path_kind(path)
    if kind == "docs":
        return "docs", 0
    if kind == "test":
        return "tests", 0
    if re.sub(r"\s+", "", "".join(hunk.removed)) == re.sub(r"\s+", "", "".join(hunk.added)):
        return "whitespace", 0
    words = _hunk_typo_words(hunk, path)
    if words is not None:
        return "typo", words
    if all(_is_comment_line(line, path) for line in hunk.removed + hunk.added):
        return "comment", 0
    return "behavioural", 0


def analyze_patch(patch: str, *, max_typo_words: int = 8) -> ChangeAnalysis:
    """Classify a whole diff by the most consequential of its hunks."""
    files = parse_patch(patch)
    per_file: dict[str, str] = {}
    kinds: set[HunkKind] = set()
    words = 0
    for file in files:
        kind = path_kind(file.path)
        if file.binary:
            file_kinds: set[HunkKind] = {
                "docs" if kind == "docs" else "tests" if kind == "test" else "behavioural"
            }
        else:
            file_kinds = set()
            for hunk in file.hunks:
                hunk_kind, hunk_words = _classify_hunk(hunk, file.path)
                file_kinds.add(hunk_kind)
                words += hunk_words
        per_file[file.path] = _dominant(file_kinds)
        kinds |= file_kinds
    kind = _change_kind(kinds, words, max_typo_words)
    return ChangeAnalysis(kind=kind, changed_words=words, files=per_file)


def _dominant(kinds: set[HunkKind]) -> str:
    for kind in ("behavioural", "typo", "comment", "whitespace", "tests", "docs"):
        if kind in kinds:
            return kind
    return "empty"


def _change_kind(kinds: set[HunkKind], words: int, max_typo_words: int) -> ChangeKind:
    if not kinds:
        return "empty"
    if "behavioural" in kinds or ("typo" in kinds and words > max_typo_words):
        return "behavioural"
    if "typo" in kinds:
        return "typo_only"
    if "comment" in kinds:
        return "comment_only"
    if "whitespace" in kinds:
        return "whitespace_only"
    if "tests" in kinds:
        return "tests_only"
    return "docs_only"


_TRIVIAL_CODES: dict[str, tuple[DisqualifierCode, str]] = {
    "docs_only": ("docs_only", "changes only documentation"),
    "typo_only": ("typo_only", "only corrects words in strings, comments or docs"),
    "whitespace_only": ("trivial_change", "changes only whitespace"),
    "comment_only": ("trivial_change", "changes only comments"),
    "tests_only": ("trivial_change", "changes only tests"),
    "empty": ("trivial_change", "changes nothing"),
}


def fix_patch(repo: LocalRepo, fix_sha: str, first: str | None = None) -> str:
    """The fix's change as a zero-context diff: its own commit, or a whole fix range."""
    if first is None:
        return repo.commit_patch(fix_sha)
    parents = repo.commit_info(first).parents
    if not parents:
        return repo.commit_patch(fix_sha)
    return repo.patch_text(parents[0], fix_sha)


def check_nontrivial_change(
    repo: LocalRepo,
    fix_sha: str | None,
    files_touched: list[str],
    config: QualifyConfig,
    first: str | None = None,
) -> CheckResult:
    """Passed: the fix (a commit, or the range from ``first``) changes behaviour. Without a
    fix, a session that touched only docs is still docs-only; otherwise there is nothing to
    judge."""
    if fix_sha is None:
        kinds = {classify_path(p) for p in files_touched}
        if kinds == {"docs"}:
            return CheckResult(
                name="nontrivial_change",
                passed=False,
                code="docs_only",
                reason="the session touched only documentation",
                evidence={"files_touched": files_touched},
            )
        return CheckResult(name="nontrivial_change", passed=None, reason="no fix commit to inspect")
    patch = fix_patch(repo, fix_sha, first)
    analysis = analyze_patch(patch, max_typo_words=config.max_typo_words)
    evidence = analysis.model_dump()
    if analysis.kind in _TRIVIAL_CODES:
        code, what = _TRIVIAL_CODES[analysis.kind]
        return CheckResult(
            name="nontrivial_change",
            passed=False,
            code=code,
            reason=f"fix commit {fix_sha[:12]} {what}",
            evidence=evidence,
        )
    return CheckResult(
        name="nontrivial_change",
        passed=True,
        reason=f"fix commit {fix_sha[:12]} changes behaviour",
        evidence=evidence,
    )
