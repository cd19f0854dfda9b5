"""kettle's tasks under Harbor's own runner: the reference implementation of the format.

Every task kettle ships or publishes passes Harbor's linter with every rule selected and
scores oracle 1.0 / nop 0.0 under Harbor's runner with its strictest settings: the agent as
an unprivileged user, the verifier in a fresh container given only the project folder.

Harbor is installed by `python -m harness.setup --harbor` (the README's test command does
it); without it these tests skip and say so.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.machine.harbor import harbor_python, harbor_trial
from harness.settings import Settings
from harness.task.folder import HarborTask
from tests.conftest import EXAMPLE_TASKS
from tools.validation.harbor_lint import check_harbor_lint

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


def lint_findings(harbor: Path, task: Path) -> list[str]:
    check = check_harbor_lint(task, harbor.parent / "python")
    return [] if check.passed else [str(f["rule"]) for f in check.evidence.get("findings", [])]


@pytest.mark.parametrize("task", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_task_passes_harbors_strictest_lint(harbor: Path, task: Path) -> None:
    assert lint_findings(harbor, task) == []


# Each example under Harbor's oracle, and nop on one: kettle's own runner scores nop 0 on every
# example (tests/integration/test_runner.py), and a Harbor trial costs half a minute of CPU.
HARBOR_RUNS = [(task, "oracle", 1.0) for task in EXAMPLES] + [(EXAMPLES[0], "nop", 0.0)]


@pytest.mark.parametrize(
    ("task", "agent", "reward"), HARBOR_RUNS, ids=[f"{a}-{t.name}" for t, a, _ in HARBOR_RUNS]
)
def test_example_task_scores_oracle_one_and_nop_zero_with_a_separate_verifier(
    harbor: Path, task: Path, agent: str, reward: float, tmp_path: Path
) -> None:
    config = HarborTask.load(task).config
    assert config.verifier.environment_mode == "separate" and config.agent.user == "agent"
    assert harbor_reward(harbor, task, agent, tmp_path / "jobs") == reward


def test_harbors_findings_are_a_failed_validation_check(harbor: Path, tmp_path: Path) -> None:
    task = tmp_path / "task"
    shutil.copytree(EXAMPLES[0], task)
    config = task / "task.toml"
    text = config.read_text()
    config.write_text(
        text.replace('environment_mode = "separate"\n', "").replace('user = "agent"\n', "")
    )
    check = check_harbor_lint(task, harbor.parent / "python")
    assert not check.passed
    assert "[root-agent] task.toml" in check.message and "[shared-verifier]" in check.message
    assert lint_findings(harbor, task) == ["root-agent", "shared-verifier"]


def test_tasks_the_factory_publishes_run_under_harbor(
    harbor: Path, example_build: Path, tmp_path: Path
) -> None:
    published = sorted((example_build / "tasks").iterdir())
    assert len(published) == 2
    for index, built in enumerate(published):
        # A copy: the build is shared with other tests, which compare its files.
        task = shutil.copytree(built, tmp_path / built.name)
        assert lint_findings(harbor, task) == []
        assert harbor_reward(harbor, task, "oracle", tmp_path / f"{task.name}-oracle") == 1.0
        if index == 0:  # nop on one: validation already scored nop 0 on both in kettle's runner
            assert harbor_reward(harbor, task, "nop", tmp_path / f"{task.name}-nop") == 0.0
