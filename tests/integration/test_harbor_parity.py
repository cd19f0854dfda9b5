"""kettle's tasks under Harbor's own runner: the reference implementation of the format.

Harbor is installed by `python -m harness.setup --harbor` (the README's test command does
it); without it these tests skip and say so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.machine.harbor import harbor_python, harbor_trial
from harness.settings import Settings
from tests.conftest import EXAMPLE_TASKS, REPO_ROOT

pytestmark = pytest.mark.harbor
EXAMPLES = sorted(p for p in EXAMPLE_TASKS.iterdir() if (p / "task.toml").is_file())


@pytest.fixture(scope="module")
def harbor() -> Path:
    python = harbor_python(Settings.from_env())
    if python is None:
        pytest.skip("Harbor is not installed (python -m harness.setup --harbor)")
    return python.parent / "harbor"


def harbor_reward(harbor: Path, task: Path, agent: str, jobs: Path) -> float | None:
    """Run one Harbor trial and return the reward it recorded (the trial must not error)."""
    trial = harbor_trial(harbor.parent / "python", task, agent, jobs)
    assert trial.error is None, trial.error
    return trial.reward


@pytest.mark.parametrize("task", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_task_scores_one_with_harbors_oracle(
    harbor: Path, task: Path, tmp_path: Path
) -> None:
    assert harbor_reward(harbor, task, "oracle", tmp_path / "jobs") == 1.0


def test_tasks_the_factory_publishes_run_under_harbor(harbor: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    built = subprocess.run(
        [sys.executable, "-m", "harness.build", "--out", str(run_dir), "--approve", "auto",
         "--repeats", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    published = sorted((run_dir / "tasks").iterdir())
    assert len(published) == 2
    for task in published:
        assert harbor_reward(harbor, task, "oracle", tmp_path / f"{task.name}-oracle") == 1.0
        assert harbor_reward(harbor, task, "nop", tmp_path / f"{task.name}-nop") == 0.0
