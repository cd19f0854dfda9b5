"""python -m harness.gc removes what crashed runs left — and nothing a live run still owns."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from docker.errors import NotFound

from harness.sandbox import cleanup as gc
from harness.sandbox.engine import DockerEngine
from harness.sandbox.image_build import BuildRequest
from harness.sandbox.ownership import LABEL, kettle_labels, owner_token
from harness.sandbox.records import SandboxSpec
from tests.conftest import REPO_ROOT


def dead_owner() -> str:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return owner_token(finished.pid).rsplit(":", 1)[0] + ":0"


def test_gc_removes_orphans_of_dead_owners_and_keeps_what_live_runs_own(
    docker_engine: DockerEngine, base_image: str, test_run_id: str, tmp_path: Path
) -> None:
    owner = dead_owner()
    orphan = docker_engine.start(
        SandboxSpec(image=base_image, run_id=test_run_id, role="orphan",
                    extra_labels={"org.kettle.owner": owner})
    )  # fmt: skip
    docker_engine.forget(orphan)  # as if its process had been killed
    snapshot_labels = {**kettle_labels(test_run_id, "snapshot"), "org.kettle.snapshot": "1"}
    snapshot_labels["org.kettle.owner"] = owner
    snapshot = docker_engine.api.commit(
        orphan.id, repository="kettle-snapshot/gc-test", tag=test_run_id[-12:],
        changes=[f'LABEL {key}="{value}"' for key, value in snapshot_labels.items()],
    )["Id"]  # fmt: skip
    dangling = build_twice(docker_engine, base_image, tmp_path)
    try:
        jobs = tmp_path / "jobs"
        stale_copy = jobs / "job" / "trial" / ".copy-out-x1y2"
        stale_copy.mkdir(parents=True)
        (stale_copy / "partial.txt").write_text("half")
        stale_write = jobs / "job" / ".result.json.abc123.tmp"
        stale_write.write_text("{")
        fresh_write = jobs / "job" / ".config.json.def456.tmp"
        fresh_write.write_text("{")
        two_hours_ago = time.time() - 7200
        for path in (stale_copy, stale_write):
            os.utime(path, (two_hours_ago, two_hours_ago))

        with docker_engine.start(
            SandboxSpec(image=base_image, run_id=test_run_id, role="live")
        ) as live:
            mine = {orphan.id, snapshot, dangling, str(stale_copy), str(stale_write), live.id}
            planned = [
                r for r in gc.plan(docker_engine, [jobs]) if _identity(docker_engine, r) in mine
            ]
            kinds = sorted(r.kind for r in planned)
            assert kinds == ["container", "image", "snapshot", "staging", "staging"], planned
            assert all(
                "is gone" in r.reason for r in planned if r.kind in ("container", "snapshot")
            )
            assert not any(r.name == str(fresh_write) for r in planned), "fresh staging stays"

            everything = gc.plan(docker_engine, [jobs], everything=True)
            live_names = {_identity(docker_engine, r) for r in everything}
            assert live.id in live_names and str(fresh_write) in live_names

            gc.apply(docker_engine, planned)
            assert all(r.done == "removed" for r in planned), planned
            assert live.state().running
    finally:  # whatever the assertions said, nothing of this test stays on the engine
        orphan.close()
        docker_engine.remove_image(snapshot)
        docker_engine.remove_image(dangling)
    assert all(c["Id"] != orphan.id for c in docker_engine.kettle_containers(test_run_id))
    assert not stale_copy.exists() and not stale_write.exists() and fresh_write.exists()
    assert dangling not in {image["Id"] for image in docker_engine.api.images(all=True)}


def test_gc_dry_run_prints_a_table_and_removes_nothing(
    docker_engine: DockerEngine, base_image: str, test_run_id: str, tmp_path: Path
) -> None:
    orphan = docker_engine.start(
        SandboxSpec(image=base_image, run_id=test_run_id, role="dry-run-orphan",
                    extra_labels={"org.kettle.owner": dead_owner()})
    )  # fmt: skip
    docker_engine.forget(orphan)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "harness.gc", "--dry-run", "--jobs-dir", str(tmp_path)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "COLUMNS": "250"},
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr
        assert "would remove" in completed.stdout and "dry-run-orphan" in completed.stdout
        assert any(c["Id"] == orphan.id for c in docker_engine.kettle_containers(test_run_id))
    finally:
        orphan.close()


def build_twice(engine: DockerEngine, base_image: str, tmp_path: Path) -> str:
    """Build a kettle-labelled image, then rebuild the tag: the first build dangles."""
    context = tmp_path / "ctx"
    context.mkdir()
    ids = []
    for content in ("first", "second"):
        (context / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo {content} > /x\n")
        result = engine.build(
            BuildRequest(context_dir=context, tag="kettle-test/gc-dangling:latest",
                         labels={LABEL: "1"}, log_path=tmp_path / "build.log")
        )  # fmt: skip
        ids.append(result.image_id)
    return ids[0]


def _identity(engine: DockerEngine, removal: gc.Removal) -> str:
    """A planned removal's container id / image id / path, to match it with what we made."""
    try:
        if removal.kind == "container":
            return str(engine.api.inspect_container(removal.name)["Id"])
        if removal.kind in ("snapshot", "image"):
            return str(engine.api.inspect_image(removal.name)["Id"])
    except NotFound:  # another run's item, gone since it was listed
        pass
    return removal.name
