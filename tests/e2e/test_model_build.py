"""Whole model-driven builds, one per provider wire format, and their offline replay.

``python -m harness.build --model <alias>`` runs every role (qualifier, reconstructor,
verifier writer) with a model that is the scripted server speaking that provider's own
format (OpenAI chat completions for gpt-5.1, Anthropic Messages for sonnet-4.5, Gemini
generateContent for gemini-3), through litellm's real provider code, real Docker and a
real git repository. The OpenAI-format build goes all the way and publishes a task; the
other two stop once the verifier writer is done (validation and publishing do not depend on
the wire format, and each costs a minute). Replaying a build from its recorded trajectories,
with the provider's server gone, publishes the same task byte for byte and reaches the same
verdicts.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.machine.harbor import harbor_python
from harness.scripted_server import Script, ScriptedServer, ScriptTurn, WireFormat
from harness.settings import Settings
from tests.conftest import REPO_ROOT
from tests.e2e.ray_support import build_result
from tests.ledgerline_model import (
    DOCKERFILE_FIXED,
    OUT,
    REPRODUCTION,
    STRONG_TEST,
    changed_files,
    ledgerline,
    ledgerline_fix,
    qualification_json,
    report,
    write_file,
)
from tests.scripting import PROVIDER_ALIASES, done_twice, turn

pytestmark = pytest.mark.slow
KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
Build = Callable[[WireFormat], Path]
# The one provider whose build is validated and published; the others stop after the roles.
PUBLISHING: WireFormat = "openai"


def thinking(*commands: str) -> ScriptTurn:
    """A reply with reasoning, as these models send it (its tokens are billed and counted)."""
    return turn(*commands).model_copy(update={"reasoning_content": "Let me check the repo."})


def build(provider: WireFormat, root: Path) -> Path:
    """``harness.build`` on the ledgerline session with the provider's headline model."""
    candidate, shas, repo = ledgerline(root)
    candidates = root / "candidates.jsonl"
    line = {
        "id": "ledgerline-debits",
        "repo": str(repo),
        "start_commit": shas[4],
        "prompts": [candidate.first_prompt, *candidate.follow_ups],
    }
    candidates.write_text(json.dumps(line) + "\n")
    fix = shas[6]
    qualification = qualification_json(fix, changed_files(repo, fix))
    upstream = repo / "tests"
    turns = [
        thinking("git log --oneline --all | head -20\n"),  # the qualifier
        turn(write_file(f"{OUT}/qualification.json", qualification)),
        *done_twice(),
        thinking("ls /repo\n"),  # the reconstructor
        turn(
            write_file(f"{OUT}/environment/Dockerfile", DOCKERFILE_FIXED),
            write_file(f"{OUT}/solution/solve.sh", ledgerline_fix(repo, shas)),
            write_file(f"{OUT}/report.json", report()),
            write_file(f"{OUT}/build_report.md", "# Build report\nNo surprises."),
        ),
        *done_twice(),
        thinking("ls /kettle/upstream_tests/tests\n"),  # the verifier writer
        turn(
            write_file(f"{OUT}/tests/test.sh", STRONG_TEST),
            write_file(f"{OUT}/tests/test_parse.py", (upstream / "test_parse.py").read_text()),
            write_file(f"{OUT}/tests/conftest.py", (upstream / "conftest.py").read_text()),
        ),
        *done_twice(),
    ]
    run_dir = root / "run"
    last_stage = "publish" if provider == PUBLISHING else "verifier"
    with ScriptedServer(Script(turns=turns)) as server:
        built = harness_build(
            "--candidates", str(candidates), "--model", PROVIDER_ALIASES[provider],
            "--api-base", server.base_url, "--out", str(run_dir), "--stages", last_stage,
        )  # fmt: skip
        formats = {request.wire_format for request in server.recorded}
        left = server.turns_remaining
    assert built.returncode == 0, built.stderr[-3000:]
    assert formats == {provider} and left == 0, (formats, left)
    return run_dir


def harness_build(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if name not in KEYS}
    return subprocess.run(
        [sys.executable, "-m", "harness.build", "--approve", "auto", "--repeats", "1", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=2400, check=False,
        stdin=subprocess.DEVNULL, env=environment,
    )  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Each provider's build, made once for the module."""
    runs: dict[WireFormat, Path] = {}

    def run_of(provider: WireFormat) -> Path:
        if provider not in runs:
            runs[provider] = build(provider, tmp_path_factory.mktemp(provider))
        return runs[provider]

    return run_of


def stages(run_dir: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """Every stage's outcome and detail (the run folder named as RUN_DIR)."""
    with sqlite3.connect(run_dir / "ledger.sqlite") as db:
        rows = db.execute("SELECT candidate_id, stage, status, detail FROM stages")
        return {
            (c, s): (status, (detail or "").replace(str(run_dir), "RUN_DIR"))
            for c, s, status, detail in rows
        }


def checks(run_dir: Path) -> list[tuple[str, bool]]:
    [validation] = run_dir.glob("candidates/*/validation/validation.json")
    return [(c["name"], c["passed"]) for c in json.loads(validation.read_text())["checks"]]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_every_role_runs_in_each_providers_wire_format_and_one_build_publishes(
    built: Build, provider: WireFormat
) -> None:
    run_dir = built(provider)
    outcomes = stages(run_dir)
    assert all(
        outcomes[("ledgerline-debits", stage)][0] == "done"
        for stage in ("qualify", "reconstruct", "verifier")
    ), outcomes
    reconstruction = json.loads(next(run_dir.glob("candidates/*/reconstruction.json")).read_text())
    assert reconstruction["reproduction"] == REPRODUCTION
    for role in ("qualify", "reconstruct", "verifier"):
        [path] = run_dir.glob(f"candidates/*/trajectories/{role}.json")
        trajectory = json.loads(path.read_text())
        assert trajectory["extra"]["status"] == "completed"
        first = next(step for step in trajectory["steps"] if step["source"] == "agent")
        assert first["reasoning_content"] == "Let me check the repo."
        assert first["metrics"]["extra"]["reasoning_tokens"] > 0 or provider == "anthropic"
        assert trajectory["final_metrics"]["total_cost_usd"] > 0
    if provider != PUBLISHING:
        return
    [task] = (run_dir / "tasks").iterdir()
    config = (task / "task.toml").read_text()
    assert f'builder = "{PROVIDER_ALIASES[provider]}"' in config
    assert 'environment_mode = "separate"' in config and 'user = "agent"' in config
    assert all(passed for _, passed in checks(run_dir))
    if harbor_python(Settings.from_env()) is not None:
        assert ("static:harbor_lint", True) in checks(run_dir)


def test_a_replayed_build_publishes_the_same_task_byte_for_byte_and_the_same_verdicts(
    built: Build, tmp_path: Path
) -> None:
    original = built(PUBLISHING)
    replay = tmp_path / "replay"
    replayed = harness_build("--replay", str(original), "--out", str(replay))
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert "never asked for" not in replayed.stderr
    assert build_result(replay) == build_result(original)  # every published file's sha256
    assert stages(replay) == stages(original)
    assert checks(replay) == checks(original)
