"""tools.repos.git: reading local repos in place, mirroring URLs, exporting trees."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import git
import pytest

from harness.errors import RepositoryError
from tools.repos.builder import build_repo
from tools.repos.git import RepoCache, cache_key, display_url, is_url, open_repo
from tools.repos.records import CommitSpec


def _day(day: int) -> datetime:
    return datetime(2025, 3, day, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    """A small repo: start, fix on main, plus a branch forked before the start."""
    path = tmp_path / "work"
    shas = build_repo(
        path,
        [
            CommitSpec(
                message="initial",
                files={"src/app.py": "def f():\n    return 1\n", "README.md": "# app\n"},
                date=_day(1),
                tag="v0.1",
            ),
            CommitSpec(
                message="add helper",
                files={"src/helper.py": "X = 1\n", "bin/run.sh": "#!/bin/sh\necho hi\n"},
                executable=["bin/run.sh"],
                date=_day(2),
            ),
            CommitSpec(
                message="fix f",
                files={"src/app.py": "def f():\n    return 2\n\n\nY = 3\n", "README.md": None},
                date=_day(3),
            ),
        ],
    )
    return path, shas


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def _snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under root with its mtime and content hash."""
    result = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            result[str(path)] = (path.stat().st_mtime_ns, hashlib.sha256(data).hexdigest())
    return result


def _bare(source: Path, dest: Path) -> str:
    subprocess.run(["git", "clone", "--bare", "-q", str(source), str(dest)], check=True)
    return f"file://{dest}"


def test_urls_and_paths_are_told_apart() -> None:
    assert is_url("https://github.com/o/r.git")
    assert is_url("git@github.com:o/r.git")
    assert is_url("file:///srv/repo.git")
    assert not is_url("/home/me/repo")
    assert not is_url("relative/repo")


def test_display_url_drops_credentials_and_cache_key_ignores_them() -> None:
    assert display_url("https://bob:s3cret@host/o/r.git") == "https://host/o/r.git"
    assert cache_key("https://bob:s3cret@host/o/r.git") == cache_key("https://host/o/r.git")
    assert cache_key("https://host/o/r.git").startswith("r-")
    assert cache_key("https://host/o/r.git") != cache_key("https://other/o/r.git")


def test_local_repo_is_read_in_place_and_never_written(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    before = _snapshot(path)
    with open_repo(str(path), tmp_path / "cache") as repo:
        assert not repo.mirrored
        repo.resolve(shas[0][:8])
        repo.refs()
        repo.commits_after(shas[0])
        repo.diff_stats(shas[0], shas[2])
        repo.commit_patch(shas[2])
        repo.list_files(shas[1])
        repo.line_counts(shas[1], ["src/app.py"])
        repo.grep(shas[1], "return")
        repo.read_file(shas[1], "src/app.py")
        repo.checkout(shas[1], tmp_path / "checkout")
        repo.export_tree(shas[1], tmp_path / "export")
    assert _snapshot(path) == before
    assert not (tmp_path / "cache").exists()


def test_resolve_accepts_short_shas_and_refs_and_rejects_the_rest(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    with open_repo(str(path), tmp_path) as repo:
        assert repo.resolve(shas[1][:7]) == shas[1]
        assert repo.resolve("v0.1") == shas[0]
        assert repo.resolve("main") == shas[2]
        assert repo.resolve("deadbeef") is None
        assert repo.resolve("--all") is None
        assert repo.has_commit(shas[0])
        assert repo.refs() == {"refs/heads/main": shas[2], "refs/tags/v0.1": shas[0]}


def test_commits_after_spans_every_branch_and_marks_descendants(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    _git(path, "checkout", "-q", "-b", "old-side", shas[0])
    (path / "side.py").write_text("Z = 1\n")
    _git(path, "add", "side.py")
    _git(path, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "side work")
    side = _git(path, "rev-parse", "HEAD").strip()
    _git(path, "checkout", "-q", "main")
    with open_repo(str(path), tmp_path) as repo:
        after = {commit.sha: commit for commit in repo.commits_after(shas[1])}
        assert set(after) == {shas[2], side}
        assert after[shas[2]].subject == "fix f"
        assert after[shas[2]].committed_at == _day(3)
        assert repo.descendants(shas[1]) == {shas[2]}
        only_descendants = repo.commits_after(shas[1], descendants_only=True)
        assert [c.sha for c in only_descendants] == [shas[2]]
        assert repo.commits_after(shas[1], until=_day(2)) == []
        assert repo.is_ancestor(shas[0], shas[2])
        assert not repo.is_ancestor(shas[2], shas[0])


def test_diff_stats_count_lines_per_file_with_status(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    with open_repo(str(path), tmp_path) as repo:
        stats = repo.diff_stats(shas[0], shas[2])
        by_path = {change.path: change for change in stats.files}
        assert by_path["src/app.py"].status == "modified"
        assert (by_path["src/app.py"].insertions, by_path["src/app.py"].deletions) == (4, 1)
        assert by_path["README.md"].status == "deleted"
        assert by_path["src/helper.py"].status == "added"
        assert stats.insertions == 4 + 1 + 2
        commit = repo.commit_info(shas[2])
        assert sorted(commit.stats.paths) == ["README.md", "src/app.py"]
        root = repo.commit_info(shas[0])
        assert sorted(root.stats.paths) == ["README.md", "src/app.py"]


def test_unusual_file_names_survive_stats_and_listing(tmp_path: Path) -> None:
    names = ["tab\tname.py", "ünïcode.py", 'quote"d.py']
    shas = build_repo(
        tmp_path / "r",
        [
            CommitSpec(message="a", files={"x.py": "1\n"}),
            CommitSpec(message="b", files={name: "x = 1\n" for name in names}),
        ],
    )
    with open_repo(str(tmp_path / "r"), tmp_path / "c") as repo:
        assert sorted(repo.commit_info(shas[1]).stats.paths) == sorted(names)
        assert {e.path for e in repo.list_files(shas[1])} == {*names, "x.py"}
        assert repo.line_counts(shas[1], names) == dict.fromkeys(names, 1)


def test_export_tree_writes_every_file_without_git_metadata(tmp_path: Path) -> None:
    shas = build_repo(
        tmp_path / "attrs",
        [
            CommitSpec(
                message="with export-ignore",
                files={
                    ".gitattributes": "tests/ export-ignore\n",
                    "tests/test_a.py": "def test(): pass\n",
                    "run.sh": "#!/bin/sh\n",
                },
                executable=["run.sh"],
            )
        ],
    )
    with open_repo(str(tmp_path / "attrs"), tmp_path / "c") as repo:
        out = repo.export_tree(shas[0], tmp_path / "out")
    assert not (out / ".git").exists()
    assert (out / "tests" / "test_a.py").read_text() == "def test(): pass\n"
    assert os.stat(out / "run.sh").st_mode & stat.S_IXUSR
    assert not list(tmp_path.glob("attrs/.git/index.lock"))


def test_export_and_checkout_refuse_a_non_empty_destination(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with open_repo(str(path), tmp_path) as repo:
        with pytest.raises(RepositoryError, match="not empty"):
            repo.export_tree(shas[0], busy)
        with pytest.raises(RepositoryError, match="not empty"):
            repo.checkout(shas[0], busy)
    assert (busy / "keep.txt").read_text() == "mine"


def test_checkout_gives_a_detached_work_dir_at_the_commit(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    with open_repo(str(path), tmp_path / "c") as repo:
        work = repo.checkout(shas[1], tmp_path / "work-dir")
    assert _git(work, "rev-parse", "HEAD").strip() == shas[1]
    assert (work / "README.md").exists()
    assert _git(work, "status", "--porcelain") == ""


def test_unknown_commit_is_a_repository_error(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, _ = history
    with (
        open_repo(str(path), tmp_path) as repo,
        pytest.raises(RepositoryError, match="does not exist"),
    ):
        repo.commit_info("0" * 40)


def test_last_commit_before_finds_the_state_at_a_moment(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    with open_repo(str(path), tmp_path) as repo:
        assert repo.last_commit_before("main", datetime(2025, 3, 2, 18, tzinfo=UTC)) == shas[1]
        assert repo.last_commit_before("main", datetime(2024, 1, 1, tzinfo=UTC)) is None


def test_missing_path_and_plain_directory_are_repository_errors(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="does not exist"):
        open_repo(str(tmp_path / "nowhere"), tmp_path / "c")
    (tmp_path / "plain").mkdir()
    with pytest.raises(RepositoryError, match="not a git repository"):
        open_repo(str(tmp_path / "plain"), tmp_path / "c")


def test_url_is_mirrored_once_into_the_cache(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    url = _bare(path, tmp_path / "remote.git")
    cache = RepoCache(tmp_path / "cache")
    with cache.open(url) as repo:
        assert repo.mirrored and repo.refreshed
        assert repo.git_dir == cache.mirror_path(url)
        assert repo.resolve(shas[2]) == shas[2]
    assert _git(cache.mirror_path(url), "config", "gc.auto").strip() == "0"
    mirror_head = (cache.mirror_path(url) / "HEAD").stat().st_mtime_ns
    with cache.open(url) as again:
        assert again.git_dir == cache.mirror_path(url)
    assert (cache.mirror_path(url) / "HEAD").stat().st_mtime_ns == mirror_head


def test_stale_mirror_is_refreshed_with_new_commits(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, _ = history
    url = _bare(path, tmp_path / "remote.git")
    cache = RepoCache(tmp_path / "cache", refresh_after_sec=0)
    cache.open(url).close()
    (path / "new.py").write_text("N = 1\n")
    _git(path, "add", "new.py")
    _git(path, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "new")
    new_sha = _git(path, "rev-parse", "HEAD").strip()
    _git(path, "push", "-q", str(tmp_path / "remote.git"), "main")
    with cache.open(url) as repo:
        assert repo.resolve(new_sha) == new_sha


def test_mirror_of_a_vanished_remote_is_still_readable_but_marked_stale(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    url = _bare(path, tmp_path / "remote.git")
    cache = RepoCache(tmp_path / "cache", refresh_after_sec=0)
    cache.open(url).close()
    (tmp_path / "remote.git").rename(tmp_path / "gone.git")
    with cache.open(url) as repo:
        assert not repo.refreshed
        assert repo.resolve(shas[0]) == shas[0]


def test_unreachable_url_is_one_clear_line(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/missing.git"
    with pytest.raises(RepositoryError) as caught:
        open_repo(url, tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(f"cannot reach {url}: ")
    assert "does not appear to be a git repository" in message
    assert message.endswith("check the URL and your network")
    assert "\n" not in message
    assert not list((tmp_path / "cache").glob("*.git"))


def test_credentials_in_an_unreachable_url_never_reach_the_message(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError) as caught:
        open_repo("https://bob:hunter2pass@127.0.0.1:9/o/r.git", tmp_path / "cache")
    assert "hunter2pass" not in str(caught.value)
    assert "cannot reach https://127.0.0.1:9/o/r.git" in str(caught.value)


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    try:
        cache = RepoCache(tmp_path / "cache", probe_timeout_sec=1)
        with pytest.raises(RepositoryError, match="no answer within 1 s"):
            cache.open(f"http://127.0.0.1:{port}/r.git")
    finally:
        silent.close()


def test_parallel_opens_of_one_url_share_a_single_mirror(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    url = _bare(path, tmp_path / "remote.git")
    cache = RepoCache(tmp_path / "cache")
    results: list[str | None] = []
    errors: list[Exception] = []

    def worker() -> None:
        try:
            with cache.open(url) as repo:
                results.append(repo.resolve(shas[2]))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [shas[2]] * 6
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.suffix == ".git"] == [
        cache.mirror_path(url).name
    ]
    assert not list((tmp_path / "cache").glob(".clone-*"))


def test_a_bare_copy_without_a_config_file_is_read_like_any_repository(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    # Some mirroring tools leave bare copies with no config: git itself reads them.
    path, shas = history
    bare = tmp_path / "copy.git"
    _git(tmp_path, "clone", "-q", "--bare", str(path), str(bare))
    (bare / "config").unlink()
    with open_repo(str(bare), tmp_path / "cache") as repo:
        assert repo.resolve("HEAD") == shas[2]
        assert repo.default_branch() == "refs/heads/main"
        assert [c.sha for c in repo.log([shas[2], f"^{shas[0]}"], reverse=True)] == shas[1:]


def test_a_copy_missing_some_blobs_still_says_which_files_each_commit_changed(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, shas = history
    blob = _git(path, "rev-parse", f"{shas[1]}:src/helper.py").strip()
    (path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    with open_repo(str(path), tmp_path / "cache") as repo:
        commits = repo.log([shas[2], f"^{shas[0]}"], reverse=True)
        assert [c.stats.paths for c in commits] == [
            ["bin/run.sh", "src/helper.py"],
            ["README.md", "src/app.py"],
        ]
        patch = repo.patch_text(shas[0], shas[1])
        assert "+echo hi" in patch and "helper.py" not in patch
        sizes = {entry.path: entry.size for entry in repo.list_files(shas[1])}
        assert sizes["src/helper.py"] is None and sizes["bin/run.sh"] == 18


def test_the_default_branch_of_a_work_clone_is_origins(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, _ = history
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(path), str(clone))
    _git(clone, "checkout", "-q", "-b", "feature")
    with open_repo(str(clone), tmp_path / "cache") as repo:
        assert repo.default_branch() == "refs/remotes/origin/main"


def test_files_a_partial_copy_lacks_are_named_and_the_rest_exports(
    history: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """A mirror made without its largest files (langgraph's docs videos) still exports the
    start state's every other file; the absent ones are named, not a crash."""
    path, shas = history
    blob = git.Repo(path).git.rev_parse(f"{shas[1]}:README.md")
    (path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    with open_repo(str(path), tmp_path / "c") as repo:
        absent = repo.absent_blobs(shas[1])
        assert absent == ["README.md"]
        with pytest.raises(RepositoryError, match=r"README\.md"):
            repo.export_tree(shas[1], tmp_path / "whole")
        out = repo.export_tree(shas[1], tmp_path / "out", leave_out=absent)
    assert (out / "src" / "app.py").is_file() and not (out / "README.md").exists()


def test_the_latest_date_of_a_backdated_start_is_its_historys(tmp_path: Path) -> None:
    # qs: the start commit is dated March, on top of April commits (a rebase kept its date);
    # what it declares was published in April, so April is when its dependencies resolve.
    shas = build_repo(
        tmp_path / "r",
        [
            CommitSpec(message="a", files={"x.py": "1\n"}, date=_day(1)),
            CommitSpec(message="b", files={"x.py": "2\n"}, date=_day(20)),
            CommitSpec(message="backdated", files={"x.py": "3\n"}, date=_day(5)),
        ],
    )
    with open_repo(str(tmp_path / "r"), tmp_path / "c") as repo:
        assert repo.latest_date(shas[2]) == _day(20)
        assert repo.latest_date(shas[0]) == _day(1)
