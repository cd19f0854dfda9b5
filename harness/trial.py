"""A trial: one solver on one task in a fresh container, then the verifier.

The lifecycle reads like the domain: get the task's image, start a sandbox, let the solver
work (network as the task allows), then — only then — run the tests and read the reward.
The trial folder is the record: ``config.json``, ``result.json`` (with a top-level
``reward``), ``agent/`` (the solver's logs) and ``verifier/`` (reward file and test output).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from harness.errors import KettleError
from harness.sandbox import DockerEngine, SandboxSpec
from harness.solvers import DEFAULT_AGENT_TIMEOUT_SEC, SolveOutcome, Solver, SolverContext
from harness.task_image import TaskImages
from harness.verify import VerifierOutcome, prepare_for_solver, run_verifier
from tools.fsio import write_model
from tools.harbor_task import HarborTask


class TrialError(BaseModel):
    type: str
    message: str


class TrialTimings(BaseModel):
    image_sec: float = 0.0
    start_sec: float = 0.0
    agent_sec: float = 0.0
    verifier_sec: float = 0.0
    total_sec: float = 0.0


class TrialConfig(BaseModel):
    schema_version: int = 1
    trial_id: str
    task_id: str
    task_path: str
    agent: str
    run_id: str


class TrialResult(BaseModel):
    schema_version: int = 1
    trial_id: str
    task_id: str
    task_name: str
    agent: str
    reward: float | None = Field(None, description="None when the trial could not be scored")
    started_at: datetime
    finished_at: datetime | None = None
    timings: TrialTimings = Field(default_factory=TrialTimings)
    agent_result: SolveOutcome | None = None
    verifier_result: VerifierOutcome | None = None
    image: str | None = None
    error: TrialError | None = None


def run_trial(
    engine: DockerEngine,
    images: TaskImages,
    task: HarborTask,
    solver: Solver,
    trial_dir: Path,
    *,
    run_id: str,
    build_log: Path,
) -> TrialResult:
    """Run one trial and write its folder. Errors are recorded in the result, not raised."""
    trial_dir.mkdir(parents=True, exist_ok=True)
    write_model(
        trial_dir / "config.json",
        TrialConfig(
            trial_id=trial_dir.name,
            task_id=task.task_id,
            task_path=str(task.root),
            agent=solver.name,
            run_id=run_id,
        ),
    )
    result = TrialResult(
        trial_id=trial_dir.name,
        task_id=task.task_id,
        task_name=task.name,
        agent=solver.name,
        started_at=datetime.now(UTC),
    )
    started = time.monotonic()
    try:
        _run_phases(engine, images, task, solver, trial_dir, run_id, build_log, result)
    except KettleError as error:
        result.error = TrialError(type=type(error).__name__, message=str(error))
    finally:
        result.finished_at = datetime.now(UTC)
        result.timings.total_sec = round(time.monotonic() - started, 3)
        write_model(trial_dir / "result.json", result)
    return result


def _run_phases(
    engine: DockerEngine,
    images: TaskImages,
    task: HarborTask,
    solver: Solver,
    trial_dir: Path,
    run_id: str,
    build_log: Path,
    result: TrialResult,
) -> None:
    timings = result.timings
    mark = time.monotonic()
    result.image = images.ensure(task, build_log)
    timings.image_sec = _since(mark)
    environment = task.config.environment
    spec = SandboxSpec(
        image=result.image,
        run_id=run_id,
        role="trial",
        network="bridge",
        cpus=environment.cpus or 1.0,
        memory_mb=environment.memory_mb or 2048,
        env=environment.env,
        workdir=environment.workdir,
    )
    mark = time.monotonic()
    with engine.start(spec) as sandbox:
        prepare_for_solver(sandbox)
        sandbox.set_network(task.config.agent_internet)
        timings.start_sec = _since(mark)

        mark = time.monotonic()
        agent_config = task.config.agent
        context = SolverContext(
            sandbox=sandbox,
            task=task,
            agent_dir=trial_dir / "agent",
            deadline=mark + (agent_config.timeout_sec or DEFAULT_AGENT_TIMEOUT_SEC),
            user=str(agent_config.user) if agent_config.user is not None else None,
        )
        context.agent_dir.mkdir(parents=True, exist_ok=True)
        result.agent_result = solver.solve(context)
        timings.agent_sec = _since(mark)

        mark = time.monotonic()
        sandbox.set_network(task.config.environment.internet_allowed)
        result.verifier_result = run_verifier(sandbox, task, trial_dir / "verifier")
        timings.verifier_sec = _since(mark)
        sandbox.copy_out("/logs/agent", trial_dir / "agent")
    result.reward = result.verifier_result.reward
    if result.reward is None:
        # A verifier that cannot produce a reward failed the trial: score it 0, say why.
        result.reward = 0.0


def _since(mark: float) -> float:
    return round(time.monotonic() - mark, 3)
