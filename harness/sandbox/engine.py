"""The connection to the Docker daemon: images, and the sandboxes started through it.

``DockerEngine`` starts sandboxes (``harness.sandbox.container``) with kettle's labels
(``harness.sandbox.ownership``), builds and removes images, and reaps what crashed runs
left behind. ``ContainerEvents`` watches one container's engine events live.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import uuid

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from harness.errors import DockerUnavailableError, SandboxError
from harness.sandbox import archive
from harness.sandbox.container import DockerSandbox, translate_docker_errors
from harness.sandbox.image_build import BuildRequest, BuildResult, build_image
from harness.sandbox.ownership import (
    LABEL,
    LABEL_OWNER,
    LABEL_RUN,
    LABEL_SNAPSHOT,
    LABEL_TASK,
    SNAPSHOT_REPOSITORY,
    kettle_labels,
    owner_alive,
)
from harness.sandbox.records import SandboxSpec

log = logging.getLogger(__name__)

# Paths a container must never see: the engine's control socket is root on the host.
_DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
_CONTROL_TIMEOUT_SEC = 120
# What the engine writes into /etc/hosts of a container without a network.
_HOSTS = (
    b"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    b"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
    b"ff02::2\tip6-allrouters\n"
)


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
        if spec.network == "none":
            # Never a network: the engine then skips the network hook it runs at every start
            # (its own binary again, half a container start's CPU); loopback still works, and
            # /etc/hosts gets its localhost lines below.
            options["network_disabled"] = True
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
        if spec.network == "none":
            try:
                self.api.put_archive(container.id, "/etc", archive.pack_files({"hosts": _HOSTS}))
            except BaseException:
                sandbox.close()
                raise
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


def _docker_socket_mounts(mounts: list[dict[str, object]]) -> list[str]:
    exposed = []
    for mount in mounts:
        for key in ("Source", "Destination"):
            path = str(mount.get(key) or "")
            if path.endswith("docker.sock") or path in _DOCKER_SOCKETS:
                exposed.append(path)
    return exposed


def _slug(text: str) -> str:
    cleaned = "".join(char if char.isalnum() or char in "-_." else "-" for char in text.lower())
    return cleaned.strip("-.") or "x"
