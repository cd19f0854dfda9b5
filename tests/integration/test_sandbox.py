"""The Docker sandbox: commands, timeouts, files in and out, limits, cleanup."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.errors import BuildError, SandboxError
from harness.sandbox.container import DockerSandbox
from harness.sandbox.engine import DockerEngine
from harness.sandbox.image_build import BuildRequest
from harness.sandbox.overlay import overlay_changes
from harness.sandbox.ownership import owner_alive, owner_token
from harness.sandbox.records import SandboxSpec


def test_exec_separates_stdout_stderr_and_exit_code(sandbox: DockerSandbox) -> None:
    result = sandbox.exec("echo out; echo err >&2; exit 7")
    assert (result.stdout, result.stderr, result.exit_code) == ("out\n", "err\n", 7)
    assert not result.ok and not result.timed_out


def test_exec_timeout_kills_the_process_and_its_children(sandbox: DockerSandbox) -> None:
    started = time.monotonic()
    result = sandbox.exec("sleep 1000 & sleep 1000; echo unreachable", timeout_sec=2)
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 20
    survivors = sandbox.exec("ps -eo comm,args | grep -c '^sleep.*1000' || true").stdout.strip()
    assert survivors == "0"


def test_exec_timeout_kills_processes_that_left_the_process_group(sandbox: DockerSandbox) -> None:
    result = sandbox.exec("setsid sleep 1000 & wait", timeout_sec=2)
    assert result.timed_out
    survivors = sandbox.exec("ps -eo args | grep -c '^sleep 1000' || true").stdout.strip()
    assert survivors == "0"


def test_huge_output_is_cut_in_the_middle_not_buffered_whole(sandbox: DockerSandbox) -> None:
    result = sandbox.exec("seq 1 2000000", max_output_bytes=4000)
    assert result.stdout.startswith("1\n2\n3\n")
    assert result.stdout.rstrip().endswith("2000000")
    assert "bytes of stdout omitted" in result.stdout
    assert result.truncated_bytes > 10_000_000


def test_copy_in_and_out_round_trips_a_folder(sandbox: DockerSandbox, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "nested").mkdir(parents=True)
    (source / "nested" / "data.txt").write_text("payload\n")
    (source / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (source / "run.sh").chmod(0o755)
    os.symlink("run.sh", source / "alias.sh")
    sandbox.copy_in(source, "/work/project")
    assert sandbox.exec("/work/project/alias.sh").stdout == "ran\n"
    sandbox.copy_out("/work/project", tmp_path / "back")
    assert (tmp_path / "back" / "nested" / "data.txt").read_text() == "payload\n"
    assert os.readlink(tmp_path / "back" / "alias.sh") == "run.sh"


def test_copy_in_never_follows_links_out_of_the_source(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("do not ship me")
    source = tmp_path / "src"
    source.mkdir()
    os.symlink(secret, source / "leak.txt")
    os.symlink("/etc", source / "etc-link")
    (source / "ok.txt").write_text("fine")
    sandbox.copy_in(source, "/incoming")
    listing = sandbox.exec("ls -A /incoming").stdout.split()
    assert listing == ["ok.txt"]
    # Nowhere the copy wrote (every path the container changed) holds the secret.
    written = [path for path, kind in sandbox.diff() if kind != "deleted"]
    assert "/incoming/ok.txt" in written
    found = sandbox.exec(["grep", "-rls", "do not ship", *written]).stdout
    assert found == ""


def test_copy_out_refuses_links_escaping_the_destination(
    sandbox: DockerSandbox, tmp_path: Path
) -> None:
    sandbox.exec(
        "mkdir -p /evil && ln -s /etc/passwd /evil/passwd && ln -s ../../../../etc /evil/up"
    )
    sandbox.exec("echo safe > /evil/ok.txt")
    with pytest.raises(SandboxError, match="unsafe"):
        sandbox.copy_out("/evil", tmp_path / "out")
    assert not (tmp_path / "out" / "passwd").exists()


def test_write_and_read_file(sandbox: DockerSandbox) -> None:
    sandbox.write_file("/deep/new/dir/file.txt", "héllo\n", mode=0o600)
    assert sandbox.read_file("/deep/new/dir/file.txt").decode() == "héllo\n"
    assert sandbox.exec("stat -c %a /deep/new/dir/file.txt").stdout.strip() == "600"
    with pytest.raises(SandboxError, match="no such file"):
        sandbox.read_file("/does/not/exist")


def test_network_can_be_switched_off_and_on(sandbox: DockerSandbox) -> None:
    sandbox.set_network(False)
    offline = sandbox.exec("cat /proc/net/route | wc -l").stdout.strip()
    assert offline == "1"  # only the header: no route anywhere
    sandbox.set_network(True)
    assert int(sandbox.exec("cat /proc/net/route | wc -l").stdout.strip()) > 1


def test_limits_and_labels_are_applied(
    docker_engine: DockerEngine, base_image: str, test_run_id: str
) -> None:
    spec = SandboxSpec(
        image=base_image, run_id=test_run_id, role="limits", memory_mb=256, pids_limit=64, cpus=0.5
    )
    with docker_engine.start(spec) as box:
        details = docker_engine.api.inspect_container(box.id)
        host = details["HostConfig"]
        assert host["Memory"] == 256 * 1024 * 1024
        assert host["PidsLimit"] == 64
        assert host["NanoCpus"] == 500_000_000
        assert "no-new-privileges:true" in host["SecurityOpt"]
        assert host["NetworkMode"] == "none"
        labels = details["Config"]["Labels"]
        assert labels["org.kettle.run"] == test_run_id and labels["org.kettle.role"] == "limits"
        forkbomb = box.exec("for i in $(seq 1 200); do sleep 30 & done; wait", timeout_sec=5)
        assert "fork" in forkbomb.stderr.lower() or "resource" in forkbomb.stderr.lower()


def test_container_is_removed_even_when_the_body_raises(
    docker_engine: DockerEngine, base_image: str, test_run_id: str
) -> None:
    spec = SandboxSpec(image=base_image, run_id=test_run_id, role="teardown")
    with pytest.raises(RuntimeError), docker_engine.start(spec) as box:
        container_id = box.id
        raise RuntimeError("boom")
    assert all(c["Id"] != container_id for c in docker_engine.kettle_containers(test_run_id))


def test_reaper_removes_containers_of_a_dead_owner_only(
    docker_engine: DockerEngine, base_image: str, test_run_id: str
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    dead_owner = owner_token(dead.pid).rsplit(":", 1)[0] + ":0"
    orphan_spec = SandboxSpec(
        image=base_image,
        run_id=test_run_id,
        role="orphan",
        extra_labels={"org.kettle.owner": dead_owner},
    )
    orphan = docker_engine.start(orphan_spec)
    docker_engine.forget(orphan)  # as if the owning process had crashed
    with docker_engine.start(
        SandboxSpec(image=base_image, run_id=test_run_id, role="live")
    ) as live:
        removed = docker_engine.reap_orphans(run_id=test_run_id)
        assert orphan.id in removed and live.id not in removed
        assert live.state().running
    assert owner_alive(owner_token()) and not owner_alive(dead_owner)


def test_build_keeps_its_log_and_reports_the_failing_step(
    docker_engine: DockerEngine, base_image: str, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo step-one\nRUN exit 42\n")
    log_path = tmp_path / "build.log"
    with pytest.raises(BuildError, match=r"build\.log"):
        docker_engine.build(
            BuildRequest(context_dir=context, tag="kettle-test/fails", log_path=log_path)
        )
    assert "step-one" in log_path.read_text()


def test_build_that_hangs_is_stopped_at_its_timeout(
    docker_engine: DockerEngine, base_image: str, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo hanging && sleep 1000\n")
    started = time.monotonic()
    with pytest.raises(BuildError, match="longer than 5s"):
        docker_engine.build(
            BuildRequest(
                context_dir=context,
                tag="kettle-test/hangs",
                timeout_sec=5,
                no_cache=True,
                log_path=tmp_path / "build.log",
            )
        )
    assert time.monotonic() - started < 30
    # The daemon cancelled the build: no RUN container keeps sleeping.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        running = docker_engine.api.containers(
            filters={"ancestor": base_image, "status": "running"}
        )
        if not any("sleep 1000" in str(c.get("Command")) for c in running):
            break
        time.sleep(1)
    else:
        pytest.fail("the hung build's container is still running")


def test_a_file_an_image_layer_deleted_and_the_agent_put_back_is_added_as_the_engine_says(
    docker_engine: DockerEngine, base_image: str, tmp_path: Path, test_run_id: str
) -> None:
    """A whiteout in the image's own layers means the path is not in the image: a file the
    agent writes there is added (a hook to remove), not changed (nothing to restore)."""
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nRUN rm /usr/bin/cmp && rm -rf /usr/share/doc/bash\n"
    )
    request = BuildRequest(
        context_dir=context, tag="kettle-test/layer-deletes:latest", log_path=tmp_path / "log"
    )
    image = docker_engine.build(request).tag
    spec = SandboxSpec(image=image, run_id=test_run_id, role="test", network="none")
    with docker_engine.start(spec) as box:
        script = "echo x > /usr/bin/cmp && mkdir /usr/share/doc/bash && touch /usr/share/doc/bash/x"
        assert box.exec(script, user="0").ok
        box.stop()
        engine = set(box.engine_diff())
        assert set(box.diff()) == engine
        assert {("/usr/bin/cmp", "added"), ("/usr/share/doc/bash", "added")} <= engine


def test_build_then_run_uses_the_new_image(
    docker_engine: DockerEngine, base_image: str, tmp_path: Path, test_run_id: str
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nARG GREETING=unset\nRUN echo $GREETING > /greeting\n"
    )
    result = docker_engine.build(
        BuildRequest(
            context_dir=context,
            tag="kettle-test/greets:latest",
            build_args={"GREETING": "hello-from-build-arg"},
            log_path=tmp_path / "build.log",
        )
    )
    assert result.image_id.startswith("sha256:")
    with docker_engine.start(
        SandboxSpec(image=result.tag, run_id=test_run_id, role="built")
    ) as box:
        assert box.read_file("/greeting").decode().strip() == "hello-from-build-arg"


def test_starting_a_missing_image_says_what_to_do(
    docker_engine: DockerEngine, test_run_id: str
) -> None:
    with pytest.raises(SandboxError, match="not on this machine"):
        docker_engine.start(SandboxSpec(image="kettle-test/never-built:x", run_id=test_run_id))


def test_the_changes_read_from_the_overlay_layers_are_the_engines_own_diff(
    sandbox: DockerSandbox, docker_engine: DockerEngine
) -> None:
    """diff() reads the container's overlay upper layer; it must say what `docker diff` says,
    for every kind of change an agent can make to the tools a verifier runs on."""
    script = (
        "set -e; echo x > /usr/bin/diff; rm /usr/bin/cmp; ln -s /bin/true /usr/local/bin/git; "
        "mkdir -p /app/new/deep && touch /app/new/deep/file; "
        # a package folder replaced whole: overlayfs makes the new folder opaque
        "rm -rf /usr/lib/python3/dist-packages/pkg_resources; "
        "mkdir /usr/lib/python3/dist-packages/pkg_resources; "
        "touch /usr/lib/python3/dist-packages/pkg_resources/__init__.py; "
        "echo hook > /usr/lib/python3.11/sitecustomize.py"
    )
    assert sandbox.exec(script, user="0").ok
    sandbox.stop()
    read_here = sandbox.diff()
    engine = set(sandbox.engine_diff())
    assert set(read_here) == engine
    assert ("/usr/bin/cmp", "deleted") in engine and ("/usr/bin/diff", "changed") in engine
    assert ("/usr/lib/python3/dist-packages/pkg_resources/extern", "deleted") in engine
    # Layers this process cannot see (another machine's engine, another driver): ask the engine.
    elsewhere = {"Name": "overlay2", "Data": {"UpperDir": "/nowhere/diff", "LowerDir": "/x"}}
    assert overlay_changes({"GraphDriver": elsewhere}) is None
    assert overlay_changes({"GraphDriver": {"Name": "vfs", "Data": None}}) is None
