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

A public image the user names instead (``KETTLE_BASE_IMAGE=python:3.12-bookworm``) may lack
what kettle's agents need: bash and tmux for their terminal. Such an image is completed on
this machine (``kettle/completed:<its id>``, built FROM it with the package manager it has)
and builds here start from the completed image; published tasks keep naming the public
image, since Harbor's agents install their own tmux. An image that cannot be completed is
refused with the reason, before any task is built on it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import jinja2
from docker.errors import APIError, DockerException, ImageNotFound

from harness.errors import KettleError, SetupError
from harness.fsio import file_lock
from harness.machine.docker import Report, apt_install
from harness.sandbox.engine import DockerEngine
from harness.sandbox.image_build import BuildRequest
from harness.settings import CONTAINER_CA_PATH, Settings

RECIPE_LABEL = "org.kettle.base-recipe"
COMPLETED_REPOSITORY = "kettle/completed"
AGENT_TOOLS = ("bash", "tmux")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_DOCKERS_OWN_LINES = ("Step ", "--->", "Removing intermediate", "ERROR: The command", "Sending")
# Whichever package manager the image has installs the terminal's tools; a later one is
# tried only when the earlier ones are absent.
_COMPLETE_RECIPE = """FROM {image}
RUN if command -v apt-get >/dev/null; then \\
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \\
        --no-install-recommends bash tmux && rm -rf /var/lib/apt/lists/*; \\
    elif command -v apk >/dev/null; then apk add --no-cache bash tmux; \\
    elif command -v dnf >/dev/null; then dnf install -y bash tmux && dnf clean all; \\
    elif command -v yum >/dev/null; then yum install -y bash tmux && yum clean all; \\
    else echo "no package manager (apt-get, apk, dnf, yum) to install bash and tmux" >&2; \\
      exit 1; fi
LABEL org.kettle.completed-from="{image}"
"""


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
        return complete_for_agents(engine, settings, image, report)  # pulls it when missing
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


def complete_for_agents(
    engine: DockerEngine, settings: Settings, image: str, report: Report
) -> str:
    """``kettle/completed:<id>``: ``image`` itself when it has bash and tmux, else an image
    built FROM it with them installed (made once per image id, under a file lock)."""
    _ensure_public_image(engine, image, report)
    image_id = engine.client.images.get(image).id.removeprefix("sha256:")[:16]
    completed = f"{COMPLETED_REPOSITORY}:{image_id}"
    if engine.image_exists(completed):
        return completed
    missing = _missing_tools(engine, image)
    if not missing:
        # Tagged as its own completion, so the next build skips the probe's container.
        engine.client.images.get(image).tag(COMPLETED_REPOSITORY, image_id)
        return completed
    settings.home.mkdir(parents=True, exist_ok=True)
    with file_lock(settings.home / f"completed-{image_id}.lock"):
        if engine.image_exists(completed):
            return completed
        report(f"{image} lacks {', '.join(missing)} (agents' terminal): building {completed} ...")
        log_path = settings.home / "logs" / f"complete-{image_id}.log"
        with tempfile.TemporaryDirectory(prefix="kettle-complete-") as context:
            Path(context, "Dockerfile").write_text(_COMPLETE_RECIPE.format(image=image))
            try:
                engine.build(
                    BuildRequest(
                        context_dir=Path(context), tag=completed, timeout_sec=600,
                        log_path=log_path,
                    )
                )  # fmt: skip
            except KettleError as error:
                raise SetupError(
                    f"{image} lacks {', '.join(missing)}, which kettle's agents need for "
                    f"their terminal, and installing them failed: {_last_words(log_path, error)}",
                    "name an image that has bash and tmux in KETTLE_BASE_IMAGE, or unset it to "
                    "use kettle's own base image",
                ) from error
    return completed


def _last_words(log_path: Path, error: KettleError) -> str:
    """The build's own last line (what the package manager said), with the log's path."""
    try:
        text = _ANSI.sub("", log_path.read_text(errors="replace"))
    except OSError:
        return error.message
    lines = [line.strip() for line in text.splitlines()]
    said = [line for line in lines if line and not line.startswith(_DOCKERS_OWN_LINES)]
    return f"{said[-1][:200]} (log: {log_path})" if said else error.message


def _missing_tools(engine: DockerEngine, image: str) -> list[str]:
    """Which of the agents' tools ``image`` lacks (all of them when it cannot even run sh)."""
    script = "; ".join(f"command -v {tool} >/dev/null || echo {tool}" for tool in AGENT_TOOLS)
    try:
        output = engine.client.containers.run(
            image, ["sh", "-c", script], entrypoint=[], remove=True, network_disabled=True
        )
    except (APIError, DockerException):
        return list(AGENT_TOOLS)
    return output.decode(errors="replace").split()


def _ensure_public_image(engine: DockerEngine, name: str, report: Report) -> None:
    if engine.image_exists(name):
        return
    report(f"pulling {name} ...")
    try:
        engine.client.images.pull(name)
    except (APIError, DockerException) as error:
        raise SetupError(
            f"cannot pull the base image {name}: {getattr(error, 'explanation', error)}",
            "check the image name (KETTLE_BASE_IMAGE, or the task's ARG BASE_IMAGE) and registry "
            "access, or unset KETTLE_BASE_IMAGE to let kettle build its own base image offline",
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
