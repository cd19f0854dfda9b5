"""A project's own test command in a container, and applying an oracle's solve.sh: the
host-side checks that a reconstructed environment runs its tests at all."""

from __future__ import annotations

from pathlib import Path

from harness.sandbox.container import DockerSandbox
from harness.text import strip_ansi
from tools.projects.records import SuiteRun

_SUITE_TIMEOUT_SEC = 600


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
