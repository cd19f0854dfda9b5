"""Seed -> a local git repository with a start commit and the upstream fix commit.

Every kind of source ends the same way: a repository builders can be handed (``repo``),
the start and fix commits in it, and the upstream fix split into its source part (what the
scorer's oracle applies) and its test part (the upstream tests). Kinds:

- ``example``: a team-written project in examples/projects, replayed by
  ``tools.repos.examples``; ``start_ref``/``fix_ref`` name commit folders of its history
  (``"03-readme-usage"``) or any git revision.
- ``git``: a clone (a mirror in kettle's repo cache; a local path is read in place).
- ``pypi``: two sdists (``pip download --no-deps --no-binary :all:``); commit 1 is the start
  release's tree, commit 2 is that tree with ``fix_paths`` taken from the fix release.
- ``npm``: the same from two ``npm pack`` tarballs.

For ``visibility = "intent_only"`` builders get ``builder_repo``: a repository whose history
ends at the start commit, so no fix can be found in it.

A session seed (``[session]``) is rebuilt as a history offline: the start tree (for a
from-scratch seed only ``source.start_paths`` of it) as the first commit, then the seed's
own commits written before the fix (unrelated ones and fix-worded distractors, patches in
``hidden/history/``), the upstream fix with its upstream message, and the commits after
it. That repository, with a work tree as a user's would have, is both ``repo`` and
``builder_repo``; the session file written beside it (``session/``, in the seed's format)
names its workspace, which builders map to it. A negative seed (``expect = "refuse"``) has
no fix commit: its record's ``fix_commit`` is the history's last commit and it has no
source or test paths.

Results are cached under ``$KETTLE_HOME/meta_bench`` keyed by a digest of everything that
decides them; a second call returns the cached record at once. Layout of one seed::

    seeds/<seed-id>-<digest>/materialized.json   MaterializedSeed
    seeds/<seed-id>-<digest>/repo/               pypi/npm: the two-commit repository
    seeds/<seed-id>-<digest>/builder.git         intent_only: history up to the start
    seeds/<seed-id>-<digest>/history/            session seeds: the repository builders get
    seeds/<seed-id>-<digest>/session/            session seeds: the session file(s)
    seeds/<seed-id>-<digest>/upstream/           fix-source.patch, fix-tests.patch, tests/
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from harness.errors import KettleError, RepositoryError
from harness.fsio import file_lock, read_model, write_model, write_text_atomic
from harness.settings import Settings
from meta_bench.records import HistoryCommit, MaterializedSeed, Seed
from meta_bench.seed_format import SEED_FILE, history_patch, load_seed
from meta_bench.sessions import SessionScript, session_id_for, write_session
from tools.repos.examples import (
    HISTORY_FILE,
    PROJECTS_DIR,
    ensure_example_repos,
    example_shas,
    project_digest,
)
from tools.repos.git import LocalRepo, RepoCache
from tools.repos.patches import git_diff, plan_solution

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"
# Bump when the way a seed is materialized changes: cached results are then rebuilt.
MATERIALIZE_VERSION = 2
_AUTHOR = ("kettle meta-bench", "meta-bench@kettle.invalid")
_START_DATE = "2024-01-01T00:00:00+00:00"
_FIX_DATE = "2024-01-02T00:00:00+00:00"
# A session seed's timeline: the start commit, the session two days later, then one commit
# every seven hours from the day after (all well inside a qualifier's fix window).
HISTORY_START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SESSION_START = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
_HISTORY_FIRST = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
_HISTORY_STEP = timedelta(hours=7)
_HISTORY_AUTHORS = [
    ("Dana Whitfield", "dana@users.noreply.example.org"),
    ("Ravi Anand", "ravi@users.noreply.example.org"),
    ("Mo Keller", "mo@users.noreply.example.org"),
]
_DOWNLOAD_TIMEOUT_SEC = 600


class MaterializeError(KettleError):
    """A seed's project could not be fetched or turned into a repository."""

    default_hint = "check the seed's [source] and your network (PyPI, npm), then rerun"


def load_seeds(seeds_dir: Path = SEEDS_DIR, only: list[str] | None = None) -> list[Path]:
    """Seed folders under ``seeds_dir`` (those with a seed.toml), sorted; ``only`` filters ids."""
    if not seeds_dir.is_dir():
        raise MaterializeError(f"{seeds_dir}: no such seeds folder", "pass --seeds DIR")
    folders = sorted(path for path in seeds_dir.iterdir() if (path / SEED_FILE).is_file())
    if only:
        by_id = {load_seed(path).id: path for path in folders}
        missing = [name for name in only if name not in by_id]
        if missing:
            raise MaterializeError(
                f"no seed {missing[0]!r} in {seeds_dir}", f"choose from {', '.join(by_id)}"
            )
        folders = [by_id[name] for name in only]
    return folders


def meta_home(settings: Settings) -> Path:
    return settings.home / "meta_bench"


def materialize(seed: Seed, settings: Settings) -> MaterializedSeed:
    """The seed's repository and upstream fix, built once and cached (see the module doc)."""
    digest = seed_digest(seed)
    folder = meta_home(settings) / "seeds" / f"{seed.id}-{digest[:12]}"
    record_path = folder / "materialized.json"
    with file_lock(folder.with_suffix(".lock")):
        if record_path.is_file():
            record = read_model(record_path, MaterializedSeed)
            if record.digest == digest and Path(record.builder_repo).exists():
                return record
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        record = _materialize(seed, settings, digest, folder)
        write_model(record_path, record)
        return record


def seed_digest(seed: Seed) -> str:
    """A hash of everything that decides what ``materialize`` produces."""
    digest = hashlib.sha256()
    digest.update(f"v{MATERIALIZE_VERSION}\n".encode())
    digest.update(seed.source.model_dump_json().encode())
    digest.update(f"{seed.start_ref}\n{seed.fix_ref}\n{seed.visibility}\n".encode())
    digest.update("\n".join(seed.upstream_test_paths).encode())
    if seed.source.kind == "example":
        digest.update(project_digest(_example_folder(seed)).encode())
    if seed.session is not None:
        digest.update(seed.session.model_dump_json().encode())
        digest.update(seed.intent.model_dump_json().encode())
        for commit in seed.session.history:
            if commit.patch:
                digest.update(_history_text(seed, commit).encode())
    return digest.hexdigest()


def _materialize(seed: Seed, settings: Settings, digest: str, folder: Path) -> MaterializedSeed:
    if seed.session is not None and seed.visibility != "factory":
        raise MaterializeError(f'seed {seed.id}: a session seed has visibility = "factory"')
    if seed.refuses:
        return _materialize_negative(seed, settings, digest, folder)
    source = seed.source
    upstream_url: str | None = None
    if source.kind == "example":
        repo_path, start, fix = _example_repo(seed, settings)
    elif source.kind == "git":
        assert source.url is not None
        repo_path, start, fix = _git_repo(seed, settings)
        upstream_url = source.url
    else:
        _release_repo(seed, settings, folder / "repo")
        repo_path = str(folder / "repo")
        start, fix = _head_commits(folder / "repo")
        upstream_url = f"{source.kind}:{source.package}@{source.fix_version}"
    if seed.session is not None:
        with RepoCache(settings.home / "repos").open(repo_path) as repo:
            fix_diff = _full_diff(repo.git_dir, start, fix)
            start_tree = folder / "start-tree"
            repo.export_tree(start, start_tree)
            fix_message = seed.session.fix_message or repo.commit_info(fix).message
            start_message = repo.commit_info(start).message
        history = _history_repo(
            seed, start_tree, start_message, fix_diff, fix_message, folder / "history"
        )
        shutil.rmtree(start_tree, ignore_errors=True)
        repo_path, start, fix = str(history.path), history.start, history.fix or ""
    with RepoCache(settings.home / "repos").open(repo_path) as repo:
        record = _split_fix(seed, repo, start, fix, digest, folder)
    record.upstream_url = upstream_url
    record.repo = repo_path
    record.builder_repo = repo_path
    if seed.visibility == "intent_only":
        record.builder_repo = str(_history_until(Path(repo_path), start, folder / "builder.git"))
    if seed.session is not None:
        record.distractors = history.distractors
        _write_session(seed, record, folder)
    return record


def _materialize_negative(
    seed: Seed, settings: Settings, digest: str, folder: Path
) -> MaterializedSeed:
    """A negative seed: the start tree (or part of it) and a history with no fix."""
    if seed.source.kind in ("pypi", "npm"):
        base, start = str(folder / "release"), "HEAD"
        _release_repo(seed, settings, folder / "release")
    elif seed.source.kind == "example":
        base, start, _fix = _example_repo(
            seed.model_copy(update={"fix_ref": seed.start_ref}), settings
        )
    else:
        base, start, _fix = _git_repo(seed.model_copy(update={"fix_ref": seed.start_ref}), settings)
    start_tree = folder / "start-tree"
    with RepoCache(settings.home / "repos").open(base) as repo:
        repo.export_tree(start, start_tree)
        start_message = repo.commit_info(start).message
    history = _history_repo(seed, start_tree, start_message, None, "", folder / "history")
    shutil.rmtree(start_tree, ignore_errors=True)
    upstream = folder / "upstream"
    write_text_atomic(upstream / "fix-source.patch", "")
    write_text_atomic(upstream / "fix-tests.patch", "")
    head = _git(history.path, ["rev-parse", "HEAD"]).strip()
    record = MaterializedSeed(
        seed_id=seed.id,
        digest=digest,
        repo=str(history.path),
        builder_repo=str(history.path),
        start_commit=history.start,
        fix_commit=head,
        source_paths=[],
        test_paths=[],
        strategy="none",
        folder=str(folder),
        distractors=history.distractors,
        expect="refuse",
    )
    _write_session(seed, record, folder)
    return record


# --- session seeds: a history around the fix, and the session over it --------------------


class _History:
    def __init__(self, path: Path, start: str) -> None:
        self.path = path
        self.start = start
        self.fix: str | None = None
        self.distractors: list[str] = []


def _history_repo(
    seed: Seed,
    start_tree: Path,
    start_message: str,
    fix_diff: bytes | None,
    fix_message: str,
    dest: Path,
) -> _History:
    """start (-> before-fix commits) -> the upstream fix -> after-fix commits."""
    assert seed.session is not None
    shutil.rmtree(dest, ignore_errors=True)
    _git(dest.parent, ["init", "-q", "-b", "main", str(dest)])
    kept = seed.source.start_paths
    for entry in sorted(start_tree.iterdir()) if not kept else []:
        _move_into(start_tree, dest, entry.name)
    for path in kept:
        if not (start_tree / path).exists():
            raise MaterializeError(f"seed {seed.id}: start path {path} is not in the release")
        _move_into(start_tree, dest, path)
    _commit(dest, start_message.strip() or "Initial commit", _iso(HISTORY_START))
    history = _History(dest, _git(dest, ["rev-parse", "HEAD"]).strip())
    before = [c for c in seed.session.history if c.when == "before_fix"]
    after = [c for c in seed.session.history if c.when == "after_fix"]
    moments = (_HISTORY_FIRST + n * _HISTORY_STEP for n in range(10_000))
    for number, commit in enumerate(before):
        _history_commit(seed, history, commit, start_tree, next(moments), number)
    if fix_diff is not None:
        if fix_diff:
            _apply(dest, fix_diff, f"seed {seed.id}: the upstream fix")
        message = fix_message.strip() or "Fix the reported bug"
        _commit(dest, message, _iso(next(moments)), author=_HISTORY_AUTHORS[0])
        history.fix = _git(dest, ["rev-parse", "HEAD"]).strip()
    for number, commit in enumerate(after, start=len(before) + 1):
        _history_commit(seed, history, commit, start_tree, next(moments), number)
    return history


def _history_commit(
    seed: Seed,
    history: _History,
    commit: HistoryCommit,
    start_tree: Path,
    moment: datetime,
    number: int,
) -> None:
    if commit.release_rest:
        for entry in sorted(start_tree.rglob("*")):
            if entry.is_file() or entry.is_symlink():
                _move_into(start_tree, history.path, entry.relative_to(start_tree).as_posix())
    else:
        patch = _history_text(seed, commit).encode("utf-8")
        _apply(history.path, patch, f"seed {seed.id}: history patch {commit.patch}")
    author = _HISTORY_AUTHORS[number % len(_HISTORY_AUTHORS)]
    _commit(history.path, commit.message.strip(), _iso(moment), author=author)
    if commit.role == "distractor":
        history.distractors.append(_git(history.path, ["rev-parse", "HEAD"]).strip())


def _history_text(seed: Seed, commit: HistoryCommit) -> str:
    if seed.folder is None:
        raise MaterializeError(
            f"seed {seed.id}: its history patches are read from its folder",
            "load the seed with meta_bench.seed_format.load_seed",
        )
    return history_patch(seed.folder, commit.patch)


def _move_into(tree: Path, repo: Path, path: str) -> None:
    source, target = tree / path, repo / path
    if not source.exists() and not source.is_symlink():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(target))


def _apply(repo: Path, patch: bytes, what: str) -> None:
    result = subprocess.run(
        ["git", "apply", "--binary", "--whitespace=nowarn", "-"],
        cwd=repo,
        input=patch,
        capture_output=True,
        timeout=_DOWNLOAD_TIMEOUT_SEC,
        check=False,
    )
    if result.returncode != 0:
        reason = _last_line(result.stderr.decode("utf-8", "replace"))
        raise MaterializeError(f"{what} does not apply: {reason}")


def _write_session(seed: Seed, record: MaterializedSeed, folder: Path) -> None:
    """The session builders get, in the seed's format, over ``record.builder_repo``."""
    session = seed.session
    assert session is not None
    script = SessionScript(
        session_id=session_id_for(seed.id),
        workspace=session.workspace,
        started_at=SESSION_START,
        first_prompt=seed.intent.first_prompt.strip(),
        follow_ups=[text.strip() for text in seed.intent.follow_ups],
        files=session.files,
        start_commit=record.start_commit
        if session.format in ("codex", "candidates_jsonl")
        else None,
        repo=record.builder_repo,
    )
    shutil.rmtree(folder / "session", ignore_errors=True)
    record.session_path = str(write_session(session.format, folder / "session", script))
    record.workspace = session.workspace


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _full_diff(git_dir: Path, start: str, fix: str) -> bytes:
    """Every change from ``start`` to ``fix`` (binary-safe): the upstream fix, whole."""
    args = ["git", f"--git-dir={git_dir}", "diff", "--binary", "--full-index", "--no-renames"]
    args += ["--no-color", "--no-ext-diff", "--no-textconv", start, fix]
    result = subprocess.run(args, capture_output=True, timeout=_DOWNLOAD_TIMEOUT_SEC, check=False)
    if result.returncode != 0:
        reason = _last_line(result.stderr.decode("utf-8", "replace"))
        raise MaterializeError(f"git diff {start[:12]}..{fix[:12]} failed: {reason}")
    return result.stdout


def _split_fix(
    seed: Seed, repo: LocalRepo, start: str, fix: str, digest: str, folder: Path
) -> MaterializedSeed:
    patch = plan_solution(repo, start, fix)
    if not patch.source_paths or not patch.diff:
        raise MaterializeError(f"seed {seed.id}: the fix {fix[:12]} changes no source files")
    test_paths = seed.upstream_test_paths or patch.test_paths
    upstream = folder / "upstream"
    for path in test_paths:
        content = repo.read_file(fix, path, max_bytes=64 * 1024 * 1024)
        if content is None:
            raise MaterializeError(
                f"seed {seed.id}: upstream test {path} is not in the fix commit {fix[:12]}",
                "fix upstream_test_paths in seed.toml",
            )
        target = upstream / "tests" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    write_text_atomic(upstream / "fix-source.patch", patch.diff_text)
    tests_diff = git_diff(repo.git_dir, start, fix, test_paths).decode("utf-8", "replace")
    write_text_atomic(upstream / "fix-tests.patch", tests_diff)
    return MaterializedSeed(
        seed_id=seed.id,
        digest=digest,
        repo="",
        builder_repo="",
        start_commit=start,
        fix_commit=fix,
        source_paths=patch.source_paths,
        test_paths=list(test_paths),
        strategy=patch.strategy,
        folder=str(folder),
    )


# --- example projects -------------------------------------------------------------------


def _example_folder(seed: Seed) -> Path:
    folder = PROJECTS_DIR / (seed.source.example or "")
    if not (folder / HISTORY_FILE).is_file():
        raise MaterializeError(
            f"seed {seed.id}: no example project {seed.source.example!r} in {PROJECTS_DIR}"
        )
    return folder


def _example_repo(seed: Seed, settings: Settings) -> tuple[str, str, str]:
    name = seed.source.example or ""
    folder = _example_folder(seed)
    repos = ensure_example_repos(meta_home(settings) / "example-repos")
    repo = repos[name]
    history = tomllib.loads((folder / HISTORY_FILE).read_text(encoding="utf-8"))
    dirs = [commit["dir"] for commit in history.get("commit", [])]
    shas = example_shas(repo)

    def resolve(ref: str) -> str:
        if ref in dirs:
            return shas[dirs.index(ref)]
        with RepoCache(settings.home / "repos").open(str(repo)) as handle:
            sha = handle.resolve(ref)
        if sha is None:
            raise MaterializeError(
                f"seed {seed.id}: {ref!r} is neither a commit folder of {name} nor a revision",
                f"name one of {', '.join(dirs)}",
            )
        return sha

    return str(repo), resolve(seed.start_ref), resolve(seed.fix_ref)


# --- git --------------------------------------------------------------------------------


def _git_repo(seed: Seed, settings: Settings) -> tuple[str, str, str]:
    url = seed.source.url or ""
    try:
        with RepoCache(settings.home / "repos").open(url) as repo:
            start, fix = repo.resolve(seed.start_ref), repo.resolve(seed.fix_ref)
            path = str(repo.git_dir) if repo.mirrored else url
    except RepositoryError as error:
        raise MaterializeError(f"seed {seed.id}: {error.message}", error.hint) from error
    for ref, sha in ((seed.start_ref, start), (seed.fix_ref, fix)):
        if sha is None:
            raise MaterializeError(f"seed {seed.id}: commit {ref} is not in {url}")
    assert start is not None and fix is not None
    return path, start, fix


# --- releases (PyPI sdists, npm tarballs) -----------------------------------------------


def _release_repo(seed: Seed, settings: Settings, repo: Path) -> None:
    source = seed.source
    assert source.package and source.start_version
    downloads = meta_home(settings) / "downloads" / source.kind
    with tempfile.TemporaryDirectory(prefix="kettle-release-") as scratch:
        trees = []
        for version in (source.start_version, source.fix_version):
            if version is None:  # a negative seed: the start release alone
                continue
            archive = download_release(source.kind, source.package, version, downloads)
            tree = Path(scratch) / version
            unpack_archive(archive, tree)
            trees.append(tree)
        if len(trees) == 1:
            _git(repo.parent, ["init", "-q", "-b", "main", str(repo)])
            _copy_tree(trees[0], repo)
            _commit(repo, f"{source.package} {source.start_version}", _START_DATE)
            return
        start_tree, fix_tree = trees
        missing = [
            path
            for path in source.fix_paths
            if not _exists(start_tree, path) and not _exists(fix_tree, path)
        ]
        if missing:
            raise MaterializeError(
                f"seed {seed.id}: fix path {missing[0]} is in neither release of {source.package}",
                "list paths relative to the release's top folder",
            )
        _git(repo.parent, ["init", "-q", "-b", "main", str(repo)])
        _copy_tree(start_tree, repo)
        _commit(repo, f"{source.package} {source.start_version}", _START_DATE)
        for path in source.fix_paths:
            _replace(repo, fix_tree, path)
        _commit(
            repo,
            f"{source.package} {source.fix_version}: the upstream fix "
            f"({', '.join(source.fix_paths)})",
            _FIX_DATE,
        )


def download_release(kind: str, package: str, version: str, downloads: Path) -> Path:
    """The release's archive (sdist or npm tarball), downloaded once into ``downloads``."""
    folder = downloads / f"{_safe(package)}-{_safe(version)}"
    found = _archives(folder)
    if found:
        return found[0]
    scratch = Path(tempfile.mkdtemp(dir=_mkdir(downloads), prefix=".download-"))
    try:
        if kind == "pypi":
            command = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
                str(scratch),
                f"{package}=={version}",
            ]
        else:
            command = ["npm", "pack", f"{package}@{version}", "--pack-destination", str(scratch)]
            command += ["--loglevel=error"]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=_DOWNLOAD_TIMEOUT_SEC, check=False
            )
        except FileNotFoundError as error:
            raise MaterializeError(
                f"cannot download {package}=={version}: {command[0]} is not installed",
                "install it (npm: apt-get install npm)",
            ) from error
        except subprocess.TimeoutExpired as error:
            raise MaterializeError(
                f"cannot download {package}=={version}: no answer in {_DOWNLOAD_TIMEOUT_SEC}s"
            ) from error
        archives = _archives(scratch)
        if result.returncode != 0 or not archives:
            reason = _download_reason(result.stderr + "\n" + result.stdout)
            reason = reason or f"exit {result.returncode}"
            where = "PyPI" if kind == "pypi" else "npm"
            raise MaterializeError(f"cannot download {package}=={version} from {where}: {reason}")
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _archives(folder)[0]


def unpack_archive(archive: Path, dest: Path) -> None:
    """Unpack an sdist or npm tarball into ``dest`` without its single top-level folder."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kettle-unpack-") as scratch:
        root = Path(scratch)
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as bundle:
                for member in bundle.namelist():
                    if not _safe_member(member):
                        raise MaterializeError(f"{archive.name}: unsafe path {member!r}")
                bundle.extractall(root)
        else:
            try:
                with tarfile.open(archive) as bundle:
                    bundle.extractall(root, filter="data")
            except (tarfile.TarError, OSError) as error:
                raise MaterializeError(
                    f"{archive.name}: not a readable archive ({error})"
                ) from error
        entries = list(root.iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else root
        for entry in top.iterdir():
            shutil.move(str(entry), dest / entry.name)


def _replace(repo: Path, fix_tree: Path, path: str) -> None:
    """Make ``path`` (a file or folder) in ``repo`` what it is in the fix release."""
    target, source = repo / path, fix_tree / path
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    elif source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _copy_tree(tree: Path, repo: Path) -> None:
    for entry in tree.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir():
            shutil.copytree(entry, repo / entry.name, symlinks=True, ignore=_ignore_git)
        else:
            shutil.copy2(entry, repo / entry.name)


def _ignore_git(_directory: str, names: list[str]) -> list[str]:
    return [name for name in names if name == ".git"]


def _commit(repo: Path, message: str, date: str, *, author: tuple[str, str] = _AUTHOR) -> None:
    env = {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": author[0],
        "GIT_COMMITTER_EMAIL": author[1],
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    _git(repo, ["add", "-A", "-f", "."])
    _git(repo, ["-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", message], env)


def _head_commits(repo: Path) -> tuple[str, str]:
    fix = _git(repo, ["rev-parse", "HEAD"]).strip()
    start = _git(repo, ["rev-parse", "HEAD~1"]).strip()
    return start, fix


def _history_until(repo: Path, start: str, dest: Path) -> Path:
    """A bare repository holding only ``start`` and its ancestors (branch main)."""
    shutil.rmtree(dest, ignore_errors=True)
    _git(dest.parent, ["init", "-q", "--bare", "-b", "main", str(dest)])
    _git(dest, ["fetch", "-q", "--no-tags", str(repo), f"{start}:refs/heads/main"])
    return dest


def _git(cwd: Path, args: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=_DOWNLOAD_TIMEOUT_SEC,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        raise MaterializeError(f"git {args[0]} failed in {cwd}: {_last_line(result.stderr)}")
    return result.stdout


def _archives(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    suffixes = (".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(suffixes))


def _exists(tree: Path, path: str) -> bool:
    return (tree / path).exists()


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _download_reason(output: str) -> str:
    """pip's last ERROR line, or npm's most telling error line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    pip = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
    if pip:
        return pip[-1]
    npm = [line.removeprefix("npm error").strip() for line in lines if line.startswith("npm error")]
    for marker in ("failed, reason", "Not Found", "No matching version", "ETARGET"):
        found = [line for line in npm if marker in line]
        if found:
            return found[0]
    return npm[0] if npm else _last_line(output)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def reference_repo(materialized: MaterializedSeed, settings: Settings) -> Path:
    """Two commits: the start tree, then the start tree with the upstream fix's source part
    and exactly the upstream tests. The ``reference`` builder builds from it, so its
    verifier is made of the seed's upstream tests and nothing else."""
    folder = Path(materialized.folder)
    dest = folder / "reference-repo"
    with file_lock(folder / "reference-repo.lock"):
        if (dest / ".git" / "kettle-reference-done").is_file():
            return dest
        shutil.rmtree(dest, ignore_errors=True)
        with RepoCache(settings.home / "repos").open(materialized.repo) as repo:
            repo.export_tree(materialized.start_commit, dest)
        _git(dest, ["init", "-q", "-b", "main"])
        _commit(dest, "start", _START_DATE)
        patch = folder / "upstream" / "fix-source.patch"
        _git(dest, ["apply", "--whitespace=nowarn", str(patch)])
        tests = folder / "upstream" / "tests"
        for path in materialized.test_paths:
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(tests / path, target)
        _commit(dest, "the upstream fix", _FIX_DATE)
        (dest / ".git" / "kettle-reference-done").write_text("done\n")
    return dest
