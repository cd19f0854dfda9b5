"""Read access to the git repositories that sessions name, for every later stage.

A source is either a local path or a URL. A local repository is read in place and never
written to: a user's working repo is theirs, so anything that needs a work tree gets its
own clone. A URL is mirrored once into a cache directory (keyed by the URL) and refreshed
with ``git fetch`` when the copy is older than ``refresh_after_sec``.

Mirrors are full ``git clone --mirror`` copies, not ``--filter=blob:none`` partial clones:
qualification reads the diffs of many commits and later stages check out whole trees, and
a partial clone would fetch the missing blobs lazily over the network, a round trip at a
time, and could not serve as the offline source of ``clone --shared`` work dirs.

Parallel qualifiers share the cache: cloning and fetching a mirror happen under a file
lock per repository, clones land in a temporary directory renamed into place (a crash
never leaves a half mirror), and automatic ``gc`` is off in mirrors so one process cannot
prune objects another is reading.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import git

from harness.errors import RepositoryError
from harness.fsio import file_lock
from tools.repos.records import ChangeStatus, CommitInfo, DiffStats, FileChange, TreeEntry

DEFAULT_NETWORK_TIMEOUT_SEC = 600.0
DEFAULT_PROBE_TIMEOUT_SEC = 60.0
DEFAULT_REFRESH_AFTER_SEC = 900.0

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE = re.compile(r"^[^/\s:@]+@[^/\s:]+:")  # git@github.com:owner/repo.git
# git's well-known empty tree: the "parent" of a root commit.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_RECORD = "\x1e"
_FIELD = "\x1f"
_LOG_FORMAT = f"{_RECORD}%H{_FIELD}%P{_FIELD}%an{_FIELD}%ae{_FIELD}%aI{_FIELD}%cI{_FIELD}%B{_FIELD}"


def is_url(source: str) -> bool:
    """True for ``scheme://…`` and scp-like ``user@host:path`` sources."""
    return bool(_URL_SCHEME.match(source) or _SCP_LIKE.match(source))


def display_url(url: str) -> str:
    """The URL without user name or password, safe to print and to key a cache by."""
    if not _URL_SCHEME.match(url):
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def cache_key(url: str) -> str:
    """A readable, filesystem-safe name for a URL's mirror, unique by a hash of the URL."""
    shown = display_url(url).rstrip("/")
    digest = hashlib.sha256(shown.encode("utf-8")).hexdigest()[:12]
    tail = re.sub(r"\.git$", "", shown.split("/")[-1].split(":")[-1]) or "repo"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", tail)[:60]
    return f"{slug}-{digest}"


def _git_env() -> dict[str, str]:
    """Never let git wait for a password or passphrase nobody will type."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GCM_INTERACTIVE"] = "never"
    env["GIT_LFS_SKIP_SMUDGE"] = "1"
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o ConnectTimeout=30"
    return env


def _one_line_reason(stderr: str) -> str:
    """git's own explanation in one line.

    git often ends with a generic "Could not read from remote repository." after the line
    that says why (ssh's own message, "… does not appear to be a git repository"), so the
    generic lines are skipped and the first specific one wins.
    """
    generic = (
        "could not read from remote repository",
        "please make sure you have the correct access rights",
        "and the repository exists",
    )
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    specific = [line for line in lines if not any(g in line.lower() for g in generic)]
    for line in specific or lines:
        for prefix in ("fatal:", "error:"):
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
    chosen = (specific or lines or ["git gave no reason"])[0]
    return chosen.removeprefix("fatal:").strip()


def _missing_objects(git_dir: Path, shas: list[str]) -> list[str]:
    """The objects among ``shas`` that ``git_dir`` does not hold (one batched call)."""
    completed = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch-check"],
        input="\n".join(shas) + "\n", capture_output=True, text=True, check=False,
        timeout=DEFAULT_NETWORK_TIMEOUT_SEC,
        env={**os.environ, "GIT_NO_LAZY_FETCH": "1"},
    )  # fmt: skip
    return [line.split()[0] for line in completed.stdout.splitlines() if line.endswith(" missing")]


def _run_git(args: list[str], *, timeout: float) -> tuple[int, str]:
    """Run git with a hard timeout; return (exit code, stderr). Raises TimeoutError.

    git spawns helpers (ssh, git-remote-https) that inherit its pipes, so on timeout the
    whole process group is killed, not just git.
    """
    process = subprocess.Popen(
        ["git", *args],
        env=_git_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise TimeoutError from None
    return process.returncode, stderr


def _network_git(args: list[str], url: str, *, timeout: float) -> None:
    """Run a git command that talks to ``url``; unreachable means one clear RepositoryError."""
    shown = display_url(url)
    try:
        code, stderr = _run_git(args, timeout=timeout)
    except TimeoutError:
        raise RepositoryError(
            f"cannot reach {shown}: no answer within {timeout:.0f} s",
            "check the URL and your network",
        ) from None
    if code != 0:
        reason = _one_line_reason(stderr).replace(url, shown)
        raise RepositoryError(f"cannot reach {shown}: {reason}", "check the URL and your network")


def unquote_path(raw: str) -> str:
    """Undo git's C-style quoting of unusual paths ("a\\tb", "\\303\\251")."""
    if not (len(raw) >= 2 and raw.startswith('"') and raw.endswith('"')):
        return raw
    body = raw[1:-1]
    out = bytearray()
    simple = {"n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\", "a": b"\a", "b": b"\b"}
    simple |= {"f": b"\f", "r": b"\r", "v": b"\v"}
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            nxt = body[index + 1]
            if nxt in simple:
                out += simple[nxt]
                index += 2
                continue
            if body[index + 1 : index + 4].isdigit():
                out.append(int(body[index + 1 : index + 4], 8))
                index += 4
                continue
        out += char.encode("utf-8")
        index += 1
    return out.decode("utf-8", errors="replace")


_RAW_STATUS: dict[str, ChangeStatus] = {"A": "added", "D": "deleted"}


def _parse_stats(block: str) -> DiffStats:
    """Parse ``--numstat --summary`` output (renames off) into per-file changes; ``--raw``
    lines (paths and status without line counts) are read too."""
    changes: dict[str, FileChange] = {}
    status_by_path: dict[str, ChangeStatus] = {}
    for line in block.splitlines():
        if not line.strip():
            continue
        if line.startswith(":"):
            meta, _, raw_path = line.partition("\t")
            path = unquote_path(raw_path)
            status = _RAW_STATUS.get(meta.split()[-1][:1], "modified")
            changes[path] = FileChange(path=path, status=status)
            continue
        if line.startswith(" create mode ") or line.startswith(" delete mode "):
            status: ChangeStatus = "added" if line.startswith(" create") else "deleted"
            status_by_path[unquote_path(line.strip().split(" ", 3)[3])] = status
            continue
        if line.startswith(" "):
            continue  # " mode change …" lines: the numstat line already counts the file
        added, deleted, raw_path = line.split("\t", 2)
        path = unquote_path(raw_path)
        binary = added == "-"
        changes[path] = FileChange(
            path=path,
            insertions=0 if binary else int(added),
            deletions=0 if binary else int(deleted),
            binary=binary,
        )
    for path, status in status_by_path.items():
        if path in changes:
            changes[path].status = status
    return DiffStats(files=list(changes.values()))


def _parse_log(output: str) -> list[CommitInfo]:
    commits = []
    for record in output.split(_RECORD)[1:]:
        sha, parents, name, email, authored, committed, message, rest = record.split(_FIELD, 7)
        commits.append(
            CommitInfo(
                sha=sha,
                parents=parents.split(),
                author_name=name,
                author_email=email,
                authored_at=datetime.fromisoformat(authored),
                committed_at=datetime.fromisoformat(committed),
                message=message.strip(),
                stats=_parse_stats(rest),
            )
        )
    return commits


class LocalRepo:
    """A readable repository: the user's own (read in place) or kettle's mirror of a URL.

    Every method only reads. Close it (or use it as a context manager) to end gitpython's
    helper processes.
    """

    def __init__(self, source: str, git_dir: Path, *, mirrored: bool, refreshed: bool) -> None:
        self.source = source
        self.git_dir = git_dir
        self.mirrored = mirrored
        self.refreshed = refreshed
        self._repo = git.Repo(git_dir)
        self._git = self._repo.git
        # GIT_DIR names the repository outright: a bare copy without a config file (as some
        # mirroring tools leave them) is otherwise taken for a work tree's parent folder.
        self._git.update_environment(
            GIT_DIR=str(git_dir),
            GIT_LITERAL_PATHSPECS="1",
            GIT_TERMINAL_PROMPT="0",
            GIT_LFS_SKIP_SMUDGE="1",
        )

    def __enter__(self) -> LocalRepo:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._repo.close()

    @property
    def shown_source(self) -> str:
        return display_url(self.source)

    def resolve(self, rev: str) -> str | None:
        """The full sha of the commit ``rev`` names (sha, short sha, ref), or None.

        An ambiguous short sha is an error, not a guess.
        """
        if not rev or rev.startswith("-"):
            return None
        try:
            return self._git.rev_parse("--verify", f"{rev}^{{commit}}").strip()
        except git.GitCommandError as error:
            if "ambiguous" in str(error.stderr):
                raise RepositoryError(
                    f"{rev} is ambiguous in {self.shown_source}",
                    "give more digits of the commit sha",
                ) from None
            return None

    def has_commit(self, rev: str) -> bool:
        return self.resolve(rev) is not None

    def refs(self) -> dict[str, str]:
        """Every ref (branches, tags, remotes) and the commit it points to."""
        output = self._git.for_each_ref("--format=%(refname)%00%(objectname)%00%(*objectname)")
        refs = {}
        for line in output.splitlines():
            name, target, peeled = line.split("\0")
            refs[name] = peeled or target
        return refs

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self._git.merge_base("--is-ancestor", ancestor, descendant)
        except git.GitCommandError:
            return False
        return True

    def latest_date(self, rev: str, depth: int = 500) -> datetime:
        """The latest commit date among ``rev`` and its nearest ``depth`` ancestors.

        A commit's own date can lie: a rebased or amended commit keeps an older one, so
        the state at ``rev`` may hold work of later dates (dependencies declared then).
        """
        sha = self._require(rev)
        output = self._git.log(f"-{depth}", "--format=%cI", sha)
        return max(datetime.fromisoformat(line) for line in output.split())

    def commit_info(self, rev: str) -> CommitInfo:
        """One commit, with its diff against its first parent (all files for a root commit)."""
        sha = self._require(rev)
        output = self._git.log(
            "-1",
            f"--format={_LOG_FORMAT}",
            "--numstat",
            "--summary",
            "--no-renames",
            "--diff-merges=first-parent",
            sha,
        )
        return _parse_log(output)[0]

    def commits_after(
        self,
        rev: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        descendants_only: bool = False,
    ) -> list[CommitInfo]:
        """Non-merge commits on any ref that are not ancestors of ``rev``, newest first.

        ``since``/``until`` bound the committer date: when a commit landed, which for a fix
        is what matters. Commits on branches that forked before ``rev`` are included unless
        ``descendants_only``; ``descendants(rev)`` tells the two kinds apart.
        """
        sha = self._require(rev)
        args = [f"--format={_LOG_FORMAT}", "--numstat", "--summary", "--no-renames"]
        args += ["--no-merges", "--all", f"^{sha}"]
        if descendants_only:
            args.append("--ancestry-path")
        if since is not None:
            args.append(f"--since={since.isoformat()}")
        if until is not None:
            args.append(f"--until={until.isoformat()}")
        return _parse_log(self._git.log(*args))

    def default_branch(self) -> str | None:
        """The ref the project integrates into: ``origin/HEAD``'s target in a work clone,
        else what ``HEAD`` names (a mirror's HEAD is the remote's default branch)."""
        for ref in ("refs/remotes/origin/HEAD", "HEAD"):
            try:
                target = self._git.symbolic_ref("--quiet", ref).strip()
            except git.GitCommandError:
                continue
            if target and self.resolve(target):
                return target
        return None

    def log(
        self,
        revisions: list[str],
        *,
        first_parent: bool = False,
        no_merges: bool = False,
        reverse: bool = False,
        max_count: int | None = None,
        since: datetime | None = None,
    ) -> list[CommitInfo]:
        """Commits of a revision range (``["main", "^start"]``) with their diff stats;
        ``since`` bounds the committer date (and lets git stop walking early)."""
        args = [f"--format={_LOG_FORMAT}", "--numstat", "--summary", "--no-renames"]
        args += ["--diff-merges=first-parent"]
        if first_parent:
            args.append("--first-parent")
        if no_merges:
            args.append("--no-merges")
        if reverse:
            args.append("--reverse")
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        if since is not None:
            args.append(f"--since={since.isoformat()}")
        revisions = [rev for rev in revisions if rev and not rev.lstrip("^").startswith("-")]
        try:
            return _parse_log(self._git.log(*args, *revisions, "--"))
        except git.GitCommandError as error:
            if "unable to read" not in str(error.stderr):
                raise
        # A copy that lacks some blobs (their largest files left out) cannot count lines;
        # the trees still say which files changed.
        args = [arg for arg in args if arg not in ("--numstat", "--summary")] + ["--raw"]
        return _parse_log(self._git.log(*args, "--no-abbrev", *revisions, "--"))

    def patch_text(self, base: str, head: str, *, max_bytes: int = 4_000_000) -> str:
        """The change from ``base`` to ``head`` as a zero-context diff (hunk headers keep the
        enclosing function's line), cut at ``max_bytes``."""
        old, new = self._require(base), self._require(head)
        options = ["-U0", "--no-color", "--no-renames", "--no-ext-diff", "--no-textconv"]
        try:
            return self._git.diff(*options, old, new)[:max_bytes]
        except git.GitCommandError as error:
            if "unable to read" not in str(error.stderr):
                raise
        # Some blobs are missing from this copy: every file that can be read, one by one.
        pieces: list[str] = []
        for path in self._git.diff("--name-only", "--no-renames", old, new).splitlines():
            try:
                pieces.append(self._git.diff(*options, old, new, "--", path))
            except git.GitCommandError:
                continue
        return "\n".join(pieces)[:max_bytes]

    def last_commit_before(self, rev: str, when: datetime) -> str | None:
        """The newest commit reachable from ``rev`` committed before ``when``, if any."""
        sha = self._require(rev)
        output = self._git.rev_list("-1", f"--before={when.isoformat()}", sha).strip()
        return output or None

    def descendants(self, rev: str) -> set[str]:
        """Shas of all commits on any ref that have ``rev`` as an ancestor."""
        sha = self._require(rev)
        output = self._git.rev_list("--ancestry-path", "--all", f"^{sha}")
        return set(output.split())

    def landing_merge(self, rev: str, after: str) -> str | None:
        """The first merge that brought ``rev`` into the history of ``after``'s descendants.

        A branch commit made before a session started can still land after it: its pull
        request is merged later. That merge is where the change reached the user's line.
        """
        sha, start = self._require(rev), self._require(after)
        merges = self._git.rev_list(
            "--ancestry-path", "--merges", "--topo-order", "--reverse", "--all", f"^{sha}"
        ).split()
        return next((merge for merge in merges if self.is_ancestor(start, merge)), None)

    def diff_stats(self, base: str, head: str) -> DiffStats:
        """What changed from ``base`` to ``head`` (commits or trees), file by file."""
        old, new = self._require_tree(base), self._require_tree(head)
        return _parse_stats(self._git.diff("--numstat", "--summary", "--no-renames", old, new))

    def commit_patch(self, rev: str) -> str:
        """The commit's own change as a zero-context unified diff (against its first parent)."""
        sha = self._require(rev)
        return self._git.show(
            "--format=",
            "-U0",
            "--no-color",
            "--no-renames",
            "--no-ext-diff",
            "--no-textconv",
            "--diff-merges=first-parent",
            sha,
        )

    def nearest_release(self, rev: str) -> str | None:
        """The newest tag reachable from ``rev`` that looks like a version (``v1.2.3``,
        ``pkg-1.2``), as git describes it; None without one."""
        sha = self._require(rev)
        try:
            return self._git.describe("--tags", "--abbrev=0", "--match", "*[0-9]*", sha).strip()
        except git.GitCommandError:
            return None

    def list_files(self, rev: str) -> list[TreeEntry]:
        """Every file in the tree at ``rev`` (a commit or a tree), with its size in bytes."""
        sha = self._require_tree(rev)
        output = self._git.ls_tree("-r", "-l", "-z", "--full-tree", sha)
        entries = []
        for item in output.split("\0"):
            if not item:
                continue
            meta, path = item.split("\t", 1)
            mode, _kind, _object, size = meta.split()
            # "-" for a submodule; "BAD" for a blob a partial copy does not hold.
            known = size.isdigit()
            entries.append(TreeEntry(path=path, mode=mode, size=int(size) if known else None))
        return entries

    def line_counts(self, rev: str, paths: list[str]) -> dict[str, int]:
        """Lines per text file at ``rev`` (binary files are left out)."""
        if not paths:
            return {}
        sha = self._require(rev)
        try:
            output = self._git.grep("-I", "-c", "--null", "-e", "", sha, "--", *paths)
        except git.GitCommandError:
            return {}  # git grep exits 1 when nothing matched: all empty or binary
        counts = {}
        for line in output.splitlines():
            name, _, count = line.partition("\0")
            counts[name.removeprefix(f"{sha}:")] = int(count)
        return counts

    def grep(self, rev: str, pattern: str) -> list[tuple[str, str]]:
        """(path, first matching line) for text files matching the extended regex ``pattern``."""
        sha = self._require(rev)
        try:
            output = self._git.grep("-I", "-E", "--null", "-e", pattern, sha)
        except git.GitCommandError:
            return []  # exit code 1: no match
        hits: dict[str, str] = {}
        for line in output.splitlines():
            name, _, text = line.partition("\0")
            hits.setdefault(name.removeprefix(f"{sha}:"), text)
        return list(hits.items())

    def read_file(self, rev: str, path: str, *, max_bytes: int = 1_000_000) -> bytes | None:
        """The content of ``path`` at ``rev`` (a commit or a tree; at most ``max_bytes``), or
        None if absent."""
        sha = self._require_tree(rev)
        try:
            data = self._git.cat_file(
                "blob", f"{sha}:{path}", stdout_as_string=False, strip_newline_in_stdout=False
            )
        except git.GitCommandError:
            return None
        return bytes(data[:max_bytes])

    def checkout(self, rev: str, dest: Path) -> Path:
        """A fresh work dir at ``rev`` (detached, with history) for a stage that needs git.

        ``clone --shared`` borrows this repository's objects instead of copying them, and
        writes nothing into it; the work dir is meant to be short-lived.
        """
        sha = self._require(rev)
        _require_empty(dest)
        for args in (
            ["clone", "--quiet", "--shared", "--no-checkout", str(self.git_dir), str(dest)],
            ["-C", str(dest), "-c", "advice.detachedHead=false", "checkout", "--quiet", sha],
        ):
            code, stderr = _run_git(args, timeout=DEFAULT_NETWORK_TIMEOUT_SEC)
            if code != 0:
                raise RepositoryError(
                    f"cannot check out {sha[:12]} of {self.shown_source}: "
                    f"{_one_line_reason(stderr)}"
                )
        return dest

    def absent_blobs(self, rev: str) -> list[str]:
        """Paths of ``rev`` whose contents this copy of the repository does not hold.

        A partial clone (``--filter=blob:limit=...``) or a mirror made without its largest
        files lists them in the tree but cannot read them; every other file exports fine.
        """
        sha = self._require(rev)
        entries: dict[str, list[str]] = {}
        for line in self._git.ls_tree("-r", "-z", sha).split("\0"):
            meta, _, path = line.partition("\t")
            fields = meta.split()
            if len(fields) == 3 and fields[1] == "blob":
                entries.setdefault(fields[2], []).append(path)
        if not entries:
            return []
        missing = _missing_objects(self.git_dir, list(entries))
        return sorted(path for blob in missing for path in entries[blob])

    def export_tree(self, rev: str, dest: Path, *, leave_out: Iterable[str] = ()) -> Path:
        """Write the files of ``rev`` into ``dest`` with no ``.git``: the environment's source.

        ``git archive`` would honour ``export-ignore`` attributes and drop files (often the
        tests), so the tree is checked out through a throwaway index instead. ``leave_out``:
        paths not to write (those ``absent_blobs`` names, which cannot be read).
        """
        sha = self._require(rev)
        _require_empty(dest)
        with tempfile.TemporaryDirectory(prefix="kettle-export-") as scratch:
            index = Path(scratch) / "index"
            base = [
                f"--git-dir={self.git_dir}",
                f"--work-tree={dest}",
                "-c",
                "core.autocrlf=false",
            ]
            env_index = {"GIT_INDEX_FILE": str(index)}
            skipped = sorted(set(leave_out))
            steps = [["read-tree", sha]]
            if skipped:
                steps.append(["update-index", "--force-remove", "--", *skipped])
            steps.append(["checkout-index", "--all", "--force"])
            for args in steps:
                try:
                    self._git.execute(["git", *base, *args], env=env_index)
                except git.GitCommandError as error:
                    raise RepositoryError(
                        f"cannot export {sha[:12]} of {self.shown_source}: "
                        f"{_one_line_reason(str(error.stderr))}"
                    ) from None
        return dest

    def _require(self, rev: str) -> str:
        sha = self.resolve(rev)
        if sha is None:
            raise RepositoryError(f"commit {rev} does not exist in {self.shown_source}")
        return sha

    def _require_tree(self, rev: str) -> str:
        """The tree a commit (or a tree itself) names; trees come from merges kettle makes."""
        if rev == EMPTY_TREE:
            return rev
        try:
            return self._git.rev_parse("--verify", f"{rev}^{{tree}}").strip()
        except git.GitCommandError:
            return self._require(rev)  # raises the usual one-line error


def _require_empty(dest: Path) -> None:
    if dest.exists() and any(dest.iterdir()):
        raise RepositoryError(f"{dest} is not empty", "give a new or empty directory")
    dest.mkdir(parents=True, exist_ok=True)


class RepoCache:
    """Opens sources as ``LocalRepo``s, mirroring URLs under ``cache_dir``."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        network_timeout_sec: float = DEFAULT_NETWORK_TIMEOUT_SEC,
        probe_timeout_sec: float = DEFAULT_PROBE_TIMEOUT_SEC,
        refresh_after_sec: float = DEFAULT_REFRESH_AFTER_SEC,
    ) -> None:
        self.cache_dir = cache_dir
        self.network_timeout_sec = network_timeout_sec
        self.probe_timeout_sec = probe_timeout_sec
        self.refresh_after_sec = refresh_after_sec

    def open(self, source: str) -> LocalRepo:
        """A readable repository for ``source``; RepositoryError if it cannot be reached."""
        source = source.strip()
        if not source:
            raise RepositoryError("no repository given")
        if is_url(source):
            return self._open_url(source)
        return self._open_path(Path(source).expanduser())

    def mirror_path(self, url: str) -> Path:
        return self.cache_dir / f"{cache_key(url)}.git"

    def _open_path(self, path: Path) -> LocalRepo:
        if not path.exists():
            raise RepositoryError(f"no repository at {path}: the path does not exist")
        try:
            repo = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise RepositoryError(f"no repository at {path}: not a git repository") from None
        git_dir = Path(repo.git_dir)
        repo.close()
        return LocalRepo(str(path), git_dir, mirrored=False, refreshed=True)

    def _open_url(self, url: str) -> LocalRepo:
        mirror = self.mirror_path(url)
        stamp = mirror.with_suffix(".fetched")
        refreshed = True
        with file_lock(mirror.with_suffix(".lock")):
            if not (mirror / "HEAD").exists():
                self._clone(url, mirror)
                stamp.touch()
            elif self._is_stale(stamp):
                try:
                    _network_git(
                        ["--git-dir", str(mirror), "fetch", "--prune", "--quiet", "origin"],
                        url,
                        timeout=self.network_timeout_sec,
                    )
                    stamp.touch()
                except RepositoryError:
                    # A mirror that cannot be refreshed is still a faithful copy of the past,
                    # which is all qualification needs; callers see refreshed=False.
                    refreshed = False
        return LocalRepo(url, mirror, mirrored=True, refreshed=refreshed)

    def _is_stale(self, stamp: Path) -> bool:
        if not stamp.exists():
            return True
        return time.time() - stamp.stat().st_mtime >= self.refresh_after_sec

    def _clone(self, url: str, mirror: Path) -> None:
        # A quick probe first, so an unreachable URL fails in seconds, not after the long
        # timeout a large clone is allowed.
        _network_git(["ls-remote", "--quiet", url, "HEAD"], url, timeout=self.probe_timeout_sec)
        mirror.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=mirror.parent, prefix=".clone-") as scratch:
            partial = Path(scratch) / "mirror.git"
            _network_git(
                ["clone", "--mirror", "--quiet", url, str(partial)],
                url,
                timeout=self.network_timeout_sec,
            )
            code, stderr = _run_git(
                ["--git-dir", str(partial), "config", "gc.auto", "0"], timeout=60
            )
            if code != 0:
                raise RepositoryError(f"cannot configure mirror of {display_url(url)}: {stderr}")
            partial.rename(mirror)


def open_repo(source: str, cache_dir: Path) -> LocalRepo:
    """Open a local path in place or a URL through a mirror cached in ``cache_dir``."""
    return RepoCache(cache_dir).open(source)
