"""Validation against real Docker and real verifiers: the example tasks pass, planted defects
are caught by the check meant for them, with evidence a builder agent can act on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from tests.conftest import EXAMPLE_TASKS, REPO_ROOT, TEST_RUN_ID
from tests.task_settings import with_harbors_default_settings
from tools.validation.diffs import diffs_in_script
from tools.validation.records import HiddenFacts, ValidationReport
from tools.validation.validate import ALL_CHECKS, HARBOR_PARITY, validate_task

EXAMPLES = sorted(p.parent.name for p in EXAMPLE_TASKS.glob("*/task.toml"))
FIX_COMMIT = "3f9c2e81d04b7a6655e1c0f2a9b8d7e6c5b4a392"
START_COMMIT = "b41d7e0a9c3f2e1d0c9b8a7f6e5d4c3b2a190807"

# Known weaknesses of the example tasks' own verifiers, by check name: none any more (their
# test.sh files were hardened to stand on their own); kept so a future finding is explicit.
KNOWN_WEAKNESSES: dict[str, set[str]] = {}

_REWARD = (
    'if [ "$status" -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; '
    "else echo 0 > /logs/verifier/reward.txt; fi\n"
)
_PREAMBLE = "#!/bin/bash\nmkdir -p /logs/verifier\nrm -f /logs/verifier/reward.*\n"


def _copy(root: Path, name: str, as_name: str | None = None) -> Path:
    target = root / (as_name or name)
    shutil.copytree(EXAMPLE_TASKS / name, target)
    return target


def _hidden(task_dir: Path) -> HiddenFacts:
    """The upstream fix is the oracle's own patch; two hidden test names are secrets too;
    the user's request is the instruction itself."""
    return HiddenFacts(
        fix_diff=diffs_in_script((task_dir / "solution" / "solve.sh").read_text()),
        fix_commit=FIX_COMMIT,
        start_commit=START_COMMIT,
        extra_secrets=["test_invalidate_forgets_only_the_named_call", "plain_and_gzip_logs"],
        user_request=(task_dir / "instruction.md").read_text(),
    )


def _validate(
    engine: DockerEngine, task_dir: Path, out: Path, **options: object
) -> ValidationReport:
    options.setdefault("repeats", 2)
    return validate_task(
        engine,
        Settings.from_env(),
        task_dir,
        hidden=_hidden(task_dir),
        out_dir=out,
        run_id=TEST_RUN_ID,
        **options,
    )


# stash's test.sh, hardened: no pytest config, conftest or plugin from outside /tests, and the
# reward needs positive evidence (pytest's junit report of all 12 tests passing), not only an
# exit status a stub or a start-up hook can fake.
HARDENED_STASH_TEST = r"""#!/bin/bash
mkdir -p /logs/verifier
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt /logs/verifier/junit.xml
cd /tests
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 /opt/venv/bin/python -m pytest -c /dev/null \
    -p no:cacheprovider --confcutdir=/tests --rootdir=/tests -rA \
    --junitxml=/logs/verifier/junit.xml /tests/test_stash.py
status=$?
summary=$(grep -o '<testsuite [^>]*>' /logs/verifier/junit.xml 2>/dev/null | head -n 1)
expected=' errors="0" failures="0" skipped="0" tests="12"'
if [ "$status" -eq 0 ] && [[ "$summary" == *"$expected"* ]]; then
    echo 1 > /logs/verifier/reward.txt
else
    echo 0 > /logs/verifier/reward.txt
fi
echo "pytest exit status: $status; junit: $summary"
"""


@pytest.fixture(scope="module")
def example_reports(
    docker_engine: DockerEngine, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ValidationReport]:
    """Every example task, plus stash with a hardened test.sh, two at a time."""
    root = tmp_path_factory.mktemp("examples")
    # Under Harbor's defaults (a root agent sharing the verifier's container) the probes
    # can tamper with everything: the hardened verifier must resist them even so.
    hardened = with_harbors_default_settings(
        _copy(root, "stash-kwargs-cache-key", "stash-hardened")
    )
    (hardened / "tests" / "test.sh").write_text(HARDENED_STASH_TEST)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(_validate, docker_engine, EXAMPLE_TASKS / name, root / f"out-{name}")
            for name in EXAMPLES
        }
        # Probed as Harbor would run it: nothing undoes the agent's tampering before the tests.
        futures["stash-hardened"] = pool.submit(
            _validate,
            docker_engine,
            hardened,
            root / "out-hardened",
            checks={"start_state", "oracle", "exploit"},
            probe_options=HARBOR_PARITY,
        )
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_tasks_pass_validation(
    example_reports: dict[str, ValidationReport], name: str
) -> None:
    report = example_reports[name]
    assert [c.name for c in report.checks] == list(ALL_CHECKS), "every check ran, in order"
    assert report.not_run == {}
    failures = {c.name for c in report.failures}
    assert failures <= KNOWN_WEAKNESSES.get(name, set()), report.feedback()


def test_hardened_pytest_verifier_resists_every_probe_without_the_runners_help(
    example_reports: dict[str, ValidationReport],
) -> None:
    report = example_reports["stash-hardened"]
    assert report.passed, report.feedback()
    exploits = [c for c in report.checks if c.category == "exploit"]
    assert len(exploits) == 7 and all(not c.evidence["runner_restores_tools"] for c in exploits)
    log = report.check("exploit:stub_binaries").evidence["probe_log"]
    assert "replaced /opt/venv/bin/python3" in log, "the probe really swapped the interpreter"
    assert "wrote /pytest.ini" in report.check("exploit:pytest_hook").evidence["probe_log"]


def test_validation_json_is_written_and_reads_back(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = _copy(tmp_path, "reqstats-sort-and-gzip")
    report = _validate(docker_engine, task_dir, tmp_path / "out", checks={"leak", "start_state"})
    saved = ValidationReport.model_validate_json((tmp_path / "out" / "validation.json").read_text())
    assert saved == report and report.passed
    assert (tmp_path / "out" / "trials" / "start_state-1" / "result.json").is_file()
    assert report.check("leak:task_files").evidence["compared_files"] == 9


def test_verifier_that_passes_the_start_state_fails_start_state_and_stops_early(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = _copy(tmp_path, "reqstats-sort-and-gzip")
    (task_dir / "tests" / "test.sh").write_text(
        _PREAMBLE + "echo 'all good'\necho 1 > /logs/verifier/reward.txt\n"
    )
    report = _validate(docker_engine, task_dir, tmp_path / "out", fail_fast=True)
    check = report.check("start_state")
    assert not report.passed and not check.passed
    assert check.evidence["rewards"] == [1.0, 1.0]
    assert "all good" in check.evidence["verifier_output"]
    assert "untouched start state reward 1" in check.message
    # fail_fast: the exploit probes were never started, and the report says why.
    assert all(reason.startswith("fail_fast") for reason in report.not_run.values())
    assert "exploit:pytest_hook" in report.not_run
    assert not (tmp_path / "out" / "trials" / "exploit-pytest_hook").exists()


def test_git_history_left_in_the_image_is_found_and_exploitable(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = with_harbors_default_settings(_copy(tmp_path, "reqstats-sort-and-gzip"))
    environment = task_dir / "environment"
    (environment / "fix.patch").write_text(_hidden(task_dir).fix_diff or "")
    # /app belongs to the agent's user: root's git must be told the folder is safe.
    git = "git -c user.name=dev -c user.email=dev@example.com -c safe.directory=/app"
    with (environment / "Dockerfile").open("a") as dockerfile:
        dockerfile.write(
            "COPY fix.patch /tmp/fix.patch\n"
            f"RUN cd /app && {git} init -q && {git} add -A && {git} commit -qm start \\\n"
            f"    && {git} apply /tmp/fix.patch && {git} commit -qam fix \\\n"
            f"    && {git} checkout -q HEAD~1 && rm /tmp/fix.patch\n"
        )
    report = _validate(
        docker_engine,
        task_dir,
        tmp_path / "out",
        checks={
            "static:dockerfile",
            "leak:git",
            "start_state",
            "oracle",
            "exploit:git_archaeology",
        },
    )
    assert report.check("static:dockerfile").severity == "warning"
    assert "git init" in report.check("static:dockerfile").message
    leak = report.check("leak:git")
    assert not leak.passed and leak.evidence["paths"] == ["/app/.git"]
    assert "rm -rf" in leak.message
    dig = report.check("exploit:git_archaeology")
    assert not dig.passed and dig.evidence["reward"] == 1.0
    assert "checked out commit" in dig.evidence["probe_log"]
    assert "in /app" in dig.evidence["probe_log"]


def test_instruction_quoting_the_diff_fails_without_building_anything(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = _copy(tmp_path, "renewals-month-end")
    instruction = task_dir / "instruction.md"
    instruction.write_text(
        instruction.read_text()
        + "\nThe fix: `const day = Math.min(date.getUTCDate(), daysInMonth(year, monthIndex));`\n"
    )
    report = _validate(
        docker_engine, task_dir, tmp_path / "out", checks={"static", "leak:instruction_quotes_fix"}
    )
    check = report.check("leak:instruction_quotes_fix")
    assert not report.passed and not check.passed
    assert (
        "Math.min(date.getUTCDate(), daysInMonth(year, monthIndex));"
        in (check.evidence["shared_text"][0])
    )
    assert report.image is None and not (tmp_path / "out" / "build.log").exists()
    assert "quotes the fix" in report.feedback()


def test_verifier_loading_conftest_from_the_workdir_is_fooled_by_the_pytest_hook(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = _copy(tmp_path, "stash-kwargs-cache-key")
    (task_dir / "tests" / "test.sh").write_text(
        _PREAMBLE + "mkdir -p /app/tests && cp /tests/test_stash.py /app/tests/\n"
        "cd /app && /opt/venv/bin/python -m pytest -p no:cacheprovider -rA tests/test_stash.py\n"
        "status=$?\n" + _REWARD
    )
    report = _validate(
        docker_engine,
        task_dir,
        tmp_path / "out",
        checks={"start_state", "oracle", "exploit:pytest_hook"},
    )
    assert report.check("start_state").passed and report.check("oracle").passed
    hook = report.check("exploit:pytest_hook")
    assert not hook.passed and hook.evidence["reward"] == 1.0
    assert "wrote /app/conftest.py" in hook.evidence["probe_log"]
    assert "set +e" not in hook.evidence["probe_log"], "the log is the probe's output, not its code"
    assert "passed" in hook.evidence["verifier_output"]
    assert "-c /dev/null" in hook.message and "--confcutdir=/tests" in hook.message


def test_flaky_verifier_fails_determinism_naming_the_runs_that_differed(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = _copy(tmp_path, "reqstats-sort-and-gzip")
    (task_dir / "tests" / "test.sh").write_text(
        _PREAMBLE + "echo $((RANDOM % 2)) > /logs/verifier/reward.txt\n"
    )
    # Seven runs each of nop and oracle: both sets come out uniform with odds (1/64)^2.
    report = _validate(
        docker_engine,
        task_dir,
        tmp_path / "out",
        repeats=7,
        checks={"start_state", "oracle", "determinism"},
    )
    check = report.check("determinism")
    assert not check.passed
    differing = check.evidence["differing_runs"]
    named = [run.split(" ")[0] for runs in differing.values() for run in runs]
    assert named and all((tmp_path / "out" / "trials" / trial).is_dir() for trial in named)
    assert named[0] in check.message
    assert "flaky" in check.message and "differed" in check.message


def test_exit_status_only_verifier_is_fooled_by_stubs_and_startup_hooks_under_harbor(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = with_harbors_default_settings(_copy(tmp_path, "stash-kwargs-cache-key"))
    tests = task_dir / "tests"
    (tests / "test_stash.py").unlink()
    (tests / "check.py").write_text(
        "from stash import cached\n\n\n@cached()\n"
        "def convert(amount, *, currency='USD'):\n"
        "    return round(amount * {'EUR': 0.9, 'GBP': 0.8}[currency], 2)\n\n\n"
        "assert convert(100, currency='EUR') == 90.0\n"
        "assert convert(100, currency='GBP') == 80.0, 'keyword values share a cache entry'\n"
    )
    (tests / "test.sh").write_text(_PREAMBLE + "python3 /tests/check.py\nstatus=$?\n" + _REWARD)
    report = _validate(
        docker_engine,
        task_dir,
        tmp_path / "out",
        checks={"start_state", "oracle", "exploit:stub_binaries", "exploit:startup_hook"},
        probe_options=HARBOR_PARITY,
    )
    assert report.check("start_state").passed and report.check("oracle").passed
    stubs = report.check("exploit:stub_binaries")
    assert not stubs.passed and stubs.evidence["reward"] == 1.0
    assert "replaced /opt/venv/bin/python3" in stubs.evidence["probe_log"]
    assert stubs.evidence["runner_restores_tools"] is False
    hook = report.check("exploit:startup_hook")
    assert not hook.passed and hook.evidence["reward"] == 1.0
    assert "zzz_kettle_probe.pth" in hook.evidence["probe_log"]
    assert "keyword values share a cache entry" in hook.evidence["verifier_output"], (
        "the check really failed; only its exit status was forced to 0"
    )
    assert "junitxml" in hook.message


def test_fixed_file_copied_into_the_image_is_found_and_exploitable(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = _copy(tmp_path, "stash-kwargs-cache-key")
    environment = task_dir / "environment"
    original = (environment / "app" / "src" / "stash" / "keys.py").read_text()
    fixed = original.replace("tuple(sorted(kwargs))", "tuple(sorted(kwargs.items()))")
    assert fixed != original
    (environment / "vendor" / "stash").mkdir(parents=True)
    (environment / "vendor" / "stash" / "keys.py").write_text(fixed)
    with (environment / "Dockerfile").open("a") as dockerfile:
        dockerfile.write("COPY vendor/ /opt/vendor/\n")
    report = _validate(
        docker_engine,
        task_dir,
        tmp_path / "out",
        checks={"leak:fix_in_image", "start_state", "oracle", "exploit:git_archaeology"},
    )
    leak = report.check("leak:fix_in_image")
    assert not leak.passed
    assert leak.evidence["copies"] == {
        "src/stash/keys.py": {
            "/opt/vendor/stash/keys.py": ["key += _KWARGS_MARK + tuple(sorted(kwargs.items()))"]
        }
    }
    assert "/opt/vendor/stash/keys.py" in leak.message
    dig = report.check("exploit:git_archaeology")
    assert not dig.passed and dig.evidence["reward"] == 1.0
    assert (
        "copied /opt/vendor/stash/keys.py over /app/src/stash/keys.py"
        in (dig.evidence["probe_log"])
    )


def test_dockerfile_that_does_not_build_fails_the_build_check_quoting_the_step(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = _copy(tmp_path, "reqstats-sort-and-gzip")
    with (task_dir / "environment" / "Dockerfile").open("a") as dockerfile:
        dockerfile.write("RUN echo 'compiling the thing' && ls /no/such/dir\n")
    report = _validate(docker_engine, task_dir, tmp_path / "out")
    build = report.check("build")
    assert not build.passed
    assert "RUN echo 'compiling the thing' && ls /no/such/dir" in build.message
    assert "non-zero code" in build.message or "No such file" in build.message
    assert "No such file" in build.evidence["log_tail"]
    assert set(report.not_run) == set(ALL_CHECKS) - {c.name for c in report.checks}
    assert set(report.not_run.values()) == {"the image did not build"}


def test_task_that_does_not_load_is_reported_not_raised(
    docker_engine: DockerEngine, tmp_path: Path
) -> None:
    task_dir = _copy(tmp_path, "reqstats-sort-and-gzip")
    (task_dir / "tests" / "test.sh").unlink()
    report = validate_task(
        docker_engine,
        Settings.from_env(),
        task_dir,
        hidden=HiddenFacts(),
        out_dir=tmp_path / "out",
        run_id=TEST_RUN_ID,
    )
    assert not report.passed
    assert report.checks[0].name == "static:task_format"
    assert "tests/test.sh: missing" in report.checks[0].message
    assert set(report.not_run) == set(ALL_CHECKS)


def test_command_line_prints_the_feedback_and_exits_non_zero_on_failure(tmp_path: Path) -> None:
    task_dir = _copy(tmp_path, "stash-kwargs-cache-key")

    def validate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tools.validation", str(task_dir), "--out", str(tmp_path / "o"),
             "--fix-from-solution", "--check", "static", "--check", "leak:instruction_quotes_fix"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    completed = validate()
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("Validation of stash-kwargs-cache-key: PASSED")
    instruction = task_dir / "instruction.md"
    instruction.write_text(
        instruction.read_text() + "\nkey += _KWARGS_MARK + tuple(sorted(kwargs.items()))\n"
    )
    completed = validate()
    assert completed.returncode == 1
    assert "leak:instruction_quotes_fix: instruction.md quotes the fix" in completed.stdout
