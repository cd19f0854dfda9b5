"""Running a baseline verifier's judge in containers and reading per-test outcomes.

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

from agents.verifier import judge as verifier_judge
from agents.verifier.files import TESTS_MOUNT
from agents.verifier.records import JudgeRun, RuntimeFacts, Transitions
from harness.errors import KettleError, SandboxError
from harness.sandbox.container import DockerSandbox
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec

PASSED = verifier_judge.PASSED


_SCAN_PATH = "/tmp/kettle-judge.py"
_SCAN_TIMEOUT_SEC = 300
_SCAN_MAX_BYTES = 256 * 2**20
_JUDGE_TIMEOUT_SEC = 1800


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
            # One JSON line of every file's digest: megabytes in a big project (a cut would
            # break the JSON, as it did at the 4 MiB default for setuptools-scm).
            max_output_bytes=_SCAN_MAX_BYTES,
        )
    if not result.ok:
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:]
        raise SandboxError(f"could not scan {image} for the verifier: {reason}")
    if result.truncated_bytes:
        raise SandboxError(
            f"the scan of {image} printed more than {_SCAN_MAX_BYTES // 2**20} MiB: "
            "too many files in the image to record for the verifier"
        )
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
        accepted_changes=summary.get("accepted_changes", []),
        removed_hooks=summary.get("removed_hooks", []),
        not_passed=summary.get("not_passed", {}),
        runs=summary.get("runs", []),
        output=output,
    )
