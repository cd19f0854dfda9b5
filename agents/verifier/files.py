"""The files of a baseline verifier: ``tests/test.sh`` and ``tests/kettle/``.

``tests/`` holds, besides ``test.sh``::

    kettle/judge.py          agents/verifier/judge.py, verbatim: checks, runs, judges
    kettle/plan.json         VerifierPlan: what to copy where, the exact runs, the expected tests
    kettle/runtime.sha256    the runtime the tests run on, as recorded at build time
    kettle/runtime.owners.json  which installed distribution owns each of those files
    kettle/pytest.ini        (Python) the project's own pytest settings, fixed at build time
    kettle/files/<path>      the fix's test files, copied to /app/<path> before the runs

Everything the verdict depends on ships here, so nothing in the image the agent could
edit (a test file, a conftest.py, an ini file's ``addopts``, a stub on PATH) decides it.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from agents.verifier import judge as verifier_judge
from agents.verifier.records import (
    RUN_TIMEOUT_SEC,
    HiddenFile,
    ReportFormat,
    RunSpec,
    RuntimeFacts,
    VerifierPlan,
)
from harness.fsio import write_bytes_atomic, write_text_atomic
from tools.projects.node import compiled_test
from tools.projects.records import NodeSetup, Project

KETTLE_DIR = "kettle"
JUDGE_FILE = f"{KETTLE_DIR}/judge.py"
PLAN_FILE = f"{KETTLE_DIR}/plan.json"
MANIFEST_FILE = f"{KETTLE_DIR}/runtime.sha256"
OWNERS_FILE = f"{KETTLE_DIR}/{verifier_judge.OWNERS_FILE}"
PYTEST_INI_FILE = f"{KETTLE_DIR}/pytest.ini"
FILES_DIR = f"{KETTLE_DIR}/files"
# The baseline verifier's own files under tests/: its machinery, not the project's tests.
VERIFIER_MACHINERY = frozenset(
    {"test.sh", JUDGE_FILE, PLAN_FILE, MANIFEST_FILE, f"{KETTLE_DIR}/{verifier_judge.OWNERS_FILE}"}
)
TESTS_MOUNT = "/tests"
REPORTS_DIR = "/logs/verifier/reports"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Options a file fixed at build time must not carry: required_plugins only sees plugins
# loaded through entry points, which the verifier turns off.
_DROPPED_PYTEST_OPTIONS = {"required_plugins"}
# Options whose values are paths relative to the ini file: made absolute under /app.
_PATH_PYTEST_OPTIONS = {"pythonpath"}
# Options pytest reads as shell-split arguments (type "args"), not one entry per line.
_ARGS_PYTEST_OPTIONS = {"addopts", "testpaths", "norecursedirs", "python_files"}


def python_runs(facts: RuntimeFacts, modules: list[str], workdir: str) -> list[RunSpec]:
    """One pytest run per test file, so a file that does not import costs only its tests."""
    assert facts.python is not None, "a Python image has a Python"
    plugins = [arg for module in facts.plugin_modules for arg in ("-p", module)]
    if plugins:
        # Loading a distribution's plugins one by one can import a module before its own -p
        # (xdist.looponfail imports xdist.plugin); pytest warns, and a project whose
        # filterwarnings = error (click) then collects nothing.
        plugins += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    runs = []
    for number, module in enumerate(modules, 1):
        report = f"{REPORTS_DIR}/{number:02d}.xml"
        argv = [facts.python.path, "-m", "pytest", "-c", f"{TESTS_MOUNT}/{PYTEST_INI_FILE}"]
        argv += [f"--rootdir={workdir}", f"--confcutdir={workdir}", "-p", "no:cacheprovider"]
        argv += [*plugins, "-o", "junit_family=xunit1", f"--junitxml={report}", "-q", "-rfE"]
        argv.append(module)
        runs.append(
            RunSpec(
                label=module,
                argv=argv,
                cwd=workdir,
                report_format="junit",
                report_path=report,
                file=module,
            )
        )
    return runs


def node_runs(
    facts: RuntimeFacts, node: NodeSetup, modules: list[str], workdir: str
) -> list[RunSpec]:
    """One run per test file with the project's runner (the whole suite for npm-test, and
    for TypeScript test files node cannot run itself)."""
    assert facts.node is not None, "a Node image has node"
    binary = facts.node.realpath
    if node.runner == "node-test":
        # TypeScript tests run as the JavaScript the build compiles them to.
        modules = [compiled_test(node, module) or module for module in modules]
    typescript = any(m.endswith((".ts", ".tsx", ".mts", ".cts")) for m in modules)
    cli = facts.node_runners.get(node.runner, "")
    if (
        node.runner == "npm-test"
        or (node.runner == "node-test" and typescript)
        or (node.runner not in ("node-test", "uvu") and not cli)
    ):
        script = node.test_script or "npm test"
        if node.build_script and node.build_script not in script:
            script = f"{node.build_script} && {script}"
        return [
            RunSpec(
                label="npm test",
                argv=["/bin/sh", "-c", script],
                cwd=workdir,
                report_format="exit-code",
            )
        ]
    runs = []
    for number, module in enumerate(modules, 1):
        report = f"{REPORTS_DIR}/{number:02d}"
        spec = _node_run(facts, node, binary, cli, module, report)
        runs.append(spec.model_copy(update={"label": module, "cwd": workdir, "file": module}))
    return runs


def _node_run(
    facts: RuntimeFacts, node: NodeSetup, binary: str, cli: str, module: str, report: str
) -> RunSpec:
    """The argv and report of one test file under the project's runner."""
    runner = node.runner
    binary_and_flags = [binary, *node.runner_flags]
    if runner == "node-test":
        argv = [binary, "--test", *node.runner_flags, "--test-reporter=tap"]
        argv += [f"--test-reporter-destination={report}.tap", module]
        return _spec(argv, "tap", f"{report}.tap")
    if runner == "jest":
        argv = [*binary_and_flags, cli, "--ci", "--json", f"--outputFile={report}.json"]
        return _spec([*argv, "--runTestsByPath", module], "jest-json", f"{report}.json")
    if runner == "vitest":
        argv = [
            *binary_and_flags,
            cli,
            "run",
            "--reporter=json",
            f"--outputFile={report}.json",
            module,
        ]
        return _spec(argv, "jest-json", f"{report}.json")
    if runner == "mocha":
        argv = [
            *binary_and_flags,
            cli,
            "--reporter",
            "json",
            "--reporter-option",
            f"output={report}.json",
        ]
        return _spec([*argv, module], "mocha-json", f"{report}.json")
    if runner == "ava":
        spec = _spec([*binary_and_flags, cli, "--tap", module], "tap", f"{report}.tap")
        return spec.model_copy(update={"stdout_report": True})
    if runner == "tap":
        version = facts.node_runner_versions.get("tap", "")
        coverage = "--no-coverage" if version.split(".")[0] in ("14", "15", "16") else (
            "--disable-coverage"
        )  # fmt: skip
        argv = [*binary_and_flags, cli, "--reporter=tap", coverage, "-t0", module]
        return _spec(argv, "tap", f"{report}.tap").model_copy(update={"stdout_report": True})
    if runner == "tape":
        # tape's CLI runs the file (and loads the modules its -r named, passed to node);
        # its TAP on stdout names each test in a comment above the test's assertions.
        spec = _spec([*binary_and_flags, cli, module], "tape", f"{report}.tap")
        return spec.model_copy(update={"stdout_report": True})
    if runner == "uvu":
        # uvu test files run themselves; their text report names each suite.
        spec = _spec([*binary_and_flags, module], "uvu", f"{report}.txt")
        return spec.model_copy(update={"stdout_report": True})
    # Plain node test files run themselves and exit non-zero on a failure.
    return _spec([*binary_and_flags, module], "exit-code", None)


def _spec(argv: list[str], kind: ReportFormat, report: str | None) -> RunSpec:
    return RunSpec(label="", argv=argv, cwd="", report_format=kind, report_path=report)


def prepare_runs(project: Project, facts: RuntimeFacts, workdir: str) -> list[RunSpec]:
    """The build step the tests need before they run (compiled sources): the Node project's
    build script, or a Python project's extension modules compiled again in place (a fix
    in C changes nothing until then)."""
    if project.node is not None and project.node.build_script:
        label, argv = project.node.build_script, ["/bin/sh", "-c", project.node.build_script]
    elif project.python is not None and project.python.builds_extensions and facts.python:
        label = "python setup.py build_ext --inplace"
        argv = [facts.python.path, "setup.py", "build_ext", "--inplace"]
    else:
        return []
    return [
        RunSpec(
            label=label,
            argv=argv,
            cwd=workdir,
            report_format="exit-code",
            timeout_sec=RUN_TIMEOUT_SEC * 2,
        )
    ]


def run_env(facts: RuntimeFacts, workdir: str) -> dict[str, str]:
    """A clean environment: nothing from the container's own (PYTHONPATH, NODE_OPTIONS...)."""
    env = {"HOME": "/root", "LANG": "C.UTF-8", "CI": "true", "PATH": SYSTEM_PATH}
    if facts.kind == "python" and facts.python is not None:
        venv = str(Path(facts.python.path).parent.parent)
        env |= {
            "PATH": f"{venv}/bin:{SYSTEM_PATH}",
            "VIRTUAL_ENV": venv,
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    if facts.kind == "node":
        env["PATH"] = f"{workdir}/node_modules/.bin:{SYSTEM_PATH}"
    return env


def make_plan(
    facts: RuntimeFacts,
    runs: list[RunSpec],
    test_files: list[str],
    *,
    workdir: str,
    expected: list[str] | None,
    prepare: list[RunSpec] | None = None,
) -> VerifierPlan:
    interpreters = [facts.judge_python]
    interpreters += [i for i in (facts.python, facts.node) if i is not None]
    env = run_env(facts, workdir)
    if facts.kind == "node":
        # A package of a workspace has its own bin folder next to the root's.
        bins = [f"{run.cwd}/node_modules/.bin" for run in runs if run.cwd != workdir]
        env["PATH"] = ":".join([*dict.fromkeys(bins), env["PATH"]])
    return VerifierPlan(
        kind=facts.kind,
        workdir=workdir,
        env=env,
        interpreters=interpreters,
        hooks=facts.hooks,
        hook_dirs=facts.hook_dirs,
        site_packages=facts.site_packages,
        runner_distributions=facts.runner_distributions,
        project_manifests=facts.project_manifests,
        files=[
            HiddenFile(source=f"files/{path}", target=f"{workdir}/{path}") for path in test_files
        ],
        prepare=prepare or [],
        runs=runs,
        expected=expected,
    )


def pytest_ini(options: dict[str, str | list[str]], *, source: str | None, workdir: str) -> str:
    """The project's pytest settings as an ini file the verifier passes with ``-c``."""
    origin = f"from {source}" if source else "none found: pytest's defaults"
    lines = [
        f"# The project's pytest settings ({origin}), fixed when the verifier was written:",
        "# ini files the agent adds or edits (an addopts = -p plugin) change nothing.",
        "[pytest]",
    ]
    for key, value in options.items():
        if key in _DROPPED_PYTEST_OPTIONS:
            continue
        items = value if isinstance(value, list) else str(value).splitlines()
        items = [item.strip() for item in items if item.strip()]
        if key in _PATH_PYTEST_OPTIONS:
            items = [_absolute(token, workdir) for item in items for token in item.split()]
        elif key in _ARGS_PYTEST_OPTIONS and isinstance(value, list):
            # A TOML list holds one argument per item ("-m", "not slow"); pytest splits an
            # ini value like a shell, so an item with a space must stay one argument.
            items = [shlex.quote(item) for item in items]
        if not items:
            lines.append(f"{key} =")
        elif len(items) == 1 and not isinstance(value, list):
            lines.append(f"{key} = {items[0]}")
        else:
            lines.append(f"{key} =")
            lines += [f"    {item}" for item in items]
    return "\n".join(lines) + "\n"


def _absolute(path: str, workdir: str) -> str:
    return path if path.startswith("/") else f"{workdir}/{path}".replace("/./", "/")


def render_test_sh(facts: RuntimeFacts) -> str:
    """test.sh: a guarded call of the judge with the image's Python in isolated mode."""
    python = facts.judge_python
    judge = (
        f'{shlex.quote(python.realpath)} -I -S -X "pycache_prefix=$CACHE" '
        f"{TESTS_MOUNT}/{JUDGE_FILE} run {TESTS_MOUNT}/{PLAN_FILE}"
    )
    return f"""#!/bin/bash
# Verifier (kettle baseline): the upstream fix's own tests decide. Reward 1 only if every
# test that failed before the fix and passed after it, and every one that passed both
# times, passes now. kettle/judge.py checks the runtime against the manifest recorded at
# build time, removes startup hooks and conftest.py files the image did not have, copies
# the tests over whatever is in the project, runs them with absolute interpreters in a
# clean environment and reads each test's outcome from the runner's own report.
# kettle/plan.json lists the exact runs. The reward is written however the tests end.
mkdir -p /logs/verifier
# A reward file left behind by the agent must not count (reward.json would win).
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt
echo 0 > /logs/verifier/reward.txt

# The judge's own interpreter, by absolute path, as it was at build time.
expected={python.sha256}
actual=$(sha256sum {shlex.quote(python.realpath)} 2>/dev/null | cut -d' ' -f1)
if [ "$actual" != "$expected" ]; then
    echo "{python.realpath} is not the interpreter the image was built with: reward 0"
    exit 0
fi
# -I -S: no environment variables, no site-packages, no .pth or sitecustomize hooks; a
# fresh bytecode cache, so no planted .pyc file is read.
CACHE=$(mktemp -d)
{judge} || echo "the judge failed; the reward stays 0"
echo "reward: $(cat /logs/verifier/reward.txt)"
exit 0
"""


def write_tests_dir(
    tests_dir: Path,
    plan: VerifierPlan,
    facts: RuntimeFacts,
    test_files: dict[str, bytes],
    *,
    pytest_settings: str | None,
) -> list[str]:
    """Write tests/ from scratch; return the files written, relative to tests/."""
    shutil.rmtree(tests_dir, ignore_errors=True)
    written: dict[str, bytes] = {
        "test.sh": render_test_sh(facts).encode(),
        JUDGE_FILE: Path(verifier_judge.__file__).read_bytes(),
        PLAN_FILE: (plan.model_dump_json(indent=2) + "\n").encode(),
        MANIFEST_FILE: "".join(f"{h}  {p}\n" for p, h in sorted(facts.runtime.items())).encode(),
        OWNERS_FILE: (json.dumps(facts.owners, indent=0, sort_keys=True) + "\n").encode(),
    }
    if pytest_settings is not None:
        written[PYTEST_INI_FILE] = pytest_settings.encode()
    for path, content in test_files.items():
        written[f"{FILES_DIR}/{path}"] = content
    for relative, content in written.items():
        write_bytes_atomic(tests_dir / relative, content)
        (tests_dir / relative).chmod(0o755 if relative.endswith(".sh") else 0o644)
    return sorted(written)


def write_plan(tests_dir: Path, plan: VerifierPlan) -> None:
    write_text_atomic(tests_dir / PLAN_FILE, plan.model_dump_json(indent=2) + "\n")
