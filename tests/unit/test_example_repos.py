"""The bundled example repositories: replayed from readable files, the same everywhere."""

from __future__ import annotations

import shutil
from pathlib import Path

import git

from tools.repos.examples import (
    PROJECTS_DIR,
    WORKSPACE_ROOT,
    ensure_example_repos,
    example_projects,
    example_repo_map,
    example_shas,
    load_project,
)


def test_every_example_project_has_a_believable_history() -> None:
    projects = example_projects()
    assert {"ledgerline", "verspec"} <= set(projects)
    languages = set()
    for folder in projects.values():
        project, specs = load_project(folder)
        languages.add(project.language)
        assert len(specs) >= 4, "a start, unrelated commits and a fix"
        dates = [spec.date for spec in specs]
        assert dates == sorted(dates)
    assert {"python", "javascript"} <= languages


def test_the_same_files_give_the_same_shas_anywhere(tmp_path: Path) -> None:
    first = ensure_example_repos(tmp_path / "a")
    second = ensure_example_repos(tmp_path / "b")
    for name in first:
        assert example_shas(first[name]) == example_shas(second[name])
        with git.Repo(first[name]) as repo:
            assert not repo.is_dirty(untracked_files=True)
            assert not repo.remotes  # sessions reach them through the repo map


def test_an_up_to_date_repository_is_reused(tmp_path: Path) -> None:
    repos = ensure_example_repos(tmp_path)
    marker = repos["verspec"] / ".git" / "reused"
    marker.write_text("")
    assert ensure_example_repos(tmp_path) == repos
    assert marker.exists()


def test_a_changed_project_is_rebuilt(tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    shutil.copytree(PROJECTS_DIR / "verspec", projects / "verspec")
    before = example_shas(ensure_example_repos(tmp_path / "repos", projects)["verspec"])
    readme = projects / "verspec" / "03-readme-usage" / "README.md"
    readme.write_text(readme.read_text() + "\nMore usage.\n")
    after = example_shas(ensure_example_repos(tmp_path / "repos", projects)["verspec"])
    assert before[:2] == after[:2] and before[2] != after[2]


def test_the_repo_map_sends_the_sessions_workspaces_to_the_repositories(tmp_path: Path) -> None:
    assert example_repo_map(tmp_path) == {WORKSPACE_ROOT: str(tmp_path)}
