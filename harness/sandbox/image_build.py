"""Build a Docker image from a folder, with a hard timeout and the build log kept.

docker-py's build call cannot be interrupted: its HTTP stream blocks until the daemon
finishes. The build therefore runs in a child process; on timeout the child is killed,
its connection closes, and the daemon cancels the build (as it does when ``docker build``
is interrupted). The log streams to a file as it happens, so a hung build shows how far
it got.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

from pydantic import BaseModel

from harness.errors import BuildError

_KILL_GRACE_SEC = 5.0


class BuildRequest(BaseModel):
    context_dir: Path
    tag: str
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str] = {}
    labels: dict[str, str] = {}
    no_cache: bool = False
    timeout_sec: float = 600.0
    log_path: Path
    docker_base_url: str | None = None


class BuildResult(BaseModel):
    tag: str
    image_id: str
    log_path: Path
    duration_sec: float


def build_image(request: BuildRequest) -> BuildResult:
    """Build ``request.context_dir`` into ``request.tag``; raise BuildError on failure/timeout."""
    if not (request.context_dir / request.dockerfile).is_file():
        raise BuildError(f"{request.context_dir / request.dockerfile}: no Dockerfile to build")
    request.log_path.parent.mkdir(parents=True, exist_ok=True)
    result_path = request.log_path.with_suffix(request.log_path.suffix + ".result.json")
    result_path.unlink(missing_ok=True)
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    worker = context.Process(
        target=_build_in_child,
        args=(request.model_dump_json(), str(result_path)),
        name=f"kettle-build-{request.tag}",
        daemon=True,
    )
    worker.start()
    worker.join(request.timeout_sec)
    if worker.is_alive():
        worker.kill()
        worker.join(_KILL_GRACE_SEC)
        raise BuildError(
            f"building {request.tag} took longer than {request.timeout_sec:.0f}s and was "
            f"stopped (log: {request.log_path})",
            "raise [environment].build_timeout_sec or find the step that hangs in the log",
        )
    duration = time.monotonic() - started
    if not result_path.is_file():
        raise BuildError(
            f"building {request.tag} failed: the build process died (exit {worker.exitcode}); "
            f"log: {request.log_path}"
        )
    outcome = json.loads(result_path.read_text())
    result_path.unlink(missing_ok=True)
    if outcome.get("error"):
        raise BuildError(
            f"building {request.tag} failed: {outcome['error']} (log: {request.log_path})"
        )
    return BuildResult(
        tag=request.tag,
        image_id=outcome["image_id"],
        log_path=request.log_path,
        duration_sec=duration,
    )


def _build_in_child(request_json: str, result_path: str) -> None:
    """Runs in the child process: stream the build log to a file, report the outcome."""
    import docker  # the child imports its own client; nothing is shared with the parent
    from docker.errors import APIError, DockerException
    from docker.errors import BuildError as DockerBuildError

    request = BuildRequest.model_validate_json(request_json)
    outcome: dict[str, str] = {}
    try:
        client = (
            docker.DockerClient(base_url=request.docker_base_url, timeout=None)
            if request.docker_base_url
            else docker.from_env(timeout=None)
        )
        last_error = ""
        with request.log_path.open("w", encoding="utf-8") as log:
            stream = client.api.build(
                path=str(request.context_dir),
                dockerfile=request.dockerfile,
                tag=request.tag,
                buildargs=request.build_args,
                labels=request.labels,
                nocache=request.no_cache,
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
            )
            for event in stream:
                if "stream" in event:
                    log.write(event["stream"])
                elif "error" in event:
                    last_error = event["error"].strip()
                    log.write(f"ERROR: {last_error}\n")
                elif "status" in event:
                    log.write(f"{event['status']}\n")
                log.flush()
        if last_error:
            outcome["error"] = _last_line(last_error)
        else:
            outcome["image_id"] = client.images.get(request.tag).id
    except (APIError, DockerBuildError, DockerException, OSError) as error:
        outcome["error"] = _last_line(str(error))
    Path(result_path).write_text(json.dumps(outcome))


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text
