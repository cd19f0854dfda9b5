"""A project's own test command in a container, and applying an oracle's solve.sh: the
host-side checks that a reconstructed environment runs its tests at all."""

from __future__ import annotations

import re
from pathlib import Path

from harness.sandbox.container import DockerSandbox
from harness.text import strip_ansi
from tools.projects.records import SuiteRun

_SUITE_TIMEOUT_SEC = 600

# The summary lines test runners print, each with the number of tests it ran (or its parts).
_PYTEST_SUMMARY = re.compile(
    r"^=*\s*((?:\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|"
    r"rerun)(?:, )?)+) in [\d.]+s"
)
_PYTEST_PART = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
_COUNTS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^Ran (\d+) tests? in"),  # unittest
    re.compile(r"^(?:#|ℹ) tests (\d+)$"),  # node --test (TAP, spec)
    re.compile(r"^Tests:\s+.*?(\d+) total"),  # jest
    re.compile(r"^\s*Tests\s+.*\((\d+)\)$"),  # vitest
    re.compile(r"^(\d+) examples?, \d+ failures?"),  # rspec
    re.compile(r"^test result: \w+\. (\d+) passed"),  # cargo (its failed ones come next)
    re.compile(r"^OK \((\d+) tests?"),  # phpunit
    re.compile(r"^Tests: (\d+), Assertions"),  # phpunit with failures
    re.compile(r"^1\.\.(\d+)$"),  # a TAP plan
)
_MOCHA = re.compile(r"^\s*(\d+) (passing|failing|pending)\b")
_NO_TESTS = re.compile(
    r"(no tests ran|collected 0 items|no test files|No tests found|^# tests 0$|"
    r"Ran 0 tests|^0 passing)",
    re.MULTILINE,
)
_COLLECTION_ERROR = re.compile(
    r"(errors? during collection|^ERROR collecting |ImportError while importing test module)",
    re.MULTILINE,
)


def apply_solution(sandbox: DockerSandbox, solution_dir: Path) -> tuple[bool, str]:
    """Run solution/solve.sh as the oracle would; (succeeded, its output's tail)."""
    sandbox.copy_in(solution_dir, "/solution")
    result = sandbox.exec(
        ["bash", "/solution/solve.sh"],
        timeout_sec=600,
        user="0",
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )
    return result.ok, (result.stdout + result.stderr).strip()[-2000:]


def run_suite(
    sandbox: DockerSandbox, command: str, *, workdir: str, ran_codes: tuple[int, ...] = (0, 1)
) -> SuiteRun:
    """The project's own test command, to show its tests run at all (failures allowed)."""
    result = sandbox.exec(
        ["bash", "-c", command], timeout_sec=_SUITE_TIMEOUT_SEC, workdir=workdir, user="0"
    )
    output = strip_ansi(result.stdout + result.stderr)
    lines = [line for line in output.splitlines() if line.strip()]
    summary = _summary_line(lines)
    return SuiteRun(
        command=command,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        ran=not result.timed_out and result.exit_code in ran_codes,
        summary=summary,
    )


def tests_run(output: str) -> int | None:
    """How many tests a test command ran, read from its runner's summary (pytest, unittest,
    node --test, jest, vitest, mocha, rspec, cargo, phpunit, TAP); None when the output
    has no summary kettle can read, 0 when the runner says it ran none."""
    counts: list[int] = []
    mocha = 0
    for raw in strip_ansi(output).splitlines():
        line = raw.strip()
        pytest = _PYTEST_SUMMARY.match(line)
        if pytest:
            counts.append(sum(int(number) for number, _ in _PYTEST_PART.findall(pytest[1])))
            continue
        mocha += sum(int(match[1]) for match in [_MOCHA.match(raw)] if match)
        counts += [int(match[1]) for pattern in _COUNTS for match in [pattern.match(line)] if match]
    if mocha:
        counts.append(mocha)
    if counts:
        return max(counts)
    return 0 if _NO_TESTS.search(strip_ansi(output)) else None


def collection_failed(output: str) -> bool:
    """The runner could not load some test files (pytest's collection errors)."""
    return bool(_COLLECTION_ERROR.search(strip_ansi(output)))


def _summary_line(lines: list[str]) -> str:
    """pytest's "3 passed, 1 failed in 0.2s", node's "# pass 3", or the last line."""
    for line in reversed(lines):
        stripped = line.strip("= ").strip()
        if any(word in stripped for word in (" passed", " failed", " error", "no tests ran")):
            return stripped[:300]
    counts = [line.strip() for line in lines if line.startswith(("# pass", "# fail", "# tests"))]
    if counts:
        return ", ".join(counts)[:300]
    return lines[-1][:300] if lines else ""
