"""The model-driven sub-agents end to end: scripted OpenAI-compatible server, real litellm,
real Docker, real git, and the host-side checks that feed back into the loop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.context import StageContext
from agents.factory.assemble import draft_config, write_draft_config
from agents.qualify.baseline import qualify_baseline
from agents.qualify.model import ModelQualifier
from agents.reconstruct.model import ModelReconstructor
from agents.reconstruct.records import ReconstructionReport
from agents.subagent import AgentSettings
from agents.verifier.model import ModelVerifierWriter
from harness.llm import LiteLLMModel, ModelSpec
from harness.sandbox.engine import DockerEngine
from harness.scripted_server import Script, ScriptedServer
from tests.conftest import TEST_RUN_ID
from tests.factory_helpers import stage_context
from tests.ledgerline_model import (
    DOCKERFILE_BROKEN,
    DOCKERFILE_FIXED,
    REPRODUCTION,
    STRONG_TEST,
    WEAK_TEST,
    changed_files,
    ledgerline,
    ledgerline_fix,
    qualification_json,
    report,
    write_file,
)
from tests.scripting import FAST_RETRY, PRICED_MODEL, done_twice, turn
from tools.sessions.instruction import compose_instruction


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


OUTPUT = "/kettle/out/qualification.json"


def agent_settings(server: ScriptedServer, max_steps: int = 20) -> tuple[AgentSettings, object]:
    settings = AgentSettings(
        model=ModelSpec.resolve(PRICED_MODEL, server.base_url), max_steps=max_steps
    )

    def make_model() -> LiteLLMModel:
        return LiteLLMModel(ModelSpec.resolve(PRICED_MODEL, server.base_url), retry=FAST_RETRY)

    return settings, make_model


def test_model_qualifier_writes_a_qualification_that_survives_the_recheck(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    candidate, shas, repo = ledgerline(tmp_path)
    fix = shas[6]
    turns = [
        turn("git log --oneline --all | head -20; head -c 600 /session/checks.json\n"),
        turn(write_file(OUTPUT, qualification_json(fix, changed_files(repo, fix)))),
        *done_twice(),
    ]
    with ScriptedServer(Script(turns=turns)) as server:
        settings, make_model = agent_settings(server)
        context = stage_context(candidate, tmp_path / "run", docker_engine, test_run_id)
        qualification, _ = ModelQualifier(settings, make_model).qualify(context)
    assert qualification.verdict == "qualified", qualification.discrepancies
    assert qualification.decided_by == PRICED_MODEL and qualification.fix_commit == fix
    assert not qualification.discrepancies
    assert "(45.00)" in qualification.task_spirit
    first_request = server.requests[0]["messages"][0]["content"]
    assert "/session/candidate.json" in first_request and shas[4] in first_request
    trajectory = json.loads((context.workspace.trajectories / "qualify.json").read_text())
    assert trajectory["extra"]["status"] == "completed"
    assert context.costs.spent > 0


def test_a_false_claim_by_the_model_is_caught_and_downgraded(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    candidate, _, _ = ledgerline(tmp_path)
    planted = "deadbeef" * 5
    turns = [
        turn(write_file(OUTPUT, '{"verdict": "qualified"}')),
        *done_twice(),  # rejected: the file is incomplete; the model is told why
        turn(write_file(OUTPUT, qualification_json(planted, ["src/x.py"]))),
        *done_twice(),
    ]
    with ScriptedServer(Script(turns=turns)) as server:
        settings, make_model = agent_settings(server)
        context = stage_context(candidate, tmp_path / "run", docker_engine, test_run_id)
        qualification, _ = ModelQualifier(settings, make_model).qualify(context)
    feedback = server.requests[3]["messages"][-1]["content"]
    assert "is not valid" in feedback and "task_spirit" in feedback
    assert qualification.verdict == "needs_human"
    assert any("deadbeef" in note for note in qualification.discrepancies)


def test_an_agent_stops_when_the_runs_dollar_budget_is_spent(
    tmp_path: Path, docker_engine: DockerEngine, test_run_id: str
) -> None:
    candidate, _, _ = ledgerline(tmp_path)
    turns = [turn("git log --oneline | head\n") for _ in range(5)]
    with ScriptedServer(Script(turns=turns)) as server:
        settings, make_model = agent_settings(server)
        context = stage_context(
            candidate, tmp_path / "run", docker_engine, test_run_id, budget_usd=1e-9
        )
        qualification, _ = ModelQualifier(settings, make_model).qualify(context)
    assert len(server.requests) == 1  # the first call spent the run's budget: no second one
    trajectory = json.loads((context.workspace.trajectories / "qualify.json").read_text())
    assert trajectory["extra"]["status"] == "budget_exhausted:run_cost"
    assert context.costs.spent > 1e-9
    assert qualification.verdict == "needs_human"  # no answer from the model: a human decides


@dataclass
class Reconstructed:
    context: StageContext
    reconstruction: ReconstructionReport
    feedback: list[str]  # what the agent was told after each rejected "done"
    repo: Path


@pytest.fixture(scope="module")
def reconstructed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reconstructed]:
    """The model reconstructor on ledgerline, with five bad claims planted in turn, each
    fixed on the next turn: a Dockerfile that does not build, a test command that runs no
    test, a reproduction that passes at the start, a solve.sh that changes nothing, and a
    solve.sh that changes the code without fixing it."""
    tmp_path = tmp_path_factory.mktemp("reconstruct")
    engine = DockerEngine.connect()
    candidate, shas, repo = ledgerline(tmp_path)
    context = stage_context(candidate, tmp_path / "run", engine, TEST_RUN_ID)
    context.qualification, context.candidate = qualify_baseline(candidate, context.repos)
    assert context.qualification.fix_commit == shas[6]
    instruction = compose_instruction(context.candidate)
    write_draft_config(  # as the reconstruct stage does before its policy runs
        context.workspace,
        draft_config(context.candidate, context.qualification, None, PRICED_MODEL),
        instruction,
    )
    out = "/kettle/out"
    turns = [
        turn("git log --oneline | head -5 && ls\n"),
        turn(
            write_file(f"{out}/environment/Dockerfile", DOCKERFILE_BROKEN),
            write_file(f"{out}/solution/solve.sh", ledgerline_fix(repo, shas)),
            write_file(f"{out}/report.json", report(test_command="python -m pytest -q -k nope")),
            write_file(f"{out}/build_report.md", "# Build report\nNo surprises."),
        ),
        *done_twice(),  # 1: the Dockerfile does not build
        turn(write_file(f"{out}/environment/Dockerfile", DOCKERFILE_FIXED)),
        *done_twice(),  # 2: the test command selects no test
        turn(
            write_file(
                f"{out}/report.json",
                report(reproduction="python -c 'import ledgerline.parse'"),
            )
        ),
        *done_twice(),  # 3: the reproduction passes at the start state
        turn(
            write_file(f"{out}/report.json", report()),
            write_file(f"{out}/solution/solve.sh", "#!/bin/bash\necho patched\n"),
        ),
        *done_twice(),  # 4: solve.sh exits 0 and changes nothing
        turn(
            write_file(
                f"{out}/solution/solve.sh",
                "#!/bin/bash\necho '# parse debits' >> /app/src/ledgerline/parse.py\n",
            )
        ),
        *done_twice(),  # 5: solve.sh changes the code but does not fix the problem
        turn(write_file(f"{out}/solution/solve.sh", ledgerline_fix(repo, shas))),
        *done_twice(),
    ]
    rejected_after = [3, 6, 9, 12, 15]  # the turn whose "done" was checked and rejected
    try:
        with ScriptedServer(Script(turns=turns)) as server:
            settings, make_model = agent_settings(server, max_steps=30)
            reconstruction = ModelReconstructor(settings, make_model).reconstruct(context)
            feedback = [server.requests[n + 1]["messages"][-1]["content"] for n in rejected_after]
        config = draft_config(context.candidate, context.qualification, reconstruction, "model")
        write_draft_config(context.workspace, config, instruction)
        yield Reconstructed(context, reconstruction, feedback, repo)
    finally:
        engine.close()


@pytest.mark.slow
def test_each_false_claim_of_the_reconstructor_is_caught_and_fed_back(
    reconstructed: Reconstructed,
) -> None:
    reconstruction, feedback = reconstructed.reconstruction, reconstructed.feedback
    assert reconstruction.status == "ok", reconstruction.message
    assert "does not build" in feedback[0] and "this-command-does-not-exist" in feedback[0]
    assert "`python -m pytest -q -k nope` at the start state ran no test" in feedback[1]
    assert "deselected" in feedback[1]
    assert "passes (exit 0) at the start state" in feedback[2]
    assert "solve.sh exits 0 but changes no file under /app" in feedback[3]
    assert "after solve.sh, the reproduction" in feedback[4] and "still fails" in feedback[4]
    assert "AssertionError" in feedback[4]
    assert reconstruction.reproduction == REPRODUCTION
    assert reconstruction.image and reconstruction.obstacles[0].summary == "no lock file"
    workspace = reconstructed.context.workspace
    assert "No surprises" in workspace.build_report_path.read_text()
    dockerfile = (workspace.draft / "environment" / "Dockerfile").read_text()
    assert dockerfile.startswith(DOCKERFILE_FIXED) and "useradd" in dockerfile


@pytest.mark.slow
def test_the_verifier_writer_learns_from_validation_and_keeps_the_users_request(
    reconstructed: Reconstructed,
) -> None:
    context, reconstruction = reconstructed.context, reconstructed.reconstruction
    repo = reconstructed.repo
    upstream_test = (repo / "tests" / "test_parse.py").read_text()
    upstream_conftest = (repo / "tests" / "conftest.py").read_text()
    composed = compose_instruction(context.candidate)
    out = "/kettle/out"
    turns = [
        turn("ls /kettle /kettle/upstream_tests/tests\n"),
        turn(write_file(f"{out}/tests/test.sh", WEAK_TEST)),
        *done_twice(),  # 1: the start state passes a verifier that always says 1
        turn(
            write_file(f"{out}/tests/test.sh", STRONG_TEST),
            write_file(f"{out}/tests/test_parse.py", upstream_test),
            write_file(f"{out}/tests/conftest.py", upstream_conftest),
            write_file(f"{out}/instruction.md", "Make the ledger report faster, please."),
        ),
        *done_twice(),  # 2: the instruction no longer carries the user's request
        turn(
            write_file(
                f"{out}/instruction.md",
                composed + "\nBoth notations mark debits: they are negative amounts.",
            )
        ),
        *done_twice(),
    ]
    with ScriptedServer(Script(turns=turns)) as server:
        settings, make_model = agent_settings(server)
        written = ModelVerifierWriter(settings, make_model).write_verifier(context, reconstruction)
        feedback = [server.requests[n]["messages"][-1]["content"] for n in (4, 7)]
    assert written.status == "ok", written.message
    assert "start_state" in feedback[0]
    assert "static:instruction_request" in feedback[1]
    assert "no longer carries the user's request" in feedback[1]
    assert written.instruction_changed
    instruction = (context.workspace.draft / "instruction.md").read_text()
    assert instruction.startswith(composed.rstrip()) and "negative amounts" in instruction
    assert sorted(written.test_files) == ["conftest.py", "test.sh", "test_parse.py"]
    trajectory = json.loads((context.workspace.trajectories / "verifier.json").read_text())
    assert trajectory["extra"]["status"] == "completed"
