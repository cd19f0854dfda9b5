"""Sandboxes: long-lived containers that agents, oracles and verifiers run commands in.

``Sandbox`` is the protocol the rest of kettle programs against; ``DockerSandbox`` is the
implementation on docker-py, and ``DockerEngine`` owns the connection to the daemon, builds
images and starts sandboxes. Every container carries labels naming kettle, the run, the
role and the owning process, so ``reap_orphans`` can remove what a crashed run left behind.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, ParamSpec, Protocol, TypeVar

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from pydantic import BaseModel, Field

from harness.errors import DockerUnavailableError, KettleError, SandboxError
from harness.sandbox import archive
from harness.sandbox.image_build import BuildRequest, BuildResult, build_image

log = logging.getLogger(__name__)

LABEL = "org.kettle"
LABEL_RUN = "org.kettle.run"
LABEL_ROLE = "org.kettle.role"
LABEL_OWNER = "org.kettle.owner"
LABEL_TASK = "org.kettle.task"
# Images kettle makes from containers (the verifier's snapshot of the agent's filesystem).
LABEL_SNAPSHOT = "org.kettle.snapshot"
SNAPSHOT_REPOSITORY = "kettle-snapshot"
# Paths a container must never see: the engine's control socket is root on the host.
_DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")

_EXEC_MARKER_VAR = "KETTLE_EXEC_ID"
_DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024
_CONTROL_TIMEOUT_SEC = 120

P = ParamSpec("P")
R = TypeVar("R")


class SandboxSpec(BaseModel):
    """What a sandbox is started from and what it may use."""

    image: str
    run_id: str = Field(description="Groups every container of one kettle run (for cleanup)")
    role: str = Field("sandbox", description="trial, qualify, reconstruct, verifier, ...")
    network: Literal["none", "bridge"] = Field(
        "none",
        description="'none' forever, or 'bridge' (which set_network can switch off and on)",
    )
    cpus: float | None = 1.0
    memory_mb: int | None = 2048
    pids_limit: int | None = 1024
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None
    user: str | None = None
    cap_drop: list[str] = Field(default_factory=list)
    no_new_privileges: bool = True
    hostname: str = "sandbox"
    extra_labels: dict[str, str] = Field(default_factory=dict)


class ExecResult(BaseModel):
    """What one command did: exit code, separate streams, and whether it was cut off."""

    command: str
    exit_code: int | None = Field(description="None when the command was killed by the timeout")
    stdout: str
    stderr: str
    timed_out: bool = False
    duration_sec: float
    truncated_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class SandboxState(BaseModel):
    running: bool
    oom_killed: bool
    exit_code: int | None
    status: str


class Sandbox(Protocol):
    """A place to run commands and move files, isolated from the host."""

    @property
    def id(self) -> str: ...

    def exec(
        self,
        command: str | list[str],
        *,
        timeout_sec: float = 60.0,
        user: str | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
    ) -> ExecResult: ...

    def copy_in(self, source: Path, destination: str) -> None: ...

    def copy_out(self, source: str, destination: Path) -> None: ...

    def write_file(self, path: str, content: bytes | str, mode: int = 0o644) -> None: ...

    def read_file(self, path: str, max_bytes: int = 10 * 1024 * 1024) -> bytes: ...

    def set_network(self, enabled: bool) -> None: ...

    def state(self) -> SandboxState: ...

    def close(self) -> None: ...


def translate_docker_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn low-level client failures into kettle errors the user can act on."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except KettleError:
            raise
        except (requests.exceptions.ConnectionError, ConnectionError) as error:
            raise DockerUnavailableError(
                f"lost the connection to the Docker engine ({type(error).__name__})"
            ) from error
        except NotFound as error:
            raise SandboxError(f"docker: {error.explanation or error}") from error
        except (APIError, DockerException) as error:
            explanation = getattr(error, "explanation", None) or str(error)
            raise SandboxError(f"docker: {explanation}") from error

    return wrapper


class DockerSandbox:
    """A running container driven through ``docker exec``. Use as a context manager."""

    def __init__(self, engine: DockerEngine, container_id: str, spec: SandboxSpec) -> None:
        self._engine = engine
        self._container_id = container_id
        self.spec = spec
        self._closed = False

    @property
    def id(self) -> str:
        return self._container_id

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @translate_docker_errors
    def exec(
        self,
        command: str | list[str],
        *,
        timeout_sec: float = 60.0,
        user: str | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        max_output_bytes: int = _DEFAULT_MAX_OUTPUT_BYTES,
    ) -> ExecResult:
        """Run a command (a string goes through ``sh -c``) and kill it if it outlives the timeout.

        Every process the command starts inherits a unique marker variable; on timeout all
        processes carrying it are killed, including children that left the process group.
        """
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        shown = command if isinstance(command, str) else " ".join(command)
        marker = uuid.uuid4().hex
        api = self._engine.stream_api
        exec_id = api.exec_create(
            self._container_id,
            argv,
            stdout=True,
            stderr=True,
            environment={**(env or {}), _EXEC_MARKER_VAR: marker},
            workdir=workdir,
            user=user or "",
        )["Id"]
        started = time.monotonic()
        stream = api.exec_start(exec_id, stream=True, demux=True)
        collector = _OutputCollector(max_output_bytes)
        reader = threading.Thread(target=collector.drain, args=(stream,), daemon=True)
        reader.start()
        reader.join(timeout_sec)
        timed_out = reader.is_alive()
        if timed_out:
            self._kill_marked(marker)
            reader.join(10)
        if collector.error is not None and not timed_out:
            raise DockerUnavailableError(
                f"lost the connection to the Docker engine while running {shown[:60]!r} "
                f"({type(collector.error).__name__})"
            ) from collector.error
        exit_code = self._engine.api.exec_inspect(exec_id).get("ExitCode")
        return ExecResult(
            command=shown,
            exit_code=None if timed_out else exit_code,
            stdout=collector.text("stdout"),
            stderr=collector.text("stderr"),
            timed_out=timed_out,
            duration_sec=round(time.monotonic() - started, 4),
            truncated_bytes=collector.truncated_bytes,
        )

    def _kill_marked(self, marker: str) -> None:
        # Repeat until a pass finds nothing, so a process forked during the scan dies too.
        script = (
            "for round in 1 2 3 4 5 6 7 8 9 10; do found=0; "
            "for p in /proc/[0-9]*; do "
            "if tr '\\000' '\\n' < \"$p/environ\" 2>/dev/null "
            f"| grep -qx '{_EXEC_MARKER_VAR}={marker}'; "
            'then kill -KILL "${p#/proc/}" 2>/dev/null && found=1; fi; done; '
            '[ "$found" = 0 ] && break; done'
        )
        api = self._engine.api
        killer = api.exec_create(self._container_id, ["sh", "-c", script], user="0")["Id"]
        api.exec_start(killer)

    @translate_docker_errors
    def copy_in(self, source: Path, destination: str) -> None:
        """Make ``destination`` (an absolute path in the sandbox) a copy of host ``source``."""
        parent, name = _split_container_path(destination)
        self._mkdir(parent)
        data = archive.pack_path(Path(source), name)
        self._engine.api.put_archive(self._container_id, parent, data)

    @translate_docker_errors
    def copy_out(self, source: str, destination: Path, max_bytes: int | None = None) -> None:
        """Make host ``destination`` a copy of ``source`` in the sandbox (file or folder)."""
        destination = Path(destination)
        _, name = _split_container_path(source)
        stream, _stat = self._engine.api.get_archive(self._container_id, source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".copy-out-") as staging:
            archive.extract_stream(
                stream, Path(staging), max_bytes=max_bytes or archive.DEFAULT_MAX_EXTRACT_BYTES
            )
            extracted = Path(staging) / name
            if extracted.is_dir():
                shutil.copytree(extracted, destination, symlinks=True, dirs_exist_ok=True)
            else:
                os.replace(extracted, destination)

    @translate_docker_errors
    def write_file(self, path: str, content: bytes | str, mode: int = 0o644) -> None:
        parent, name = _split_container_path(path)
        self._mkdir(parent)
        data = content.encode("utf-8") if isinstance(content, str) else content
        self._engine.api.put_archive(
            self._container_id, parent, archive.pack_files({name: data}, mode)
        )

    @translate_docker_errors
    def read_file(self, path: str, max_bytes: int = 10 * 1024 * 1024) -> bytes:
        try:
            stream, _stat = self._engine.api.get_archive(self._container_id, path)
        except NotFound as error:
            raise SandboxError(f"{path}: no such file in the sandbox") from error
        return archive.read_single_file(stream, max_bytes=max_bytes)

    @translate_docker_errors
    def set_network(self, enabled: bool) -> None:
        """Connect to or disconnect from the bridge network (only for 'bridge' sandboxes)."""
        if self.spec.network != "bridge":
            if enabled:
                raise SandboxError("this sandbox was started without a network and cannot get one")
            return
        network = self._engine.client.networks.get("bridge")
        attached = self._attached_networks()
        if enabled and "bridge" not in attached:
            network.connect(self._container_id)
        elif not enabled and "bridge" in attached:
            network.disconnect(self._container_id, force=True)

    def _attached_networks(self) -> set[str]:
        details = self._engine.api.inspect_container(self._container_id)
        return set((details.get("NetworkSettings") or {}).get("Networks") or {})

    @translate_docker_errors
    def stop(self, timeout_sec: int = 5) -> None:
        """Stop the container: every process in it dies (the cgroup is torn down)."""
        self._engine.api.stop(self._container_id, timeout=timeout_sec)

    @translate_docker_errors
    def start(self) -> None:
        """Start a stopped container again; its filesystem is kept, its processes are not."""
        self._engine.api.start(self._container_id)
        if not self.state().running:
            raise SandboxError(f"container {self._container_id[:12]} did not start again")

    @translate_docker_errors
    def diff(self) -> list[tuple[str, str]]:
        """(path, 'changed' | 'added' | 'deleted') for each path that differs from the image."""
        kinds = {0: "changed", 1: "added", 2: "deleted"}
        changes = self._engine.api.diff(self._container_id) or []
        return [(str(change["Path"]), kinds.get(change["Kind"], "changed")) for change in changes]

    @translate_docker_errors
    def state(self) -> SandboxState:
        details = self._engine.api.inspect_container(self._container_id)["State"]
        return SandboxState(
            running=bool(details.get("Running")),
            oom_killed=bool(details.get("OOMKilled")),
            exit_code=details.get("ExitCode"),
            status=str(details.get("Status")),
        )

    def close(self) -> None:
        """Remove the container. Safe to call twice; never raises for a container already gone."""
        if self._closed:
            return
        self._closed = True
        self._engine.forget(self)
        try:
            self._engine.api.remove_container(self._container_id, force=True, v=True)
        except NotFound:
            pass
        except (APIError, DockerException, requests.exceptions.ConnectionError) as error:
            # Teardown must not hide the error that got us here: the engine tries again
            # later (retry_deferred_removals), and `python -m harness.gc` as a last resort.
            log.warning("could not remove container %s: %s", self._container_id[:12], error)
            self._engine.defer_removal("container", self._container_id)

    def _mkdir(self, path: str) -> None:
        result = self.exec(["mkdir", "-p", path], timeout_sec=30, user="0")
        if not result.ok:
            raise SandboxError(f"cannot create {path} in the sandbox: {result.stderr.strip()}")


class DockerEngine:
    """The connection to the Docker daemon, and the sandboxes started through it."""

    def __init__(
        self,
        client: docker.DockerClient,
        stream_client: docker.DockerClient,
        base_url: str | None = None,
    ) -> None:
        self.client = client
        self.base_url = base_url
        # Exec output streams may stay silent for a long time; they get a client without a
        # socket timeout, and kettle enforces its own deadlines around them.
        self._stream_client = stream_client
        self._live: dict[str, DockerSandbox] = {}
        self._deferred: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, base_url: str | None = None) -> DockerEngine:
        try:
            if base_url:
                client = docker.DockerClient(base_url=base_url, timeout=_CONTROL_TIMEOUT_SEC)
                stream_client = docker.DockerClient(base_url=base_url, timeout=None)
            else:
                client = docker.from_env(timeout=_CONTROL_TIMEOUT_SEC)
                stream_client = docker.from_env(timeout=None)
            client.ping()
        except (DockerException, requests.exceptions.RequestException) as error:
            where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
            raise DockerUnavailableError(f"cannot reach the Docker engine at {where}") from error
        return cls(client, stream_client, base_url)

    @property
    def api(self) -> docker.APIClient:
        return self.client.api

    @property
    def stream_api(self) -> docker.APIClient:
        return self._stream_client.api

    def build(self, request: BuildRequest) -> BuildResult:
        return build_image(request.model_copy(update={"docker_base_url": self.base_url}))

    @translate_docker_errors
    def image_exists(self, tag: str) -> bool:
        try:
            self.client.images.get(tag)
        except ImageNotFound:
            return False
        return True

    @translate_docker_errors
    def start(self, spec: SandboxSpec) -> DockerSandbox:
        """Start a long-lived container for ``spec`` and wait until it runs."""
        if not self.image_exists(spec.image):
            raise SandboxError(
                f"image {spec.image} is not on this machine",
                "build it first, or run `python -m harness.setup` for kettle's base images",
            )
        labels = kettle_labels(spec.run_id, spec.role, spec.extra_labels)
        name = f"kettle-{_slug(spec.role)}-{_slug(spec.run_id)[:40]}-{uuid.uuid4().hex[:8]}"
        options: dict[str, object] = {
            "entrypoint": ["tail", "-f", "/dev/null"],
            "command": [],
            "detach": True,
            "init": True,
            "name": name,
            "labels": labels,
            "hostname": spec.hostname,
            "network_mode": spec.network,
            "environment": spec.env,
            "cap_drop": spec.cap_drop or None,
            "security_opt": ["no-new-privileges:true"] if spec.no_new_privileges else None,
        }
        if spec.workdir:
            options["working_dir"] = spec.workdir
        if spec.user:
            options["user"] = spec.user
        if spec.cpus:
            options["nano_cpus"] = int(spec.cpus * 1e9)
        if spec.memory_mb:
            options["mem_limit"] = f"{spec.memory_mb}m"
            options["memswap_limit"] = f"{spec.memory_mb}m"  # no swap: OOM means OOM
        if spec.pids_limit:
            options["pids_limit"] = spec.pids_limit
        container = self.client.containers.run(spec.image, **options)
        sandbox = DockerSandbox(self, container.id, spec)
        with self._lock:
            self._live[container.id] = sandbox
        container.reload()
        if container.status != "running":
            logs = container.logs(tail=20).decode("utf-8", "replace").strip()
            sandbox.close()
            raise SandboxError(
                f"container for {spec.image} did not start: {logs or container.status}"
            )
        exposed = _docker_socket_mounts(container.attrs.get("Mounts") or [])
        if exposed:
            sandbox.close()
            raise SandboxError(
                f"refusing a container that sees the Docker socket ({exposed[0]})",
                "the engine's socket is root on the host; remove the mount",
            )
        return sandbox

    @translate_docker_errors
    def snapshot(self, sandbox: DockerSandbox, *, task_id: str, run_id: str) -> str:
        """Commit the (stopped) container's filesystem to a labelled kettle snapshot image."""
        tag = f"{uuid.uuid4().hex[:12]}"
        repository = f"{SNAPSHOT_REPOSITORY}/{_slug(task_id)}"
        labels = kettle_labels(run_id, "snapshot", {LABEL_SNAPSHOT: "1", LABEL_TASK: task_id})
        # LABEL lines override the labels the committed container carried (role=trial, ...).
        changes = [f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()]
        self.api.commit(
            sandbox.id,
            repository=repository,
            tag=tag,
            message="kettle: the agent's final filesystem, for a separate verifier",
            changes=changes,
            pause=True,
        )
        return f"{repository}:{tag}"

    def remove_image(self, image: str) -> None:
        """Remove an image kettle made; if the engine is unreachable, try again later."""
        try:
            self.api.remove_image(image, force=True, noprune=False)
        except ImageNotFound:
            pass
        except (APIError, DockerException, requests.exceptions.ConnectionError) as error:
            log.warning("could not remove image %s: %s", image, error)
            self.defer_removal("image", image)

    def defer_removal(self, kind: str, name: str) -> None:
        with self._lock:
            self._deferred.add((kind, name))

    def retry_deferred_removals(self) -> list[str]:
        """Remove what could not be removed earlier (the engine was away). Returns what is
        still pending; never raises."""
        with self._lock:
            pending = sorted(self._deferred)
        for kind, name in pending:
            try:
                if kind == "container":
                    self.api.remove_container(name, force=True, v=True)
                else:
                    self.api.remove_image(name, force=True)
            except (NotFound, ImageNotFound):
                pass
            except (APIError, DockerException, requests.exceptions.ConnectionError):
                continue
            with self._lock:
                self._deferred.discard((kind, name))
        with self._lock:
            return sorted(name for _kind, name in self._deferred)

    def wait_until_reachable(self, timeout_sec: float) -> None:
        """Return once the engine answers a ping; DockerUnavailableError after the timeout."""
        deadline = time.monotonic() + timeout_sec
        while True:
            try:
                self.api.ping()
                return
            except (DockerException, requests.exceptions.RequestException) as error:
                if time.monotonic() >= deadline:
                    raise DockerUnavailableError(
                        f"the Docker engine did not answer for {timeout_sec:.0f}s"
                    ) from error
            time.sleep(1.0)

    @translate_docker_errors
    def path_stat(self, container_id: str, path: str) -> dict[str, object] | None:
        """Docker's stat of a path in a container (running, stopped or only created), or None.

        A HEAD request: unlike get_archive it never streams a folder's whole content.
        """
        url = self.api._url("/containers/{0}/archive", container_id)
        response = self.api.head(url, params={"path": path}, timeout=_CONTROL_TIMEOUT_SEC)
        if response.status_code == 404:
            return None
        self.api._raise_for_status(response)
        encoded = response.headers.get("x-docker-container-path-stat")
        return docker.utils.decode_json_header(encoded) if encoded else None

    @translate_docker_errors
    def watch_events(self, container_id: str, kinds: tuple[str, ...]) -> ContainerEvents:
        """Start counting a container's engine events ('oom', 'die', ...) as they happen."""
        return ContainerEvents(self, container_id, kinds)

    def forget(self, sandbox: DockerSandbox) -> None:
        with self._lock:
            self._live.pop(sandbox.id, None)

    def close_all(self) -> None:
        """Tear down every sandbox this engine started and has not closed (Ctrl-C, errors)."""
        with self._lock:
            live = list(self._live.values())
        for sandbox in live:
            sandbox.close()
        self.retry_deferred_removals()

    @translate_docker_errors
    def kettle_containers(self, run_id: str | None = None) -> list[dict[str, object]]:
        filters = [f"{LABEL}=1"] + ([f"{LABEL_RUN}={run_id}"] if run_id else [])
        return self.api.containers(all=True, filters={"label": filters})

    @translate_docker_errors
    def kettle_snapshots(self, run_id: str | None = None) -> list[dict[str, object]]:
        """Snapshot images kettle committed (for separate verifiers), optionally of one run."""
        filters = [f"{LABEL_SNAPSHOT}=1"] + ([f"{LABEL_RUN}={run_id}"] if run_id else [])
        return self.api.images(filters={"label": filters})

    @translate_docker_errors
    def reap_orphans(self, *, run_id: str | None = None, everything: bool = False) -> list[str]:
        """Remove kettle containers whose owning process is gone (or all, with ``everything``).

        Containers owned by a live process — another kettle run on this machine — are left
        alone, so two runs can share a daemon.
        """
        removed: list[str] = []
        for container in self.kettle_containers(run_id):
            labels = container.get("Labels") or {}
            if not everything and owner_alive(str(labels.get(LABEL_OWNER, ""))):
                continue
            try:
                self.api.remove_container(container["Id"], force=True, v=True)
                removed.append(str(container["Id"]))
            except NotFound:
                continue
        return removed

    def close(self) -> None:
        self.close_all()
        self.client.close()
        self._stream_client.close()


class ContainerEvents:
    """Counts a container's engine events live, from a background thread.

    Live, because the engine keeps only its last 256 events and an agent's terminal makes
    several per second: an 'oom' from early in a trial is gone by its end. The kernel's OOM
    killer shows up here even when it killed only a child (the agent's python), which
    State.OOMKilled does not report. ``ended`` turns true when the engine went away.
    """

    def __init__(self, engine: DockerEngine, container_id: str, kinds: tuple[str, ...]) -> None:
        self._stream = engine.stream_api.events(
            filters={"container": container_id, "event": list(kinds)}, decode=True
        )
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.ended = False
        threading.Thread(target=self._drain, daemon=True, name="kettle-events").start()

    def _drain(self) -> None:
        try:
            for event in self._stream:
                kind = str(event.get("Action") or event.get("status") or "")
                with self._lock:
                    self._counts[kind] = self._counts.get(kind, 0) + 1
        except Exception:  # the engine went away, or close() cut the stream
            pass
        finally:
            self.ended = True

    def count(self, kind: str) -> int:
        with self._lock:
            return self._counts.get(kind, 0)

    def settle(self, seconds: float = 0.2) -> None:
        """Give events of what just happened a moment to arrive."""
        time.sleep(seconds)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()


class _OutputCollector:
    """Keeps the head and tail of each stream within a byte budget."""

    def __init__(self, max_bytes: int) -> None:
        self._half = max(max_bytes // 2, 1)
        self._heads = {"stdout": bytearray(), "stderr": bytearray()}
        self._tails: dict[str, deque[bytes]] = {"stdout": deque(), "stderr": deque()}
        self._tail_sizes = {"stdout": 0, "stderr": 0}
        self._dropped = {"stdout": 0, "stderr": 0}
        self.error: Exception | None = None

    @property
    def truncated_bytes(self) -> int:
        overflow = sum(max(size - self._half, 0) for size in self._tail_sizes.values())
        return sum(self._dropped.values()) + overflow

    def drain(self, stream: Iterator[tuple[bytes | None, bytes | None]]) -> None:
        try:
            for stdout_chunk, stderr_chunk in stream:
                if stdout_chunk:
                    self._add("stdout", stdout_chunk)
                if stderr_chunk:
                    self._add("stderr", stderr_chunk)
        except Exception as error:  # the daemon went away mid-stream; reported by exec()
            self.error = error

    def _add(self, name: str, chunk: bytes) -> None:
        head = self._heads[name]
        room = self._half - len(head)
        if room > 0:
            head.extend(chunk[:room])
            chunk = chunk[room:]
        if not chunk:
            return
        tail = self._tails[name]
        tail.append(chunk)
        self._tail_sizes[name] += len(chunk)
        while self._tail_sizes[name] - len(tail[0]) >= self._half:
            dropped = tail.popleft()
            self._tail_sizes[name] -= len(dropped)
            self._dropped[name] += len(dropped)

    def text(self, name: str) -> str:
        head = bytes(self._heads[name])
        tail = b"".join(self._tails[name])
        dropped = self._dropped[name] + max(len(tail) - self._half, 0)
        if dropped:
            marker = f"\n[... {dropped} bytes of {name} omitted ...]\n".encode()
            return (head + marker + tail[-self._half :]).decode("utf-8", "replace")
        return (head + tail).decode("utf-8", "replace")


def kettle_labels(run_id: str, role: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The labels on everything kettle creates: what made it, for which run, owned by whom."""
    return {
        LABEL: "1",
        LABEL_RUN: run_id,
        LABEL_ROLE: role,
        LABEL_OWNER: owner_token(),
        **(extra or {}),
    }


def _docker_socket_mounts(mounts: list[dict[str, object]]) -> list[str]:
    exposed = []
    for mount in mounts:
        for key in ("Source", "Destination"):
            path = str(mount.get(key) or "")
            if path.endswith("docker.sock") or path in _DOCKER_SOCKETS:
                exposed.append(path)
    return exposed


def owner_token(pid: int | None = None) -> str:
    """host:pid:start-time — identifies a process even after its pid is reused."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start_ticks(pid)}"


def owner_alive(token: str) -> bool:
    """Is the process named by ``owner_token`` still running? Unknown formats count as dead."""
    try:
        host, pid_text, ticks = token.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another machine's process: not ours to judge
    return _process_start_ticks(pid) == ticks and ticks != ""


def _process_start_ticks(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may contain spaces; fields after the closing paren are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


def _split_container_path(path: str) -> tuple[str, str]:
    if not path.startswith("/"):
        raise SandboxError(f"sandbox paths must be absolute, got {path!r}")
    trimmed = path.rstrip("/") or "/"
    parent, _, name = trimmed.rpartition("/")
    if not name:
        raise SandboxError("cannot copy onto the sandbox's root folder itself")
    return parent or "/", name


def _slug(text: str) -> str:
    cleaned = "".join(char if char.isalnum() or char in "-_." else "-" for char in text.lower())
    return cleaned.strip("-.") or "x"
