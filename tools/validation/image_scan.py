"""Leak scans of a built image, run as root in one container started from it (no network).

The scans use only ``find``, ``grep``, ``sha256sum`` and ``xargs`` inside the image (present
in Debian and busybox images alike); archives (wheels, tarballs, pip's cache) are copied
out and opened on the host, so no scan depends on the image having Python.
"""

from __future__ import annotations

import gzip
import io
import shlex
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.errors import SandboxError
from harness.sandbox.records import Sandbox
from harness.task.folder import HarborTask
from tools.repos.git import LocalRepo
from tools.validation.diffs import (
    FileChange,
    added_lines,
    copy_of_fix,
    is_distinctive,
    parse_unified_diff,
)
from tools.validation.records import HiddenFacts, ValidationCheck
from tools.validation.static import hidden_task_files

SCAN_DIR = "/tmp/.kettle-scan"
_SCAN_TIMEOUT_SEC = 600
_MAX_SCANNED_FILE = "-20M"  # find -size: text worth grepping is smaller than this
_MAX_ARCHIVE_BYTES = 50 * 1024 * 1024
_MAX_ARCHIVES_TOTAL_BYTES = 300 * 1024 * 1024
_MAX_MEMBER_BYTES = 5 * 1024 * 1024
_MIN_SECRET_CHARS = 4
_FIX_COMMIT_PREFIX = 12  # shorter prefixes of a hash match random bytes in binaries
# A fixed file's copies are few (site-packages, a cache, a wheel); a line in more files than
# this is boilerplate, not a trace of the fix.
_COMMON_LINE_FILES = 25
# Where pip, npm and friends keep downloads; anything there may be a copy of the fixed code.
_CACHE_PATHS = ("*/.cache/pip/*", "*/.npm/_cacache/*", "*/.cache/yarn/*", "*/pip-wheel-*")
_ARCHIVE_NAMES = ("*.whl", "*.zip", "*.egg", "*.tar", "*.tar.gz", "*.tgz", "*.tar.bz2", "*.tar.xz")
_SYSTEM_DOCS = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*")


def _find_prefix() -> str:
    return f"find / -xdev ! -path '{SCAN_DIR}/*'"


def _run(sandbox: Sandbox, script: str) -> str:
    result = sandbox.exec(["sh", "-c", script], user="0", timeout_sec=_SCAN_TIMEOUT_SEC)
    if result.timed_out:
        raise SandboxError(f"image scan ran past {_SCAN_TIMEOUT_SEC}s: {script[:80]}")
    return result.stdout


def scan_git(sandbox: Sandbox) -> ValidationCheck:
    """No git metadata anywhere: a .git (dir or file) or a bare repository."""
    started = time.monotonic()
    output = _run(
        sandbox,
        f"{_find_prefix()} -name .git -print 2>/dev/null; "
        f"{_find_prefix()} -type d -name objects 2>/dev/null | while read -r d; do "
        'p="${d%/objects}"; [ -f "$p/HEAD" ] && [ -d "$p/refs" ] && echo "$p"; done',
    )
    paths = sorted({line for line in output.splitlines() if line.strip()})
    # A bare-repo hit inside a .git already listed says the same thing twice.
    paths = [p for p in paths if not any(p != q and p.startswith(q + "/") for q in paths)]
    if not paths:
        return _check("leak:git", True, "no .git or bare repository in the image", {}, started)
    return _check(
        "leak:git",
        False,
        f"git metadata in the image at {', '.join(paths[:3])}"
        + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")
        + ": its history can hold the fix; delete it in the Dockerfile step that created it "
        "(`rm -rf <repo>/.git`)",
        {"paths": paths},
        started,
    )


def scan_task_files(sandbox: Sandbox, task: HarborTask) -> ValidationCheck:
    """No file of tests/ or solution/ anywhere in the image (compared by content hash)."""
    started = time.monotonic()
    wanted = hidden_task_files(task)
    sizes = sorted({(task.root / relative).stat().st_size for relative in wanted})
    found: dict[str, list[str]] = {}
    for chunk in _chunks(sizes, 200):
        size_test = " -o ".join(f"-size {size}c" for size in chunk)
        output = _run(
            sandbox,
            f"{_find_prefix()} -type f \\( {size_test} \\) -print0 2>/dev/null "
            "| xargs -0 -r sha256sum 2>/dev/null",
        )
        by_digest: dict[str, list[str]] = {}
        for line in output.splitlines():
            digest, _, path = line.partition("  ")
            by_digest.setdefault(digest, []).append(path)
        for relative, digest in wanted.items():
            if digest in by_digest:
                found[relative] = sorted(by_digest[digest])
    evidence = {"compared_files": len(wanted), "copies": found}
    if not found:
        return _check(
            "leak:task_files",
            True,
            f"none of the {len(wanted)} files of tests/ and solution/ is in the image",
            evidence,
            started,
        )
    first = next(iter(found))
    return _check(
        "leak:task_files",
        False,
        f"{len(found)} file(s) of tests/ or solution/ are in the image ({first} at "
        f"{found[first][0]}): keep them out of environment/; tests arrive only at verification",
        evidence,
        started,
    )


def fix_lines(changes: list[FileChange]) -> dict[str, list[str]]:
    """Per changed file, the distinctive lines the fix adds: what the image is searched for."""
    return {
        change.path: [line for line in added_lines(change) if is_distinctive(line)]
        for change in changes
    }


def start_counts(
    fix_diff: str, read_start: Callable[[str], str | None]
) -> dict[str, dict[str, int]]:
    """How often each line of ``fix_lines`` occurs in the start commit's version of its file
    (``read_start(path)``; None when the fix creates the file)."""
    counts: dict[str, dict[str, int]] = {}
    for path, lines in fix_lines(parse_unified_diff(fix_diff)).items():
        text = read_start(path)
        if text is not None:
            counts[path] = {line: text.count(line) for line in lines}
    return counts


def start_counts_in(repo: LocalRepo, start: str, fix_diff: str) -> dict[str, dict[str, int]]:
    """``start_counts`` of ``fix_diff``'s lines in ``repo`` at ``start``: without them a fix
    that adds a line its file already has (a test helper, a ``def meth(self, x)``) reads
    as a start state that already holds the fix."""

    def read_start(path: str) -> str | None:
        data = repo.read_file(start, path)
        return None if data is None else data.decode("utf-8", errors="replace")

    return start_counts(fix_diff, read_start)


class FixSearch:
    """What to search the image for: the fix's distinctive lines per file, and secrets."""

    def __init__(self, hidden: HiddenFacts) -> None:
        self.changes: list[FileChange] = parse_unified_diff(hidden.fix_diff or "")
        self.lines: dict[str, list[str]] = fix_lines(self.changes)
        self.start_counts = hidden.start_counts
        secrets = [s.strip() for s in hidden.extra_secrets if len(s.strip()) >= _MIN_SECRET_CHARS]
        # grep -F takes one pattern per line: a multi-line secret is searched by its longest line.
        self.secrets = [max(s.splitlines(), key=len) for s in secrets]
        if hidden.fix_commit and len(hidden.fix_commit) >= _FIX_COMMIT_PREFIX:
            self.secrets.append(hidden.fix_commit.lower()[:_FIX_COMMIT_PREFIX])
        self.already_fixed: dict[str, list[str]] = {}
        self.start_files: dict[str, str] = {}
        self.common_lines: list[str] = []

    def calibrate(self, sandbox: Sandbox, workdir: str) -> None:
        """Drop lines the start-state version of their file already has: they prove nothing.

        If a file's start state already holds the fix's lines, the image holds the fixed
        version at its own place; that is recorded in ``already_fixed``.
        """
        for path, lines in self.lines.items():
            located = _locate(sandbox, workdir, path)
            if located is None:
                continue
            location, text = located
            self.start_files[path] = location
            present = [line for line in lines if line in text]
            known = self.start_counts.get(path)
            # With the start commit's counts, a line proves the fix only if the image has it
            # more often than the start commit does (a fix may copy a guard its file has).
            beyond_start = (
                [line for line in present if text.count(line) > known.get(line, 0)]
                if known is not None
                else present
            )
            fixed = copy_of_fix(set(beyond_start), lines)
            if fixed:
                self.already_fixed[path] = fixed
            self.lines[path] = [line for line in lines if line not in present]

    def drop_common(self, matches: dict[str, set[str]]) -> None:
        """Forget fix lines found in many files of the image: boilerplate any code has
        (``from __future__ import annotations``) proves nothing about where the fix is."""
        files_with: dict[str, int] = {}
        for found in matches.values():
            for line in found:
                files_with[line] = files_with.get(line, 0) + 1
        common = {
            line
            for line, count in files_with.items()
            if count > _COMMON_LINE_FILES and line not in self.secrets
        }
        if common:
            self.common_lines = sorted(common)
            self.lines = {
                path: [x for x in lines if x not in common] for path, lines in self.lines.items()
            }

    @property
    def patterns(self) -> list[str]:
        unique = {line for lines in self.lines.values() for line in lines} | set(self.secrets)
        return sorted(unique)

    def copies(self, found: set[str]) -> dict[str, list[str]]:
        """Fix file -> its lines in ``found``, for every fix file ``found`` is a copy of."""
        result: dict[str, list[str]] = {}
        for path, lines in self.lines.items():
            present = copy_of_fix(found, lines) if lines else []
            if present:
                result[path] = present
        return result


def scan_contents(
    sandbox: Sandbox, hidden: HiddenFacts, workdir: str, staging: Path
) -> list[ValidationCheck]:
    """Search every file (and archive) of the image for the fix's lines and for secrets."""
    started = time.monotonic()
    search = FixSearch(hidden)
    search.calibrate(sandbox, workdir)
    matches: dict[str, set[str]] = {}
    archives_scanned: list[str] = []
    if search.patterns:
        sandbox.write_file(f"{SCAN_DIR}/patterns", "\n".join(search.patterns) + "\n")
        matches = _grep_image(sandbox, search.patterns)
        archives_scanned = _scan_archives(sandbox, search.patterns, staging, matches)
        search.drop_common(matches)
    copies: dict[str, dict[str, list[str]]] = {}
    secrets: dict[str, list[str]] = {}
    for location, found in sorted(matches.items()):
        for fix_file, lines in search.copies(found).items():
            copies.setdefault(fix_file, {})[location] = lines
        named = sorted(found & set(search.secrets))
        if named:
            secrets[location] = named
    checks = []
    if search.changes:
        checks.append(_fix_check(search, copies, archives_scanned, started))
    if search.secrets:
        checks.append(_secrets_check(secrets, search.secrets, started))
    return checks


def _fix_check(
    search: FixSearch,
    copies: dict[str, dict[str, list[str]]],
    archives: list[str],
    started: float,
) -> ValidationCheck:
    evidence: dict[str, object] = {
        "searched_lines": search.lines,
        "start_state_files": search.start_files,
        "archives_scanned": len(archives),
        "common_lines": search.common_lines,
    }
    if search.already_fixed:
        path, lines = next(iter(search.already_fixed.items()))
        evidence["already_fixed"] = search.already_fixed
        return _check(
            "leak:fix_in_image",
            False,
            f"the start state already holds the fix: {search.start_files[path]} contains "
            f"{len(lines)} of the lines the fix adds (e.g. {lines[0]!r}); build the image from "
            "the start commit, not the fixed one",
            evidence,
            started,
        )
    if copies:
        evidence["copies"] = copies
        fix_file, where = next(iter(copies.items()))
        location, lines = next(iter(where.items()))
        total = sum(len(w) for w in copies.values())
        return _check(
            "leak:fix_in_image",
            False,
            f"the fixed {fix_file} is in the image at {location} ({len(lines)} added line(s), "
            f"e.g. {lines[0]!r}"
            + (f"; {total - 1} more location(s)" if total > 1 else "")
            + "): remove it (leftover patches, pip caches and installed copies of the fixed "
            "code all count)",
            evidence,
            started,
        )
    searched = sum(len(lines) for lines in search.lines.values())
    return _check(
        "leak:fix_in_image",
        True,
        f"none of the fix's {searched} distinctive added line(s) is anywhere in the image",
        evidence,
        started,
    )


def _secrets_check(
    found: dict[str, list[str]], secrets: list[str], started: float
) -> ValidationCheck:
    if not found:
        return _check(
            "leak:secrets_in_image",
            True,
            f"none of the {len(secrets)} secret string(s) is in the image",
            {"searched": len(secrets)},
            started,
        )
    location, named = next(iter(found.items()))
    return _check(
        "leak:secrets_in_image",
        False,
        f"the image holds hidden facts: {named[0]!r} in {location}"
        + (f" (+{len(found) - 1} more files)" if len(found) > 1 else "")
        + ": remove them (a fix commit in pip's direct_url.json means the fixed version was "
        "installed)",
        {"found": found},
        started,
    )


def _locate(sandbox: Sandbox, workdir: str, path: str) -> tuple[str, str] | None:
    """The start-state copy of a repo file: under the workdir, else the first path ending so."""
    text = _read_text(sandbox, f"{workdir.rstrip('/')}/{path}")
    if text is not None:
        return f"{workdir.rstrip('/')}/{path}", text
    output = _run(
        sandbox,
        f"{_find_prefix()} -type f -path {shlex.quote('*/' + path)} 2>/dev/null | head -n 5",
    )
    for candidate in (line for line in output.splitlines() if line.strip()):
        text = _read_text(sandbox, candidate)
        if text is not None:
            return candidate, text
    return None


def _read_text(sandbox: Sandbox, path: str) -> str | None:
    try:
        return sandbox.read_file(path, max_bytes=_MAX_MEMBER_BYTES).decode("utf-8", "replace")
    except SandboxError:
        return None


def _grep_image(sandbox: Sandbox, patterns: list[str]) -> dict[str, set[str]]:
    output = _run(
        sandbox,
        f"{_find_prefix()} -type f -size {_MAX_SCANNED_FILE} -print0 2>/dev/null "
        f"| xargs -0 -r grep -aoHF -f {SCAN_DIR}/patterns -- 2>/dev/null "
        "| sort -u | head -n 20000",
    )
    # Each line is "<path>:<pattern>"; paths may hold colons, patterns are known.
    by_length = sorted(patterns, key=len, reverse=True)
    matches: dict[str, set[str]] = {}
    for line in output.splitlines():
        for pattern in by_length:
            if line.endswith(":" + pattern):
                matches.setdefault(line[: -len(pattern) - 1], set()).add(pattern)
                break
    return matches


def _scan_archives(
    sandbox: Sandbox, patterns: list[str], staging: Path, matches: dict[str, set[str]]
) -> list[str]:
    """Open wheels, tarballs and cached downloads on the host; add their hits to ``matches``."""
    names = " -o ".join(f"-name '{name}'" for name in _ARCHIVE_NAMES)
    caches = " -o ".join(f"-path '{path}'" for path in _CACHE_PATHS)
    skip = " ".join(f"! -path '{path}'" for path in _SYSTEM_DOCS)
    output = _run(
        sandbox,
        f"{_find_prefix()} -type f -size -{_MAX_ARCHIVE_BYTES // 1024}k "
        f"\\( {names} -o {caches} \\) {skip} -exec ls -ln {{}} + 2>/dev/null",
    )
    listed: list[tuple[str, int]] = []
    for line in output.splitlines():
        fields = line.split(None, 8)
        if len(fields) == 9 and fields[4].isdigit():
            listed.append((fields[8], int(fields[4])))
    scanned: list[str] = []
    budget = _MAX_ARCHIVES_TOTAL_BYTES
    staging.mkdir(parents=True, exist_ok=True)
    for index, (path, size) in enumerate(sorted(listed, key=lambda item: item[1])):
        if size > budget:
            break
        budget -= size
        local = staging / f"archive-{index}"
        try:
            sandbox.copy_out(path, local)
        except SandboxError:
            continue
        scanned.append(path)
        for member, text in archive_texts(local):
            found = {pattern for pattern in patterns if pattern in text}
            if found:
                matches.setdefault(f"{path}!{member}", set()).update(found)
        local.unlink(missing_ok=True)
    return scanned


def archive_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(member name, text) for the members of a zip, tar or gzip file; nothing otherwise."""
    try:
        head = path.read_bytes()[:4]
        if head.startswith(b"PK"):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.is_dir() and info.file_size <= _MAX_MEMBER_BYTES:
                        yield info.filename, archive.read(info).decode("utf-8", "replace")
            return
        if tarfile.is_tarfile(path):
            with tarfile.open(path, "r:*") as archive:
                for member in archive:
                    if member.isfile() and member.size <= _MAX_MEMBER_BYTES:
                        handle = archive.extractfile(member)
                        if handle is not None:
                            yield member.name, handle.read().decode("utf-8", "replace")
            return
        if head.startswith(b"\x1f\x8b"):
            with gzip.open(path) as handle:
                yield "(gzip)", handle.read(_MAX_MEMBER_BYTES).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, io.UnsupportedOperation):
        return


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check(
    name: str, passed: bool, message: str, evidence: dict[str, object], started: float
) -> ValidationCheck:
    return ValidationCheck(
        name=name,
        category="leak",
        passed=passed,
        message=message,
        evidence=evidence,
        duration_sec=round(time.monotonic() - started, 3),
    )
