"""Reading how real projects install and test: every place they keep test needs, their lock
files, versions from git, the interpreter they declare, their package manager, their build
step, and which files their runner collects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.projects.dependencies import install_command, package_manager_cli, top_level_packages
from tools.projects.layout import (
    SuiteLayout,
    TestSplitter,
    detect_layout,
    fix_project_dir,
    glob_match,
    project_root_of,
)
from tools.projects.node import compiled_test, node_setup, runner_command
from tools.projects.python import (
    declared_requirements,
    lock_constraints,
    pretend_version_env,
    python_setup,
    release_version,
)
from tools.projects.records import NodeSetup
from tools.projects.runtimes import choose_node, choose_python


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


class TestPythonTestNeeds:
    def test_tox_deps_extras_and_dependency_groups_are_all_installed(self, tmp_path: Path) -> None:
        root = _tree(
            tmp_path,
            {
                "pyproject.toml": '[project]\nname = "p"\n[project.optional-dependencies]\n'
                'testing = ["hypothesis"]\n[dependency-groups]\ncheck = ["pytest-mock"]\n',
                "tox.ini": "[tox]\nenvlist = py{39,310,311}\n[testenv]\ndeps =\n    pytest\n"
                "    responses>=0.2\n    -r requirements/extra.txt\n"
                "    py38: typing-extensions\nextras = testing\n",
                "requirements/extra.txt": "freezegun\n",
            },
        )
        setup, _ = python_setup(root)
        assert "testing" in setup.extras
        assert {"pytest", "responses>=0.2", "typing-extensions", "pytest-mock"} <= set(
            setup.group_requirements
        )
        assert "requirements/extra.txt" in setup.requirement_files
        assert setup.supported_pythons == ["3.9", "3.10", "3.11"]

    def test_a_noxfile_test_session_says_what_the_tests_need(self, tmp_path: Path) -> None:
        noxfile = (
            "import nox\n\n@nox.session\ndef tests(session):\n"
            "    session.install('pytest', 'pretend')\n    session.install('.')\n"
            "    session.install('--group', 'test')\n\n"
            "@nox.session\ndef docs(session):\n    session.install('sphinx')\n"
        )
        root = _tree(
            tmp_path,
            {
                "noxfile.py": noxfile,
                "pyproject.toml": '[project]\nname = "p"\n[dependency-groups]\n'
                'test = ["coverage", {include-group = "typing"}]\ntyping = ["mypy"]\n',
            },
        )
        setup, _ = python_setup(root)
        assert {"pytest", "pretend", "coverage", "mypy"} <= set(setup.group_requirements)
        assert "sphinx" not in setup.group_requirements

    def test_hatch_environments_and_poetry_groups_count(self, tmp_path: Path) -> None:
        root = _tree(
            tmp_path,
            {
                "pyproject.toml": '[project]\nname = "p"\n'
                '[tool.hatch.envs.test]\ndependencies = ["pytest-asyncio"]\n'
                '[tool.poetry.group.dev.dependencies]\npytest = "^8.2"\nsyrupy = "~4.1"\n',
            },
        )
        setup, _ = python_setup(root)
        assert "pytest-asyncio" in setup.group_requirements
        assert "pytest>=8.2,<9" in setup.group_requirements
        assert "syrupy>=4.1,<4.2" in setup.group_requirements


class TestPythonLocksAndVersions:
    def test_uv_and_poetry_locks_become_constraints_without_the_project_itself(
        self, tmp_path: Path
    ) -> None:
        uv = (
            'version = 1\n[[package]]\nname = "Requests"\nversion = "2.31.0"\n'
            '[[package]]\nname = "mine"\nversion = "0.1.0"\nsource = { editable = "." }\n'
        )
        root = _tree(tmp_path, {"uv.lock": uv})
        assert lock_constraints(root, "uv.lock") == ["requests==2.31.0"]
        pipfile = {"default": {"six": {"version": "==1.16.0"}}, "develop": {}}
        root = _tree(tmp_path / "p", {"Pipfile.lock": json.dumps(pipfile)})
        assert lock_constraints(root, "Pipfile.lock") == ["six==1.16.0"]

    def test_versions_from_git_are_recognised_per_tool(self, tmp_path: Path) -> None:
        root = _tree(
            tmp_path,
            {
                "pyproject.toml": '[build-system]\nrequires = ["hatchling", "hatch-vcs"]\n'
                '[project]\nname = "p"\ndynamic = ["version"]\n'
                '[tool.hatch.version]\nsource = "vcs"\n',
            },
        )
        setup, _ = python_setup(root)
        assert setup.vcs_versioning == ["hatch-vcs"]
        assert pretend_version_env(["poetry-dynamic-versioning"], "1.2") == {
            "POETRY_DYNAMIC_VERSIONING_BYPASS": "1.2",
            "SETUPTOOLS_SCM_PRETEND_VERSION": "1.2",
        }

    @pytest.mark.parametrize(
        ("tag", "version"),
        [("v3.4.2", "3.4.2"), ("pkg-1.0", "1.0"), ("2.0.0rc1", "2.0.0rc1"), (None, "0.0.0")],
    )
    def test_the_pretend_version_is_the_nearest_release(
        self, tag: str | None, version: str
    ) -> None:
        assert release_version(tag) == version

    def test_the_import_packages_a_project_holds_are_known(self, tmp_path: Path) -> None:
        """Asked of today's pip, which vendors packaging, platformdirs, rich, ...: a copy
        of the project under test in the image may hold the fix."""
        for folder in ("src/packaging", "tests", "docs", "tools"):
            (tmp_path / folder).mkdir(parents=True)
            (tmp_path / folder / "__init__.py").write_text("")
        (tmp_path / "scripts").mkdir()
        assert top_level_packages(tmp_path) == ["packaging", "tools"]

    def test_what_a_fix_adds_to_the_dependencies_is_readable(self) -> None:
        files = {"pyproject.toml": '[project]\nname = "p"\ndependencies = ["Tomli-W>=1", "six"]\n'}
        assert declared_requirements(files.get) == {"tomli-w": "Tomli-W>=1", "six": "six"}

    def test_requirements_of_extras_count_too(self) -> None:
        """jsonschema's hostname fix needs fqdn from its `format` extra; without it the
        fix's tests skip after solve.sh."""
        pyproject = '[project]\nname = "p"\n[project.optional-dependencies]\nformat = ["fqdn"]\n'
        setup_cfg = "[options]\ninstall_requires =\n    attrs\n[options.extras_require]\n"
        setup_cfg += "format =\n    idna\n    rfc3987\n"
        assert set(declared_requirements({"pyproject.toml": pyproject}.get)) == {"fqdn"}
        found = declared_requirements({"setup.cfg": setup_cfg}.get)
        assert set(found) == {"attrs", "idna", "rfc3987"}


class TestInterpreters:
    def test_a_python_only_newer_versions_admit_gets_trixies(self) -> None:
        choice = choose_python(">=3.12", [])
        assert (choice.version, choice.suite) == ("3.13", "trixie")

    def test_an_old_codebase_gets_the_newest_python_it_lists(self) -> None:
        assert choose_python(">=3.6", ["3.6", "3.7", "3.8", "3.9"]).version == "3.9"

    def test_the_default_when_the_project_supports_it(self) -> None:
        assert choose_python(">=3.8", ["3.9", "3.10", "3.11", "3.12"]).version == "3.11"

    def test_nothing_fits_is_said(self) -> None:
        assert not choose_python("<3.8", []).fits

    @pytest.mark.parametrize(
        ("engines", "pinned", "major"),
        [(">=20.19", None, "22"), (">=22.19.0", None, "22"), (None, "18", "18"),
         (">=14", None, "20"), (None, None, "20"), ("^18.17.0 || >=20.5.0", None, "20")],
    )  # fmt: skip
    def test_node_follows_engines_and_nvmrc(
        self, engines: str | None, pinned: str | None, major: str
    ) -> None:
        assert choose_node(engines, pinned).major == major


class TestNode:
    def test_the_package_manager_is_the_projects_own(self, tmp_path: Path) -> None:
        pnpm = _tree(
            tmp_path / "a",
            {"package.json": json.dumps({"packageManager": "pnpm@10.15.0+sha512.x"}),
             "pnpm-lock.yaml": "lockfileVersion: '9.0'\n"},
        )  # fmt: skip
        setup, _ = node_setup(pnpm, pnpm)
        assert (setup.package_manager, setup.package_manager_version) == ("pnpm", "10.15.0")
        berry = _tree(
            tmp_path / "b",
            {
                "package.json": "{}",
                "yarn.lock": "",
                ".yarnrc.yml": "yarnPath: .yarn/releases/yarn-3.2.4.cjs\n",
                ".yarn/releases/yarn-3.2.4.cjs": "",
            },
        )
        setup, _ = node_setup(berry, berry)
        assert setup.package_manager == "yarn-berry"
        assert setup.yarn_path == ".yarn/releases/yarn-3.2.4.cjs"
        classic = _tree(tmp_path / "c", {"package.json": "{}", "yarn.lock": "# yarn lockfile v1\n"})
        assert node_setup(classic, classic)[0].package_manager == "yarn-classic"

    def test_a_workspace_package_installs_from_the_root(self, tmp_path: Path) -> None:
        root = _tree(
            tmp_path,
            {
                "package.json": json.dumps({"workspaces": ["packages/*"]}),
                "package-lock.json": "{}",
                "packages/title/package.json": json.dumps(
                    {"scripts": {"test": "vitest"}, "devDependencies": {"vitest": "1"}}
                ),
            },
        )
        setup, _ = node_setup(root / "packages" / "title", root)
        assert setup.install_dir == "../.."
        assert setup.lock_file == "package-lock.json"
        assert setup.runner == "vitest"

    def test_a_build_the_tests_import_runs_first(self, tmp_path: Path) -> None:
        package = {"scripts": {"pretest": "tsc", "test": "node --test"}}
        root = _tree(tmp_path, {"package.json": json.dumps(package)})
        assert node_setup(root, root)[0].build_script == "npm run pretest"
        package = {"scripts": {"test": "npm run build && vitest run"}, "devDependencies": {
            "vitest": "1"}}  # fmt: skip
        root = _tree(tmp_path / "b", {"package.json": json.dumps(package)})
        setup, _ = node_setup(root, root)
        assert (setup.build_script, setup.runner) == ("npm run build", "vitest")

    def test_linters_and_type_checks_in_the_test_scripts_are_left_out(self, tmp_path: Path) -> None:
        # A lint rule must not fail a correct fix: ljharb's packages lint in "pretest".
        scripts = {
            "prelint": "evalmd README.md",
            "lint": "eslint --ext=js,mjs .",
            "pretest": "npm run lint",
            "tests-only": "nyc tape 'test/**/*.js'",
            "test": "npm run tests-only",
            "posttest": "aud --production",
        }
        root = _tree(tmp_path / "a", {"package.json": json.dumps({"scripts": scripts})})
        setup, _ = node_setup(root, root)
        assert (setup.test_script, setup.build_script) == ("npm run tests-only", None)
        # A build next to the checks stays: the tests import what it compiles.
        scripts = {
            "pretest": "npm run lint && npm run build",
            "build": "rimraf dist && tsc && npm run lint:types",
            "lint": "xo",
            "lint:types": "attw --pack",
            "test": "tsc --noEmit && standard && ava",
        }
        package = {"scripts": scripts, "devDependencies": {"ava": "6"}}
        root = _tree(tmp_path / "b", {"package.json": json.dumps(package)})
        setup, _ = node_setup(root, root)
        assert setup.build_script == "rimraf dist && tsc"
        assert (setup.test_script, setup.runner) == ("ava", "ava")
        # A pretest with no checks in it runs through npm, with its own pre/post scripts.
        scripts = {"pretest": "npm run build", "build": "tsc -p .", "test": "node --test"}
        root = _tree(tmp_path / "c", {"package.json": json.dumps({"scripts": scripts})})
        assert node_setup(root, root)[0].build_script == "npm run pretest"

    def test_node_flags_of_the_test_script_go_with_the_runner(self, tmp_path: Path) -> None:
        package = {
            "scripts": {"test": "node --expose-gc ./node_modules/vitest/vitest.mjs --run"},
            "devDependencies": {"vitest": "1"},
        }
        root = _tree(tmp_path, {"package.json": json.dumps(package)})
        setup, _ = node_setup(root, root)
        assert (setup.runner, setup.runner_flags) == ("vitest", ["--expose-gc"])

    def test_a_tape_suite_behind_another_script_is_run_by_tape(self, tmp_path: Path) -> None:
        """ljharb's packages: `test` runs `tests-only`, which runs tape under nyc; tape's
        own -r goes to node, which loads the module the same way."""
        package = {
            "scripts": {
                "test": "npm run tests-only",
                "tests-only": "nyc tape -r ./test/_setup.js 'test/**/*.js'",
            },
            "devDependencies": {"tape": "^5.9.0", "nyc": "^10.3.2"},
        }
        root = _tree(tmp_path, {"package.json": json.dumps(package)})
        setup, notes = node_setup(root, root)
        assert (setup.runner, setup.runner_flags) == ("tape", ["--require", "./test/_setup.js"])
        assert notes == []
        assert runner_command(setup, ["test/parse.js"]) == (
            "node --require ./test/_setup.js $(command -v tape) test/parse.js"
        )

    def test_a_mocha_suite_compiled_on_the_fly_keeps_its_require(self, tmp_path: Path) -> None:
        """validator.js: `nyc mocha --require @babel/register`; without the hook mocha
        cannot read the ES module syntax of the tests (exit 1, no tests)."""
        package = {
            "scripts": {
                "test": "nyc --reporter=text mocha --require @babel/register --reporter dot"
            },
            "devDependencies": {"mocha": "^6.2.3", "@babel/register": "^7.0.0", "nyc": "^14"},
        }
        root = _tree(tmp_path, {"package.json": json.dumps(package)})
        setup, _ = node_setup(root, root)
        assert (setup.runner, setup.runner_flags) == ("mocha", ["--require", "@babel/register"])
        # markdown-it: c8's own -r names its reporters, which are nothing for node to load.
        package["scripts"]["test"] = "c8 --exclude dist -r text -r lcov mocha && node x.mjs"
        (root / "package.json").write_text(json.dumps(package))
        assert node_setup(root, root)[0].runner_flags == []


class TestWhichFilesAreTests:
    def test_library_code_under_a_testing_folder_is_source(self) -> None:
        files = {"pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'}
        layout = detect_layout(files.get)
        assert not layout.is_test("falcon/testing/test_case.py")
        assert layout.is_test("tests/test_app.py") and layout.is_test("tests/conftest.py")

    def test_a_suite_called_testing_is_tests(self) -> None:
        files = {"tox.ini": "[pytest]\ntestpaths = testing\n"}
        layout = detect_layout(files.get)
        assert layout.is_test_module("testing/test_hooks.py")
        assert not layout.is_test("src/pluggy/_hooks.py")

    def test_a_unittest_module_at_the_root_is_a_test_without_pytest_configuration(self) -> None:
        # python-slugify: setup.py, slugify/, and its whole suite in test.py at the root.
        layout = detect_layout({"setup.py": "from setuptools import setup\nsetup()\n"}.get)
        assert layout.is_test_module("test.py") and layout.is_test_module("app/tests.py")
        assert layout.is_test_module("parser_tests.py")
        assert not layout.is_test("slugify/slugify.py")

    def test_jest_test_match_decides_for_javascript(self) -> None:
        package = {"jest": {"testMatch": ["<rootDir>/spec/**/*.check.js"]}}
        layout = detect_layout({"package.json": json.dumps(package)}.get)
        assert layout.is_test_module("spec/parse.check.js")
        assert not layout.is_test_module("test/parse.test.js")

    def test_runner_defaults_without_configuration(self) -> None:
        layout = SuiteLayout()
        assert layout.is_test_module("src/test/v4.test.ts")
        assert not layout.is_test("src/v4.ts")
        assert glob_match("packages/a/x.spec.mjs", "**/*.spec.?([cm])[jt]s?(x)")

    def test_a_changed_data_file_runs_the_modules_that_read_its_folder(self) -> None:
        """markdown-it's fix adds a case to test/fixtures/markdown-it/commonmark_extras.txt,
        which test/markdown-it.mjs reads by its folder; test/misc.mjs reads nothing of it."""
        files = {
            "package.json": json.dumps({"scripts": {"test": "mocha"}}),
            "test/markdown-it.mjs": "generate(join(here, 'fixtures/markdown-it'), md)\n",
            "test/commonmark.mjs": "load('fixtures/commonmark/good.txt')\n",
            "test/misc.mjs": "describe('misc', () => {})\n",
            "test/fixtures/markdown-it/commonmark_extras.txt": "",
        }
        splitter = TestSplitter(files.get, files)
        changed = ["test/fixtures/markdown-it/commonmark_extras.txt"]
        assert splitter.test_modules(changed) == ["test/markdown-it.mjs"]
        # A changed module is run itself: no search through the others.
        assert splitter.test_modules([*changed, "test/misc.mjs"]) == ["test/misc.mjs"]

    def test_a_changed_snapshot_runs_the_test_that_records_it(self) -> None:
        """minimatch's fix changes only tap snapshots and a pattern list: the tests to run
        are the ones whose snapshots changed, never the snapshot files themselves."""
        files = {
            "package.json": json.dumps({"scripts": {"test": "tap"}}),
            "test/basic.js": "",
            "test/patterns.js": "",
            "packages/ui/package.json": "{}",
            "packages/ui/src/button.test.tsx": "",
        }
        splitter = TestSplitter(files.get, files)
        changed = [
            "tap-snapshots/test/basic.js.test.cjs",
            "tap-snapshots/test/gone.js.test.cjs",  # its test was deleted: nothing to run
            "test/patterns.js",
            "packages/ui/src/__snapshots__/button.test.tsx.snap",
        ]
        assert splitter.test_modules(changed) == [
            "test/basic.js",
            "test/patterns.js",
            "packages/ui/src/button.test.tsx",
        ]
        assert splitter.is_test("tap-snapshots/test/basic.js.test.cjs")
        assert not splitter.is_test_module("tap-snapshots/test/basic.js.test.cjs")

    def test_a_monorepo_package_is_its_own_project(self) -> None:
        files = {"libs/checkpoint/pyproject.toml", "pyproject.toml"}
        assert project_root_of("libs/checkpoint/tests/test_x.py", files) == "libs/checkpoint"
        assert project_root_of("README.md", files) == ""

    def test_a_package_json_that_only_marks_es_modules_is_no_project(self) -> None:
        # luxon: src/package.json is {"type": "module", "version": ...}; the project is the top.
        manifests = {
            "package.json": '{"name": "luxon", "scripts": {"test": "jest"}}',
            "src/package.json": '{"type": "module", "version": "3.4.4"}',
            "packages/core/package.json": '{"name": "@acme/core", "version": "1.0.0"}',
        }
        files = {*manifests, "src/datetime.js", "test/datetime/format.test.js"}
        fix = ["src/datetime.js", "test/datetime/format.test.js"]
        assert fix_project_dir(fix, files, manifests.get) == ""
        assert project_root_of("packages/core/src/a.js", files, manifests.get) == "packages/core"
        # Without a reader every marker counts, as before.
        assert project_root_of("src/datetime.js", files) == "src"


class TestNodeCommands:
    def test_typescript_tests_run_as_the_javascript_the_build_makes(self) -> None:
        setup = NodeSetup(
            runner="node-test",
            test_script="node --test --enable-source-maps dist/esm/test/*.js",
            build_script="npm run pretest",
        )
        assert compiled_test(setup, "src/test/v4.test.ts") == "dist/esm/test/v4.test.js"
        assert runner_command(setup, ["src/test/v4.test.ts"]) == (
            "npm run pretest && node --test dist/esm/test/v4.test.js"
        )

    def test_npm_can_resolve_peer_ranges_as_npm_6_did_locked_or_not(self) -> None:
        npm = NodeSetup(runner="mocha")
        assert install_command(npm, frozen=True) == "npm ci --no-audit --no-fund"
        legacy = install_command(npm, frozen=False, as_of="2020-01-02T00:00:00Z", legacy_peers=True)
        assert legacy.endswith("--before=2020-01-02T00:00:00Z --legacy-peer-deps")
        # The image installs from the lock file the same way it was resolved.
        assert install_command(npm, frozen=True, legacy_peers=True).endswith("--legacy-peer-deps")

    def test_the_projects_package_manager_is_on_path_in_the_image(self) -> None:
        assert package_manager_cli(NodeSetup(runner="jest")) is None
        yarn = NodeSetup(runner="mocha", package_manager="yarn-classic")
        assert package_manager_cli(yarn) == "yarn@1.22.22"
        assert install_command(yarn, frozen=True).startswith("yarn install")
        pnpm = NodeSetup(runner="vitest", package_manager="pnpm", package_manager_version="10.1.0")
        assert package_manager_cli(pnpm) == "pnpm@10.1.0"
