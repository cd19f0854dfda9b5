"""A Ray node lost mid-stage: its units run again on another node and the run completes.

Its own cluster, started node by node: on one machine a driver attaches to whichever node
shares its address, so the driver starts while the head is the only node, and the node
that will be lost joins afterwards (as worker nodes join a real cluster).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray.cluster_utils import Cluster

from harness.sandbox.engine import DockerEngine
from tests.conftest import REPO_ROOT
from tests.e2e.ray_support import (
    BUILD,
    assert_retried_once_after_a_loss,
    build_result,
    ray_unit_pids,
    stage_rows,
)
from tests.fixtures.ray_cluster import WORKER_NODE, start_head

pytestmark = pytest.mark.ray


@pytest.fixture()
def head_only() -> Iterator[Cluster]:
    cluster = start_head()
    try:
        yield cluster
    finally:
        cluster.shutdown()


def test_a_node_lost_mid_stage_has_its_units_retried_on_another_node(
    tmp_path: Path, head_only: Cluster, local_build: dict[str, object], docker_engine: DockerEngine
) -> None:
    run_dir, log = tmp_path / "ray-run", tmp_path / "driver.log"
    driver = subprocess.Popen(
        [*BUILD, "--executor", "ray", "--ray-address", head_only.address, "--out", str(run_dir)],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=log.open("w"),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while "waiting up to" not in log.read_text():
        assert driver.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.3)
    doomed = head_only.add_node(**WORKER_NODE)  # the driver is on the head; units go here

    lost = False
    deadline = time.monotonic() + 600
    while not lost and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.5)
        running = [key for key, row in stage_rows(run_dir).items() if row[0] == "running"]
        if any(stage == "validate" for _, stage in running) and ray_unit_pids():
            head_only.add_node(**WORKER_NODE)  # where the lost units go
            head_only.remove_node(doomed, allow_graceful=False)
            lost = True
    driver.wait(timeout=1200)
    err = log.read_text()
    assert lost, f"no validate stage was seen running on a worker\n{err[-2000:]}"
    assert driver.returncode == 0, err[-3000:]

    assert build_result(run_dir) == local_build
    assert_retried_once_after_a_loss(run_dir)
    assert docker_engine.kettle_containers(run_dir.name) == []
