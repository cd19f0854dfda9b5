"""The image a task runs in: its prebuilt docker_image, or its environment/ built once.

Images are tagged by a hash of everything that goes into the build (the environment
folder's files and modes, the build arguments, the base image's id), so repeated trials
and reruns reuse the image and any change to the environment rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from harness.errors import BuildError
from harness.sandbox.engine import DockerEngine
from harness.sandbox.image_build import BuildRequest
from harness.sandbox.ownership import LABEL
from harness.settings import Settings
from harness.task.folder import HarborTask

IMAGE_REPOSITORY = "kettle-task"


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
        build_args = self.build_args()
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

    def build_args(self) -> dict[str, str]:
        # Task Dockerfiles written for kettle start with `ARG BASE_IMAGE=...`; Harbor builds
        # them with the default, kettle with whatever base image this machine is set up for.
        return {"BASE_IMAGE": self._settings.base_image}

    def _lock_for(self, tag: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tag, threading.Lock())

    def _context_hash(self, task: HarborTask, build_args: dict[str, str]) -> str:
        digest = hashlib.sha256()
        for key in sorted(build_args):
            digest.update(f"arg:{key}={build_args[key]}\n".encode())
        base = self._settings.base_image
        if self._engine.image_exists(base):
            digest.update(f"base:{self._engine.client.images.get(base).id}\n".encode())
        root = task.environment_dir
        for directory, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(directory, name)
                relative = path.relative_to(root).as_posix()
                mode = path.lstat().st_mode
                digest.update(f"file:{relative}:{mode:o}\n".encode())
                if path.is_symlink():
                    digest.update(os.readlink(path).encode())
                else:
                    digest.update(path.read_bytes())
        return digest.hexdigest()[:16]
