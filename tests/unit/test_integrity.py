"""What the tool guard undoes between agent and verifier, and what it leaves as the outcome."""

from __future__ import annotations

import pytest

from harness.runner.integrity import GuardScope, ToolChange, classify

SCOPE = GuardScope(
    path_dirs=["/opt/venv/bin", "/usr/local/bin", "/usr/bin", "/bin"],
    workdirs=["/app"],
)


@pytest.mark.parametrize(
    "path, change, expected",
    [
        # Interpreters and tools the tests run on.
        ("/usr/bin/node", "changed", "restore"),
        ("/usr/bin/diff", "deleted", "restore"),
        ("/opt/venv/bin/python", "changed", "restore"),
        ("/usr/local/bin/python3", "added", "shadow"),
        # Startup hooks, wherever they are dropped.
        ("/opt/venv/lib/python3.11/site-packages/sitecustomize.py", "added", "remove"),
        ("/usr/lib/python3.11/sitecustomize.py", "changed", "restore"),
        ("/app/src/usercustomize.py", "added", "remove"),
        ("/opt/venv/lib/python3.11/site-packages/zz_evil.pth", "added", "remove"),
        ("/etc/ld.so.preload", "added", "remove"),
        # The test runner itself and what it imports.
        ("/opt/venv/lib/python3.11/site-packages/_pytest/main.py", "changed", "restore"),
        ("/opt/venv/lib/python3.11/site-packages/pluggy/_hooks.py", "deleted", "restore"),
        ("/opt/venv/lib/python3.11/site-packages/pytest_evil.py", "added", "remove"),
        ("/usr/lib/node_modules/jest/bin/jest.js", "changed", "restore"),
        ("/opt/venv/lib/python3.11/site-packages/evil-1.0.dist-info/entry_points.txt", "added",
         "plugin"),
        # System libraries and compiled system Python code.
        ("/usr/lib/x86_64-linux-gnu/libc.so.6", "changed", "restore"),
        ("/usr/lib/python3.11/json/__init__.py", "changed", "restore"),
        ("/usr/lib/python3.11/__pycache__/os.cpython-311.pyc", "added", "remove"),
        ("/etc/passwd", "changed", "restore"),
        # An interpreter inside the working directory is still an interpreter.
        ("/app/.venv/bin/python", "changed", "restore"),
    ],
)  # fmt: skip
def test_tampering_with_what_tests_run_on_is_undone(path: str, change: str, expected: str) -> None:
    decided = classify(path, change, SCOPE)  # type: ignore[arg-type]
    assert decided is not None and decided[0] == expected


@pytest.mark.parametrize(
    "path, change",
    [
        ("/app/src/stash/keys.py", "changed"),  # the fix itself
        ("/app/bin/reqstats", "changed"),
        ("/app/new_module.py", "added"),
        ("/opt/venv/lib/python3.11/site-packages/requests/api.py", "changed"),  # a dependency
        ("/opt/venv/lib/python3.11/site-packages/newdep/__init__.py", "added"),
        ("/usr/lib/x86_64-linux-gnu/libnew.so", "added"),  # apt install of something new
        ("/root/.bash_history", "added"),
        ("/tmp/scratch.txt", "added"),
        ("/etc/hosts", "changed"),  # Docker's own mount points
        ("/usr/sbin/docker-init", "added"),
        ("/logs/agent/trajectory.json", "added"),
        ("/etc/motd", "changed"),
    ],
)
def test_the_outcome_and_ordinary_changes_are_left_alone(path: str, change: str) -> None:
    assert classify(path, change, SCOPE) is None  # type: ignore[arg-type]


def test_project_scripts_on_path_inside_the_workdir_are_the_outcome() -> None:
    scope = SCOPE.model_copy(update={"path_dirs": ["/app/bin", *SCOPE.path_dirs]})
    assert classify("/app/bin/reqstats", "changed", scope) is None
    assert classify("/app/bin/python3", "changed", scope) == ("restore", "a command on PATH")


def test_a_change_reads_as_one_line_for_the_trial_record() -> None:
    change = ToolChange(
        path="/usr/bin/node", change="changed", action="restored", reason="a command on PATH"
    )
    assert change.describe() == (
        "solver phase changed /usr/bin/node (a command on PATH): restored from the image "
        "before the tests"
    )
