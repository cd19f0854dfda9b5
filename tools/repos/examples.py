"""The bundled example repositories, built from readable files under examples/projects/.

Each project folder holds ``history.toml`` (the commits: folder, message, date, deleted
files) and one folder per commit with the files that commit adds or changes, whole. The
repositories are replayed with ``tools.repos.builder`` under a fixed author and the dates
in the history, so every machine gets the same commit shas: the example sessions name
those shas, and sessions recorded at ``/home/dev/src/<name>`` find the repositories
through ``example_repo_map``.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import tempfile
import tomllib
from pathlib import Path

import git

from harness.errors import KettleError
from tools.repos.builder import build_repo
from tools.repos.records import CommitSpec, ExampleProject

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
PROJECTS_DIR = EXAMPLES_DIR / "projects"
SESSIONS_DIR = EXAMPLES_DIR / "sessions"
# Where the example sessions say their repositories were: the team's workstation.
WORKSPACE_ROOT = "/home/dev/src"
EXAMPLE_REPO_PREFIX = WORKSPACE_ROOT  # the repo-map key: {EXAMPLE_REPO_PREFIX: dest}
EXAMPLE_AUTHOR = ("Robin Kettle", "robin@kettle.invalid")
HISTORY_FILE = "history.toml"
_DIGEST_FILE = "kettle-example-digest"


def example_projects(projects_dir: Path = PROJECTS_DIR) -> dict[str, Path]:
    """Every project folder with a history, by name."""
    return {
        path.name: path
        for path in sorted(projects_dir.iterdir())
        if (path / HISTORY_FILE).is_file()
    }


def load_project(folder: Path) -> tuple[ExampleProject, list[CommitSpec]]:
    """The project's history and the commits to replay."""
    try:
        project = ExampleProject.model_validate(
            tomllib.loads((folder / HISTORY_FILE).read_text(encoding="utf-8"))
        )
    except (OSError, tomllib.TOMLDecodeError, ValueError) as error:
        raise KettleError(
            f"{folder / HISTORY_FILE}: not a valid example history ({error})"
        ) from error
    specs = []
    for commit in project.commit:
        root = folder / commit.dir
        if not root.is_dir():
            raise KettleError(f"{folder / HISTORY_FILE}: commit folder {commit.dir} is missing")
        files: dict[str, str | None] = {
            path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }
        files.update(dict.fromkeys(commit.delete))
        specs.append(
            CommitSpec(
                message=commit.message,
                files=files,
                executable=commit.executable,
                date=commit.date,
            )
        )
    return project, specs


def project_digest(folder: Path) -> str:
    """A hash of a project's history and files: a repository built from them is current."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_example_repos(dest: Path, projects_dir: Path = PROJECTS_DIR) -> dict[str, Path]:
    """Build (or reuse) one git repository per example project under ``dest``.

    Idempotent: a repository built from the same files is kept as it is. A stale or
    broken one is rebuilt in a scratch folder and swapped in, under a lock, so parallel
    callers never see half a repository.
    """
    dest.mkdir(parents=True, exist_ok=True)
    repos: dict[str, Path] = {}
    with (dest / ".kettle-examples.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        for name, folder in example_projects(projects_dir).items():
            target = dest / name
            digest = project_digest(folder)
            if _current(target) != digest:
                _rebuild(folder, target, digest)
            repos[name] = target
    return repos


def example_repo_map(dest: Path) -> dict[str, str]:
    """The ``--repo-map`` that sends the example sessions' workspaces to ``dest``."""
    return {WORKSPACE_ROOT: str(dest)}


def example_shas(repo: Path) -> list[str]:
    """The repository's commits, oldest first."""
    with git.Repo(repo) as handle:
        return [commit.hexsha for commit in reversed(list(handle.iter_commits("HEAD")))]


def _current(target: Path) -> str | None:
    stamp = target / ".git" / _DIGEST_FILE
    return stamp.read_text().strip() if stamp.is_file() else None


def _rebuild(folder: Path, target: Path, digest: str) -> None:
    _project, specs = load_project(folder)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        build_repo(scratch / "repo", specs, author=EXAMPLE_AUTHOR)
        (scratch / "repo" / ".git" / _DIGEST_FILE).write_text(digest + "\n")
        if target.exists():
            shutil.rmtree(target)
        (scratch / "repo").rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
