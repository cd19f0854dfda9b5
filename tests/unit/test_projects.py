"""Project detection: which kind of project a tree is, how it installs, how it tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.projects.detect import UnsupportedProjectError, detect_project, is_test_module
from tools.projects.python import (
    pytest_config_file,
    pytest_options,
    python_allowed,
    requirement_files,
)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


PYPROJECT = """
[build-system]
requires = ["hatchling>=1.20"]
build-backend = "hatchling.build"

[project]
name = "demo"
requires-python = ">=3.9"

[project.optional-dependencies]
test = ["pytest>=7", "pytest-asyncio"]
docs = ["sphinx"]

[dependency-groups]
dev = ["ruff", {include-group = "test"}]

[tool.pytest.ini_options]
addopts = ["-ra", "--strict-markers"]
asyncio_mode = "auto"
"""


class TestPython:
    def test_a_pyproject_project_installs_editable_with_its_test_extras(
        self, tmp_path: Path
    ) -> None:
        project = detect_project(_tree(tmp_path, {"pyproject.toml": PYPROJECT}))
        assert project.kind == "python" and project.language == "python"
        setup = project.python
        assert setup is not None
        assert setup.installable
        assert setup.build_requires == ["hatchling>=1.20"]
        assert setup.extras == ["test"]
        assert setup.group_requirements == ["ruff"]
        assert setup.pytest_config_file == "pyproject.toml"
        assert project.notes == []

    def test_requirements_files_alone_make_a_python_project_that_does_not_install(
        self, tmp_path: Path
    ) -> None:
        root = _tree(
            tmp_path,
            {
                "requirements.txt": "requests==2.32.0\n",
                "requirements-dev.txt": "-r requirements.txt\npytest\n",
                "requirements/test.txt": "hypothesis\n",
                "app.py": "print('hi')\n",
            },
        )
        project = detect_project(root)
        assert project.kind == "python"
        assert project.python is not None and not project.python.installable
        assert requirement_files(root) == [
            "requirements.txt",
            "requirements-dev.txt",
            "requirements/test.txt",
        ]

    def test_setup_cfg_extras_and_python_requires_are_read(self, tmp_path: Path) -> None:
        root = _tree(
            tmp_path,
            {
                "setup.py": "from setuptools import setup\nsetup()\n",
                "setup.cfg": "[metadata]\nname = demo\n[options]\npython_requires = >=3.12\n"
                "[options.extras_require]\ntesting = pytest\n",
            },
        )
        project = detect_project(root)
        assert project.python is not None
        assert project.python.extras == ["testing"]
        assert project.python.requires_python == ">=3.12"

    def test_poetry_dev_dependencies_keep_their_constraints(self, tmp_path: Path) -> None:
        pyproject = (
            '[tool.poetry]\nname = "demo"\n[tool.poetry.group.dev.dependencies]\n'
            'pytest = "^8.0"\nfreezegun = "*"\n'
        )
        project = detect_project(_tree(tmp_path, {"pyproject.toml": pyproject}))
        assert project.python is not None
        assert sorted(project.python.group_requirements) == ["freezegun", "pytest>=8.0,<9"]
        assert any("poetry" in note for note in project.notes)


class TestNode:
    def _package(self, root: Path, **fields: object) -> Path:
        return _tree(root, {"package.json": json.dumps({"name": "demo", **fields})})

    def test_node_test_script_with_its_own_flags(self, tmp_path: Path) -> None:
        root = self._package(
            tmp_path, scripts={"test": "node --test --experimental-vm-modules test/"}
        )
        project = detect_project(root)
        assert project.kind == "node" and project.language == "javascript"
        assert project.node is not None
        assert project.node.runner == "node-test"
        assert project.node.runner_flags == ["--experimental-vm-modules"]
        assert project.node.dependencies == []

    @pytest.mark.parametrize("runner", ["jest", "vitest", "mocha"])
    def test_a_known_runner_is_used_when_the_project_depends_on_it(
        self, tmp_path: Path, runner: str
    ) -> None:
        root = self._package(
            tmp_path,
            scripts={"test": f"{runner} --coverage"},
            devDependencies={runner: "*"},
        )
        (root / "package-lock.json").write_text("{}")
        project = detect_project(root)
        assert project.node is not None
        assert project.node.runner == runner
        assert project.node.lock_file == "package-lock.json"
        assert project.node.dependencies == [runner]

    def test_an_unknown_runner_runs_the_whole_suite_as_one_test(self, tmp_path: Path) -> None:
        project = detect_project(self._package(tmp_path, scripts={"test": "ava"}))
        assert project.node is not None and project.node.runner == "npm-test"
        assert "no known runner" in project.notes[0]

    def test_test_files_without_a_script_run_with_node_test(self, tmp_path: Path) -> None:
        root = self._package(tmp_path, scripts={"test": 'echo "Error: no test specified"'})
        _tree(root, {"lib/sum.test.js": "require('node:test');\n"})
        project = detect_project(root)
        assert project.node is not None and project.node.runner == "node-test"

    def test_a_package_json_without_tests_is_not_a_node_project(self, tmp_path: Path) -> None:
        with pytest.raises(UnsupportedProjectError, match="unsupported project kind"):
            detect_project(self._package(tmp_path, scripts={"build": "tsc"}))

    def test_the_fixs_tests_decide_between_python_and_node(self, tmp_path: Path) -> None:
        root = self._package(tmp_path, scripts={"test": "jest"}, devDependencies={"jest": "*"})
        _tree(root, {"pyproject.toml": '[project]\nname = "demo"\n'})
        assert detect_project(root, test_paths=["web/app.test.js"]).kind == "node"
        assert detect_project(root, test_paths=["tests/test_app.py"]).kind == "python"
        assert detect_project(root).kind == "python"


def test_anything_else_is_an_unsupported_project_kind(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"go.mod": "module demo\n", "main.go": "package main\n"})
    with pytest.raises(UnsupportedProjectError) as caught:
        detect_project(root)
    assert str(caught.value.message).startswith("unsupported project kind:")
    assert "go.mod" in caught.value.message


@pytest.mark.parametrize(
    ("path", "kind", "runs"),
    [
        ("tests/test_parse.py", "python", True),
        ("pkg/parse_test.py", "python", True),
        ("tests/conftest.py", "python", False),
        ("tests/fixtures/data.json", "python", False),
        ("src/a.test.js", "node", True),
        ("src/a.spec.ts", "node", True),
        ("test/compare.js", "node", True),
        ("test/fixtures/sample.js", "node", False),
        ("src/compare.js", "node", False),
    ],
)
def test_test_modules_are_what_runners_run(path: str, kind: str, runs: bool) -> None:
    assert is_test_module(path, kind) is runs  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "admitted"),
    [
        (">=3.8", True),
        (">=3.12", False),
        ("<3.11", False),
        (">=3.8,<4", True),
        ("~=3.10", True),
        ("~=3.10.0", False),
        ("==3.11.*", True),
        ("!=3.11.*", False),
        (">=3.11.4", True),
        ("some day", True),
    ],
)
def test_requires_python_is_compared_on_major_and_minor(spec: str, admitted: bool) -> None:
    assert python_allowed(spec, (3, 11)) is admitted


class TestPytestConfiguration:
    def test_pytest_ini_wins_even_without_a_section(self) -> None:
        texts = {"pytest.ini": "# empty\n", "pyproject.toml": PYPROJECT}
        assert pytest_config_file(texts) == "pytest.ini"
        assert pytest_options(texts) == {}

    def test_pyproject_options_keep_their_lists(self) -> None:
        options = pytest_options({"pyproject.toml": PYPROJECT})
        assert options == {"addopts": ["-ra", "--strict-markers"], "asyncio_mode": "auto"}

    def test_setup_cfg_uses_the_tool_pytest_section(self) -> None:
        texts = {"setup.cfg": "[tool:pytest]\naddopts = -q\n", "tox.ini": "[tox]\n"}
        assert pytest_config_file(texts) == "setup.cfg"
        assert pytest_options(texts) == {"addopts": "-q"}

    def test_no_configuration_at_all(self) -> None:
        assert pytest_config_file({}) is None
        assert pytest_options({"pyproject.toml": "[project]\nname='x'\n"}) == {}
