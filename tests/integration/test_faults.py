"""The runner survives its own faults: each ends with a clear message, a consistent job
record, no orphaned containers — and a rerun finishes what was left.

The Docker-restart test restarts a *private* engine (own data root, socket and bridge):
restarting the shared one would kill the containers of every other user of this machine,
and this suite must be safe to run next to other work.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docker.errors import APIError

from harness.llm import LiteLLMModel, ModelSpec, RetryPolicy
from harness.loop import Budgets
from harness.runner.job import run_job
from harness.runner.records import JobConfig, JobResult
from harness.runner.solvers import CommandSolver, OracleSolver
from harness.runner.terminus import TerminusSolver
from harness.runner.trial import run_trial
from harness.sandbox import cleanup as gc
from harness.sandbox.engine import DockerEngine
from harness.scripted_server import Script, ScriptedServer, ScriptTurn
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from tests.conftest import EXAMPLE_TASKS, REPO_ROOT
from tests.fixtures.disk import fill
from tests.scripting import PRICED_MODEL, done_twice, turn

REQSTATS = "reqstats-sort-and-gzip"
STASH_FIX = (
    "sed -i 's/tuple(sorted(kwargs))$/tuple(sorted(kwargs.items()))/' /app/src/stash/keys.py\n"
)


def copy_task(tmp_path: Path, name: str = REQSTATS, as_name: str | None = None) -> Path:
    target = tmp_path / "tasks" / (as_name or name)
    shutil.copytree(EXAMPLE_TASKS / name, target)
    return target


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.run", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def job_config(job_id: str, tasks: list[HarborTask], agent: str = "work") -> JobConfig:
    return JobConfig(
        job_id=job_id,
        task_paths=[str(t.root) for t in tasks],
        agent=agent,
        created_at=datetime.now(UTC),
    )


# --- Docker engine restarted in the middle of a job --------------------------------------


class PrivateDockerd:
    """A Docker engine of this test's own, started the way harness/machine/docker.py starts
    one (``dockerd`` in a new session, log to a file), on its own bridge without iptables."""

    def __init__(self, root: Path, bridge: str) -> None:
        self.root, self.bridge = root, bridge
        self.socket = root / "docker.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        with (self.root / "dockerd.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "dockerd", "--data-root", str(self.root / "data"),
                    "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "pid"),
                    "-H", self.base_url, "--bridge", self.bridge,
                    "--iptables=false", "--ip-masq=false",
                ],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                DockerEngine.connect(self.base_url).close()
                return
            except Exception:
                time.sleep(0.5)
        raise RuntimeError(f"private dockerd did not start; see {self.root / 'dockerd.log'}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def private_dockerd(docker_engine: DockerEngine, settings: Settings) -> Iterator[PrivateDockerd]:
    if os.geteuid() != 0 or not shutil.which("dockerd") or not shutil.which("ip"):
        pytest.skip("a private Docker engine needs root, dockerd and iproute2")
    root = Path(tempfile.mkdtemp(prefix="kd-", dir="/tmp"))  # a short unix socket path
    bridge = f"kd{os.getpid() % 100000}"
    subnet = f"10.199.{os.getpid() % 200 + 20}.1/24"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    daemon = PrivateDockerd(root, bridge)
    try:
        subprocess.run(["ip", "addr", "add", subnet, "dev", bridge], check=True)
        subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
        daemon.start()
        private = DockerEngine.connect(daemon.base_url)
        try:
            image = settings.rootfs_image(settings.default_suite)
            if not docker_engine.image_exists(image):
                image = settings.base_image
            private.api.load_image(docker_engine.api.get_image(image))
            private.api.tag(image, "kettle-fault/base", "latest")
        finally:
            private.close()
        yield daemon
    finally:
        try:
            leftover = DockerEngine.connect(daemon.base_url)
            leftover.reap_orphans(everything=True)
            leftover.close()
        except Exception:
            pass
        daemon.stop()
        subprocess.run(["ip", "link", "del", bridge], check=False)
        shutil.rmtree(root, ignore_errors=True)


def tiny_task(root: Path, name: str, *, slow: bool) -> HarborTask:
    """A task that builds offline from the minimal root filesystem: fix /app/state."""
    task_dir = root / name
    (task_dir / "environment").mkdir(parents=True)
    (task_dir / "tests").mkdir()
    (task_dir / "solution").mkdir()
    (task_dir / "instruction.md").write_text("Make /app/state say fixed.\n")
    (task_dir / "task.toml").write_text(
        'schema_version = "1.4"\n[metadata.kettle]\nagent_internet = false\n'
        "[verifier]\ntimeout_sec = 60.0\n[environment]\nbuild_timeout_sec = 120.0\n"
    )
    marker = "touch /app/slow && " if slow else ""
    (task_dir / "environment" / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n"
        f"RUN mkdir -p /app && {marker}echo broken > /app/state\n"
    )
    (task_dir / "solution" / "solve.sh").write_text("#!/bin/bash\necho fixed > /app/state\n")
    (task_dir / "tests" / "test.sh").write_text(
        "#!/bin/bash\nmkdir -p /logs/verifier\n"
        "if grep -q fixed /app/state; then echo 1; else echo 0; fi > /logs/verifier/reward.txt\n"
    )
    return HarborTask.load(task_dir)


def test_engine_restart_fails_the_trial_in_flight_clearly_and_a_resume_finishes_the_job(
    private_dockerd: PrivateDockerd, tmp_path: Path
) -> None:
    engine = DockerEngine.connect(private_dockerd.base_url)
    images = TaskImages(engine, Settings(base_image="kettle-fault/base:latest"))
    tasks = [tiny_task(tmp_path, "in-flight", slow=True), tiny_task(tmp_path, "after", slow=False)]
    slow_then_fix = "if [ -f /app/slow ]; then sleep 120; fi; echo fixed > /app/state"
    config = job_config("engine-restart", tasks)
    job_dir = tmp_path / "jobs" / config.job_id
    outcome: list[JobResult | BaseException] = []

    def job() -> None:
        try:
            outcome.append(
                run_job(engine, images, tasks, lambda: CommandSolver("work", slow_then_fix),
                        config, job_dir)
            )  # fmt: skip
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=job, daemon=True)
    worker.start()
    wait_for(lambda: _running_command(engine, "sleep 120"), 120, "the slow agent to start")
    private_dockerd.restart()  # the fixture's teardown stops it whatever happens here
    worker.join(300)
    assert not worker.is_alive(), "the job did not end after the engine came back"
    result = outcome[0]
    assert isinstance(result, JobResult), result
    assert result.status == "completed" and result.n_trials == 2 and result.n_errors == 1
    in_flight = json.loads((job_dir / "in-flight__1" / "result.json").read_text())
    assert in_flight["reward"] is None
    assert in_flight["error"]["type"] == "DockerUnavailableError", in_flight["error"]
    assert "Docker engine" in in_flight["error"]["message"]
    after = json.loads((job_dir / "after__1" / "result.json").read_text())
    assert after["reward"] == 1.0 and after["error"] is None
    on_disk = json.loads((job_dir / "result.json").read_text())
    assert {t["trial_id"]: t["reward"] for t in on_disk["trials"]} == {
        "after__1": 1.0,
        "in-flight__1": None,
    }
    assert engine.kettle_containers() == [], "the interrupted trial's container is gone too"

    kept = (job_dir / "after__1" / "result.json").read_bytes()
    rerun = run_job(
        engine, images, tasks, lambda: CommandSolver("work", "echo fixed > /app/state"),
        config, job_dir, resume=True,
    )  # fmt: skip
    assert rerun.status == "completed" and rerun.n_errors == 0 and rerun.mean_reward == 1.0
    assert (job_dir / "after__1" / "result.json").read_bytes() == kept, "finished work is kept"
    assert engine.kettle_containers() == []
    engine.close()


def _running_command(engine: DockerEngine, command: str) -> bool:
    for container in engine.kettle_containers():
        if container.get("State") != "running":
            continue
        try:
            processes = engine.api.top(container["Id"]).get("Processes") or []
        except APIError:  # it stopped since it was listed
            continue
        if any(command in " ".join(process) for process in processes):
            return True
    return False


def wait_for(condition, timeout_sec: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_sec
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


# --- A container OOM-killed ---------------------------------------------------------------


def test_agent_killed_for_memory_says_so_in_the_trial_result(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    task_dir = copy_task(tmp_path)
    toml = task_dir / "task.toml"
    toml.write_text(toml.read_text().replace("memory_mb = 1024", "memory_mb = 64"))
    hog = CommandSolver("hog", "python3 -c 'blob = bytearray(512 * 1024 * 1024)'")
    result = run_trial(
        docker_engine, TaskImages(docker_engine, Settings.from_env()), HarborTask.load(task_dir),
        hog, tmp_path / "trial", run_id=test_run_id, build_log=tmp_path / "build.log",
    )  # fmt: skip
    assert result.error is None and result.reward == 0.0
    assert result.oom_killed
    assert result.agent_result is not None and result.agent_result.status == "oom_killed"
    assert any("out of memory in the agent phase" in note for note in result.notes)
    assert any("64 MB" in note for note in result.agent_result.notes)
    on_disk = json.loads((tmp_path / "trial" / "result.json").read_text())
    assert on_disk["oom_killed"] is True and on_disk["agent_result"]["status"] == "oom_killed"
    assert docker_engine.kettle_containers(test_run_id) == []


# --- A build that hangs past its timeout --------------------------------------------------


def test_hung_build_fails_its_trials_only_and_the_job_goes_on(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    hung = copy_task(tmp_path, as_name="hangs-in-build")
    dockerfile = hung / "environment" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN echo hanging && sleep 1000\n")
    toml = hung / "task.toml"
    toml.write_text(toml.read_text().replace("build_timeout_sec = 300.0", "build_timeout_sec = 5"))
    tasks = [HarborTask.load(hung), HarborTask.load(EXAMPLE_TASKS / REQSTATS)]
    config = job_config(f"{test_run_id}-hung-build", tasks, agent="oracle")
    started = time.monotonic()
    result = run_job(
        docker_engine, TaskImages(docker_engine, Settings.from_env()), tasks, OracleSolver,
        config, tmp_path / "job",
    )  # fmt: skip
    assert time.monotonic() - started < 120
    assert result.status == "completed" and result.n_trials == 2 and result.n_errors == 1
    by_task = {trial.task_id: trial for trial in result.trials}
    assert by_task[REQSTATS].reward == 1.0
    assert by_task["hangs-in-build"].reward is None
    assert "took longer than 5s" in (by_task["hangs-in-build"].error or "")
    trial_record = json.loads((tmp_path / "job" / "hangs-in-build__1" / "result.json").read_text())
    assert trial_record["error"]["type"] == "BuildError"
    assert trial_record["error"]["phase"] == "image"
    assert "hanging" in (tmp_path / "job" / "builds" / "hangs-in-build.log").read_text()
    assert docker_engine.kettle_containers(config.job_id) == []


# --- The model server failing for a while -------------------------------------------------


def test_model_server_errors_timeouts_and_garbage_are_survived(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    turns = [
        ScriptTurn(status=500),
        ScriptTurn(malformed_body=True),  # truncated JSON
        ScriptTurn(hang=True),  # the request times out
        ScriptTurn(status=503),
        ScriptTurn(status=502, error_message="<html><body>Bad Gateway</body></html>"),
        turn("grep -n sorted /app/src/stash/keys.py\n"),
        ScriptTurn(content="\x00\x1b[31m}{ not json at all ]["),  # a garbage reply
        ScriptTurn(status=429, retry_after=0.1),
        ScriptTurn(malformed_body=True),
        turn(STASH_FIX),
        ScriptTurn(status=500),
        *done_twice(),
    ]
    retry = RetryPolicy(
        max_attempts=8, initial_backoff_sec=0.01, max_backoff_sec=0.05, request_timeout_sec=3
    )
    with ScriptedServer(Script(turns=turns)) as server:

        def make_model() -> LiteLLMModel:
            return LiteLLMModel(ModelSpec.resolve(PRICED_MODEL, server.base_url), retry=retry)

        result = run_trial(
            docker_engine, TaskImages(docker_engine, Settings.from_env()),
            HarborTask.load(EXAMPLE_TASKS / "stash-kwargs-cache-key"),
            TerminusSolver(make_model, Budgets(max_steps=10)), tmp_path / "trial",
            run_id=test_run_id, build_log=tmp_path / "build.log",
        )  # fmt: skip
        assert server.turns_remaining == 0
    assert result.error is None and result.reward == 1.0
    assert result.agent_result is not None and result.agent_result.status == "completed"
    trajectory = json.loads((tmp_path / "trial" / "agent" / "trajectory.json").read_text())
    attempts = [
        (step.get("metrics") or {}).get("extra", {}).get("attempts")
        for step in trajectory["steps"]
        if step["source"] == "agent"
    ]
    assert attempts[0] == 6 and max(attempts) == 6  # five failures, then the answer
    garbage_feedback = server.requests[7]["messages"][-1]["content"]
    assert "no JSON object found" in garbage_feedback


# --- Disk nearly full in the jobs folder --------------------------------------------------


@pytest.mark.parametrize("leave_bytes", [0, 12 * 1024])
def test_full_jobs_disk_stops_the_run_with_one_line_and_keeps_earlier_results(
    small_disk: Path, docker_engine: DockerEngine, leave_bytes: int
) -> None:
    task = str(EXAMPLE_TASKS / REQSTATS)
    first = run_cli("--task", task, "--agent", "oracle", "--jobs-dir", str(small_disk),
                    "--job-name", "earlier")  # fmt: skip
    assert first.returncode == 0, first.stderr
    earlier = {p: p.read_bytes() for p in (small_disk / "earlier").rglob("result.json")}
    assert len(earlier) == 2
    fill(small_disk, leave_bytes)

    full = run_cli("--task", task, "--agent", "oracle", "--jobs-dir", str(small_disk),
                   "--job-name", "later")  # fmt: skip
    assert full.returncode != 0
    error_lines = [line for line in full.stderr.splitlines() if line.strip()]
    assert "Traceback" not in full.stderr and len(error_lines) == 1, full.stderr
    assert "No space left on device" in error_lines[0] and "--resume" in error_lines[0]
    assert {p: p.read_bytes() for p in (small_disk / "earlier").rglob("result.json")} == earlier
    later_result = small_disk / "later" / "result.json"
    if later_result.exists():  # whatever was written is whole, never half a file
        json.loads(later_result.read_text())
    assert docker_engine.kettle_containers("later") == []

    (small_disk / "filler").unlink()
    resumed = run_cli("--task", task, "--agent", "oracle", "--jobs-dir", str(small_disk),
                      "--job-name", "later", "--resume")  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(later_result.read_text())["mean_reward"] == 1.0


# --- The runner killed with SIGKILL -------------------------------------------------------


def test_runner_killed_with_sigkill_leaves_nothing_gc_cannot_remove_and_resume_finishes(
    tmp_path: Path, docker_engine: DockerEngine
) -> None:
    task_dir = copy_task(tmp_path)
    solve = task_dir / "solution" / "solve.sh"
    original = solve.read_text()
    solve.write_text(original.replace("set -euo pipefail\n", "set -euo pipefail\nsleep 300\n"))
    job_name = f"sigkill-{os.getpid()}"
    args = ["--task", str(task_dir), "--agent", "oracle", "--jobs-dir", str(tmp_path / "jobs"),
            "--job-name", job_name]  # fmt: skip
    runner = subprocess.Popen(
        [sys.executable, "-m", "harness.run", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _running_command(docker_engine, "sleep 300"), 180, "the oracle to start")
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait(30)
    orphans = docker_engine.kettle_containers(job_name)
    assert len(orphans) == 1, "the killed runner could not clean up"

    planned = [r for r in gc.plan(docker_engine, [tmp_path / "jobs"]) if job_name in r.name]
    assert [r.kind for r in planned] == ["container"] and "is gone" in planned[0].reason
    gc.apply(docker_engine, planned)
    assert planned[0].done == "removed" and docker_engine.kettle_containers(job_name) == []

    solve.write_text(original)
    resumed = run_cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    job = json.loads((tmp_path / "jobs" / job_name / "result.json").read_text())
    assert job["status"] == "completed" and job["n_errors"] == 0 and job["mean_reward"] == 1.0
