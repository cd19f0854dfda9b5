"""Session seeds: builders get a session in a real format over a history, not the commits.

The history is built offline on the seed's start tree (unrelated commits, a fix-worded
distractor, the upstream fix, more commits after it); the session file is written as its
tool would write it, and the factory's own intake must read it back to the user's words,
the workspace (mapped to the seed's repository) and the start commit.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agents.context import StageContext
from agents.factory.policies import Policies, make_policies
from agents.qualify.records import Qualification
from harness.settings import Settings
from meta_bench.builders import BuildJob, FactoryBuilder, builder_info, session_candidate
from meta_bench.materialize import SESSION_START, materialize
from meta_bench.seed_format import load_seed
from tests.fixtures.meta_seeds import negative_seed, session_seed
from tools.sessions.records import Candidate

FORMATS = ["claude_code", "codex", "cline", "candidates_jsonl"]


def git(repo: str, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", repo, *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize("session_format", FORMATS)
def test_every_session_format_reads_back_through_the_factorys_intake(
    tmp_path: Path, session_format: str
) -> None:
    seed = load_seed(session_seed(tmp_path, session_format=session_format))
    found = materialize(seed, Settings(home=tmp_path / "home"))
    candidate = session_candidate(found)
    assert candidate.source_format == session_format
    assert candidate.first_prompt.strip() == seed.intent.first_prompt.strip()
    assert [text.strip() for text in candidate.follow_ups] == [
        text.strip() for text in seed.intent.follow_ups
    ]
    assert candidate.start_commit == found.start_commit
    assert Path(candidate.repo or "").resolve() == Path(found.builder_repo).resolve()
    assert candidate.hints.fix_commit is None
    session = Path(found.session_path or "")
    files = [session] if session.is_file() else sorted(session.parent.parent.rglob("*.json"))
    assert files and not any(found.fix_commit in f.read_text() for f in files)


def test_the_history_runs_start_then_distractor_then_fix_then_later_work(tmp_path: Path) -> None:
    seed = load_seed(session_seed(tmp_path))
    found = materialize(seed, Settings(home=tmp_path / "home"))
    repo = found.builder_repo
    subjects = git(repo, "log", "--reverse", "--format=%s").splitlines()
    assert subjects == [
        "README: the jobs file format",  # the start tree, as one commit
        "Add a maintainers page",
        "Fix the troubleshooting docs for wrong results",
        "Accept durations with several units, largest first (1h30m, 1h 30m)",
        "Document the release steps",
    ]
    shas = git(repo, "log", "--reverse", "--format=%H").splitlines()
    assert found.start_commit == shas[-5] and found.fix_commit == shas[-2]
    assert found.distractors == [shas[-3]]
    assert found.strategy == "fix_commit" and "src/timebox/duration.py" in found.source_paths
    start_time = int(git(repo, "log", "-1", "--format=%ct", found.start_commit))
    after = [
        int(t) for t in git(repo, "log", "--format=%ct", f"{found.start_commit}..HEAD").split()
    ]
    assert start_time < SESSION_START.timestamp() < min(after)
    assert Path(repo, ".git").is_dir()  # a work tree, as the user's workspace would be


def test_a_negative_seed_has_a_history_without_a_fix(tmp_path: Path) -> None:
    seed = load_seed(negative_seed(tmp_path))
    assert seed.refuses and seed.session is not None
    found = materialize(seed, Settings(home=tmp_path / "home"))
    assert found.expect == "refuse"
    assert found.source_paths == [] and found.test_paths == [] and found.source_diff == ""
    assert len(found.distractors) == 1
    assert session_candidate(found).start_commit == found.start_commit


def test_a_from_scratch_seed_starts_with_only_its_start_paths(tmp_path: Path) -> None:
    folder = negative_seed(tmp_path)
    text = (folder / "seed.toml").read_text()
    text = text.replace("[source]\n", '[source]\nstart_paths = ["README.md"]\n')
    text = text.replace('patch = "notes.patch"', "release_rest = true")
    (folder / "seed.toml").write_text(text)
    found = materialize(load_seed(folder), Settings(home=tmp_path / "home"))
    start_files = git(found.builder_repo, "ls-tree", "-r", "--name-only", found.start_commit)
    assert start_files.splitlines() == ["README.md"]
    later = git(found.builder_repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    assert "src/timebox/duration.py" in later


class _Refuses:
    """A qualifier that records what it was handed and refuses (no model, no Docker)."""

    name = "recording"

    def __init__(self) -> None:
        self.seen: list[Candidate] = []

    def qualify(self, context: StageContext) -> tuple[Qualification, Candidate]:
        self.seen.append(context.candidate)
        assert context.qualification is None
        qualification = Qualification(
            candidate_id=context.candidate.id,
            verdict="disqualified",
            task_spirit="the user's words",
            disqualifiers=[{"code": "no_fix_commit", "reason": "nothing after the session"}],
            confidence=0.7,
            decided_by="recording",
        )
        return qualification, context.candidate


def test_a_contestant_qualifies_the_session_itself_and_may_refuse(tmp_path: Path) -> None:
    seed = load_seed(session_seed(tmp_path, session_format="cline"))
    settings = Settings(home=tmp_path / "home")
    found = materialize(seed, settings)
    qualifier = _Refuses()
    baseline = make_policies(None)
    policies = Policies(qualifier, baseline.reconstructor, baseline.verifier_writer)
    builder = FactoryBuilder(
        "recording", policies, builder_info("x", role="contestant", kind="baseline")
    )
    job = BuildJob(seed, found, tmp_path / "build", None, settings, "run")  # type: ignore[arg-type]
    outcome = builder.build(job)
    assert outcome.status == "refused" and outcome.task_dir is None
    assert outcome.qualification is not None
    assert outcome.qualification.verdict == "disqualified"
    assert outcome.qualification.codes == ["no_fix_commit"]
    [handed] = qualifier.seen
    assert handed.source_format == "cline" and handed.start_commit == found.start_commit
    assert handed.hints.fix_commit is None and str(seed.folder) not in handed.model_dump_json()


def test_seed_check_of_a_negative_seed_reads_the_session_and_records_the_baseline_qualifier(
    tmp_path: Path,
) -> None:
    from meta_bench.check import check_seed

    settings = Settings(home=tmp_path / "home")
    report = check_seed(
        negative_seed(tmp_path),
        None,
        settings,
        tmp_path / "out",
        run_id="r",  # type: ignore[arg-type]
    )  # a negative seed has nothing to run in Docker
    assert report.passed, [f.message for f in report.failures]
    names = [finding.name for finding in report.findings]
    assert names == ["materialize", "session", "history", "baseline_qualifier"]
    assert report.qualification is not None and report.qualification.decided_by == "baseline"
    assert (tmp_path / "out" / "check.json").is_file()
