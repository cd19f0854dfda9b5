"""Stage orchestration: candidates in parallel, stages in order, resumable from the ledger.

Each candidate moves through ``agents.stages.STAGES`` on a worker thread (``-n`` at once).
Before a stage runs it is marked ``running`` in the ledger; after its outputs are on disk
it is marked with its outcome. A rerun repeats nothing marked ``done``; stages left
``running`` by a crash are repeated; failed stages are repeated only with ``retry_failed``.
On Ctrl-C the run stops taking work, tears its containers down, and leaves interrupted
stages to be repeated next time.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from pydantic import BaseModel, Field

from agents.approvals import ApprovalGate, ApproveMode
from agents.context import CandidateWorkspace, CostMeter, StageContext
from agents.ledger import Ledger
from agents.policies import Policies
from agents.stages import STAGE_FUNCTIONS, STAGES, CandidateRun, StageName, StageOutcome
from harness.errors import KettleError, RunStorageError
from harness.sandbox import DockerEngine
from harness.settings import Settings
from harness.task_image import TaskImages
from tools.fsio import is_storage_error, read_model, storage_error, write_model
from tools.git_repos import RepoCache
from tools.sessions.candidate import Candidate

log = logging.getLogger(__name__)

StageEvent = Callable[[str, str, StageOutcome, float], None]


class BuildConfig(BaseModel):
    schema_version: int = 1
    run_id: str
    inputs: list[str] = Field(default_factory=list, description="Session files and folders")
    repo_map: dict[str, str] = Field(default_factory=dict)
    source_format: str | None = None
    model: str | None = None
    api_base: str | None = None
    concurrency: int = 1
    approve: ApproveMode = "prompt"
    budget_usd: float | None = None
    last_stage: StageName = "publish"
    validation_repeats: int = 3
    retry_failed: bool = False
    max_steps: int = 60


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
        on_stage: StageEvent | None = None,
    ) -> None:
        self.config, self.run_dir, self.policies = config, run_dir, policies
        self.engine, self.settings, self.ledger, self.gate = engine, settings, ledger, gate
        self._on_stage = on_stage or (lambda *_: None)
        self._images = TaskImages(engine, settings)
        self._repos = RepoCache(settings.home / "repos")
        self._costs = CostMeter(config.budget_usd)
        self._stopping = threading.Event()
        self._stages = STAGES[: STAGES.index(config.last_stage) + 1]

    @property
    def costs(self) -> CostMeter:
        return self._costs

    def register(self, candidates: list[Candidate]) -> list[Candidate]:
        """Add new candidates to the ledger; known ones keep their stored (redacted) record."""
        ready: list[Candidate] = []
        for candidate in candidates:
            workspace = CandidateWorkspace(self.run_dir, candidate.id)
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
                self.engine.close_all()
                raise

    def _process(self, candidate: Candidate) -> None:
        if self._stopping.is_set():
            return
        context = StageContext(
            run_id=self.config.run_id,
            candidate=candidate,
            workspace=CandidateWorkspace(self.run_dir, candidate.id),
            engine=self.engine,
            images=self._images,
            settings=self.settings,
            repos=self._repos,
            costs=self._costs,
            validation_repeats=self.config.validation_repeats,
        )
        run = CandidateRun(context, self.policies, self.gate, self.ledger, self.run_dir / "tasks")
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
        remaining = self._costs.remaining()
        if remaining is not None and remaining <= 0 and stage in ("reconstruct", "verifier"):
            outcome = StageOutcome(status="failed", detail="run budget (--budget-usd) exhausted")
            self.ledger.finish(candidate_id, stage, "failed", detail=outcome.detail)
            return outcome
        self.ledger.start(candidate_id, stage)
        run.context.stage_cost_usd = None
        started = time.monotonic()
        try:
            outcome = STAGE_FUNCTIONS[stage](run)
        except RunStorageError:
            self._stopping.set()  # no candidate can write anything either: stop the run
            raise
        except OSError as error:
            if not is_storage_error(error):
                raise
            self._stopping.set()
            raise storage_error(error) from error
        except KettleError as error:
            outcome = StageOutcome(status="failed", detail=str(error))
        except Exception as error:  # a bug must not take the other candidates down
            self._write_crash_log(run, stage)
            outcome = StageOutcome(status="failed", detail=f"internal error: {error!r}")
        duration = time.monotonic() - started
        if self._stopping.is_set():
            return None  # interrupted: leave the stage 'running' so the rerun repeats it
        self.ledger.finish(
            candidate_id,
            stage,
            outcome.status,
            duration_sec=round(duration, 3),
            cost_usd=run.context.stage_cost_usd,
            detail=outcome.detail,
        )
        self._on_stage(candidate_id, stage, outcome, duration)
        return outcome

    def _write_crash_log(self, run: CandidateRun, stage: str) -> None:
        logs = run.context.workspace.logs
        logs.mkdir(parents=True, exist_ok=True)
        (logs / f"{stage}-crash.txt").write_text(traceback.format_exc(), encoding="utf-8")
        log.exception("stage %s of %s crashed", stage, run.candidate_id)
