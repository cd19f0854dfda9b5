"""The baseline builder on repositories made for the purpose (real git, real Docker).

The example sessions cover the way to a validated task (test_example_sessions.py); these
tests cover the ways a candidate falls off it, each with a message that says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.context import CandidateWorkspace, StageContext
from agents.qualify.records import Qualification
from agents.reconstruct.baseline import BaselineReconstructor
from agents.verifier.baseline import BaselineVerifierWriter
from harness.run_budget import RunBudget
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from harness.task.image import TaskImages
from tools.repos.builder import build_repo
from tools.repos.git import RepoCache
from tools.repos.records import CommitSpec
from tools.sessions.records import Candidate

TALLY = '''"""Small statistics over lists of numbers."""


def total(values):
    return sum(values)


def median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
'''
TALLY_MEDIAN_FIXED = TALLY.replace(
    "    return ordered[len(ordered) // 2]\n",
    "    middle = len(ordered) // 2\n"
    "    if len(ordered) % 2:\n"
    "        return ordered[middle]\n"
    "    return (ordered[middle - 1] + ordered[middle]) / 2\n",
)
# A later commit that only documents total(), with a test total() already passed.
TALLY_TOTAL_DOCUMENTED = TALLY_MEDIAN_FIXED.replace(
    "def total(values):\n", 'def total(values):\n    """The sum of the values (0 for none)."""\n'
)
TESTS = "from tally import median, total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
TESTS_MORE = TESTS + "\n\ndef test_total_of_nothing():\n    assert total([]) == 0\n"


@pytest.fixture(scope="module")
def engine() -> Iterator[DockerEngine]:
    engine = DockerEngine.connect()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def tally(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A flat Python project (requirements.txt, no packaging) and two later "fixes":
    one without tests, one whose tests already pass at the start."""
    root = tmp_path_factory.mktemp("tally")
    shas = build_repo(
        root / "repo",
        [
            CommitSpec(
                message="tally: total and median",
                files={
                    "tally.py": TALLY,
                    "requirements.txt": "pytest\n",
                    "tests/test_tally.py": TESTS,
                },
            ),
            CommitSpec(
                message="Fix median of an even count", files={"tally.py": TALLY_MEDIAN_FIXED}
            ),
            CommitSpec(
                message="Document total",
                files={"tally.py": TALLY_TOTAL_DOCUMENTED, "tests/test_tally.py": TESTS_MORE},
            ),
        ],
    )
    return root, shas


def _context(
    root: Path, repo: Path, start: str, fix: str, engine: DockerEngine, run_id: str, name: str
) -> StageContext:
    settings = Settings.from_env()
    candidate = Candidate(
        id=name,
        source_format="candidates_jsonl",
        source_path=str(root / "candidates.jsonl"),
        repo=str(repo),
        start_commit=start,
        first_prompt="The median of an even number of values is wrong.",
    )
    qualification = Qualification(
        candidate_id=name,
        verdict="qualified",
        task_spirit=candidate.first_prompt,
        start_commit=start,
        fix_commit=fix,
        confidence=0.9,
        decided_by="baseline",
    )
    return StageContext(
        run_id=run_id,
        candidate=candidate,
        workspace=CandidateWorkspace(root / "run", name),
        engine=engine,
        images=TaskImages(engine, settings),
        settings=settings,
        repos=RepoCache(root / "cache"),
        costs=RunBudget(None),
        qualification=qualification,
        validation_repeats=1,
    )


def test_a_fix_without_tests_needs_a_model_driven_verifier(
    tally: tuple[Path, list[str]], engine: DockerEngine, test_run_id: str
) -> None:
    root, shas = tally
    context = _context(root, root / "repo", shas[0], shas[1], engine, test_run_id, "no-tests")

    reconstruction = BaselineReconstructor().reconstruct(context)
    assert reconstruction.status == "ok", reconstruction.message
    # A requirements.txt project does not install; its tests import it from /app.
    dockerfile = (context.workspace.draft / "environment" / "Dockerfile").read_text()
    assert "pip install -e" not in dockerfile
    assert "requirements.lock" in dockerfile
    assert any("pip freeze" in o.resolution for o in reconstruction.obstacles)

    verifier = BaselineVerifierWriter().write_verifier(context, reconstruction)
    assert verifier.status == "failed"
    assert verifier.message == "no tests in the fix; a model-driven verifier is needed"


def test_tests_that_already_pass_at_the_start_cannot_verify_the_fix(
    tally: tuple[Path, list[str]], engine: DockerEngine, test_run_id: str
) -> None:
    root, shas = tally
    context = _context(root, root / "repo", shas[0], shas[2], engine, test_run_id, "passing")

    reconstruction = BaselineReconstructor().reconstruct(context)
    assert reconstruction.status == "ok", reconstruction.message

    verifier = BaselineVerifierWriter().write_verifier(context, reconstruction)
    assert verifier.status == "failed"
    assert verifier.message == "the fix's tests do not fail on the start state"


def test_an_unsupported_project_kind_fails_reconstruction_clearly(
    tmp_path: Path, engine: DockerEngine, test_run_id: str
) -> None:
    shas = build_repo(
        tmp_path / "repo",
        [
            CommitSpec(
                message="hello",
                files={"go.mod": "module hello\n", "main.go": "package main\n\nfunc main() {}\n"},
            ),
            CommitSpec(
                message="Fix greeting",
                files={
                    "main.go": 'package main\n\nfunc main() { println("hi") }\n',
                    "main_test.go": "package main\n",
                },
            ),
        ],
    )
    context = _context(tmp_path, tmp_path / "repo", shas[0], shas[1], engine, test_run_id, "go")

    report = BaselineReconstructor().reconstruct(context)

    assert report.status == "failed"
    assert report.message.startswith("unsupported project kind:")
    assert "go.mod" in report.message
    assert "failed" in context.workspace.build_report_path.read_text()


HATCH_PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "tally"
version = "0.1.0"
requires-python = ">=3.10"

[tool.hatch.build.targets.wheel]
packages = ["src/tally"]
"""
HATCH_TESTS = "from tally import median\n\n\ndef test_median_of_even_count():\n"
HATCH_TESTS += "    assert median([1, 2, 3, 4]) == 2.5\n"


def test_a_hatchling_project_installs_editable_offline_in_its_image(
    tmp_path: Path, engine: DockerEngine, test_run_id: str
) -> None:
    """Hatchling builds editables with the `editables` package, which no build requirement
    names: the builder asks the backend, so the image installs it without PyPI."""
    shas = build_repo(
        tmp_path / "repo",
        [
            CommitSpec(
                message="tally, packaged with hatchling",
                files={
                    "pyproject.toml": HATCH_PYPROJECT,
                    "src/tally/__init__.py": TALLY,
                    "tests/test_tally.py": TESTS.replace("from tally", "from tally"),
                },
            ),
            CommitSpec(
                message="Fix median of an even count",
                files={
                    "src/tally/__init__.py": TALLY_MEDIAN_FIXED,
                    "tests/test_even.py": HATCH_TESTS,
                },
            ),
        ],
    )
    context = _context(tmp_path, tmp_path / "repo", shas[0], shas[1], engine, test_run_id, "hatch")

    reconstruction = BaselineReconstructor().reconstruct(context)
    assert reconstruction.status == "ok", reconstruction.message
    dockerfile = (context.workspace.draft / "environment" / "Dockerfile").read_text()
    assert "--no-build-isolation" in dockerfile and "-e /app" in dockerfile
    lock = (context.workspace.draft / "environment" / "locks" / "requirements.lock").read_text()
    assert "editables==" in lock and "hatchling==" in lock

    verifier = BaselineVerifierWriter().write_verifier(context, reconstruction)
    assert verifier.status == "ok", verifier.message
    assert verifier.fail_to_pass
