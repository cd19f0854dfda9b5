"""Reading per-test outcomes from runners' reports, judging them, and fail-to-pass sets.

The judge (agents/verifier/judge.py) ships inside every baseline verifier and runs there
with the standard library only; here it runs on the host against real pytest runs and
recorded reports of node --test, tape, jest, vitest and mocha.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from agents.verifier import judge
from agents.verifier.files import prepare_runs, pytest_ini
from agents.verifier.records import Interpreter, RuntimeFacts
from agents.verifier.runs import transitions
from tools.projects.python import python_setup
from tools.projects.records import Project

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="2" failures="1" skipped="1"
tests="7">
<testcase classname="tests.test_a.TestX" name="test_in_class" file="tests/test_a.py" line="2"/>
<testcase classname="tests.test_a.TestX.TestInner" name="test_deep" file="tests/test_a.py"/>
<testcase classname="tests.test_a" name="test_p[1]" file="tests/test_a.py" line="3">
  <failure message="assert 1 != 1">boom</failure></testcase>
<testcase classname="tests.test_a" name="test_p[a b]" file="tests/test_a.py" line="3"/>
<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="5">
  <skipped type="pytest.skip" message="no">skip</skipped></testcase>
<testcase classname="tests.test_a" name="test_teardown" file="tests/test_a.py" line="8"/>
<testcase classname="tests.test_a" name="test_teardown" file="tests/test_a.py" line="8">
  <error message="failed on teardown">boom</error></testcase>
<testcase classname="" name="tests.test_b" file="tests/test_b.py">
  <error message="collection failure">ImportError</error></testcase>
</testsuite></testsuites>
"""

TAP = """TAP version 13
# Subtest: addMonths
    # Subtest: clamps to the last day \\# of short months
    ok 1 - clamps to the last day \\# of short months
      ---
      duration_ms: 0.5
      ...
    # Subtest: leap years
    not ok 2 - leap years
      ---
      error: 'expected 29'
      ...
    1..2
not ok 1 - addMonths
# Subtest: skipped one
ok 2 - skipped one # SKIP not on this platform
# Subtest: todo one
ok 3 - todo one # TODO later
# Subtest: plain
ok 4 - plain
1..4
# tests 5
"""


class TestJunit:
    def test_ids_are_pytest_node_ids_with_classes_and_parameters(self) -> None:
        outcomes = judge.parse_junit(JUNIT)
        assert outcomes["tests/test_a.py::TestX::test_in_class"] == "passed"
        assert outcomes["tests/test_a.py::TestX::TestInner::test_deep"] == "passed"
        assert outcomes["tests/test_a.py::test_p[1]"] == "failed"
        assert outcomes["tests/test_a.py::test_p[a b]"] == "passed"
        assert outcomes["tests/test_a.py::test_skip"] == "skipped"

    def test_a_test_reported_twice_keeps_its_worse_outcome(self) -> None:
        assert judge.parse_junit(JUNIT)["tests/test_a.py::test_teardown"] == "failed"

    def test_a_collection_error_names_no_test_of_the_file(self) -> None:
        outcomes = judge.parse_junit(JUNIT)
        assert not any(key.startswith("tests/test_b.py::test") for key in outcomes)
        assert "tests/test_b.py::<collection>::tests.test_b" in outcomes

    def test_real_pytest_reports_parse_to_the_ids_pytest_prints(self, tmp_path: Path) -> None:
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_real.py").write_text(
            "import pytest\n"
            "class TestGroup:\n    def test_ok(self): pass\n"
            "@pytest.mark.parametrize('v', ['x/y', 'a b', '€'])\n"
            "def test_param(v): assert v != 'a b'\n"
        )
        report = tmp_path / "report.xml"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
             f"--junitxml={report}", "-q", "tests/test_real.py"],
            cwd=tmp_path, capture_output=True, check=False,
        )  # fmt: skip
        listed = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
             "tests/test_real.py"],
            cwd=tmp_path, capture_output=True, text=True, check=False,
        ).stdout.splitlines()  # fmt: skip
        outcomes = judge.parse_junit(report.read_text())
        assert set(outcomes) == {line for line in listed if "::" in line}
        assert outcomes["tests/test_real.py::test_param[a b]"] == "failed"
        assert outcomes["tests/test_real.py::TestGroup::test_ok"] == "passed"


class TestTap:
    def test_nested_subtests_are_named_by_their_chain(self) -> None:
        outcomes = judge.parse_tap(TAP, "test/dates.test.js")
        assert outcomes["test/dates.test.js::addMonths > leap years"] == "failed"
        assert outcomes["test/dates.test.js::addMonths"] == "failed"
        assert outcomes["test/dates.test.js::plain"] == "passed"

    def test_escaped_hashes_are_part_of_the_name_and_directives_are_not(self) -> None:
        outcomes = judge.parse_tap(TAP, "t.js")
        assert outcomes["t.js::addMonths > clamps to the last day # of short months"] == "passed"
        assert outcomes["t.js::skipped one"] == "skipped"
        assert outcomes["t.js::todo one"] == "skipped"

    def test_a_wrapper_named_after_the_file_is_dropped(self) -> None:
        wrapped = (
            "# Subtest: /app/test/a.test.js\n    # Subtest: works\n    ok 1 - works\n"
            "    1..1\nok 1 - /app/test/a.test.js\n"
        )
        assert judge.parse_tap(wrapped, "test/a.test.js") == {"test/a.test.js::works": "passed"}


# What tape 5 printed for a file of five tests (one failing, one with a skipped
# assertion, one making no assertion), its stack trimmed.
TAPE = """TAP version 13
# parses short options
ok 1 should be strictly equal
ok 2 objects match
# fails # with hash
not ok 3 one is two
  ---
    operator: equal
    expected: 2
    actual:   1
    at: Test.<anonymous> (/app/test/a.js:8:5)
    stack: |-
      Error: one is two
          at Test.assert [as _assert] (/app/node_modules/tape/lib/test.js:548:48)
  ...
ok 4 should be truthy
# outer
# inner one
ok 5 inner ok
# skipped assertion
ok 6 nope # SKIP
# no assertions

1..6
# tests 6
# pass  5
# fail  1
"""


class TestTape:
    def test_each_test_is_the_comment_above_its_assertions(self) -> None:
        assert judge.parse_tape(TAPE, "test/a.js") == {
            "test/a.js::parses short options": "passed",
            "test/a.js::fails # with hash": "failed",
            "test/a.js::inner one": "passed",
            "test/a.js::skipped assertion": "skipped",
        }

    def test_the_closing_counts_are_not_tests(self) -> None:
        passing = "TAP version 13\n# adds\nok 1 should be equal\n\n1..1\n# tests 1\n# ok\n"
        assert judge.parse_tape(passing, "t.js") == {"t.js::adds": "passed"}

    def test_a_file_that_crashed_before_any_test_has_no_outcomes(self) -> None:
        run = {"report_format": "tape", "file": "t.js", "label": "t.js", "cwd": "/app"}
        assert judge.parse_report(run, "", 1) == {}
        assert judge.parse_report(run, TAPE, 1)["t.js::fails # with hash"] == "failed"


def test_jest_and_vitest_json_reports() -> None:
    report = {
        "testResults": [
            {
                "name": "/app/test/math.test.js",
                "assertionResults": [
                    {"ancestorTitles": ["add"], "title": "adds", "status": "passed"},
                    {"ancestorTitles": ["add"], "title": "overflows", "status": "failed"},
                    {"ancestorTitles": [], "title": "later", "status": "todo"},
                ],
            },
            {"name": "/app/test/broken.test.js", "assertionResults": [], "status": "failed"},
        ]
    }
    outcomes = judge.parse_jest_json(json.dumps(report), "/app")
    assert outcomes == {
        "test/math.test.js::add > adds": "passed",
        "test/math.test.js::add > overflows": "failed",
        "test/math.test.js::later": "skipped",
    }


def test_mocha_json_report() -> None:
    report = {
        "passes": [{"title": "adds", "fullTitle": "add adds", "file": "/app/test/m.js"}],
        "failures": [{"title": "x", "fullTitle": "add x", "file": "/app/test/m.js"}],
        "pending": [{"title": "y", "fullTitle": "add y"}],
    }
    outcomes = judge.parse_mocha_json(json.dumps(report), "/app", "test/m.js")
    assert outcomes == {
        "test/m.js::add adds": "passed",
        "test/m.js::add x": "failed",
        "test/m.js::add y": "skipped",
    }


def test_an_old_mochas_json_report_is_read_from_its_output(tmp_path: Path) -> None:
    """mocha before 9 ignores the json reporter's output option and prints the report
    (indented by two) after whatever the tests printed."""
    report = {"stats": {"tests": 2}, "passes": [{"fullTitle": "url format encodes keys"}],
              "failures": [{"fullTitle": "url format keeps colons"}], "pending": []}  # fmt: skip
    old_mocha = (
        "import json, sys; print('a test logs {braces} here'); "
        f"print(json.dumps({report!r}, indent=2)); sys.exit(1)"
    )
    plan = {
        "env": {"PATH": "/usr/bin:/bin"},
        "runs": [
            {
                "label": "test/index.js",
                "argv": [sys.executable, "-c", old_mocha],
                "cwd": str(tmp_path),
                "report_format": "mocha-json",
                "report_path": str(tmp_path / "reports" / "01.json"),
                "file": "test/index.js",
                "timeout_sec": 60,
            }
        ],
    }
    outcomes, records = judge.run_tests(plan, str(tmp_path))
    assert outcomes == {
        "test/index.js::url format encodes keys": "passed",
        "test/index.js::url format keeps colons": "failed",
    }
    assert records[0]["tests"] == 2


def test_an_unreadable_report_gives_no_outcomes() -> None:
    run = {"report_format": "junit", "label": "t", "file": "t.py", "cwd": "/app"}
    assert judge.parse_report(run, "<not xml", 1) == {}
    assert judge.parse_report(run, None, 0) == {}
    suite = {"report_format": "exit-code", "label": "npm test", "file": "", "cwd": "/app"}
    assert judge.parse_report(suite, None, 0) == {"npm test": "passed"}


class TestVerdict:
    def test_every_expected_test_must_pass(self) -> None:
        verdict = judge.judge(["a", "b"], {"a": "passed", "b": "passed", "c": "failed"}, [])
        assert verdict["reward"] == 1

    def test_an_absent_or_skipped_expected_test_fails_the_verdict(self) -> None:
        verdict = judge.judge(["a", "b", "c"], {"a": "passed", "b": "skipped"}, [])
        assert verdict["reward"] == 0
        assert verdict["not_passed"] == {"b": "skipped", "c": "absent"}

    def test_a_tampered_runtime_fails_whatever_the_tests_say(self) -> None:
        verdict = judge.judge(["a"], {"a": "passed"}, ["changed: /usr/bin/python3.11"])
        assert verdict["reward"] == 0

    def test_report_only_mode_never_rewards(self) -> None:
        assert judge.judge(None, {"a": "passed"}, [])["reward"] == 0
        assert judge.judge([], {"a": "passed"}, [])["reward"] == 0

    def test_every_test_of_a_file_means_those_that_ran_passed_and_one_did(self) -> None:
        outcomes = {"t.py::a": "passed", "t.py::b": "skipped", "u.py::c": "failed"}
        assert judge.judge(["t.py::*"], outcomes, [])["reward"] == 1
        assert judge.judge(["u.py::*"], outcomes, [])["not_passed"] == {"u.py::*": "failed"}
        assert judge.judge(["v.py::*"], outcomes, [])["not_passed"] == {"v.py::*": "absent"}
        only_skips = {"t.py::b": "skipped"}
        assert judge.judge(["t.py::*"], only_skips, [])["reward"] == 0


class TestTransitions:
    def test_fail_to_pass_and_pass_to_pass(self) -> None:
        before = {"t1": "failed", "t2": "passed", "t3": "failed", "t4": "passed"}
        after = {"t1": "passed", "t2": "passed", "t3": "failed", "t4": "failed", "t5": "passed"}
        found = transitions(before, [after])
        assert found.fail_to_pass == ["t1", "t5"]  # t5 was absent before: it failed
        assert found.pass_to_pass == ["t2"]
        assert found.fail_to_fail == ["t3"]
        assert found.pass_to_fail == ["t4"]
        assert found.expected == ["t1", "t2", "t5"]

    def test_a_test_must_pass_in_every_run_after_the_fix(self) -> None:
        found = transitions({"t": "failed"}, [{"t": "passed"}, {"t": "failed"}])
        assert found.fail_to_pass == [] and found.flaky == ["t"]

    def test_skipped_before_counts_as_not_passing(self) -> None:
        assert transitions({"t": "skipped"}, [{"t": "passed"}]).fail_to_pass == ["t"]


class TestJudgeRunsInAProject:
    """judge.py run, end to end on the host: hooks, test files, runs, reward."""

    def _plan(self, tmp_path: Path, expected: list[str] | None) -> Path:
        project = tmp_path / "app"
        (project / "tests").mkdir(parents=True)
        (project / "calc.py").write_text("def add(a, b):\n    return a + b\n")
        (project / "tests" / "conftest.py").write_text("KNOWN = True\n")
        hidden = tmp_path / "tests" / "kettle"
        (hidden / "files" / "tests").mkdir(parents=True)
        (hidden / "files" / "tests" / "test_calc.py").write_text(
            "from calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n\n"
            "def test_add_negative():\n    assert add(-2, -2) == -4\n"
        )
        runtime = project / "calc.py"
        digest = hashlib.sha256(runtime.read_bytes()).hexdigest()
        (hidden / "runtime.sha256").write_text(f"{digest}  {runtime}\n")
        (hidden / "pytest.ini").write_text("[pytest]\n")
        known = project / "tests" / "conftest.py"
        report = tmp_path / "logs" / "reports" / "01.xml"
        plan = {
            "kind": "python",
            "workdir": str(project),
            "logs_dir": str(tmp_path / "logs"),
            "env": {"PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            "interpreters": [],
            "runtime_manifest": "runtime.sha256",
            "hooks": {str(known): hashlib.sha256(known.read_bytes()).hexdigest()},
            "hook_dirs": [str(project)],
            "files": [
                {"source": "files/tests/test_calc.py", "target": f"{project}/tests/test_calc.py"}
            ],
            "runs": [
                {
                    "label": "tests/test_calc.py",
                    "argv": [sys.executable, "-m", "pytest", "-c", str(hidden / "pytest.ini"),
                             f"--rootdir={project}", f"--confcutdir={project}", "-p",
                             "no:cacheprovider", "-o", "junit_family=xunit1",
                             f"--junitxml={report}", "tests/test_calc.py"],
                    "cwd": str(project),
                    "report_format": "junit",
                    "report_path": str(report),
                    "file": "tests/test_calc.py",
                    "timeout_sec": 120,
                }
            ],
            "expected": expected,
        }  # fmt: skip
        (hidden / "plan.json").write_text(json.dumps(plan))
        return hidden / "plan.json"

    def _run(self, plan: Path) -> dict:
        judge.run(str(plan))
        logs = plan.parent.parent.parent / "logs"
        summary = json.loads((logs / "outcomes.json").read_text())
        assert (logs / "reward.txt").read_text().strip() == str(summary["reward"])
        return summary

    def test_report_only_mode_records_each_test(self, tmp_path: Path) -> None:
        summary = self._run(self._plan(tmp_path, None))
        assert summary["reward"] == 0
        assert summary["tests"] == {
            "tests/test_calc.py::test_add": "passed",
            "tests/test_calc.py::test_add_negative": "passed",
        }

    def test_all_expected_tests_passing_earns_the_reward(self, tmp_path: Path) -> None:
        plan = self._plan(tmp_path, ["tests/test_calc.py::test_add"])
        assert self._run(plan)["reward"] == 1

    def test_the_hidden_tests_replace_whatever_the_agent_left(self, tmp_path: Path) -> None:
        plan = self._plan(tmp_path, ["tests/test_calc.py::test_add"])
        (tmp_path / "app" / "tests" / "test_calc.py").write_text("def test_add():\n    pass\n")
        (tmp_path / "app" / "calc.py").write_text("def add(a, b):\n    return 4\n")
        digest = hashlib.sha256((tmp_path / "app" / "calc.py").read_bytes()).hexdigest()
        (plan.parent / "runtime.sha256").write_text(f"{digest}  {tmp_path}/app/calc.py\n")
        plan_data = json.loads(plan.read_text())
        plan_data["expected"] = ["tests/test_calc.py::test_add_negative"]
        plan.write_text(json.dumps(plan_data))
        assert self._run(plan)["reward"] == 0

    def test_a_stub_pytest_in_the_workdir_does_not_pass_every_test_of_a_file(
        self, tmp_path: Path
    ) -> None:
        """`python -m pytest` from the workdir imports a pytest.py planted there; it exits 0
        and writes no report, so the tests are absent."""
        plan = self._plan(tmp_path, ["tests/test_calc.py::*"])
        assert self._run(plan)["reward"] == 1
        (tmp_path / "app" / "pytest.py").write_text("raise SystemExit(0)\n")
        assert self._run(plan)["reward"] == 0

    def test_a_planted_conftest_is_removed_before_the_tests_run(self, tmp_path: Path) -> None:
        plan = self._plan(tmp_path, ["tests/test_calc.py::test_add"])
        planted = tmp_path / "app" / "conftest.py"
        planted.write_text("raise SystemExit('planted')\n")
        summary = self._run(plan)
        assert summary["reward"] == 1
        assert summary["removed_hooks"] == [str(planted)]
        assert not planted.exists()

    def test_an_edited_known_conftest_is_removed_too(self, tmp_path: Path) -> None:
        plan = self._plan(tmp_path, ["tests/test_calc.py::test_add"])
        known = tmp_path / "app" / "tests" / "conftest.py"
        known.write_text("KNOWN = False\n")
        assert self._run(plan)["removed_hooks"] == [str(known)]

    def test_a_changed_runtime_file_scores_zero_without_running(self, tmp_path: Path) -> None:
        plan = self._plan(tmp_path, ["tests/test_calc.py::test_add"])
        (tmp_path / "app" / "calc.py").write_text("def add(a, b):\n    return a + b  # edited\n")
        summary = self._run(plan)
        assert summary["reward"] == 0
        [problem] = summary["integrity_problems"]
        assert problem.startswith(f"changed: {tmp_path}/app/calc.py")
        assert summary["runs"] == []

    def test_a_redirected_interpreter_scores_zero(self, tmp_path: Path) -> None:
        plan = self._plan(tmp_path, ["tests/test_calc.py::test_add"])
        link = tmp_path / "python"
        link.symlink_to(sys.executable)
        data = json.loads(plan.read_text())
        data["interpreters"] = [{"path": str(link), "realpath": "/elsewhere", "sha256": "x"}]
        plan.write_text(json.dumps(data))
        assert self._run(plan)["integrity_problems"] == [f"redirected: {link}"]


def test_scan_records_hooks_and_hashes_of_a_tree(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "a.pth").write_text("import os\n")
    (site / "sitecustomize.py").write_text("\n")
    (site / "module.py").write_text("\n")
    found = judge.hook_files([str(site)], judge.HOOK_NAMES, recursive=False)
    assert sorted(Path(path).name for path in found) == ["a.pth", "sitecustomize.py"]


class TestPytestSettings:
    def test_the_projects_options_become_an_ini_file(self) -> None:
        text = pytest_ini(
            {"addopts": "-ra --strict-markers", "markers": ["slow: slow tests", "db: needs db"]},
            source="pyproject.toml",
            workdir="/app",
        )
        assert "[pytest]" in text
        assert "addopts = -ra --strict-markers" in text
        assert "markers =\n    slow: slow tests\n    db: needs db" in text

    def test_a_toml_list_of_arguments_keeps_each_item_one_argument(self) -> None:
        """pyproject's addopts = ["-m", "not property"] must not become -m not property."""
        text = pytest_ini(
            {"addopts": ["-ra", "-m", "not property"]}, source="pyproject.toml", workdir="/app"
        )
        section = text.split("[pytest]\n", 1)[1]
        assert section == "addopts =\n    -ra\n    -m\n    'not property'\n"
        assert shlex.split(" ".join(section.splitlines()[1:])) == ["-ra", "-m", "not property"]

    def test_relative_pythonpath_entries_are_anchored_in_the_workdir(self) -> None:
        text = pytest_ini({"pythonpath": "src lib"}, source="pytest.ini", workdir="/app")
        assert text.split("[pytest]\n", 1)[1] == "pythonpath =\n    /app/src\n    /app/lib\n"

    def test_required_plugins_is_dropped_because_autoload_is_off(self) -> None:
        text = pytest_ini({"required_plugins": "pytest-django"}, source=None, workdir="/app")
        assert "required_plugins" not in text

    @pytest.mark.parametrize(
        ("value", "section"),
        [("", "addopts =\n"), ("\n  -q\n  -ra", "addopts =\n    -q\n    -ra\n")],
    )
    def test_ini_style_multiline_values_keep_their_lines(self, value: str, section: str) -> None:
        text = pytest_ini({"addopts": value}, source="tox.ini", workdir="/app")
        assert text.split("[pytest]\n", 1)[1] == section


def test_a_setup_py_with_c_extensions_compiles_them_again_before_the_tests(
    tmp_path: Path,
) -> None:
    """simplejson's fix is in _speedups.c: until the extension is compiled again, the
    tests import the start state's binary, and the fix changes nothing."""
    (tmp_path / "setup.py").write_text(
        "from setuptools import Extension, setup\n"
        "setup(name='sj', ext_modules=[Extension('sj._speedups', ['sj/_speedups.c'])])\n"
    )
    setup, _ = python_setup(tmp_path)
    assert setup.builds_extensions
    python = Interpreter(path="/opt/venv/bin/python", realpath="/usr/bin/python3.11", sha256="0")
    facts = RuntimeFacts.model_construct(kind="python", python=python)
    project = Project.model_construct(kind="python", python=setup, node=None)
    [build] = prepare_runs(project, facts, "/app")
    assert build.argv == ["/opt/venv/bin/python", "setup.py", "build_ext", "--inplace"]
    assert build.cwd == "/app"
    # A pure-Python project needs no build step.
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup(name='p')\n")
    pure = Project.model_construct(kind="python", python=python_setup(tmp_path)[0], node=None)
    assert prepare_runs(pure, facts, "/app") == []
