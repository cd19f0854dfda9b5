"""tools.sessions.workspace: repo and start commit from a session's workspace."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import git
import pytest

from harness.errors import ConfigError
from tests.fixtures.sessions import (
    Edit,
    Prompt,
    SessionSpec,
    cline_storage,
    write_claude_code_session,
    write_cline_task,
    write_codex_rollout,
)
from tools.repos.builder import build_repo
from tools.repos.records import CommitSpec
from tools.sessions.intake import load_sessions
from tools.sessions.records import Candidate, CandidateHints
from tools.sessions.workspace import map_url, map_workspace, parse_repo_map, resolve_origin

REMOTE = "https://github.com/acme/widgets.git"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 1, 1, hour, minute, tzinfo=UTC)


def _repo(path: Path, *, remote: str | None = REMOTE) -> list[str]:
    """Three commits, at 00:00, 01:00 and 02:00."""
    return build_repo(
        path,
        [
            CommitSpec(message="start", files={"src/app.py": "v0\n"}, date=at(0)),
            CommitSpec(message="bug", files={"src/app.py": "v1\n"}, date=at(1)),
            CommitSpec(message="fix", files={"src/app.py": "v2\n"}, date=at(2)),
        ],
        remote_url=remote,
    )


def _candidate(workspace: Path | str, started: datetime | None, **fields) -> Candidate:
    return Candidate(
        id="t-1",
        source_format="claude_code",
        source_path="s.jsonl",
        first_prompt="fix it",
        workspace_path=str(workspace),
        started_at=started,
        **fields,
    )


def test_start_commit_is_the_last_commit_before_the_session_started(tmp_path):
    shas = _repo(tmp_path / "widgets")
    resolved = resolve_origin(_candidate(tmp_path / "widgets", at(1, 30)))
    assert resolved.start_commit == shas[1]
    assert resolved.repo == REMOTE


def test_a_session_started_right_after_the_first_commit_starts_there(tmp_path):
    shas = _repo(tmp_path / "widgets")
    assert resolve_origin(_candidate(tmp_path / "widgets", at(0, 30))).start_commit == shas[0]


def test_a_commit_made_at_the_start_time_counts(tmp_path):
    shas = _repo(tmp_path / "widgets")
    assert resolve_origin(_candidate(tmp_path / "widgets", at(2))).start_commit == shas[2]


def test_a_session_older_than_the_repo_has_no_start_commit(tmp_path):
    _repo(tmp_path / "widgets")
    resolved = resolve_origin(_candidate(tmp_path / "widgets", datetime(2024, 6, 1, tzinfo=UTC)))
    assert resolved.start_commit is None
    assert resolved.repo == REMOTE


def test_without_a_start_time_the_commit_stays_unknown(tmp_path):
    _repo(tmp_path / "widgets")
    assert resolve_origin(_candidate(tmp_path / "widgets", None)).start_commit is None


def test_without_an_origin_the_repo_is_the_local_path(tmp_path):
    _repo(tmp_path / "widgets", remote=None)
    resolved = resolve_origin(_candidate(tmp_path / "widgets", at(1, 30)))
    assert resolved.repo == str((tmp_path / "widgets").resolve())


def test_the_sessions_branch_is_followed_when_the_repo_has_it(tmp_path):
    shas = _repo(tmp_path / "widgets")
    repo = git.Repo(tmp_path / "widgets")
    repo.git.checkout("-b", "feature", shas[0])
    (tmp_path / "widgets" / "feature.txt").write_text("f\n")
    repo.index.add(["feature.txt"])
    stamp = "2025-01-01T01:20:00+0000"
    feature = repo.index.commit("feature work", author_date=stamp, commit_date=stamp).hexsha
    repo.git.checkout("main")
    candidate = _candidate(tmp_path / "widgets", at(1, 30), hints=CandidateHints(branch="feature"))
    assert resolve_origin(candidate).start_commit == feature
    other = _candidate(tmp_path / "widgets", at(1, 30), hints=CandidateHints(branch="gone"))
    assert resolve_origin(other).start_commit == shas[1]


def test_the_reflog_knows_an_old_commit_was_checked_out(tmp_path):
    shas = _repo(tmp_path / "widgets")
    # At 01:10 the user checked out the first commit again; the session began at 01:30.
    moment = int(at(1, 10).timestamp())
    log = tmp_path / "widgets" / ".git" / "logs" / "HEAD"
    log.write_text(
        f"{shas[1]} {shas[0]} Alice <a@example.com> {moment} +0000\tcheckout: moving to old\n"
    )
    assert resolve_origin(_candidate(tmp_path / "widgets", at(1, 30))).start_commit == shas[0]


def test_a_mapped_workspace_ignores_the_local_reflog(tmp_path):
    shas = _repo(tmp_path / "widgets")
    moment = int(at(1, 10).timestamp())
    log = tmp_path / "widgets" / ".git" / "logs" / "HEAD"
    log.write_text(f"{shas[1]} {shas[0]} Bob <b@example.com> {moment} +0000\tcheckout: x\n")
    candidate = _candidate("/home/alice/src/widgets", at(1, 30))
    resolved = resolve_origin(candidate, {"/home/alice/src/widgets": str(tmp_path / "widgets")})
    assert resolved.start_commit == shas[1]


def test_repo_map_moves_a_workspace_from_another_machine(tmp_path):
    shas = _repo(tmp_path / "mirror" / "widgets")
    candidate = _candidate("/home/alice/src/widgets", at(1, 30))
    assert resolve_origin(candidate).repo is None
    resolved = resolve_origin(candidate, {"/home/alice/src": str(tmp_path / "mirror")})
    assert (resolved.repo, resolved.start_commit) == (REMOTE, shas[1])


def test_repo_map_to_a_url_gives_the_repo_without_a_commit(tmp_path):
    candidate = _candidate("/home/alice/src/widgets", at(1, 30))
    resolved = resolve_origin(candidate, {"/home/alice/src/widgets": REMOTE})
    assert (resolved.repo, resolved.start_commit) == (REMOTE, None)


def test_the_longest_mapped_prefix_wins_on_whole_components():
    mapping = {"/home/alice": "/a", "/home/alice/src/widgets": "/w", "/home/al": "/x"}
    assert map_workspace("/home/alice/src/widgets/pkg", mapping) == ("/w/pkg", True)
    assert map_workspace("/home/alice/other", mapping) == ("/a/other", True)
    assert map_workspace("/home/alicia", mapping) == ("/home/alicia", False)


def test_windows_workspaces_can_be_mapped():
    mapping = parse_repo_map(["C:\\Users\\alice\\src=/srv/src"])
    assert map_workspace("C:\\Users\\alice\\src\\widgets", mapping) == ("/srv/src/widgets", True)


def test_files_of_a_workspace_inside_the_repo_become_repo_relative(tmp_path):
    _repo(tmp_path / "mono")
    (tmp_path / "mono" / "packages" / "api").mkdir(parents=True)
    candidate = _candidate(tmp_path / "mono" / "packages" / "api", at(1, 30))
    candidate = candidate.model_copy(update={"files_touched": ["src/x.py"]})
    assert resolve_origin(candidate).files_touched == ["packages/api/src/x.py"]


def test_a_workspace_that_is_not_a_repo_stays_unresolved(tmp_path):
    resolved = resolve_origin(_candidate(tmp_path, at(1, 30)))
    assert (resolved.repo, resolved.start_commit) == (None, None)


def test_what_the_transcript_says_is_kept(tmp_path):
    _repo(tmp_path / "widgets")
    candidate = _candidate(
        tmp_path / "widgets", at(1, 30), repo="https://example.org/x.git", start_commit="abc1234"
    )
    assert resolve_origin(candidate) == candidate


def test_a_transcript_repo_without_a_commit_gets_one_from_the_workspace(tmp_path):
    shas = _repo(tmp_path / "widgets")
    candidate = _candidate(tmp_path / "widgets", at(1, 30), repo="https://example.org/x.git")
    resolved = resolve_origin(candidate)
    assert (resolved.repo, resolved.start_commit) == ("https://example.org/x.git", shas[1])


def test_repo_map_items_parse_and_bad_ones_are_config_errors():
    assert parse_repo_map(["/old/path=https://github.com/a/b?x=1"]) == {
        "/old/path": "https://github.com/a/b?x=1"
    }
    for bad in ["no-equals", "=/new", "/old="]:
        with pytest.raises(ConfigError, match="OLD=NEW"):
            parse_repo_map([bad])


@pytest.mark.parametrize("kind", ["cline", "roo", "claude_code"])
def test_intake_resolves_sessions_over_a_real_repo(tmp_path, kind):
    shas = _repo(tmp_path / "widgets")
    spec = SessionSpec.simple(
        tmp_path / "widgets", "fix it", files=["src/app.py"], started_at=at(1, 30)
    )
    if kind == "claude_code":
        write_claude_code_session(tmp_path / "sessions", spec)
    else:
        write_cline_task(cline_storage(tmp_path / "sessions", kind), spec, flavor=kind)
    result = load_sessions([tmp_path / "sessions"])
    [candidate] = result.candidates
    assert result.errors == []
    assert (candidate.repo, candidate.start_commit) == (REMOTE, shas[1])
    assert candidate.files_touched == ["src/app.py"]


def test_intake_resolves_a_copied_session_through_the_repo_map(tmp_path):
    shas = _repo(tmp_path / "widgets")
    spec = SessionSpec.simple("/home/alice/src/widgets", "fix it", started_at=at(0, 30))
    write_claude_code_session(tmp_path / "projects", spec)
    unmapped = load_sessions([tmp_path / "projects"]).candidates[0]
    assert (unmapped.repo, unmapped.start_commit) == (None, None)
    mapping = parse_repo_map([f"/home/alice/src={tmp_path}"])
    mapped = load_sessions([tmp_path / "projects"], mapping).candidates[0]
    assert (mapped.repo, mapped.start_commit) == (REMOTE, shas[0])


def test_codex_git_meta_wins_over_the_workspace(tmp_path):
    _repo(tmp_path / "widgets")
    spec = SessionSpec.simple(
        tmp_path / "widgets",
        "fix it",
        started_at=at(1, 30),
        git_commit="c0ffee00" * 5,
        git_remote="https://github.com/acme/fork.git",
    )
    write_codex_rollout(tmp_path / "sessions", spec)
    [candidate] = load_sessions([tmp_path / "sessions"]).candidates
    assert (candidate.repo, candidate.start_commit) == (spec.git_remote, spec.git_commit)


def test_cline_session_files_match_the_repo(tmp_path):
    _repo(tmp_path / "widgets")
    spec = SessionSpec(
        workspace=str(tmp_path / "widgets"),
        steps=[Prompt(text="fix"), Edit(path="src/app.py")],
        started_at=at(2, 30),
    )
    write_cline_task(cline_storage(tmp_path / "s"), spec)
    [candidate] = load_sessions([tmp_path / "s"]).candidates
    tracked = git.Repo(tmp_path / "widgets").git.ls_files().splitlines()
    assert set(candidate.files_touched) <= set(tracked)


def test_repository_urls_are_mapped_by_prefix_whatever_their_spelling():
    mapping = parse_repo_map(["https://github.com/acme=/srv/mirrors", "git@host:team/app=/srv/a"])
    assert map_url("https://github.com/acme/widgets.git", mapping) == ("/srv/mirrors/widgets", True)
    assert map_url("git@github.com:acme/widgets", mapping) == ("/srv/mirrors/widgets", True)
    assert map_url("https://host/team/app/", mapping) == ("/srv/a", True)
    assert map_url("https://github.com/acmeco/widgets", mapping) == (
        "https://github.com/acmeco/widgets",
        False,
    )


def test_an_explicit_url_map_wins_over_the_url_a_session_names(tmp_path):
    shas = _repo(tmp_path / "mirror", remote=None)
    spec = SessionSpec.simple(
        "/home/alice/src/widgets",
        "fix it",
        git_commit=shas[1],
        git_remote="https://github.com/acme/widgets.git",
    )
    write_codex_rollout(tmp_path / "sessions", spec)
    mapping = parse_repo_map([f"https://github.com/acme/widgets={tmp_path / 'mirror'}"])
    [candidate] = load_sessions([tmp_path / "sessions"], mapping).candidates
    assert candidate.repo == str((tmp_path / "mirror").resolve())
    assert candidate.named_repo == "https://github.com/acme/widgets.git"
    assert candidate.start_commit == shas[1]


def test_a_mapped_workspace_wins_over_the_url_a_session_names(tmp_path):
    shas = _repo(tmp_path / "widgets", remote=None)
    spec = SessionSpec.simple(
        "/home/alice/src/widgets",
        "fix it",
        started_at=at(1, 30),
        git_remote="https://github.com/acme/widgets.git",
    )
    write_cline_task(cline_storage(tmp_path / "sessions"), spec)
    mapping = parse_repo_map([f"/home/alice/src={tmp_path}"])
    [candidate] = load_sessions([tmp_path / "sessions"], mapping).candidates
    assert candidate.repo == str((tmp_path / "widgets").resolve())
    assert candidate.named_repo == "https://github.com/acme/widgets.git"
    assert candidate.start_commit == shas[1]


def test_a_workspace_mapped_to_a_url_follows_the_url_map_too(tmp_path):
    _repo(tmp_path / "mirror", remote=None)
    spec = SessionSpec.simple("/home/alice/src/widgets", "fix it", started_at=at(1, 30))
    write_claude_code_session(tmp_path / "projects", spec)
    mapping = parse_repo_map(
        [
            "/home/alice/src/widgets=https://github.com/acme/widgets",
            f"https://github.com/acme/widgets={tmp_path / 'mirror'}",
        ]
    )
    [candidate] = load_sessions([tmp_path / "projects"], mapping).candidates
    assert candidate.repo == str((tmp_path / "mirror").resolve())
    assert candidate.named_repo == "https://github.com/acme/widgets"
