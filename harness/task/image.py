"""The image a task runs in: its prebuilt docker_image, or its environment/ built once.

Images are tagged by a hash of everything that goes into the build (the environment
folder's files and modes, the build arguments, the base image's id), so repeated trials
and reruns reuse the image and any change to the environment rebuilds it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from pathlib import Path

from harness.errors import BuildError
from harness.machine.base_image import complete_for_agents, ensure_base_image
from harness.sandbox.engine import DockerEngine
from harness.sandbox.image_build import BuildRequest
from harness.sandbox.ownership import LABEL
from harness.settings import BASE_IMAGE_REPOSITORY, Settings
from harness.task.folder import HarborTask

IMAGE_REPOSITORY = "kettle-task"
_BASE_IMAGE_ARG = re.compile(r"^\s*ARG\s+BASE_IMAGE=(\S+)", re.MULTILINE)
log = logging.getLogger(__name__)


def declared_base_image(dockerfile: str) -> str | None:
    """The default of ``ARG BASE_IMAGE=...`` in a Dockerfile, if it declares one."""
    match = _BASE_IMAGE_ARG.search(dockerfile)
    return match.group(1).strip("\"'") if match else None


class TaskImages:
    """Builds each task's image at most once, even when trials ask for it concurrently."""

    def __init__(self, engine: DockerEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def ensure(self, task: HarborTask, log_path: Path, *, no_cache: bool = False) -> str:
        """Return an image name for ``task``, building it if needed."""
        environment = task.config.environment
        if task.dockerfile_path is None:
            if not environment.docker_image:
                raise BuildError(f"{task.root}: neither environment/Dockerfile nor docker_image")
            if not self._engine.image_exists(environment.docker_image):
                self._engine.client.images.pull(environment.docker_image)
            return environment.docker_image
        build_args = self.build_args(task)
        tag = f"{IMAGE_REPOSITORY}/{task.task_id}:{self._context_hash(task, build_args)}"
        with self._lock_for(tag):
            if not no_cache and self._engine.image_exists(tag):
                return tag
            self._engine.build(
                BuildRequest(
                    context_dir=task.environment_dir,
                    tag=tag,
                    build_args=build_args,
                    labels={LABEL: "1", "org.kettle.task": task.task_id},
                    no_cache=no_cache,
                    timeout_sec=environment.build_timeout_sec,
                    log_path=log_path,
                )
            )
        return tag

    def build_args(self, task: HarborTask) -> dict[str, str]:
        dockerfile = task.dockerfile_path.read_text() if task.dockerfile_path else ""
        return base_build_args(self._engine, self._settings, dockerfile)

    def _lock_for(self, tag: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tag, threading.Lock())

    def _context_hash(self, task: HarborTask, build_args: dict[str, str]) -> str:
        base_id = base_image_id(self._engine, build_args)
        return context_digest(task.environment_dir, build_args, base_id)


def base_build_args(engine: DockerEngine, settings: Settings, dockerfile: str) -> dict[str, str]:
    """The build arguments for a Dockerfile written for kettle (``ARG BASE_IMAGE=...``).

    Harbor builds it with the declared default; kettle with this machine's image for the
    same suite (``Settings.resolve_base_image``), which is made on first use: a trixie task
    makes trixie's base image. Any other image is completed with bash and tmux when it lacks
    them (``complete_for_agents``).
    """
    declared = declared_base_image(dockerfile)
    image = settings.resolve_base_image(declared or settings.base_image)
    repository, _, suite = image.rpartition(":")
    if repository == BASE_IMAGE_REPOSITORY:
        if not engine.image_exists(image):
            ensure_base_image(engine, settings, log.info, suite=suite)
    elif declared is not None:
        # Another image (the user's KETTLE_BASE_IMAGE, or the task's own default): built
        # here from a copy with the agents' terminal tools when it lacks them.
        image = complete_for_agents(engine, settings, image, log.info)
    return {"BASE_IMAGE": image}


def base_image_id(engine: DockerEngine, build_args: dict[str, str]) -> str:
    """The id of the base image a build starts from (its name when it is not here yet)."""
    base = build_args.get("BASE_IMAGE", "")
    return engine.client.images.get(base).id if base and engine.image_exists(base) else base


def context_digest(context_dir: Path, build_args: dict[str, str], base_id: str) -> str:
    """A hash of everything that goes into a build: files, modes, arguments, base image."""
    digest = hashlib.sha256()
    for key in sorted(build_args):
        digest.update(f"arg:{key}={build_args[key]}\n".encode())
    digest.update(f"base:{base_id}\n".encode())
    for directory, dirnames, filenames in os.walk(context_dir):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory, name)
            relative = path.relative_to(context_dir).as_posix()
            digest.update(f"file:{relative}:{path.lstat().st_mode:o}\n".encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            else:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
