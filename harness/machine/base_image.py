"""kettle's base images, one per Debian suite, made on this machine when no registry can
provide them.

A suite's image (``kettle/base:bullseye|bookworm|trixie``) carries that release's Python
(3.9, 3.11, 3.13): a project gets the interpreter it declares, offline. Order of preference
for the root filesystem: an image already present, the public ``debian:<suite>-slim`` from
a registry, then ``debootstrap --variant=minbase <suite>`` imported with ``docker import``.
On top goes a small layer (python3, pip, venv, git, tmux, compilers, and the host's CA
bundle when one is configured). The recipe's hash is stored as a label, so changing the
template or the CA bundle rebuilds the image, and an unchanged machine does nothing. Images
are made on first use (a build that needs trixie makes trixie's) under a file lock, so
concurrent builds wait for one another instead of bootstrapping twice.
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
from harness.fsio import file_lock
from harness.machine.docker import Report, apt_install
from harness.sandbox.engine import DockerEngine
from harness.sandbox.image_build import BuildRequest
from harness.settings import CONTAINER_CA_PATH, Settings

RECIPE_LABEL = "org.kettle.base-recipe"


def ensure_base_image(
    engine: DockerEngine,
    settings: Settings,
    report: Report,
    *,
    suite: str | None = None,
    rebuild: bool = False,
) -> str:
    """Make the base image for ``suite`` (default: the configured one) available locally;
    return its name."""
    suite = suite or settings.default_suite
    image = settings.base_image_for(suite)
    if not settings.builds_base_locally:
        _ensure_public_image(engine, image, report)
        return image
    settings.home.mkdir(parents=True, exist_ok=True)
    with file_lock(settings.home / f"base-{suite}.lock"):
        return _ensure_own_image(engine, settings, report, suite, image, rebuild=rebuild)


def _ensure_own_image(
    engine: DockerEngine, settings: Settings, report: Report, suite: str, image: str, *,
    rebuild: bool,
) -> str:  # fmt: skip
    dockerfile, ca_bytes = _render_recipe(settings, suite)
    recipe = hashlib.sha256(dockerfile.encode() + (ca_bytes or b"")).hexdigest()[:16]
    if not rebuild and _image_label(engine, image, RECIPE_LABEL) == recipe:
        return image
    _ensure_rootfs(engine, settings, report, suite)
    report(f"building {image} (python3, git, tmux, build tools) ...")
    with tempfile.TemporaryDirectory(prefix="kettle-base-") as context:
        Path(context, "Dockerfile").write_text(dockerfile)
        if ca_bytes is not None:
            Path(context, "host-ca.pem").write_bytes(ca_bytes)
        engine.build(
            BuildRequest(
                context_dir=Path(context),
                tag=image,
                labels={RECIPE_LABEL: recipe},
                timeout_sec=1200,
                log_path=settings.home / "logs" / f"base-image-build-{suite}.log",
            )
        )
    return image


def _render_recipe(settings: Settings, suite: str) -> tuple[str, bytes | None]:
    template = resources.files("harness.machine").joinpath("images/base.Dockerfile.j2").read_text()
    ca_bytes = settings.ca_bundle.read_bytes() if settings.ca_bundle else None
    dockerfile = jinja2.Template(template, keep_trailing_newline=True).render(
        rootfs_image=settings.rootfs_image(suite),
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


def _ensure_rootfs(engine: DockerEngine, settings: Settings, report: Report, suite: str) -> None:
    rootfs = settings.rootfs_image(suite)
    if engine.image_exists(rootfs):
        return
    public = settings.public_rootfs.replace("{suite}", suite)
    try:
        engine.client.images.pull(public)
        engine.client.images.get(public).tag(rootfs)
        report(f"using {public} from the registry as the root filesystem")
        return
    except (APIError, DockerException):
        report(f"no image registry reachable: bootstrapping Debian {suite} with debootstrap ...")
    _debootstrap_rootfs(engine, settings, suite)


def _debootstrap_rootfs(engine: DockerEngine, settings: Settings, suite: str) -> None:
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
                suite,
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
        repository, _, tag = settings.rootfs_image(suite).rpartition(":")
        engine.api.import_image_from_file(str(tarball), repository=repository, tag=tag)
    if not engine.image_exists(settings.rootfs_image(suite)):
        raise SetupError(f"docker import did not produce {settings.rootfs_image(suite)}")
