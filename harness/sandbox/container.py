"""A sandbox on docker-py: a long-lived container that agents, oracles and verifiers run
commands in (``docker exec`` with kettle's own deadlines), and move files into and out of.

``Sandbox`` (``harness.sandbox.records``) is the protocol the rest of kettle programs
against; ``DockerEngine`` (``harness.sandbox.engine``) starts these.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import requests
from docker.errors import APIError, DockerException, NotFound

from harness.errors import DockerUnavailableError, KettleError, SandboxError
from harness.sandbox import archive
from harness.sandbox.overlay import overlay_changes
from harness.sandbox.records import ExecResult, SandboxSpec, SandboxState

if TYPE_CHECKING:
    from harness.sandbox.engine import DockerEngine

log = logging.getLogger(__name__)


_EXEC_MARKER_VAR = "KETTLE_EXEC_ID"
_DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024

P = ParamSpec("P")
R = TypeVar("R")


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
    def carry_to(self, other: DockerSandbox, path: str) -> bool:
        """Make ``path`` in ``other`` this sandbox's copy of it (owners and modes kept),
        replacing what ``other`` had there, as Harbor hands an artifact to a separate
        verifier. This sandbox may be stopped. False when ``path`` does not exist here."""
        parent, _name = _split_container_path(path)
        try:
            stream, _stat = self._engine.api.get_archive(self._container_id, path)
        except NotFound:
            return False
        with tempfile.TemporaryFile(prefix="kettle-artifact-") as spool:
            for chunk in stream:
                spool.write(chunk)
            spool.seek(0)
            # From /: the path may be the container's working directory.
            cleared = other.exec(
                ["sh", "-c", 'rm -rf -- "$1" && mkdir -p -- "$2"', "sh", path, parent],
                timeout_sec=300,
                user="0",
                workdir="/",
            )
            if not cleared.ok:
                raise SandboxError(f"cannot replace {path}: {cleared.stderr.strip()}")
            self._engine.api.put_archive(other.id, parent, spool)
        return True

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
        """(path, 'changed' | 'added' | 'deleted') for each path that differs from the image.

        Read from the container's overlay layers when this process sees them (the engine's
        own diff walks the whole image: harness/sandbox/overlay.py), else asked of the engine.
        """
        read_here = overlay_changes(self._engine.api.inspect_container(self._container_id))
        return self.engine_diff() if read_here is None else read_here

    @translate_docker_errors
    def engine_diff(self) -> list[tuple[str, str]]:
        """The same list as the engine's own ``docker diff`` reports it."""
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
        if path == "/":
            return  # every container has one; an exec costs a tenth of a second of CPU
        result = self.exec(["mkdir", "-p", path], timeout_sec=30, user="0")
        if not result.ok:
            raise SandboxError(f"cannot create {path} in the sandbox: {result.stderr.strip()}")


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


def _split_container_path(path: str) -> tuple[str, str]:
    if not path.startswith("/"):
        raise SandboxError(f"sandbox paths must be absolute, got {path!r}")
    trimmed = path.rstrip("/") or "/"
    parent, _, name = trimmed.rpartition("/")
    if not name:
        raise SandboxError("cannot copy onto the sandbox's root folder itself")
    return parent or "/", name
