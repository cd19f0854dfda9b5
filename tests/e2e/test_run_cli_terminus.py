"""`python -m harness.run --agent terminus` through the CLI, against the scripted server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.scripted_server import Script, ScriptedServer
from tests.conftest import EXAMPLE_TASKS, REPO_ROOT
from tests.scripting import PRICED_MODEL, done_twice, turn

FIX = "sed -i 's/tuple(sorted(kwargs))$/tuple(sorted(kwargs.items()))/' /app/src/stash/keys.py\n"


def test_run_cli_with_terminus_saves_trajectory_tokens_and_cost(tmp_path: Path) -> None:
    script = Script(turns=[turn(FIX), *done_twice()])
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    with ScriptedServer(script) as server:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness.run",
                "--task",
                str(EXAMPLE_TASKS / "stash-kwargs-cache-key"),
                "--agent",
                "terminus",
                "--model",
                PRICED_MODEL,
                "--api-base",
                server.base_url,
                "--max-steps",
                "10",
                "--jobs-dir",
                str(tmp_path),
                "--job-name",
                "cli",
            ],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert completed.returncode == 0, completed.stderr
    trial_dir = tmp_path / "cli" / "stash-kwargs-cache-key__1"
    result = json.loads((trial_dir / "result.json").read_text())
    assert result["reward"] == 1.0
    agent = result["agent_result"]
    assert agent["status"] == "completed" and agent["model_name"] == PRICED_MODEL
    assert agent["prompt_tokens"] > 0 and agent["completion_tokens"] > 0 and agent["cost_usd"] > 0
    trajectory = json.loads((trial_dir / "agent" / "trajectory.json").read_text())
    assert trajectory["agent"]["model_name"] == PRICED_MODEL


def test_terminus_without_a_model_is_a_one_line_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "harness.run", "--task", str(EXAMPLE_TASKS), "--agent", "terminus"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert "needs --model" in completed.stderr and "Traceback" not in completed.stderr
