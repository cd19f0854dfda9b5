"""Checks that need no image: the Dockerfile's text and the instruction's text.

They run before the (possibly slow) build, so a builder agent hears about an obvious leak in
a second. Dockerfile findings are warnings unless they are definitive (a file of tests/ or
solution/ is in the build context and a COPY takes it in); the image scan after the build
gives the final word either way.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import time
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from harness.task.folder import HarborTask
from tools.validation.diffs import added_lines, normalize_space, parse_unified_diff
from tools.validation.records import HiddenFacts, ValidationCheck

# An instruction sharing this many characters (whitespace collapsed) with the fix's added
# lines is quoting the solution.
SHARED_TEXT_THRESHOLD = 40
# An instruction must keep at least this share of the distinct words of the user's request.
KEPT_WORDS_THRESHOLD = 0.7
_MIN_REQUEST_WORDS = 5
_WORD = re.compile(r"[\w$%()/.+-]+")
_STOPWORDS_TEXT = (
    "the and for are but not you your with this that have has had was were will would can "
    "could should from they them their there then than what when where which who why how "
    "its it's into onto our out also just like get got all any some more most much very "
    "does did done make makes made been being one two please thanks"
)
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))
# Files this small (an empty __init__.py, "1\n") match unrelated files by chance.
MIN_COMPARED_FILE_BYTES = 24
MIN_HASH_PREFIX = 7
_MAX_TEST_FILE_BYTES = 1024 * 1024

_HEX_TOKEN = re.compile(r"\b[0-9a-fA-F]{7,40}\b")
_TEST_IDENTIFIERS = (
    re.compile(r"\bdef\s+(test_?\w+)"),  # pytest / unittest
    re.compile(r"\bclass\s+(Test\w+)"),
    re.compile(r"\bfunc\s+(Test\w+)"),  # Go
    re.compile(r"\bfn\s+(test_\w+)"),  # Rust
    re.compile(r"\b(?:void|public)\s+(test\w+)\s*\("),  # JUnit 3 style
)
# Titles of JS/TS/Ruby tests: only long ones are specific enough to count as quoted.
_TEST_TITLE = re.compile(r"\b(?:it|test|describe|context)\s*\(\s*(['\"`])(.{24,200}?)\1")
_TEST_COPY_SOURCES = {"tests", "test", "solution", "solutions", "test.sh", "solve.sh"}


class DockerInstruction(BaseModel):
    line: int
    keyword: str
    arguments: str


def parse_dockerfile(text: str) -> list[DockerInstruction]:
    """Instructions with continuation lines joined and comments dropped."""
    instructions: list[DockerInstruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued RUN are dropped by Docker too
        if not pending:
            start = number
        continuing = stripped.endswith("\\")
        pending.append(stripped[:-1].rstrip() if continuing else stripped)
        if not continuing:
            joined = " ".join(part for part in pending if part)
            keyword, _, arguments = joined.partition(" ")
            instructions.append(
                DockerInstruction(line=start, keyword=keyword.upper(), arguments=arguments.strip())
            )
            pending = []
    return instructions


def copy_sources(instruction: DockerInstruction) -> list[str]:
    """The build-context paths a COPY/ADD reads (none for COPY --from, which reads a stage)."""
    if instruction.keyword not in ("COPY", "ADD"):
        return []
    arguments = instruction.arguments
    if arguments.startswith("["):
        parts = re.findall(r'"((?:[^"\\]|\\.)*)"', arguments)
    else:
        parts = arguments.split()
    flags = [part for part in parts if part.startswith("--")]
    if any(flag.startswith("--from") for flag in flags):
        return []
    paths = [part for part in parts if not part.startswith("--")]
    sources = paths[:-1]
    return [source for source in sources if "://" not in source]


def check_dockerfile(task: HarborTask) -> ValidationCheck:
    """Lint the Dockerfile for leaks a build would bake into the image."""
    name = "static:dockerfile"
    if task.dockerfile_path is None:
        return ValidationCheck(
            name=name,
            category="static",
            passed=True,
            message="no environment/Dockerfile: the task names a prebuilt image",
        )
    instructions = parse_dockerfile(task.dockerfile_path.read_text(encoding="utf-8"))
    context = task.environment_dir
    findings: list[dict[str, object]] = []
    covered = _covered_by_copies(context, instructions)
    for copy, original in sorted(task_file_copies_in_context(task)):
        taken = copy in covered
        findings.append(
            {
                "severity": "error" if taken else "warning",
                "line": covered.get(copy),
                "finding": f"environment/{copy} is a copy of {original}"
                + (" and a COPY/ADD puts it in the image" if taken else ""),
                "fix": f"delete environment/{copy}: {original.split('/')[0]}/ must not be in "
                "the image",
            }
        )
    for instruction in instructions:
        findings.extend(_instruction_findings(instruction, instructions))
    for git_path in sorted(_git_dirs(context)):
        if git_path in covered or any(git_path.startswith(c + "/") for c in covered):
            findings.append(
                {
                    "severity": "warning",
                    "line": covered.get(git_path),
                    "finding": f"environment/{git_path} (git history) is in the build context "
                    "and a COPY/ADD takes it in",
                    "fix": "delete it from environment/, or list .git in .dockerignore",
                }
            )
    errors = [f for f in findings if f["severity"] == "error"]
    if not findings:
        return ValidationCheck(
            name=name, category="static", passed=True, message="no leak patterns found"
        )
    first = (errors or findings)[0]
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    line = f"Dockerfile line {first['line']}: " if first.get("line") else ""
    return ValidationCheck(
        name=name,
        category="static",
        passed=False,
        severity="error" if errors else "warning",
        message=f"{line}{first['finding']} — {first['fix']}{more}",
        evidence={"findings": findings},
    )


def task_file_copies_in_context(task: HarborTask) -> set[tuple[str, str]]:
    """(context path, task path) pairs where environment/ holds a copy of a tests/solution file."""
    wanted = {digest: relative for relative, digest in hidden_task_files(task).items() if digest}
    copies: set[tuple[str, str]] = set()
    for path in _files(task.environment_dir):
        if path.stat().st_size < MIN_COMPARED_FILE_BYTES:
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in wanted:
            copies.add((path.relative_to(task.environment_dir).as_posix(), wanted[digest]))
    return copies


def hidden_task_files(task: HarborTask) -> dict[str, str]:
    """Task-relative path -> sha256 of every file in tests/ and solution/ worth comparing."""
    found: dict[str, str] = {}
    for folder in (task.tests_dir, task.solution_dir):
        for path in _files(folder):
            if path.stat().st_size >= MIN_COMPARED_FILE_BYTES:
                relative = path.relative_to(task.root).as_posix()
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _git_dirs(context: Path) -> set[str]:
    return {p.relative_to(context).as_posix() for p in context.rglob(".git")}


def _covered_by_copies(context: Path, instructions: list[DockerInstruction]) -> dict[str, int]:
    """Context-relative path -> line of the first COPY/ADD that takes it into the image."""
    ignored = _dockerignore(context)
    covered: dict[str, int] = {}
    candidates = [p.relative_to(context).as_posix() for p in context.rglob("*")]
    for instruction in instructions:
        for source in copy_sources(instruction):
            pattern = str(PurePosixPath(source.lstrip("/"))).removeprefix("./")
            for relative in candidates:
                if relative in covered or _ignored(relative, ignored):
                    continue
                if pattern in ("", ".") or _under(relative, pattern):
                    covered[relative] = instruction.line
    return covered


def _under(relative: str, pattern: str) -> bool:
    parts = PurePosixPath(relative).parts
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        if prefix == pattern or fnmatch.fnmatchcase(prefix, pattern):
            return True
    return False


def _dockerignore(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    # Negations ("!keep") are ignored: the scan of the built image is the final word anyway.
    return [line.strip("/") for line in lines if line and not line.startswith(("#", "!"))]


def _ignored(relative: str, patterns: list[str]) -> bool:
    return any(_under(relative, pattern.removeprefix("**/")) for pattern in patterns) or any(
        fnmatch.fnmatchcase(PurePosixPath(relative).name, pattern.removeprefix("**/"))
        for pattern in patterns
        if pattern.startswith("**/")
    )


def _instruction_findings(
    instruction: DockerInstruction, instructions: list[DockerInstruction]
) -> list[dict[str, object]]:
    findings: list[dict[str, object]] = []
    for source in copy_sources(instruction):
        parts = set(PurePosixPath(source).parts)
        if parts & _TEST_COPY_SOURCES:
            findings.append(
                {
                    "severity": "warning",
                    "line": instruction.line,
                    "finding": f"{instruction.keyword} {source} looks like tests or a solution",
                    "fix": "the runner copies tests/ to /tests only at verification; do not "
                    "build tests or the solution into the image",
                }
            )
    if instruction.keyword == "RUN":
        command = instruction.arguments
        # Global options may stand between `git` and its command (`git -c k=v init`).
        makes_history = re.search(
            r"\bgit(?:\s+(?:-[cC]\s+\S+|--?[\w-]+(?:=\S+)?))*\s+(clone|init)\b", command
        )
        later = instructions[instructions.index(instruction) :]
        removes = any(
            re.search(r"\brm\b[^;&|]*\.git\b", other.arguments)
            for other in later
            if other.keyword == "RUN"
        )
        if makes_history and not removes:
            findings.append(
                {
                    "severity": "warning",
                    "line": instruction.line,
                    "finding": f"`git {makes_history.group(1)}` leaves a .git with the repo's "
                    "history",
                    "fix": "remove it in the same RUN (`&& rm -rf <repo>/.git`): history can "
                    "hold the fix",
                }
            )
    is_first_from = instructions.index(instruction) == _first_from(instructions)
    if is_first_from and "BASE_IMAGE" not in instruction.arguments:
        findings.append(
            {
                "severity": "warning",
                "line": instruction.line,
                "finding": f"FROM {instruction.arguments} ignores kettle's base image",
                "fix": "start with `ARG BASE_IMAGE=kettle/base:bookworm` and "
                "`FROM ${BASE_IMAGE}` unless the task needs another base",
            }
        )
    return findings


def _first_from(instructions: list[DockerInstruction]) -> int:
    for index, instruction in enumerate(instructions):
        if instruction.keyword == "FROM":
            return index
    return -1


def shared_runs(text: str, source: str, min_length: int) -> list[str]:
    """Maximal runs of ``text`` (at least ``min_length`` long) that also occur in ``source``."""
    runs: list[str] = []
    start = 0
    while start + min_length <= len(text):
        if text[start : start + min_length] not in source:
            start += 1
            continue
        end = start + min_length
        while end < len(text) and text[start : end + 1] in source:
            end += 1
        runs.append(text[start:end])
        start = end
    return runs


def check_instruction_quotes_fix(task: HarborTask, hidden: HiddenFacts) -> ValidationCheck:
    """instruction.md must not share a long run of text with the lines the fix adds."""
    started = _clock()
    changes = parse_unified_diff(hidden.fix_diff or "")
    fix_text = normalize_space(" ".join(line for c in changes for line in added_lines(c)))
    # Quoting the buggy code is fine (the agent can read it anyway): a run only counts when
    # it is not also text of the old version, e.g. when a fix changes one token of a line.
    old_text = normalize_space(" ".join(line for c in changes for line in c.removed + c.context))
    instruction = normalize_space(task.instruction)
    runs = sorted(
        (
            run
            for run in shared_runs(instruction, fix_text, SHARED_TEXT_THRESHOLD)
            if run not in old_text
        ),
        key=len,
        reverse=True,
    )
    name = "leak:instruction_quotes_fix"
    if not runs:
        return ValidationCheck(
            name=name,
            category="leak",
            passed=True,
            message=f"instruction.md shares no run of {SHARED_TEXT_THRESHOLD}+ characters with "
            "the fix",
            evidence={"fix_files": [c.path for c in changes]},
            duration_sec=round(_clock() - started, 3),
        )
    return ValidationCheck(
        name=name,
        category="leak",
        passed=False,
        message=f"instruction.md quotes the fix ({len(runs[0])} characters in common, e.g. "
        f"{_short(runs[0])!r}): describe the wanted behaviour, not the code that produces it",
        evidence={"shared_text": runs[:5], "fix_files": [c.path for c in changes]},
        duration_sec=round(_clock() - started, 3),
    )


def check_instruction_secrets(task: HarborTask, hidden: HiddenFacts) -> ValidationCheck:
    """instruction.md must not name the fix or start commit, the hidden tests, or any secret."""
    started = _clock()
    text = task.instruction
    found: dict[str, list[str]] = {}
    commits = {
        label: commit.lower()
        for label, commit in (
            ("fix_commit", hidden.fix_commit),
            ("start_commit", hidden.start_commit),
        )
        if commit
    }
    for token in _HEX_TOKEN.findall(text):
        for label, commit in commits.items():
            if len(token) >= MIN_HASH_PREFIX and commit.startswith(token.lower()):
                found.setdefault("commit_hashes", []).append(f"{token} ({label})")
    names = hidden_test_names(task.tests_dir)
    lowered = text.lower()
    for test_name in sorted(names):
        if " " in test_name:
            hit = test_name.lower() in lowered
        else:
            hit = re.search(rf"\b{re.escape(test_name)}\b", text) is not None
        if hit:
            found.setdefault("test_names", []).append(test_name)
    for secret in hidden.extra_secrets:
        if secret.strip() and secret.lower() in lowered:
            found.setdefault("secrets", []).append(secret)
    name = "leak:instruction_secrets"
    if not found:
        return ValidationCheck(
            name=name,
            category="leak",
            passed=True,
            message="instruction.md names no commit, hidden test or secret",
            evidence={"test_names_checked": len(names)},
            duration_sec=round(_clock() - started, 3),
        )
    kinds = ", ".join(f"{kind.replace('_', ' ')}: {', '.join(v)}" for kind, v in found.items())
    return ValidationCheck(
        name=name,
        category="leak",
        passed=False,
        message=f"instruction.md gives away hidden facts ({_short(kinds, 160)}): remove them; "
        "the instruction speaks as the user, who names neither commits nor hidden tests",
        evidence=found,
        duration_sec=round(_clock() - started, 3),
    )


def request_words(text: str) -> set[str]:
    """The distinct words that carry a request: lower-cased, punctuation at the ends
    dropped, short words and common function words left out; numbers and code kept."""
    words = set()
    for raw in _WORD.findall(text.lower()):
        word = raw.strip(".,;:!?()/-+")
        if word and (len(word) >= 3 or any(c.isdigit() for c in word)) and word not in _STOPWORDS:
            words.add(word)
    return words


def check_instruction_keeps_request(task: HarborTask, hidden: HiddenFacts) -> ValidationCheck:
    """instruction.md must still carry the user's request: a builder that rewrites it may
    clarify and add, but not replace the user's words with its own summary or another task."""
    started = _clock()
    name = "static:instruction_request"
    request = request_words(hidden.user_request or "")
    if len(request) < _MIN_REQUEST_WORDS:
        return ValidationCheck(
            name=name,
            category="static",
            passed=True,
            message=f"the user's request has fewer than {_MIN_REQUEST_WORDS} words to compare",
            duration_sec=round(_clock() - started, 3),
        )
    kept = request & request_words(task.instruction)
    share = len(kept) / len(request)
    missing = sorted(request - kept)
    evidence = {"kept_words": len(kept), "request_words": len(request), "missing": missing[:20]}
    if share >= KEPT_WORDS_THRESHOLD:
        return ValidationCheck(
            name=name,
            category="static",
            passed=True,
            message=f"instruction.md keeps {share:.0%} of the words of the user's request",
            evidence=evidence,
            duration_sec=round(_clock() - started, 3),
        )
    return ValidationCheck(
        name=name,
        category="static",
        passed=False,
        message=f"instruction.md no longer carries the user's request: it keeps {share:.0%} of "
        f"its words (at least {KEPT_WORDS_THRESHOLD:.0%} needed; missing e.g. "
        f"{', '.join(missing[:8])}). Keep the user's own words; you may add a clarification "
        "after them, not replace them",
        evidence={**evidence, "user_request": hidden.user_request},
        duration_sec=round(_clock() - started, 3),
    )


def hidden_test_names(tests_dir: Path) -> set[str]:
    """Test function/class names and long test titles found in the task's test files."""
    names: set[str] = set()
    for path in _files(tests_dir):
        if path.stat().st_size > _MAX_TEST_FILE_BYTES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in _TEST_IDENTIFIERS:
            names.update(match for match in pattern.findall(text) if len(match) > 5)
        names.update(title for _quote, title in _TEST_TITLE.findall(text))
    return names


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _clock() -> float:
    return time.monotonic()
