"""A model builder scored end to end: the factory's reconstruct and verifier agents, driven by
the scripted OpenAI-compatible server through real litellm, build the timebox seed's
environment in real Docker; the meta-benchmark scores it with the seed's hidden solutions,
asks the (scripted) judge for M8, and ranks the model, with its cost, on the leaderboard."""

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
from tests.scripting import FAST_RETRY, PRICED_MODEL, done_twice, turn
from tools.validation.diffs import added_lines, is_distinctive, parse_unified_diff

SEED = "timebox-compound-durations"
OUT = "/kettle/out"

DOCKERFILE = """ARG BASE_IMAGE=kettle/base:bookworm
FROM ${BASE_IMAGE}
WORKDIR /app
COPY app/ /app/
"""
REPORT = json.dumps(
    {
        "language": "python",
        "workdir": "/app",
        "test_command": "PYTHONPATH=src python3 -c 'import timebox'",
        "dependencies": [],
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
    assert cell.failed_checks == [], [c.message for c in cell.failed_checks]
    assert cell.metrics["M2"] == 1.0 and cell.metrics["M3"] == 1.0 and cell.metrics["M8"] == 0.9
    assert row.meta_score == pytest.approx(0.6 + 0.25 + 0.15 * 0.9)
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
