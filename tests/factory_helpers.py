"""Helpers for tests of factory stages: example candidates and a stage context over them."""

from __future__ import annotations

from pathlib import Path

from agents.context import CandidateWorkspace, StageContext
from harness.run_budget import RunBudget
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from harness.task.image import TaskImages
from tools.repos.examples import SESSIONS_DIR, ensure_example_repos, example_repo_map
from tools.repos.git import RepoCache
from tools.sessions.intake import load_sessions
from tools.sessions.records import Candidate


def example_candidates(repos_dir: Path) -> dict[str, Candidate]:
    """The bundled example sessions as candidates, keyed by source format."""
    ensure_example_repos(repos_dir)
    loaded = load_sessions([SESSIONS_DIR], example_repo_map(repos_dir))
    assert not loaded.errors, loaded.errors
    return {candidate.source_format: candidate for candidate in loaded.candidates}


def stage_context(
    candidate: Candidate,
    run_dir: Path,
    engine: DockerEngine,
    run_id: str,
    *,
    budget_usd: float | None = None,
) -> StageContext:
    settings = Settings.from_env()
    return StageContext(
        run_id=run_id,
        candidate=candidate,
        workspace=CandidateWorkspace(run_dir, candidate.id),
        engine=engine,
        images=TaskImages(engine, settings),
        settings=settings,
        repos=RepoCache(run_dir / "repo-cache"),
        costs=RunBudget(budget_usd),
        validation_repeats=2,
    )
