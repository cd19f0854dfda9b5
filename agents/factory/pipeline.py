"""Stage orchestration: candidates in parallel, stages in order, resumable from the ledger.

Each candidate moves through ``agents.factory.records.STAGES`` on a driver thread (``-n`` at once).
Before a stage runs it is marked ``running`` in the ledger; after its outputs are on disk
it is marked with its outcome. A rerun repeats nothing marked ``done``; stages left
``running`` by a crash are repeated; failed stages are repeated only with ``retry_failed``.
On Ctrl-C the run stops taking work, tears its containers down, and leaves interrupted
stages to be repeated next time.

Where a work stage runs is the executor's business (``harness.executors.base``): in this
process, or on a node of a Ray cluster with the candidate's folder shipped there and back.
Either way only this process writes the ledger, so a run begun with one executor can be
finished with the other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from agents.context import CandidateWorkspace, StageContext
from agents.factory.approvals import ApprovalGate
from agents.factory.ledger import Ledger
from agents.factory.policies import Policies
from agents.factory.records import STAGES, BuildConfig, StageName, StageOutcome, StageReply
from agents.factory.remote_stage import StageJob, run_stage_here
from agents.factory.stages import WORKER_STAGES, CandidateRun, DriverServices, execute_stage
from harness.errors import ExecutorCancelled, ExecutorError, RunStorageError
from harness.executors.base import Executor
from harness.executors.folder_transfer import restore_folder
from harness.executors.local import LocalExecutor
from harness.fsio import read_model, write_model
from harness.run_budget import BudgetLimits, SharedBudget
from harness.sandbox.engine import DockerEngine
from harness.settings import Settings
from harness.task.image import TaskImages
from tools.repos.git import RepoCache
from tools.sessions.records import Candidate

log = logging.getLogger(__name__)

StageEvent = Callable[[str, str, StageOutcome, float], None]

# Why a model-driven stage does not start once the run's budget is spent.
_SPENT = {
    "run_cost": "run budget (--budget-usd) exhausted",
    "run_tokens": "run token budget (--budget-tokens) exhausted",
    "run_cost_unknown": "a model call had no known price, so --budget-usd could not be held",
}


class Pipeline:
    def __init__(
        self,
        config: BuildConfig,
        run_dir: Path,
        policies: Policies,
        engine: DockerEngine,
        settings: Settings,
        ledger: Ledger,
        gate: ApprovalGate,
        *,
        executor: Executor | None = None,
        on_stage: StageEvent | None = None,
    ) -> None:
        self.config, self.run_dir, self.policies = config, run_dir, policies
        self.engine, self.settings, self.ledger, self.gate = engine, settings, ledger, gate
        self.executor = executor or LocalExecutor(config.concurrency)
        self._on_stage = on_stage or (lambda *_: None)
        self._images = TaskImages(engine, settings)
        self._repos = RepoCache(settings.home / "repos")
        wall_sec = config.budget_minutes * 60 if config.budget_minutes is not None else None
        self._costs = self.executor.budget(
            BudgetLimits(usd=config.budget_usd, tokens=config.budget_tokens, wall_sec=wall_sec)
        )
        self._stopping = threading.Event()
        self.out_of_time = False  # the run's wall-time budget ended it; a rerun continues
        self._stages = STAGES[: STAGES.index(config.last_stage) + 1]

    @property
    def costs(self) -> SharedBudget:
        return self._costs

    def register(self, candidates: list[Candidate]) -> list[Candidate]:
        """Add new candidates to the ledger; known ones keep their stored (redacted) record."""
        ready: list[Candidate] = []
        for candidate in candidates:
            workspace = CandidateWorkspace(self.run_dir, candidate.id)
            restore_folder(workspace.root)  # a folder swap a crash cut short (Ray executor)
            if workspace.candidate_path.is_file():
                candidate = read_model(workspace.candidate_path, Candidate)
            else:
                write_model(workspace.candidate_path, candidate)
            self.ledger.add_candidate(candidate.id, candidate.source_path, list(STAGES))
            ready.append(candidate)
        return ready

    def stored_candidates(self) -> list[Candidate]:
        """Every candidate of an earlier run of this folder (for a rerun without inputs)."""
        return [
            read_model(CandidateWorkspace(self.run_dir, cid).candidate_path, Candidate)
            for cid in self.ledger.candidate_ids()
        ]

    def run(self, candidates: list[Candidate]) -> None:
        self.ledger.recover_interrupted()
        if self.config.retry_failed:
            self.ledger.reopen(("failed",))
        workers = max(self.config.concurrency, 1)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="candidate") as pool:
            futures = [pool.submit(self._process, candidate) for candidate in candidates]
            try:
                for future in as_completed(futures):
                    future.result()
            except BaseException:
                self._stopping.set()
                for future in futures:
                    future.cancel()
                self.executor.cancel_all()
                self.engine.close_all()
                raise

    def _process(self, candidate: Candidate) -> None:
        if self._stopping.is_set():
            return
        workspace = CandidateWorkspace(self.run_dir, candidate.id)
        context = StageContext(
            run_id=self.config.run_id,
            candidate=candidate,
            workspace=workspace,
            engine=self.engine,
            images=self._images,
            settings=self.settings,
            repos=self._repos,
            costs=self._costs,
            qualification=workspace.stored_qualification(),
            validation_repeats=self.config.validation_repeats,
        )
        driver = DriverServices(self.gate, self.ledger, self.run_dir / "tasks")
        run = CandidateRun(context, self.policies, driver)
        for index, stage in enumerate(self._stages):
            record = self.ledger.stage(candidate.id, stage)
            if record.status in ("done", "skipped"):
                continue
            if record.status == "failed" or self._stopping.is_set():
                return
            outcome = self._run_stage(run, stage)
            if outcome is None or outcome.status != "done":
                return
            if outcome.stop:
                for later in STAGES[index + 1 :]:
                    self.ledger.finish(candidate.id, later, "skipped", detail=f"after {stage}")
                return

    def _run_stage(self, run: CandidateRun, stage: StageName) -> StageOutcome | None:
        candidate_id = run.candidate_id
        exhausted = self._costs.exhausted()
        if exhausted == "run_wall_time":
            self.out_of_time = True  # leave the stage pending: a rerun goes on from here
            return None
        if exhausted in _SPENT and stage in ("reconstruct", "verifier"):
            outcome = StageOutcome(status="failed", detail=_SPENT[exhausted])
            self.ledger.finish(candidate_id, stage, "failed", detail=outcome.detail)
            return outcome
        self.ledger.start(candidate_id, stage)
        retries: list[str] = []
        started = time.monotonic()
        try:
            if self.executor.remote and stage in WORKER_STAGES:
                reply = self._run_elsewhere(run, stage, retries)
            else:
                outcome = execute_stage(run, stage)
                reply = StageReply(outcome=outcome, cost_usd=run.context.stage_cost_usd)
        except RunStorageError:
            self._stopping.set()  # no candidate can write anything either: stop the run
            raise
        except ExecutorCancelled:
            return None
        except ExecutorError as error:
            reply = StageReply(outcome=StageOutcome(status="failed", detail=str(error)))
        duration = time.monotonic() - started
        if self._stopping.is_set():
            return None  # interrupted: leave the stage 'running' so the rerun repeats it
        outcome = reply.outcome
        detail = outcome.detail
        if retries:
            detail = f"{detail or outcome.status} (retried: {'; '.join(retries)})"
        self.ledger.finish(
            candidate_id,
            stage,
            outcome.status,
            duration_sec=round(duration, 3),
            cost_usd=reply.cost_usd,
            detail=detail,
        )
        self._on_stage(candidate_id, stage, outcome, duration)
        return outcome

    def _run_elsewhere(self, run: CandidateRun, stage: StageName, retries: list[str]) -> StageReply:
        """Ship the stage and the candidate's folder to a node; the folder comes back."""
        candidate_id = run.candidate_id

        def note_retry(attempt: int, what: str) -> None:
            retries.append(what)
            self.ledger.note_retry(candidate_id, stage, what)

        job = StageJob(
            run_id=self.config.run_id,
            stage=stage,
            policies=self.policies,
            budget=self._costs,
            validation_repeats=self.config.validation_repeats,
        )
        reply = self.executor.run_in_folder(
            run_stage_here,
            run.context.workspace.root,
            job,
            label=f"{candidate_id} {stage}",
            on_retry=note_retry,
        )
        # The node may have rewritten the candidate (redaction) and the qualification.
        run.context.candidate = read_model(run.context.workspace.candidate_path, Candidate)
        run.context.qualification = run.context.workspace.stored_qualification()
        return reply
