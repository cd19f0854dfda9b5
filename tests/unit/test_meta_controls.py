"""Controls: what the ideal and each calibration builder change in the reference environment.

The reference's verifier is a plan (tests/kettle/plan.json) that the baseline judge runs; a
control rewrites it. These tests run the rewrites on a reference-shaped draft (no Docker);
tests/integration/test_meta_calibration.py runs the controls for real.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agents.verifier.files import PLAN_FILE
from agents.verifier.records import Interpreter, RunSpec, VerifierPlan
from harness.settings import Settings
from meta_bench.builders import BuildJob, make_builder
from meta_bench.controls import (
    CALIBRATION,
    derive_flaky,
    derive_ideal,
    derive_leaky,
    derive_overprescriptive,
    derive_weak,
    fix_pins,
    ideal_argv,
    ideal_runs,
)
from meta_bench.materialize import SEEDS_DIR, materialize
from meta_bench.records import IdealSpec
from meta_bench.run import expand_builders
from meta_bench.seed_format import load_hidden, load_seed

SEED_DIR = SEEDS_DIR / "timebox-compound-durations"
JUDGE = Interpreter(path="/usr/bin/python3", realpath="/usr/bin/python3.11", sha256="j")
VENV = Interpreter(path="/opt/venv/bin/python", realpath="/usr/bin/python3.11", sha256="v")
NODE = Interpreter(path="/usr/bin/node", realpath="/usr/lib/node/bin/node", sha256="n")
TEST_SH = (
    "#!/bin/bash\n# Verifier (kettle baseline): the upstream fix's own tests decide.\n"
    'python3 judge.py\necho "reward: $(cat /logs/verifier/reward.txt)"\nexit 0\n'
)


def plan(kind: str = "python") -> VerifierPlan:
    interpreters = [JUDGE, VENV] if kind == "python" else [JUDGE, NODE]
    return VerifierPlan(
        kind=kind,
        workdir="/app",
        env={"PATH": "/usr/bin"},
        interpreters=interpreters,
        hooks={},
        hook_dirs=[],
        files=[],
        runs=[
            RunSpec(label="tests/test_duration.py", argv=["x"], cwd="/app", report_format="junit")
        ],
        expected=["tests/test_duration.py::test_a"],
    )


@pytest.fixture()
def job(tmp_path: Path) -> BuildJob:
    settings = Settings(home=tmp_path / "home")
    seed = load_seed(SEED_DIR)
    found = materialize(seed, settings)
    draft = tmp_path / "build" / "draft"
    (draft / "tests" / "kettle" / "files" / "tests").mkdir(parents=True)
    (draft / "tests" / "kettle" / "files" / "tests" / "test_duration.py").write_text("upstream")
    (draft / "tests" / PLAN_FILE).write_text(plan().model_dump_json())
    (draft / "tests" / "kettle" / "pytest.ini").write_text("[pytest]\n")
    (draft / "tests" / "test.sh").write_text(TEST_SH)
    (draft / "instruction.md").write_text("Durations with more than one unit should work.\n")
    build = BuildJob(seed, found, tmp_path / "build", None, settings, "run")  # type: ignore[arg-type]
    build.hidden = load_hidden(SEED_DIR)
    return build


def read_plan(job: BuildJob) -> VerifierPlan:
    return VerifierPlan.model_validate_json(
        (job.folder / "draft" / "tests" / PLAN_FILE).read_text()
    )


def test_the_ideal_control_runs_the_seeds_ideal_tests_instead_of_the_upstream_ones(
    job: BuildJob,
) -> None:
    derive_ideal(job, job.folder / "draft")
    rewritten = read_plan(job)
    [run] = rewritten.runs
    # Every test of the ideal file that ran must pass, read from pytest's own report: an
    # exit status alone would let a stub pytest.py or a start-up hook pass.
    assert rewritten.expected == ["tests/test_kettle_ideal.py::*"]
    assert (run.report_format, run.file) == ("junit", "tests/test_kettle_ideal.py")
    assert run.argv[:3] == ["/opt/venv/bin/python", "-m", "pytest"]
    assert "-c" in run.argv and "/tests/kettle/pytest.ini" in run.argv
    assert f"--junitxml={run.report_path}" in run.argv
    assert run.argv[-1] == "tests/test_kettle_ideal.py"
    assert [f.target for f in rewritten.files] == ["/app/tests/test_kettle_ideal.py"]
    copied = job.folder / "draft" / "tests" / "kettle" / "files" / "ideal" / "tests"
    assert (copied / "test_kettle_ideal.py").read_text() == job.hidden.ideal_files[
        "tests/test_kettle_ideal.py"
    ]
    assert not (job.folder / "draft" / "tests" / "kettle" / "files" / "tests").exists()


def test_an_ideal_node_test_file_is_read_from_its_tap_report() -> None:
    test_file = "kettle_ideal/a.test.js"
    ideal = IdealSpec(command=f"node --test {test_file}", files=[test_file])
    [run], expected = ideal_runs(ideal, plan("node"), pytest_ini=False)
    assert expected == ["kettle_ideal/a.test.js::*"] and run.report_format == "tap"
    assert run.argv == [
        "/usr/lib/node/bin/node",
        "--test",
        "--test-reporter=tap",
        f"--test-reporter-destination={run.report_path}",
        "kettle_ideal/a.test.js",
    ]
    other = IdealSpec(command="make check", files=["t.sh"])
    [run], expected = ideal_runs(other, plan(), pytest_ini=False)
    assert expected == ["ideal"] and run.report_format == "exit-code"


def test_ideal_commands_get_absolute_interpreters() -> None:
    assert ideal_argv("node --test kettle_ideal/a.test.js", plan("node"), pytest_ini=False) == [
        "/usr/lib/node/bin/node",
        "--test",
        "kettle_ideal/a.test.js",
    ]
    assert ideal_argv("python3 -m pytest -q t.py", plan(), pytest_ini=False) == [
        "/opt/venv/bin/python",
        "-m",
        "pytest",
        "-q",
        "t.py",
    ]
    assert ideal_argv("make check", plan(), pytest_ini=True) == ["/bin/sh", "-c", "make check"]


def test_over_prescriptive_pins_the_strings_and_names_the_upstream_fix_added(
    job: BuildJob,
) -> None:
    pins = fix_pins(job.materialized, job.settings)
    texts = [pin["text"] for pin in pins]
    assert pins and all(pin["path"] in job.materialized.source_paths for pin in pins)
    start = job.materialized.source_diff
    assert all(text in start for text in texts)  # every pin comes from the fix's lines
    derive_overprescriptive(job, job.folder / "draft")
    rewritten = read_plan(job)
    assert rewritten.expected == ["tests/test_duration.py::test_a", "pins"]
    assert rewritten.runs[-1].argv[:3] == ["/usr/bin/python3.11", "-I", "-S"]
    saved = json.loads((job.folder / "draft" / "tests" / "kettle" / "pins.json").read_text())
    assert saved["pins"] == pins


def test_weak_replaces_the_tests_with_a_smoke_test_of_the_fixs_files(job: BuildJob) -> None:
    derive_weak(job, job.folder / "draft")
    rewritten = read_plan(job)
    assert [run.label for run in rewritten.runs] == ["smoke"] and rewritten.files == []
    smoke = json.loads((job.folder / "draft" / "tests" / "kettle" / "smoke.json").read_text())
    assert set(smoke["files"]) == set(job.materialized.source_paths)


def test_leaky_quotes_the_fix_and_flaky_throws_verdicts_away(job: BuildJob) -> None:
    draft = job.folder / "draft"
    derive_leaky(job, draft)
    assert (
        job.materialized.source_diff.strip().splitlines()[-1]
        in (draft / "instruction.md").read_text()
    )
    derive_flaky(job, draft)
    script = (draft / "tests" / "test.sh").read_text()
    assert "/dev/urandom" in script
    assert script.index("/dev/urandom") < script.index('echo "reward: ')


def test_calibration_builders_are_controls_with_their_defect_on_record() -> None:
    assert expand_builders(["baseline", "calibration"]) == ["baseline", *CALIBRATION]
    for name, defect in CALIBRATION.items():
        info = make_builder(name).info
        assert info.role == "calibration" and info.defect == defect and info.deterministic
    assert make_builder("ideal").info.role == "control"
    assert make_builder("reference").info.role == "reference"


def test_the_ideal_control_applies_only_to_seeds_with_ideal_tests(tmp_path: Path) -> None:
    copy = tmp_path / "seed"
    shutil.copytree(SEED_DIR, copy)
    variants = copy / "hidden" / "variants.toml"
    text = variants.read_text()
    variants.write_text(text[: text.index("[ideal]")] + text[text.index("[[variants]]") :])
    ideal = make_builder("ideal")
    assert ideal.not_applicable(load_seed(SEED_DIR)) is None
    assert "no ideal control" in (ideal.not_applicable(load_seed(copy)) or "")
