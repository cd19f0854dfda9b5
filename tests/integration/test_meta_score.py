"""Scoring planted environments: each flaw costs exactly the metric it should, on the numbers.

The environments are written by hand for the timebox seed (durations with several units):
the project needs only Python's standard library, so every image builds in seconds, and
the verifiers are small scripts run with the image's own python3. The scorer applies the
seed's hidden solutions (upstream fix, 2 correct and 4 wrong variants: the seed's classes
the upstream tests get right) in fresh containers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.factory.assemble import draft_config
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from meta_bench.builders import seed_candidate, seed_qualification
from meta_bench.materialize import materialize
from meta_bench.records import EnvScore, MaterializedSeed, Seed
from meta_bench.score import ScoreJob, score_environment
from meta_bench.seed_format import load_seed, load_variants
from tests.fixtures.meta_seeds import trimmed_seed
from tools.projects.dockerfile import with_agent_user
from tools.repos.git import RepoCache
from tools.sessions.instruction import compose_instruction

KEPT = [
    "single_pattern",
    "tokenizer_module",
    "no_spaces_between_units",
    "hours_and_minutes_only",
    "any_order_adds_up",
    "repeated_units_add_up",
]

BEHAVIOUR = """
import sys

sys.path.insert(0, "/app/src")
from timebox import format_duration, parse_duration


def seconds(text):
    try:
        return parse_duration(text)
    except ValueError:
        return "rejected"


checks = {
    "1h30m": seconds("1h30m") == 5400,
    "1h 30m": seconds("1h 30m") == 5400,
    "2d 4h": seconds("2d 4h") == 187200,
    "1d2h3m4s": seconds("1d2h3m4s") == 93784,
    "single units": [seconds(t) for t in ("90s", "1.5h", "2 m")] == [90, 5400, 120],
    "round trip": all(seconds(format_duration(n)) == n for n in (1, 61, 5400, 90061)),
    "repeated": seconds("1h1h") == "rejected",
    "unordered": seconds("30m1h") == "rejected",
    "garbage": all(seconds(t) == "rejected" for t in ("", "5", "1h 30", "3w")),
}
"""
REPORT = """
for name, ok in checks.items():
    print(("ok   " if ok else "FAIL ") + name)
if all(checks.values()):
    print("ALL-PASSED")
"""
# Over-prescriptive: also insists on the upstream fix's private helper name.
HELPER_NAME = """
import timebox.duration

checks["uses the _PART helper"] = hasattr(timebox.duration, "_PART")
"""
RUN_CHECK = """#!/bin/bash
mkdir -p /logs/verifier
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt
echo 0 > /logs/verifier/reward.txt
cd /tmp && /usr/bin/python3 -I -S /tests/check.py > /logs/verifier/check.out 2>&1
cat /logs/verifier/check.out
grep -qx ALL-PASSED /logs/verifier/check.out && echo 1 > /logs/verifier/reward.txt
"""
# A race that decides the verdict half the time (modelled with $RANDOM).
FLAKY_CHECK = RUN_CHECK + "echo $((RANDOM % 2)) > /logs/verifier/reward.txt\n"
FILE_EXISTS = """#!/bin/bash
mkdir -p /logs/verifier
if [ -f /app/src/timebox/duration.py ]; then echo 1; else echo 0; fi > /logs/verifier/reward.txt
"""


@pytest.fixture(scope="module")
def seed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trimmed_seed(tmp_path_factory.mktemp("seeds"), "timebox-compound-durations", KEPT)


@pytest.fixture(scope="module")
def seed(seed_dir: Path) -> Seed:
    return load_seed(seed_dir)


@pytest.fixture(scope="module")
def materialized(seed: Seed) -> MaterializedSeed:
    return materialize(seed, Settings.from_env())


def planted(
    root: Path,
    seed: Seed,
    materialized: MaterializedSeed,
    *,
    test_sh: str,
    check_py: str = BEHAVIOUR + REPORT,
    leak_fixed_file: bool = False,
) -> Path:
    """A task directory: the start tree at /app, no network, and the given verifier."""
    task = root / "task"
    with RepoCache(Settings.from_env().home / "repos").open(materialized.repo) as repo:
        repo.export_tree(materialized.start_commit, task / "environment" / "app")
        fixed = repo.read_file(materialized.fix_commit, "src/timebox/duration.py")
    dockerfile = "ARG BASE_IMAGE=kettle/base:bookworm\nFROM ${BASE_IMAGE}\n"
    if leak_fixed_file:
        notes = task / "environment" / "notes" / "timebox" / "duration.py"
        notes.parent.mkdir(parents=True)
        notes.write_bytes(fixed or b"")
        dockerfile += "COPY notes/ /opt/notes/\n"
    dockerfile += "COPY app/ /app/\nWORKDIR /app\n"
    # The task runs its agent as the unprivileged user its task.toml names.
    (task / "environment" / "Dockerfile").write_text(with_agent_user(dockerfile))
    candidate = seed_candidate(seed, materialized.repo, materialized.start_commit)
    qualification = seed_qualification(seed, candidate, materialized.start_commit, None)
    (task / "task.toml").write_text(
        draft_config(candidate, qualification, None, "planted").to_toml()
    )
    (task / "instruction.md").write_text(compose_instruction(candidate))
    (task / "solution").mkdir()
    (task / "solution" / "solve.sh").write_text("#!/bin/bash\ntrue\n")
    (task / "tests").mkdir()
    (task / "tests" / "test.sh").write_text(test_sh)
    (task / "tests" / "check.py").write_text(check_py)
    return task


def score(
    task: Path,
    seed: Seed,
    materialized: MaterializedSeed,
    engine: DockerEngine,
    run_id: str,
    **options: object,
) -> EnvScore:
    job = ScoreJob(
        builder="planted",
        seed=seed,
        materialized=materialized,
        variants=load_variants(seed.folder),  # type: ignore[arg-type]
        task_dir=task,
        out_dir=task.parent / "score",
        **options,  # type: ignore[arg-type]
    )
    return score_environment(job, engine, Settings.from_env(), run_id=run_id)


def failed(result: EnvScore) -> set[str]:
    return {check.name for check in result.failures}


def test_a_verifier_of_the_asked_behaviour_scores_one(
    tmp_path: Path, seed: Seed, materialized: MaterializedSeed, docker_engine: DockerEngine,
    test_run_id: str,
) -> None:  # fmt: skip
    task = planted(tmp_path, seed, materialized, test_sh=RUN_CHECK)
    result = score(task, seed, materialized, docker_engine, test_run_id)
    assert failed(result) == set()
    assert (result.m1_validity, result.m2_recall, result.m3_kill_rate) == (1.0, 1.0, 1.0)
    assert (result.m5_exploit_resistance, result.m6_leak_free, result.m7_determinism) == (1, 1, 1)
    assert result.env_score == 1.0
    assert len([s for s in result.states if s.kind == "probe"]) == 7  # no public copy: no fetch


def test_an_over_prescriptive_verifier_loses_recall(
    tmp_path: Path, seed: Seed, materialized: MaterializedSeed, docker_engine: DockerEngine,
    test_run_id: str,
) -> None:  # fmt: skip
    check = BEHAVIOUR + HELPER_NAME + REPORT
    task = planted(tmp_path, seed, materialized, test_sh=RUN_CHECK, check_py=check)
    result = score(
        task, seed, materialized, docker_engine, test_run_id, probes=[], leaks=False,
        variant_reruns=1,
    )  # fmt: skip
    assert result.m1_validity == 1.0 and result.m3_kill_rate == 1.0
    assert result.m2_recall == 0.0 and result.m4_f1 == 0.0 and result.env_score == 0.0
    assert failed(result) == {"correct:single_pattern", "correct:tokenizer_module"}
    evidence = next(c for c in result.checks if c.name == "correct:tokenizer_module").evidence
    assert "FAIL uses the _PART helper" in evidence["verifier_output"]


def test_a_verifier_that_checks_only_that_the_file_exists_loses_kill_rate(
    tmp_path: Path, seed: Seed, materialized: MaterializedSeed, docker_engine: DockerEngine,
    test_run_id: str,
) -> None:  # fmt: skip
    task = planted(tmp_path, seed, materialized, test_sh=FILE_EXISTS)
    result = score(
        task, seed, materialized, docker_engine, test_run_id, probes=[], leaks=False,
        variant_reruns=1, gate_first=False,
    )  # fmt: skip
    assert result.m2_recall == 1.0
    assert result.m3_kill_rate == 0.0 and result.m4_f1 == 0.0
    assert result.m1_validity == 0.0 and result.env_score == 0.0
    assert {"start", "wrong:no_spaces_between_units", "wrong:any_order_adds_up"} <= failed(result)


def test_a_leaky_environment_scores_zero(
    tmp_path: Path, seed: Seed, materialized: MaterializedSeed, docker_engine: DockerEngine,
    test_run_id: str,
) -> None:  # fmt: skip
    task = planted(tmp_path, seed, materialized, test_sh=RUN_CHECK, leak_fixed_file=True)
    result = score(task, seed, materialized, docker_engine, test_run_id, variant_reruns=1)
    assert result.m1_validity == 1.0 and result.m4_f1 == 1.0
    assert result.m6_leak_free == 0.0 and result.env_score == 0.0
    assert "leak:fix_in_image" in failed(result)
    leak = next(c for c in result.checks if c.name == "leak:fix_in_image")
    assert "/opt/notes/timebox/duration.py" in str(leak.evidence)
    # The archaeology probe finds the copy too and passes the verifier with it.
    assert "probe:git_archaeology" in failed(result)


def test_a_flaky_verifier_fails_determinism(
    tmp_path: Path, seed: Seed, materialized: MaterializedSeed, docker_engine: DockerEngine,
    test_run_id: str,
) -> None:  # fmt: skip
    task = planted(tmp_path, seed, materialized, test_sh=FLAKY_CHECK)
    result = score(
        task, seed, materialized, docker_engine, test_run_id, probes=[], leaks=False,
        reruns=3, variant_reruns=3, gate_first=False,
    )  # fmt: skip
    # Seven states judged three times each: all seven consistent by chance is 1 in 16384.
    assert result.m7_determinism == 0.0 and result.env_score == 0.0
    determinism = next(c for c in result.checks if c.name == "determinism")
    assert not determinism.passed and determinism.evidence["differing"]
