"""Dockerfiles for baseline environments, and building them once per content.

A baseline Dockerfile follows the example tasks' conventions: ``ARG BASE_IMAGE`` then
``FROM ${BASE_IMAGE}``; the project at ``/app``; everything the tests need installed at
build time from pinned versions (a lock the builder recorded), so verification runs
offline; no ``.git``, no solution, no hidden tests. Dependency layers come before the
project's files, so a change in the project rebuilds only the last layers.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from harness.sandbox.engine import DockerEngine
from harness.sandbox.image_build import BuildRequest
from harness.sandbox.ownership import LABEL
from harness.settings import BASE_IMAGE_REPOSITORY, Settings
from harness.task.image import base_build_args, base_image_id, context_digest
from tools.projects.records import NodeRecipe, PythonRecipe

VENV = "/opt/venv"
WORKDIR = "/app"
LOCKS_DIR = "locks"
PYTHON_LOCK = f"{LOCKS_DIR}/requirements.lock"
NODE_LOCK = f"{LOCKS_DIR}/package-lock.json"
DRAFT_IMAGE_REPOSITORY = "kettle-draft"
_RUNNER_NAMES = {"node-test": "node --test", "npm-test": "npm test"}


def _header(suite: str) -> str:
    # Harbor builds with this default; kettle with this machine's image for the suite.
    return f"ARG BASE_IMAGE={BASE_IMAGE_REPOSITORY}:{suite}\nFROM ${{BASE_IMAGE}}\n"


def python_dockerfile(recipe: PythonRecipe) -> str:
    lines = [
        _header(recipe.suite),
        f"# A Python project ({recipe.described_by}) tested with pytest, set up by kettle's",
        "# baseline builder. Dependencies are pinned: locks/requirements.lock holds exactly",
        "# what resolved when the builder first installed the project (pip freeze, transitive",
        "# ones included), so the image rebuilds the same and the tests run without network.",
        f"RUN python3 -m venv {VENV}",
        f"ENV PATH={VENV}/bin:$PATH \\",
        f"    VIRTUAL_ENV={VENV} \\",
        "    PIP_NO_CACHE_DIR=1",
    ]
    if recipe.pip_version:
        lines.append(f"RUN pip install --no-deps pip=={recipe.pip_version}")
    if recipe.locked:
        lines += [
            f"COPY {PYTHON_LOCK} /opt/kettle/requirements.lock",
            "RUN pip install --no-deps -r /opt/kettle/requirements.lock",
        ]
    if recipe.env:
        lines += [
            "# The version comes from git, and the environment has no .git: each versioning",
            "# tool is told the version of the start state's nearest release instead.",
            "ENV "
            + " \\\n    ".join(f"{key}={value}" for key, value in sorted(recipe.env.items())),
        ]
    lines += ["", f"WORKDIR {WORKDIR}", f"COPY app/ {WORKDIR}/"]
    if recipe.editable:
        lines += [
            "# Editable, so the tests import the code as the agent leaves it. No build",
            "# isolation: the pinned build backend above builds it without reaching PyPI.",
            f"RUN pip install --no-deps --no-build-isolation -e {recipe.project_dir}",
        ]
    else:
        lines += [
            f"# The project does not install as a package: `python -m pytest` run in"
            f" {recipe.project_dir}",
            "# puts it on sys.path, which is how its tests import it.",
        ]
    return "\n".join(lines) + "\n"


def node_dockerfile(recipe: NodeRecipe) -> str:
    packages = [f'"nodejs={recipe.nodejs}"'] + ([f'"npm={recipe.npm}"'] if recipe.npm else [])
    lines = [
        _header(recipe.suite),
        f"# A Node.js project tested with {_RUNNER_NAMES.get(recipe.runner, recipe.runner)}; "
        "set up by kettle's baseline builder.",
        "# Node.js (and npm) from Debian bookworm, held to the series recorded when the",
        "# builder first installed them (the glob lets Debian's security rebuilds through).",
        "RUN apt-get update \\",
        f"    && apt-get install -y --no-install-recommends {' '.join(packages)} \\",
        "    && rm -rf /var/lib/apt/lists/*",
        "",
        f"WORKDIR {WORKDIR}",
    ]
    if recipe.lock:
        name = PurePosixPath(recipe.lock).name
        lines += [
            f"# Dependencies exactly as {name} pins them, before the project's files",
            "# so that editing the project does not reinstall them.",
            f"COPY app/package.json {WORKDIR}/package.json",
            f"COPY {recipe.lock} {WORKDIR}/{name}",
            "RUN npm ci --no-audit --no-fund",
        ]
    lines.append(f"COPY app/ {WORKDIR}/")
    return "\n".join(lines) + "\n"


def apt_series(version: str) -> str:
    """Debian version "18.20.4+dfsg-1~deb12u2" -> the glob "18.20.*"."""
    match = re.match(r"^(?:\d+:)?(\d+)\.(\d+)", version)
    return f"{match.group(1)}.{match.group(2)}.*" if match else version


def build_environment(
    engine: DockerEngine,
    settings: Settings,
    context_dir: Path,
    *,
    name: str,
    log_path: Path,
    timeout_sec: float = 1800.0,
) -> str:
    """Build ``context_dir`` (unless an image of the same content exists); return its tag.

    Stages that need the draft's image call this in turn: the first builds, the others
    find the tag already there.
    """
    dockerfile = (context_dir / "Dockerfile").read_text(encoding="utf-8")
    build_args = base_build_args(engine, settings, dockerfile)
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "draft"
    digest = context_digest(context_dir, build_args, base_image_id(engine, build_args))
    tag = f"{DRAFT_IMAGE_REPOSITORY}/{slug[:100]}:{digest}"
    if engine.image_exists(tag):
        return tag
    engine.build(
        BuildRequest(
            context_dir=context_dir,
            tag=tag,
            build_args=build_args,
            labels={LABEL: "1", "org.kettle.draft": name},
            timeout_sec=timeout_sec,
            log_path=log_path,
        )
    )
    return tag
