"""A model builder scored end to end: the factory's agents, driven by the scripted
OpenAI-compatible server through real litellm, build the timebox seed's environment in real
Docker; the meta-benchmark scores it with the seed's hidden solutions, asks the (scripted)
judge for M8, and ranks the model, with its cost, on the leaderboard. On a session seed the
model's own qualifier must first find the fix in a history with a fix-worded distractor,
from a Claude Code session: that is scored as M0, the EnvScore's qualification gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from harness.llm import LiteLLMModel, ModelSpec
from harness.sandbox.engine import DockerEngine
from harness.scripted_server import Script, ScriptedServer, ScriptTurn
from harness.settings import Settings
from meta_bench.builders import make_builder
from meta_bench.materialize import SEEDS_DIR, materialize
from meta_bench.records import RunOptions
from meta_bench.run import MetaRun
from meta_bench.seed_format import load_seed, load_variants
from tests.fixtures.meta_seeds import EDITED, session_seed
from tests.scripting import FAST_RETRY, PRICED_MODEL, done_twice, turn
from tools.validation.diffs import added_lines, is_distinctive, parse_unified_diff

SEED = "timebox-compound-durations"
OUT = "/kettle/out"

DOCKERFILE = """ARG BASE_IMAGE=kettle/base:bookworm
FROM ${BASE_IMAGE}
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install pytest==9.2.0
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app/src
WORKDIR /app
COPY app/ /app/
"""
# Claims the host re-checks hold: the suite runs, the user's example fails at the start.
REPORT = json.dumps(
    {
        "language": "python",
        "workdir": "/app",
        "test_command": "python -m pytest -q",
        "reproduction": 'python -c "from timebox import parse_duration; '
        "assert parse_duration('1h30m') == 5400\"",
        "dependencies": ["pytest==9.2.0"],
        "obstacles": [],
    }
)
CHECK = """import sys

sys.path.insert(0, "/app/src")
from timebox import format_duration, parse_duration


def seconds(text):
    try:
        return parse_duration(text)
    except ValueError:
        return "rejected"


checks = {
    "compound": [seconds(t) for t in ("1h30m", "1h 30m", "2d 4h")] == [5400, 5400, 187200],
    "round trip": all(seconds(format_duration(n)) == n for n in (1, 61, 5400, 90061)),
    "order": [seconds(t) for t in ("1h1h", "30m1h")] == ["rejected", "rejected"],
    "single": [seconds(t) for t in ("90s", "1.5h")] == [90, 5400],
}
for name, ok in checks.items():
    print(("ok   " if ok else "FAIL ") + name)
if all(checks.values()):
    print("ALL-PASSED")
"""
VERDICT = {
    "alignment": 0.9,
    "over_prescriptive": [],
    "missing": ["no test for fractional hours in compound durations"],
    "rationale": "The checks follow the request and its follow-ups.",
}
TEST_SH = """#!/bin/bash
mkdir -p /logs/verifier
rm -f /logs/verifier/reward.json /logs/verifier/reward.txt
echo 0 > /logs/verifier/reward.txt
cd /tmp && /usr/bin/python3 -I -S /tests/check.py > /logs/verifier/check.out 2>&1
cat /logs/verifier/check.out
grep -qx ALL-PASSED /logs/verifier/check.out && echo 1 > /logs/verifier/reward.txt
"""


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def write_file(path: str, content: str) -> str:
    return f"mkdir -p $(dirname {path}) && cat > {path} <<'KETTLE_EOF'\n{content}\nKETTLE_EOF\n"


@pytest.mark.slow
def test_a_scripted_model_builder_is_built_scored_and_ranked(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    seed = load_seed(SEEDS_DIR / SEED)
    materialized = materialize(seed, Settings.from_env())
    solve = (
        "#!/bin/bash\nset -euo pipefail\ncd /app\n"
        f"patch -p1 <<'PATCH'\n{materialized.source_diff}PATCH"
    )
    turns = [
        turn("git log --oneline | head -5 && ls\n"),
        turn(
            write_file(f"{OUT}/environment/Dockerfile", DOCKERFILE),
            write_file(f"{OUT}/solution/solve.sh", solve),
            write_file(f"{OUT}/report.json", REPORT),
            write_file(f"{OUT}/build_report.md", "# Build report\nStandard library only."),
        ),
        *done_twice(),
        turn("ls /kettle /kettle/upstream_tests/tests\n"),
        turn(
            write_file(f"{OUT}/tests/test.sh", TEST_SH),
            write_file(f"{OUT}/tests/check.py", CHECK),
        ),
        *done_twice(),
        ScriptTurn(content=json.dumps(VERDICT)),  # the judge, after the trials
    ]
    with ScriptedServer(Script(turns=turns)) as server:
        builder = make_builder(
            PRICED_MODEL,
            api_base=server.base_url,
            max_steps=20,
            make_model=lambda: LiteLLMModel(
                ModelSpec.resolve(PRICED_MODEL, server.base_url), retry=FAST_RETRY
            ),
        )
        options = RunOptions(
            builders=[PRICED_MODEL],
            seeds_dir=str(SEEDS_DIR),
            seeds=[SEED],
            repeats=1,
            reruns=2,
            variant_reruns=1,
            api_base=server.base_url,
            judge=PRICED_MODEL,
            judge_api_base=server.base_url,
        )
        run = MetaRun(
            tmp_path / "meta",
            options,
            [builder],
            docker_engine,
            Settings.from_env(),
            command="pytest",
            run_id=test_run_id,
            console=Console(quiet=True),
        )
        board = run.run()
        requests = server.requests

    row = board.rows[0]
    cell = row.cells[0]
    assert row.builder == PRICED_MODEL and row.rank == 1 and row.info.kind == "model"
    assert row.info.model == PRICED_MODEL and row.info.litellm_version
    # The planted verifier is valid, leak-free and steady; it may misjudge a variant or two.
    assert {c.metric for c in cell.failed_checks} <= {"M2", "M3"}, cell.failed_checks
    assert cell.metrics["M1"] == 1.0 and cell.metrics["M8"] == 0.9
    m2, m3, m5 = (cell.metrics[key] or 0.0 for key in ("M2", "M3", "M5"))
    assert row.meta_score == pytest.approx(0.6 * 2 * m2 * m3 / (m2 + m3) + 0.25 * m5 + 0.15 * 0.9)
    assert board.judge == PRICED_MODEL and row.cost.judge_usd and row.cost.judge_usd > 0
    assert row.cost.usd and row.cost.usd > 0 and row.cost.prompt_tokens > 0
    judge_prompt = requests[-1]["messages"][0]["content"]
    assert "check.py" in judge_prompt and "ALL-PASSED" in judge_prompt
    folder = tmp_path / "meta" / "openai_gpt-5.1" / SEED / "r1"
    trajectories = sorted(p.name for p in (folder / "build" / "trajectories").iterdir())
    assert trajectories == ["reconstruct.json", "verifier.json"]

    # Everything the model was ever shown holds none of the hidden variants' lines.
    seen = json.dumps(requests)
    for spec, patch in load_variants(SEEDS_DIR / SEED):
        for change in parse_unified_diff(patch):
            for line in added_lines(change):
                if is_distinctive(line) and len(line.strip()) >= 25:
                    hidden = line.strip()
                    if hidden not in materialized.full_diff:
                        assert json.dumps(hidden)[1:-1] not in seen, (spec.name, hidden)
    assert "variants.toml" not in seen and "hidden/" not in seen


def qualification_turns(fix_commit: str) -> list[ScriptTurn]:
    answer = {
        "verdict": "qualified",
        "task_spirit": "Durations with several units (1h30m, 1h 30m) must parse.",
        "fix_commit": fix_commit,
        "license": "MIT",
        "fix_files": ["README.md", EDITED[SEED], "tests/test_duration.py"],
        "fix_changes_tests": True,
        "disqualifiers": [],
        "evidence": ["the commit after the docs changes makes compound durations parse"],
        "confidence": 0.9,
    }
    return [
        turn("git --no-pager log --oneline --all\n"),
        turn(write_file(f"{OUT}/qualification.json", json.dumps(answer))),
        *done_twice(),
    ]


def build_turns(source_diff: str) -> list[ScriptTurn]:
    solve = f"#!/bin/bash\nset -euo pipefail\ncd /app\npatch -p1 <<'PATCH'\n{source_diff}PATCH"
    return [
        turn("git log --oneline | head -5 && ls\n"),
        turn(
            write_file(f"{OUT}/environment/Dockerfile", DOCKERFILE),
            write_file(f"{OUT}/solution/solve.sh", solve),
            write_file(f"{OUT}/report.json", REPORT),
            write_file(f"{OUT}/build_report.md", "# Build report\nStandard library only."),
        ),
        *done_twice(),
        turn("ls /kettle /kettle/upstream_tests/tests\n"),
        turn(
            write_file(f"{OUT}/tests/test.sh", TEST_SH),
            write_file(f"{OUT}/tests/check.py", CHECK),
        ),
        *done_twice(),
    ]


def session_run(tmp_path: Path, docker_engine: DockerEngine, run_id: str, turns: list[ScriptTurn]):  # type: ignore[no-untyped-def]
    with ScriptedServer(Script(turns=turns)) as server:
        builder = make_builder(
            PRICED_MODEL,
            api_base=server.base_url,
            max_steps=20,
            make_model=lambda: LiteLLMModel(
                ModelSpec.resolve(PRICED_MODEL, server.base_url), retry=FAST_RETRY
            ),
        )
        options = RunOptions(
            builders=[PRICED_MODEL],
            seeds_dir=str(tmp_path / "seeds"),
            repeats=1,
            reruns=2,
            variant_reruns=1,
            api_base=server.base_url,
            probes=False,
        )
        run = MetaRun(
            tmp_path / "meta",
            options,
            [builder],
            docker_engine,
            Settings.from_env(),
            command="pytest",
            run_id=run_id,
            console=Console(quiet=True),
        )
        return run.run(), server.requests


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_scripted_model_builder_finds_the_fix_from_a_session_and_is_scored(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    seed_dir = session_seed(tmp_path / "seeds", SEED, "claude_code")
    found = materialize(load_seed(seed_dir), Settings.from_env())
    turns = [*qualification_turns(found.fix_commit), *build_turns(found.source_diff)]
    board, requests = session_run(tmp_path, docker_engine, test_run_id, turns)

    row = board.rows[0]
    cell = row.cells[0]
    assert row.qualification == 1.0 and cell.metrics["M0"] == 1.0
    assert cell.qualification is not None and cell.qualification.fix_commit == found.fix_commit
    assert cell.qualification.decided_by == PRICED_MODEL
    assert {c.metric for c in cell.failed_checks} <= {"M2", "M3"}, cell.failed_checks
    assert cell.metrics["M1"] == 1.0 and row.meta_score and row.meta_score > 0.5
    folder = tmp_path / "meta" / "openai_gpt-5.1" / seed_dir.name / "r1"
    trajectories = sorted(p.name for p in (folder / "build" / "trajectories").iterdir())
    assert trajectories == ["qualify.json", "reconstruct.json", "verifier.json"]
    first = requests[0]["messages"][0]["content"]
    assert found.fix_commit not in first  # the model is handed the session, not the commits
    assert "variants.toml" not in json.dumps(requests) and "hidden/" not in json.dumps(requests)


@pytest.mark.slow
def test_a_model_that_takes_the_distractor_for_the_fix_scores_zero_without_trials(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    seed_dir = session_seed(tmp_path / "seeds", SEED, "codex")
    found = materialize(load_seed(seed_dir), Settings.from_env())
    [distractor] = found.distractors
    board, _ = session_run(tmp_path, docker_engine, test_run_id, qualification_turns(distractor))
    cell = board.rows[0].cells[0]
    assert cell.env_score == 0.0 and cell.metrics["M0"] == 0.0
    # The factory re-checks the model's claims: the distractor changes only docs, so the
    # verdict drops to needs_human, a refusal of work that has a fix. Either way M0 is 0.
    assert cell.qualification is not None and cell.qualification.fix_commit == distractor
    assert cell.qualification.verdict == "needs_human"
    [check] = cell.failed_checks
    assert check.name == "qualification" and "refused work that has a fix" in check.message
    folder = tmp_path / "meta" / "openai_gpt-5.1" / seed_dir.name / "r1"
    assert not (folder / "score" / "trials").exists()
