"""Running a project's tests in containers and reading per-test outcomes (host side).

Per-test outcomes come from the judge that ships with every baseline verifier
(``agents/verifier/judge.py``): the builder runs the very ``test.sh`` it is writing, in
report-only mode, once at the start state and again after ``solve.sh``. Which tests go
from failing to passing (fail-to-pass) and which pass both times (pass-to-pass) is then
a comparison of two outcome maps, and the verifier that ships judges with the same code
that measured it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from agents.verifier import judge as verifier_judge
from agents.verifier.files import TESTS_MOUNT, RuntimeFacts
from harness.errors import KettleError, SandboxError
from harness.sandbox.container import DockerSandbox
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec

PASSED = verifier_judge.PASSED
_SCAN_PATH = "/tmp/kettle-judge.py"
_SCAN_TIMEOUT_SEC = 300
_JUDGE_TIMEOUT_SEC = 1800
_SUITE_TIMEOUT_SEC = 600


class JudgeRun(BaseModel):
    """What one run of a baseline test.sh reported (its outcomes.json), plus its output."""

    reward: float
    reason: str
    tests: dict[str, str] = Field(default_factory=dict)
    integrity_problems: list[str] = Field(default_factory=list)
    removed_hooks: list[str] = Field(default_factory=list)
    not_passed: dict[str, str] = Field(default_factory=dict)
    runs: list[dict[str, object]] = Field(default_factory=list)
    output: str = ""


class Transitions(BaseModel):
    """How the fix's tests fared before and after the fix."""

    fail_to_pass: list[str] = Field(default_factory=list)
    pass_to_pass: list[str] = Field(default_factory=list)
    flaky: list[str] = Field(default_factory=list, description="Passed in some runs after only")
    fail_to_fail: list[str] = Field(default_factory=list)
    pass_to_fail: list[str] = Field(default_factory=list)

    @property
    def expected(self) -> list[str]:
        return sorted({*self.fail_to_pass, *self.pass_to_pass})


class SuiteRun(BaseModel):
    """The project's own test command at some state: did it run, and what did it say."""

    command: str
    exit_code: int | None
    timed_out: bool = False
    ran: bool = Field(description="The runner ran the suite (tests may still fail)")
    summary: str = ""


def transitions(before: Mapping[str, str], afters: Sequence[Mapping[str, str]]) -> Transitions:
    """Compare one start-state run with one or more runs after the fix.

    A test counts as passing after the fix only if it passed in every run after it; one
    that passed in some only is flaky and left out of the verdict.
    """
    if not afters:
        raise ValueError("at least one run after the fix is needed")
    seen = set(before).union(*afters)
    passed_after = {test for test in seen if all(run.get(test) == PASSED for run in afters)}
    sometimes = {test for test in seen if any(run.get(test) == PASSED for run in afters)}
    passed_before = {test for test in seen if before.get(test) == PASSED}
    return Transitions(
        fail_to_pass=sorted(passed_after - passed_before),
        pass_to_pass=sorted(passed_after & passed_before),
        flaky=sorted(sometimes - passed_after),
        fail_to_fail=sorted(seen - sometimes - passed_before),
        pass_to_fail=sorted(passed_before - sometimes),
    )


def scan_image(
    engine: DockerEngine,
    image: str,
    *,
    kind: str,
    run_id: str,
    workdir: str = "/app",
    venv: str | None = None,
) -> RuntimeFacts:
    """Run ``judge.py scan`` in a fresh container of ``image`` (no network)."""
    spec = SandboxSpec(image=image, run_id=run_id, role="verifier", network="none")
    with engine.start(spec) as sandbox:
        sandbox.write_file(_SCAN_PATH, Path(verifier_judge.__file__).read_bytes())
        args = [kind, workdir, *([venv] if venv else [])]
        result = sandbox.exec(
            # The image's python3, whichever comes first on its PATH: with -I -S a venv's
            # python is the plain interpreter, and test.sh calls it by its real path.
            ["python3", "-I", "-S", _SCAN_PATH, "scan", *args],
            timeout_sec=_SCAN_TIMEOUT_SEC,
            user="0",
        )
    if not result.ok:
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:]
        raise SandboxError(f"could not scan {image} for the verifier: {reason}")
    return RuntimeFacts.model_validate_json(result.stdout)


def run_judge(sandbox: DockerSandbox, tests_dir: Path) -> JudgeRun:
    """Copy ``tests_dir`` to /tests, run its test.sh as the verifier would, read the result."""
    reset = sandbox.exec(
        f"rm -rf {TESTS_MOUNT} /logs/verifier && mkdir -p /logs/verifier",
        user="0",
        timeout_sec=60,
    )
    if not reset.ok:
        raise SandboxError(f"could not prepare the verifier's folders: {reset.stderr.strip()}")
    sandbox.copy_in(tests_dir, TESTS_MOUNT)
    result = sandbox.exec(
        ["bash", f"{TESTS_MOUNT}/test.sh"], timeout_sec=_JUDGE_TIMEOUT_SEC, user="0"
    )
    output = (result.stdout + result.stderr)[-4000:]
    try:
        summary = json.loads(sandbox.read_file("/logs/verifier/outcomes.json"))
    except (SandboxError, ValueError) as error:
        raise KettleError(
            f"the verifier wrote no outcomes ({error}); its output ends: {output[-300:]!r}"
        ) from error
    return JudgeRun(
        reward=float(summary.get("reward", 0)),
        reason=str(summary.get("reason", "")),
        tests=summary.get("tests", {}),
        integrity_problems=summary.get("integrity_problems", []),
        removed_hooks=summary.get("removed_hooks", []),
        not_passed=summary.get("not_passed", {}),
        runs=summary.get("runs", []),
        output=output,
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
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
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
