"""The factory and the meta-benchmark on a real local Ray cluster (a head and a worker node).

Results through ``--executor ray`` are the same as through ``--executor local``; a run
begun with one executor is finished by the other; a worker killed mid-stage has its unit
retried and the run completes; Ctrl-C on the driver cancels the remote units and removes
their containers; the run's budget is one budget across the cluster.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray.cluster_utils import Cluster

from harness.executors.base import ExecutorConfig, make_executor
from harness.run_budget import BudgetLimits
from harness.sandbox.engine import DockerEngine
from harness.scripted_server import Script, ScriptedServer
from tests.conftest import REPO_ROOT, hears_ctrl_c
from tests.e2e.ray_support import (
    BUILD,
    META,
    assert_retried_once_after_a_loss,
    build_on_ray_and_break_something,
    build_result,
    no_ray_units_within,
    ray_unit_pids,
    run,
    stage_rows,
    succeeded,
)
from tests.e2e.test_model_agents import OUTPUT, changed_files, qualification_json, write_file
from tests.fixtures.ray_cluster import start_local_cluster
from tests.scripting import PRICED_MODEL, done_twice, turn
from tools.repos.examples import SESSIONS_DIR, WORKSPACE_ROOT, ensure_example_repos, example_shas

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Cluster]:
    cluster = start_local_cluster()
    try:
        yield cluster
    finally:
        cluster.shutdown()


@pytest.fixture(scope="module")
def ray_address(ray_cluster: Cluster) -> str:
    return ray_cluster.address


def test_a_ray_run_ended_by_its_wall_time_budget_is_finished_by_a_rerun_that_loses_a_worker(
    tmp_path: Path, ray_address: str, local_build: dict[str, object], docker_engine: DockerEngine
) -> None:
    """Two ways a Ray run is cut short, one build: the budget ends the first run between
    stages; the rerun loses a worker mid-stage and still matches the local build."""
    run_dir = tmp_path / "ray-run"
    ray = ["--executor", "ray", "--ray-address", ray_address, "--out", str(run_dir)]
    stopped = run(BUILD, *ray, "--budget-minutes", "0.2")
    succeeded(stopped)
    assert "wall-time budget" in stopped.stderr
    assert any(row[0] == "pending" for row in stage_rows(run_dir).values())

    def kill_a_worker() -> None:
        os.kill(ray_unit_pids()[0], signal.SIGKILL)

    build_on_ray_and_break_something(run_dir, ray_address, kill_a_worker)

    assert build_result(run_dir) == local_build
    assert_retried_once_after_a_loss(run_dir)
    assert docker_engine.kettle_containers(run_dir.name) == []


def test_a_run_moves_between_executors_without_repeating_finished_stages(
    tmp_path: Path, ray_address: str, local_build: dict[str, object]
) -> None:
    """Begun locally, continued on Ray, finished locally: the same tasks as a local build."""
    run_dir = tmp_path / "run"
    local = ["--executor", "local", "--out", str(run_dir)]
    ray = ["--executor", "ray", "--ray-address", ray_address, "--out", str(run_dir)]

    succeeded(run(BUILD, *local, "--stages", "reconstruct"))
    after_local = stage_rows(run_dir)
    assert {row[0] for (_, stage), row in after_local.items() if stage == "verifier"} == {
        "pending",
        "skipped",
    }
    succeeded(run(BUILD, *ray, "--stages", "verifier"))
    after_ray = stage_rows(run_dir)
    assert any(
        row[0] == "done" and after_local[key][0] == "pending" for key, row in after_ray.items()
    ), "Ray did none of the work"
    succeeded(run(BUILD, *local))

    assert build_result(run_dir) == local_build
    for key, row in stage_rows(run_dir).items():
        if after_ray[key][0] == "done":
            assert row[:2] == ("done", 1), f"{key} was repeated: {row}"


def test_ctrl_c_on_the_driver_cancels_remote_units_and_removes_their_containers(
    tmp_path: Path, ray_address: str, docker_engine: DockerEngine
) -> None:
    run_dir = tmp_path / "interrupted"
    driver = subprocess.Popen(
        [*BUILD, "--executor", "ray", "--ray-address", ray_address, "--out", str(run_dir)],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, preexec_fn=hears_ctrl_c,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not docker_engine.kettle_containers(run_dir.name):
        assert driver.poll() is None and time.monotonic() < deadline, "no container ever started"
        time.sleep(0.3)
    interrupted_at = time.monotonic()
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=180)

    assert driver.returncode != 0
    assert time.monotonic() - interrupted_at < 120, "Ctrl-C took too long to stop the run"
    assert "interrupted" in err.lower()
    assert docker_engine.kettle_containers(run_dir.name) == []
    assert no_ray_units_within(30) == []
    # Interrupted stages are left to the next run, not recorded as failures.
    assert all(row[0] != "failed" for row in stage_rows(run_dir).values())


def test_a_meta_benchmark_slice_scores_the_same_on_ray_as_locally(
    tmp_path: Path, ray_address: str
) -> None:
    slice_args = ["--builder", "baseline", "--builder", "null", "--seed", "pagewise-last-page"]
    local_dir, ray_dir = tmp_path / "local", tmp_path / "ray"
    succeeded(run(META, *slice_args, "--out", str(local_dir)))
    succeeded(
        run(META, *slice_args, "--executor", "ray", "--ray-address", ray_address,
            "--out", str(ray_dir))
    )  # fmt: skip

    def scores(out: Path) -> dict[str, dict[str, object]]:
        board = json.loads((out / "leaderboard.json").read_text())
        return {
            row["builder"]: {"meta_score": row["meta_score"], "metrics": row["metrics"]}
            for row in board["rows"]
        }

    assert scores(ray_dir) == scores(local_dir)
    assert scores(ray_dir)["baseline"]["meta_score"] > 0.0
    assert scores(ray_dir)["null"]["meta_score"] == 0.0


def test_the_run_budget_is_one_budget_across_the_cluster(ray_address: str) -> None:
    executor = make_executor(
        ExecutorConfig(kind="ray", ray_address=ray_address), run_id="budget-test"
    )
    try:
        import ray

        budget = executor.budget(BudgetLimits(usd=1.0))

        def spend(shared: object, dollars: float) -> str | None:
            shared.add(dollars)  # type: ignore[attr-defined]
            return shared.exhausted()  # type: ignore[attr-defined]

        remote_spend = ray.remote(num_cpus=0, resources={"docker": 1})(spend)
        verdicts = ray.get([remote_spend.remote(budget, 0.3) for _ in range(3)])
        assert verdicts == [None, None, None]
        assert budget.spent == pytest.approx(0.9)  # type: ignore[attr-defined]
        assert ray.get(remote_spend.remote(budget, 0.3)) == "run_cost"
        assert budget.exhausted() == "run_cost"
        assert budget.remaining() == 0.0
    finally:
        executor.close()


def test_a_model_driven_stage_runs_on_a_worker_through_the_real_model_path(
    tmp_path: Path, ray_address: str
) -> None:
    repos = tmp_path / "repos"
    ensure_example_repos(repos)
    fix = example_shas(repos / "ledgerline")[6]
    turns = [
        turn("git log --oneline --all | head -20\n"),
        turn(write_file(OUTPUT, qualification_json(fix, changed_files(repos / "ledgerline", fix)))),
        *done_twice(),
    ]
    session = next((SESSIONS_DIR / "claude-code").rglob("*.jsonl"))
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    with ScriptedServer(Script(turns=turns)) as server:
        completed = subprocess.run(
            [*BUILD, "--sessions", str(session), "--model", PRICED_MODEL,
             "--api-base", server.base_url, "--stages", "qualify", "--out", str(run_dir),
             "--repo-map", f"{WORKSPACE_ROOT}={repos}",
             "--executor", "ray", "--ray-address", ray_address],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    succeeded(completed)
    assert len(server.requests) == len(turns)
    (candidate,) = (run_dir / "candidates").iterdir()
    qualification = json.loads((candidate / "qualification.json").read_text())
    assert qualification["decided_by"] == PRICED_MODEL and qualification["fix_commit"] == fix
    trajectory = json.loads((candidate / "trajectories" / "qualify.json").read_text())
    assert trajectory["extra"]["status"] == "completed"
    ((status, _, _),) = [
        row for (_, stage), row in stage_rows(run_dir).items() if stage == "qualify"
    ]
    assert status == "done"
    with sqlite3.connect(run_dir / "ledger.sqlite") as db:
        (cost,) = db.execute("SELECT cost_usd FROM stages WHERE stage = 'qualify'").fetchone()
    assert cost is not None and cost > 0  # the worker's spending reached the driver's ledger
