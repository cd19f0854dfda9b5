"""Machine-level settings, read from the environment once and passed around explicitly.

Nothing here is global: entry points call ``Settings.from_env()`` and hand the object
down. Tests build their own ``Settings`` with whatever values they need.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

DEFAULT_BASE_IMAGE = "kettle/base:bookworm"
DEFAULT_ROOTFS_IMAGE = "kettle/rootfs:bookworm"
DEFAULT_PUBLIC_ROOTFS = "debian:bookworm-slim"
# Where the host's CA bundle lands inside images. The distro's ca-certificates package
# rewrites /etc/ssl/certs, so the bundle lives outside it.
CONTAINER_CA_PATH = "/usr/local/share/kettle/host-ca.pem"


class Settings(BaseModel):
    """Where images come from, where kettle keeps its state, how long to wait for Docker."""

    schema_version: int = 1
    base_image: str = Field(
        DEFAULT_BASE_IMAGE,
        description="Image every task Dockerfile starts FROM (KETTLE_BASE_IMAGE). The default "
        "is built locally; online users may name a public image instead.",
    )
    rootfs_image: str = Field(
        DEFAULT_ROOTFS_IMAGE,
        description="Local name of the bare Debian root filesystem the base image is built on.",
    )
    public_rootfs: str = Field(
        DEFAULT_PUBLIC_ROOTFS,
        description="Registry image tried first for the root filesystem (KETTLE_PUBLIC_ROOTFS).",
    )
    debian_mirror: str = Field("http://deb.debian.org/debian", description="For debootstrap.")
    debian_suite: str = "bookworm"
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
        ca = env.get("KETTLE_CA_BUNDLE") or env.get("SSL_CERT_FILE")
        if ca and Path(ca).is_file():
            values["ca_bundle"] = Path(ca)
        return cls(**values)

    @property
    def builds_base_locally(self) -> bool:
        """True when the base image is kettle's own, not a public image the user named."""
        return self.base_image == DEFAULT_BASE_IMAGE
