"""Machine-level settings, read from the environment once and passed around explicitly.

Nothing here is global: entry points call ``Settings.from_env()`` and hand the object
down. Tests build their own ``Settings`` with whatever values they need.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

BASE_IMAGE_REPOSITORY = "kettle/base"
DEFAULT_SUITE = "bookworm"
DEFAULT_BASE_IMAGE = f"{BASE_IMAGE_REPOSITORY}:{DEFAULT_SUITE}"
# The Debian releases kettle builds base images from, and the Python each one ships: the
# interpreters a task can have offline. (Node.js comes per task, not with the base image.)
SUITE_PYTHON = {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13"}
# Where the host's CA bundle lands inside images. The distro's ca-certificates package
# rewrites /etc/ssl/certs, so the bundle lives outside it.
CONTAINER_CA_PATH = "/usr/local/share/kettle/host-ca.pem"
_FALSE = {"0", "false", "no", "off"}


class Settings(BaseModel):
    """Where images come from, where kettle keeps its state, how long to wait for Docker."""

    schema_version: int = 1
    base_image: str = Field(
        DEFAULT_BASE_IMAGE,
        description="Image every task Dockerfile starts FROM (KETTLE_BASE_IMAGE). The default "
        "is built locally; online users may name a public image instead.",
    )
    public_rootfs: str = Field(
        "debian:{suite}-slim",
        description="Registry image tried first for a suite's root filesystem "
        "(KETTLE_PUBLIC_ROOTFS; '{suite}' is replaced by the Debian suite).",
    )
    debian_mirror: str = Field("http://deb.debian.org/debian", description="For debootstrap.")
    home: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "kettle",
        description="kettle's own state: root filesystems, Harbor venv, dockerd log (KETTLE_HOME).",
    )
    ca_bundle: Path | None = Field(
        None,
        description="Host CA bundle copied into image builds "
        "(KETTLE_CA_BUNDLE, else SSL_CERT_FILE).",
    )
    docker_start_timeout_sec: float = 90.0
    reap_at_start: bool = Field(
        True,
        description="harness.run and harness.build remove containers of dead kettle processes "
        "when they start (KETTLE_REAP_AT_START=0 keeps them, e.g. to inspect a crash, until "
        "`python -m harness.gc`).",
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if env.get("KETTLE_BASE_IMAGE"):
            values["base_image"] = env["KETTLE_BASE_IMAGE"]
        if env.get("KETTLE_PUBLIC_ROOTFS"):
            values["public_rootfs"] = env["KETTLE_PUBLIC_ROOTFS"]
        if env.get("KETTLE_DEBIAN_MIRROR"):
            values["debian_mirror"] = env["KETTLE_DEBIAN_MIRROR"]
        if env.get("KETTLE_HOME"):
            values["home"] = Path(env["KETTLE_HOME"])
        if env.get("KETTLE_REAP_AT_START"):
            values["reap_at_start"] = env["KETTLE_REAP_AT_START"].strip().lower() not in _FALSE
        ca = env.get("KETTLE_CA_BUNDLE") or env.get("SSL_CERT_FILE")
        if ca and Path(ca).is_file():
            values["ca_bundle"] = Path(ca)
        return cls(**values)

    @property
    def builds_base_locally(self) -> bool:
        """True when base images are kettle's own family (``kettle/base:<suite>``), built on
        this machine, rather than public images the user named."""
        return self.base_image.startswith(f"{BASE_IMAGE_REPOSITORY}:")

    @property
    def default_suite(self) -> str:
        suite = self.base_image.rpartition(":")[2]
        return suite if self.builds_base_locally and suite in SUITE_PYTHON else DEFAULT_SUITE

    def base_image_for(self, suite: str) -> str:
        """The image to start from for a task built on Debian ``suite``.

        kettle's own family maps to ``kettle/base:<suite>``; a template such as
        ``python:{python}-slim`` gets the suite's Python version; any other image the user
        named is used for every task, as named.
        """
        if self.builds_base_locally:
            return f"{BASE_IMAGE_REPOSITORY}:{suite}"
        if "{python}" in self.base_image:
            return self.base_image.replace("{python}", SUITE_PYTHON.get(suite, "3"))
        return self.base_image

    def resolve_base_image(self, declared: str) -> str:
        """The image this machine builds with for a Dockerfile that declares ``declared``
        (``ARG BASE_IMAGE=<declared>``): kettle's base images follow this machine's
        setting, any other image stays what the task names."""
        repository, _, suite = declared.rpartition(":")
        if repository != BASE_IMAGE_REPOSITORY:
            return declared
        return self.base_image_for(suite if suite in SUITE_PYTHON else self.default_suite)

    def rootfs_image(self, suite: str) -> str:
        """Local name of the bare Debian root filesystem a suite's base image is built on."""
        return f"kettle/rootfs:{suite}"
