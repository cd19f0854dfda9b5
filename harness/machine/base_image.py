"""kettle's base image, made on this machine when no registry can provide it.

Order of preference for the root filesystem: an image already present, the public
``debian:bookworm-slim`` from a registry, then ``debootstrap --variant=minbase`` imported
with ``docker import``. On top goes a small layer (python3, pip, venv, git, tmux, compilers,
and the host's CA bundle when one is configured). The recipe's hash is stored as a label,
so changing the template or the CA bundle rebuilds the image, and an unchanged machine
does nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import jinja2
from docker.errors import APIError, DockerException, ImageNotFound

from harness.errors import SetupError
from harness.machine.docker import Report, apt_install
from harness.sandbox.engine import DockerEngine
from harness.sandbox.image_build import BuildRequest
from harness.settings import CONTAINER_CA_PATH, Settings

RECIPE_LABEL = "org.kettle.base-recipe"


def ensure_base_image(
    engine: DockerEngine, settings: Settings, report: Report, *, rebuild: bool = False
) -> str:
    """Make ``settings.base_image`` available locally; return its name."""
    if not settings.builds_base_locally:
        _ensure_public_image(engine, settings.base_image, report)
        return settings.base_image
    dockerfile, ca_bytes = _render_recipe(settings)
    recipe = hashlib.sha256(dockerfile.encode() + (ca_bytes or b"")).hexdigest()[:16]
    if not rebuild and _image_label(engine, settings.base_image, RECIPE_LABEL) == recipe:
        return settings.base_image
    _ensure_rootfs(engine, settings, report)
    report(f"building {settings.base_image} (python3, git, tmux, build tools) ...")
    with tempfile.TemporaryDirectory(prefix="kettle-base-") as context:
        Path(context, "Dockerfile").write_text(dockerfile)
        if ca_bytes is not None:
            Path(context, "host-ca.pem").write_bytes(ca_bytes)
        engine.build(
            BuildRequest(
                context_dir=Path(context),
                tag=settings.base_image,
                labels={RECIPE_LABEL: recipe},
                timeout_sec=1200,
                log_path=settings.home / "logs" / "base-image-build.log",
            )
        )
    return settings.base_image


def _render_recipe(settings: Settings) -> tuple[str, bytes | None]:
    template = resources.files("harness.machine").joinpath("images/base.Dockerfile.j2").read_text()
    ca_bytes = settings.ca_bundle.read_bytes() if settings.ca_bundle else None
    dockerfile = jinja2.Template(template, keep_trailing_newline=True).render(
        rootfs_image=settings.rootfs_image,
        ca_bundle=ca_bytes is not None,
        container_ca_path=CONTAINER_CA_PATH,
    )
    return dockerfile, ca_bytes


def _image_label(engine: DockerEngine, tag: str, label: str) -> str | None:
    try:
        image = engine.client.images.get(tag)
    except ImageNotFound:
        return None
    return (image.labels or {}).get(label)


def _ensure_public_image(engine: DockerEngine, name: str, report: Report) -> None:
    if engine.image_exists(name):
        return
    report(f"pulling {name} ...")
    try:
        engine.client.images.pull(name)
    except (APIError, DockerException) as error:
        raise SetupError(
            f"cannot pull KETTLE_BASE_IMAGE={name}: {getattr(error, 'explanation', error)}",
            "check the image name and registry access, or unset KETTLE_BASE_IMAGE to let kettle "
            "build its own base image offline",
        ) from error


def _ensure_rootfs(engine: DockerEngine, settings: Settings, report: Report) -> None:
    if engine.image_exists(settings.rootfs_image):
        return
    try:
        engine.client.images.pull(settings.public_rootfs)
        engine.client.images.get(settings.public_rootfs).tag(settings.rootfs_image)
        report(f"using {settings.public_rootfs} from the registry as the root filesystem")
        return
    except (APIError, DockerException):
        report("no image registry reachable: bootstrapping Debian with debootstrap (~30 s) ...")
    _debootstrap_rootfs(engine, settings)


def _debootstrap_rootfs(engine: DockerEngine, settings: Settings) -> None:
    if os.geteuid() != 0:
        raise SetupError(
            "building the base image offline needs root (debootstrap)",
            "rerun as root, or set KETTLE_BASE_IMAGE to an image you can pull",
        )
    if shutil.which("debootstrap") is None:
        apt_install("debootstrap")
    settings.home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.home, prefix="rootfs-") as work:
        target = Path(work, "root")
        completed = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                settings.debian_suite,
                str(target),
                settings.debian_mirror,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            last = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["?"]
            raise SetupError(
                f"debootstrap failed: {last[0]}",
                f"check that {settings.debian_mirror} is reachable (KETTLE_DEBIAN_MIRROR)",
            )
        tarball = Path(work, "rootfs.tar")
        subprocess.run(["tar", "-C", str(target), "-cf", str(tarball), "."], check=True)
        repository, _, tag = settings.rootfs_image.rpartition(":")
        engine.api.import_image_from_file(str(tarball), repository=repository, tag=tag)
    if not engine.image_exists(settings.rootfs_image):
        raise SetupError(f"docker import did not produce {settings.rootfs_image}")
