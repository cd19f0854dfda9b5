"""One candidate-stage as a unit of work for any node: the job, and what comes back.

The node gets the candidate's folder (``harness.executors.base``), builds its own services
(its Docker engine, its settings, its repo cache) and runs the very stage function the
local pipeline runs. The driver records the reply in the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.context import CandidateWorkspace, StageContext
from agents.factory.policies import Policies
from agents.factory.records import StageName, StageOutcome, StageReply
from agents.factory.stages import CandidateRun, execute_stage
from harness.errors import RunStorageError
from harness.fsio import read_model
from harness.run_budget import SharedBudget
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from harness.task.image import TaskImages
from tools.repos.git import RepoCache
from tools.sessions.records import Candidate


@dataclass(frozen=True)
class StageJob:
    run_id: str
    stage: StageName
    policies: Policies
    budget: SharedBudget  # the run's, shared across the cluster
    validation_repeats: int = 3


def run_stage_here(folder: Path, job: StageJob) -> StageReply:
    """Run ``job.stage`` on the candidate folder ``folder``, on this node's engine."""
    settings = Settings.from_env()
    engine = DockerEngine.connect()
    try:
        workspace = CandidateWorkspace.at(folder)
        context = StageContext(
            run_id=job.run_id,
            candidate=read_model(workspace.candidate_path, Candidate),
            workspace=workspace,
            engine=engine,
            images=TaskImages(engine, settings),
            settings=settings,
            repos=RepoCache(settings.home / "repos"),
            costs=job.budget,
            qualification=workspace.stored_qualification(),
            validation_repeats=job.validation_repeats,
        )
        try:
            outcome = execute_stage(CandidateRun(context, job.policies), job.stage)
        except RunStorageError as error:
            # This node's disk is full; the driver's run folder may be fine.
            outcome = StageOutcome(status="failed", detail=f"on a worker node: {error}")
        return StageReply(outcome=outcome, cost_usd=context.stage_cost_usd)
    finally:
        engine.close()
