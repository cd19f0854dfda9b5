"""Baseline Dockerfiles: kettle's conventions, pinned installs, dependency layers first."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.task.image import context_digest
from tools.projects.dockerfile import apt_series, node_dockerfile, python_dockerfile
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


def test_node_without_dependencies_needs_neither_npm_nor_a_lock() -> None:
    text = node_dockerfile(NodeRecipe(runner="node-test", nodejs="18.20.*"))
    instructions = "\n".join(_lines(text))
    assert '"nodejs=18.20.*"' in instructions
    assert "npm" not in instructions and "lock" not in instructions
    assert "tested with node --test" in text


def test_node_dependencies_install_from_the_lock_before_the_project() -> None:
    text = node_dockerfile(
        NodeRecipe(runner="jest", nodejs="18.20.*", npm="9.2.*", lock="locks/package-lock.json")
    )
    lines = _lines(text)
    assert lines.index("RUN npm ci --no-audit --no-fund") < lines.index("COPY app/ /app/")
    assert "COPY locks/package-lock.json /app/package-lock.json" in lines


@pytest.mark.parametrize(
    ("version", "series"),
    [("18.20.4+dfsg-1~deb12u2", "18.20.*"), ("9.2.0~ds1-1", "9.2.*"), ("1:2.3-1", "2.3.*")],
)
def test_apt_versions_are_held_to_their_series(version: str, series: str) -> None:
    assert apt_series(version) == series


def test_the_build_digest_follows_content_and_base_image(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    first = context_digest(tmp_path, {"BASE_IMAGE": "a"}, "sha256:1")
    assert context_digest(tmp_path, {"BASE_IMAGE": "a"}, "sha256:1") == first
    assert context_digest(tmp_path, {"BASE_IMAGE": "a"}, "sha256:2") != first
    (tmp_path / "Dockerfile").write_text("FROM y\n")
    assert context_digest(tmp_path, {"BASE_IMAGE": "a"}, "sha256:1") != first
