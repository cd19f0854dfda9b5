"""Sessions from another machine whose repository URL is mapped to a local clone, built end
to end: a Cline task and a Codex rollout that name their upstream URL (in two spellings),
and a Claude Code session whose workspace is mapped to that URL in turn. No URL is ever
reached: `--repo-map https://github.com/acme=DIR` sends them all to local clones, and
`python -m harness.build --approve auto` publishes a task for each."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT
from tests.fixtures.sessions import write_session
from tools.repos.examples import ensure_example_repos, example_shas

UPSTREAM = "https://github.com/acme"
# Three whole builds (reconstruct, verifier, validation with exploit probes).
pytestmark = pytest.mark.timeout(2700)


def _example_sessions() -> ModuleType:
    """examples/sessions/generate.py, which describes the bundled example sessions."""
    spec = importlib.util.spec_from_file_location(
        "example_sessions", REPO_ROOT / "examples" / "sessions" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("repo-map")
    repos = ensure_example_repos(root / "clones")
    examples = _example_sessions()
    ledgerline = examples.LEDGERLINE_PARSING.model_copy(
        update={"workspace": "/home/alice/src/ledgerline"}
    )
    ledgerline_start = example_shas(repos["ledgerline"])[4]
    verspec_start = example_shas(repos["verspec"])[examples.VERSPEC_START_COMMIT - 1]
    sessions = root / "sessions"
    write_session("claude_code", sessions / "claude", ledgerline)
    write_session(
        "cline",
        sessions / "cline",
        ledgerline.model_copy(
            update={
                "session_id": "cline-ledgerline",
                "git_remote": "git@github.com:acme/ledgerline.git",
                "git_commit": ledgerline_start,
            }
        ),
    )
    write_session(
        "codex",
        sessions / "codex",
        examples.verspec_session(verspec_start).model_copy(
            update={
                "workspace": "/home/alice/src/verspec",
                "git_remote": f"{UPSTREAM}/verspec.git",
            }
        ),
    )
    run_dir = root / "run"
    completed = subprocess.run(
        [sys.executable, "-m", "harness.build", "--sessions", str(sessions),
         "--repo-map", f"/home/alice/src/ledgerline={UPSTREAM}/ledgerline",
         "--repo-map", f"{UPSTREAM}={root / 'clones'}",
         "--approve", "auto", "--repeats", "1", "-n", "2", "--out", str(run_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=3000, check=False,
        env={**os.environ, "KETTLE_HOME": str(root / "home"), "GIT_ALLOW_PROTOCOL": "file"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads((run_dir / "summary.json").read_text()), run_dir


def test_every_format_is_built_from_the_local_clone(build: tuple[dict, Path]) -> None:
    summary, run_dir = build
    formats = {}
    for entry in summary["candidates"]:
        candidate = json.loads(
            (run_dir / "candidates" / entry["candidate_id"] / "candidate.json").read_text()
        )
        formats[candidate["source_format"]] = (candidate, entry)
    assert set(formats) == {"cline", "claude_code", "codex"}
    for candidate, entry in formats.values():
        assert candidate["repo"].startswith(str(run_dir.parent / "clones")), candidate["repo"]
        assert candidate["named_repo"].startswith(("https://github.com/acme", "git@github.com"))
        assert entry["state"] == "published", (candidate["source_format"], entry)
        assert entry["published"]


def test_the_published_tasks_name_their_local_provenance(build: tuple[dict, Path]) -> None:
    summary, run_dir = build
    tasks = sorted((run_dir / "tasks").glob("*/task.toml"))
    assert len(tasks) == len(summary["candidates"]) == 3
