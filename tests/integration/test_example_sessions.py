"""The bundled example sessions, end to end with the baseline builder (real git, real Docker).

Each session is read from examples/sessions/ over repositories built from
examples/projects/, qualified, reconstructed, given a verifier and a task.toml; the
result must load as a Harbor task, score 1 with the oracle and 0 with nop, and pass
validation (leak scans and exploit probes included). The typo session must not get that
far: baseline qualification disqualifies it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.context import CandidateWorkspace, StageContext
from agents.factory.assemble import draft_config
from agents.qualify.baseline import qualify_baseline
from agents.qualify.records import Qualification
from agents.reconstruct.baseline import BaselineReconstructor
from agents.verifier.baseline import BaselineVerifierWriter
from harness.run_budget import RunBudget
from harness.runner.solvers import NopSolver, OracleSolver
from harness.runner.trial import run_trial
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from harness.task.folder import HarborTask
from harness.task.image import TaskImages
from tools.repos.examples import (
    SESSIONS_DIR,
    WORKSPACE_ROOT,
    ensure_example_repos,
    example_repo_map,
    example_shas,
)
from tools.repos.git import RepoCache
from tools.sessions.intake import load_sessions
from tools.sessions.records import Candidate
from tools.validation.agreement import check_agreement
from tools.validation.validate import HiddenFacts, validate_task


@dataclass
class Example:
    candidate: Candidate
    qualification: Qualification


@dataclass
class Examples:
    root: Path
    repos: dict[str, Path]
    cache: RepoCache
    by_format: dict[str, Example]


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Examples:
    root = tmp_path_factory.mktemp("examples")
    repos = ensure_example_repos(root / "repos")
    intake = load_sessions([SESSIONS_DIR], example_repo_map(root / "repos"))
    assert intake.errors == []
    cache = RepoCache(root / "cache")
    found = {}
    for candidate in intake.candidates:
        qualification, redacted = qualify_baseline(candidate, cache)
        found[candidate.source_format] = Example(redacted, qualification)
    return Examples(root=root, repos=repos, cache=cache, by_format=found)


@pytest.fixture(scope="module")
def engine() -> Iterator[DockerEngine]:
    engine = DockerEngine.connect()
    yield engine
    engine.close()


def test_every_session_maps_to_an_example_repository(examples: Examples) -> None:
    assert set(examples.by_format) == {"claude_code", "codex", "cline"}
    for example in examples.by_format.values():
        candidate = example.candidate
        assert candidate.workspace_path and candidate.workspace_path.startswith(WORKSPACE_ROOT)
        assert candidate.repo in {str(path) for path in examples.repos.values()}
        assert candidate.start_commit


def test_the_codex_session_names_a_commit_of_the_rebuilt_repository(examples: Examples) -> None:
    # examples/sessions/generate.py must be rerun whenever a project's history changes.
    codex = examples.by_format["codex"].candidate
    assert codex.start_commit == example_shas(examples.repos["verspec"])[2]


def test_baseline_qualifies_the_bug_fixes_and_disqualifies_the_typo(examples: Examples) -> None:
    verdicts = {name: e.qualification.verdict for name, e in examples.by_format.items()}
    assert verdicts == {"claude_code": "qualified", "codex": "qualified", "cline": "disqualified"}
    typo = examples.by_format["cline"].qualification
    assert [finding.code for finding in typo.disqualifiers] == ["typo_only"]
    for name in ("claude_code", "codex"):
        qualification = examples.by_format[name].qualification
        assert qualification.fix_commit is not None
        assert "fix_without_tests" not in qualification.codes()


def _context(
    examples: Examples, example: Example, engine: DockerEngine, run_id: str
) -> StageContext:
    settings = Settings.from_env()
    return StageContext(
        run_id=run_id,
        candidate=example.candidate,
        workspace=CandidateWorkspace(examples.root / "run", example.candidate.id),
        engine=engine,
        images=TaskImages(engine, settings),
        settings=settings,
        repos=examples.cache,
        costs=RunBudget(None),
        qualification=example.qualification,
        validation_repeats=2,
    )


@pytest.mark.parametrize(
    ("source_format", "language", "min_fail_to_pass"),
    [("claude_code", "python", 6), ("codex", "javascript", 4)],
)
def test_a_qualified_example_becomes_a_validated_task(
    examples: Examples,
    engine: DockerEngine,
    test_run_id: str,
    source_format: str,
    language: str,
    min_fail_to_pass: int,
) -> None:
    example = examples.by_format[source_format]
    context = _context(examples, example, engine, test_run_id)

    reconstruction = BaselineReconstructor().reconstruct(context)
    assert reconstruction.status == "ok", reconstruction.message
    assert reconstruction.language == language
    assert reconstruction.dependencies
    draft = context.workspace.draft
    assert not (draft / "environment" / "app" / ".git").exists()
    assert "FROM ${BASE_IMAGE}" in (draft / "environment" / "Dockerfile").read_text()
    assert context.workspace.build_report_path.is_file()

    verifier = BaselineVerifierWriter().write_verifier(context, reconstruction)
    assert verifier.status == "ok", verifier.message
    assert len(verifier.fail_to_pass) >= min_fail_to_pass
    assert verifier.pass_to_pass
    assert "test.sh" in verifier.test_files

    # The factory's own task.toml: Harbor's strictest settings (agent user, separate verifier).
    config = draft_config(example.candidate, example.qualification, reconstruction, "baseline")
    (draft / "task.toml").write_text(config.to_toml())
    task_dir = examples.root / "tasks" / f"example-{language}"
    task = HarborTask.load(draft).write(task_dir, overwrite=True)
    assert "The project is in `/app`." in task.instruction
    agreement = check_agreement(task.instruction, verifier.fail_to_pass, draft / "tests")
    assert agreement.passed, agreement.message

    for solver, expected in ((OracleSolver(), 1.0), (NopSolver(), 0.0)):
        result = run_trial(
            engine,
            context.images,
            task,
            solver,
            examples.root / "trials" / f"{language}-{solver.name}",
            run_id=test_run_id,
            build_log=examples.root / "trials" / "build.log",
        )
        assert result.reward == expected, (solver.name, result.error, result.verifier_result)

    with examples.cache.open(example.candidate.repo or "") as repo:
        fix_diff = repo.commit_patch(example.qualification.fix_commit or "")
    report = validate_task(
        engine,
        context.settings,
        task_dir,
        hidden=HiddenFacts(
            fix_diff=fix_diff,
            fix_commit=example.qualification.fix_commit,
            start_commit=example.qualification.start_commit,
        ),
        out_dir=examples.root / "validation" / language,
        run_id=test_run_id,
        repeats=1,
        images=context.images,
    )
    assert report.passed, report.feedback()
