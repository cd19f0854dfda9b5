"""python -m harness.run: oracle and nop on every example task, failures kept, bad tasks named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.runner.job import new_job_id, run_job
from harness.runner.launch import discover_tasks
from harness.runner.records import JobConfig
from harness.runner.solvers import CommandSolver, NopSolver, OracleSolver
from harness.runner.trial import run_trial
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from tests.conftest import EXAMPLE_TASKS, REPO_ROOT
from tests.task_settings import with_harbors_default_settings

EXAMPLES = sorted(p.name for p in EXAMPLE_TASKS.iterdir() if (p / "task.toml").is_file())


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO_ROOT)},
        check=False,
    )


def test_there_are_at_least_three_example_tasks() -> None:
    assert len(EXAMPLES) >= 3


def test_oracle_scores_one_and_nop_scores_zero_on_every_example(tmp_path: Path) -> None:
    for agent, expected in (("oracle", 1.0), ("nop", 0.0)):
        completed = _run_cli(
            "--task", str(EXAMPLE_TASKS), "--agent", agent, "-n", "2",
            "--jobs-dir", str(tmp_path), "--job-name", agent,
            cwd=tmp_path,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr
        job = json.loads((tmp_path / agent / "result.json").read_text())
        assert job["status"] == "completed" and job["n_errors"] == 0
        rewards = {trial["task_id"]: trial["reward"] for trial in job["trials"]}
        assert rewards == {name: expected for name in EXAMPLES}, rewards
        for trial in job["trials"]:
            trial_dir = tmp_path / agent / trial["trial_id"]
            result = json.loads((trial_dir / "result.json").read_text())
            assert result["reward"] == expected
            assert (trial_dir / "verifier" / "reward.txt").is_file()
            assert (trial_dir / "verifier" / "test-stdout.txt").is_file()
            assert (trial_dir / "agent").is_dir()


def _copy_example(tmp_path: Path, name: str = "stash-kwargs-cache-key") -> Path:
    target = tmp_path / "tasks" / name
    shutil.copytree(EXAMPLE_TASKS / name, target)
    return target


def _one_trial(
    task_dir: Path, solver, tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
):
    images = TaskImages(docker_engine, Settings.from_env())
    return run_trial(
        docker_engine,
        images,
        HarborTask.load(task_dir),
        solver,
        tmp_path / "trial",
        run_id=test_run_id,
        build_log=tmp_path / "build.log",
    )


def test_failing_test_script_gives_reward_zero_and_keeps_its_output(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = _copy_example(tmp_path)
    (task_dir / "tests" / "test.sh").write_text(
        "#!/bin/bash\necho 'checking things'\necho 'assertion exploded' >&2\n"
        "echo 0 > /logs/verifier/reward.txt\nexit 1\n"
    )
    result = _one_trial(task_dir, OracleSolver(), tmp_path, docker_engine, test_run_id)
    assert result.reward == 0.0 and result.error is None
    verifier_dir = tmp_path / "trial" / "verifier"
    assert "checking things" in (verifier_dir / "test-stdout.txt").read_text()
    assert "assertion exploded" in (verifier_dir / "test-stderr.txt").read_text()
    assert result.verifier_result is not None and result.verifier_result.exit_code == 1


def test_verifier_without_reward_file_scores_zero_and_says_why(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = _copy_example(tmp_path)
    (task_dir / "tests" / "test.sh").write_text("#!/bin/bash\necho forgot the reward\n")
    result = _one_trial(task_dir, OracleSolver(), tmp_path, docker_engine, test_run_id)
    assert result.reward == 0.0
    assert result.verifier_result is not None
    assert any("no reward file" in problem for problem in result.verifier_result.problems)


def test_reward_prewritten_by_the_solver_is_ignored_and_flagged(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = with_harbors_default_settings(_copy_example(tmp_path))  # a root agent
    cheat = CommandSolver(
        "cheat",
        "mkdir -p /logs/verifier && echo 1 > /logs/verifier/reward.txt "
        "&& echo '{\"reward\": 1}' > /logs/verifier/reward.json",
    )
    result = _one_trial(task_dir, cheat, tmp_path, docker_engine, test_run_id)
    assert result.reward == 0.0
    assert result.verifier_result is not None and result.verifier_result.tampering


def test_tests_are_not_in_the_container_while_the_solver_runs(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = _copy_example(tmp_path)
    probe = CommandSolver("probe", "ls -la /tests /solution 2>&1; find / -name test.sh 2>/dev/null")
    _one_trial(task_dir, probe, tmp_path, docker_engine, test_run_id)
    log = (tmp_path / "trial" / "agent" / "probe.txt").read_text()
    assert "No such file or directory" in log
    assert "/tests/test.sh" not in log


def test_trial_with_a_broken_dockerfile_records_the_build_error(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = _copy_example(tmp_path)
    dockerfile = task_dir / "environment" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "\nRUN exit 3\n")
    result = _one_trial(task_dir, NopSolver(), tmp_path, docker_engine, test_run_id)
    assert result.reward is None
    assert result.error is not None and result.error.type == "BuildError"
    assert (
        json.loads((tmp_path / "trial" / "result.json").read_text())["error"]["type"]
        == "BuildError"
    )


def test_agent_without_internet_cannot_reach_the_network(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = _copy_example(tmp_path)
    task = HarborTask.load(task_dir)
    assert not task.config.agent_internet, "example tasks declare an offline agent"
    probe = CommandSolver(
        "net", "cat /proc/net/route | wc -l; getent hosts pypi.org || echo no-dns"
    )
    _one_trial(task_dir, probe, tmp_path, docker_engine, test_run_id)
    log = (tmp_path / "trial" / "agent" / "net.txt").read_text()
    assert log.splitlines()[1].strip() == "1" and "no-dns" in log


def test_missing_file_and_bad_toml_fail_before_running_with_the_file_named(tmp_path: Path) -> None:
    missing = _copy_example(tmp_path, "stash-kwargs-cache-key")
    (missing / "tests" / "test.sh").unlink()
    completed = _run_cli(
        "--task", str(missing), "--agent", "nop", "--jobs-dir", str(tmp_path), cwd=tmp_path
    )
    assert completed.returncode != 0
    assert "tests/test.sh" in completed.stderr and "Traceback" not in completed.stderr

    bad_toml = tmp_path / "bad" / "stash"
    shutil.copytree(EXAMPLE_TASKS / "stash-kwargs-cache-key", bad_toml)
    (bad_toml / "task.toml").write_text("[verifier\ntimeout_sec = 10\n")
    completed = _run_cli(
        "--task", str(bad_toml), "--agent", "nop", "--jobs-dir", str(tmp_path), cwd=tmp_path
    )
    assert completed.returncode != 0
    assert "task.toml" in completed.stderr and "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) <= 3


def test_discover_tasks_expands_a_folder_of_tasks() -> None:
    tasks = discover_tasks([EXAMPLE_TASKS])
    assert [task.task_id for task in tasks] == EXAMPLES


@pytest.mark.parametrize("agent", ["oracle"])
def test_job_writes_result_after_each_trial(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str, agent: str
) -> None:
    tasks = discover_tasks([EXAMPLE_TASKS / EXAMPLES[0]])
    config = JobConfig(
        job_id=new_job_id(), task_paths=[str(t.root) for t in tasks], agent=agent,
        trials_per_task=2, concurrency=2, created_at=__import__("datetime").datetime.now(),
    )  # fmt: skip
    seen: list[int] = []

    def after_each(_result) -> None:
        seen.append(json.loads((tmp_path / "result.json").read_text())["n_trials"])

    result = run_job(
        docker_engine, TaskImages(docker_engine, Settings.from_env()), tasks, OracleSolver,
        config, tmp_path, after_each,
    )  # fmt: skip
    assert result.mean_reward == 1.0 and result.n_trials == 2
    assert sorted(seen) == [1, 2]
