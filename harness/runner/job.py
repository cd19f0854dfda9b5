"""A job: every (task, trial) pair for one solver, run N at a time, summarized.

Layout (the same shape Harbor users know)::

    <jobs-dir>/<job-id>/config.json
    <jobs-dir>/<job-id>/result.json           trials, mean reward, errors, timings
    <jobs-dir>/<job-id>/builds/<task>.log     image build logs
    <jobs-dir>/<job-id>/<task>__<n>/...       one folder per trial (see harness/runner/trial.py)

result.json is rewritten atomically after every trial, so a job killed at any point leaves
a consistent record of what finished. ``resume`` reruns a job folder: trials that finished
without an error are kept, the others (errored, interrupted, never started) run again.
Faults that no trial can get past — the job folder cannot be written, the Docker engine
stays away — stop the job with one clear error instead of failing every remaining trial.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import ConfigError, KettleError
from harness.fsio import read_model, storage_error, write_model
from harness.runner.records import JobConfig, JobResult, TrialResult, TrialSummary
from harness.runner.solvers import Solver
from harness.runner.trial import run_trial
from harness.sandbox.engine import DockerEngine
from harness.task.folder import HarborTask
from harness.task.image import TaskImages

log = logging.getLogger(__name__)

# How long a trial waits for a Docker engine that went away (restarted) before the job stops.
ENGINE_WAIT_SEC = 120.0


def new_job_id(now: datetime | None = None) -> str:
    return (now or datetime.now()).strftime("%Y-%m-%d__%H-%M-%S")


def run_job(
    engine: DockerEngine,
    images: TaskImages,
    tasks: list[HarborTask],
    make_solver: Callable[[], Solver],
    config: JobConfig,
    job_dir: Path,
    on_trial_done: Callable[[TrialResult], None] = lambda _result: None,
    *,
    resume: bool = False,
    engine_wait_sec: float = ENGINE_WAIT_SEC,
) -> JobResult:
    """Run every trial; write result.json after each one, so an interrupted job keeps its data."""
    if resume and (job_dir / "config.json").is_file():
        _check_same_job(read_model(job_dir / "config.json", JobConfig), config, job_dir)
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        write_model(job_dir / "config.json", config)
    except OSError as error:
        raise storage_error(error, job_dir / "config.json") from error
    started_at = datetime.now(UTC)
    planned = [
        (task, job_dir / f"{task.task_id}__{index + 1}")
        for task in tasks
        for index in range(config.trials_per_task)
    ]
    results: list[TrialResult] = []
    if resume:
        kept = {p.name: r for p in (d for _t, d in planned) if (r := _finished(p)) is not None}
        results = list(kept.values())
        planned = [(task, trial_dir) for task, trial_dir in planned if trial_dir.name not in kept]
        for _task, trial_dir in planned:
            shutil.rmtree(trial_dir, ignore_errors=True)  # a half-written earlier attempt
    n_planned = len(results) + len(planned)
    lock = threading.Lock()

    def one(task: HarborTask, trial_dir: Path) -> TrialResult:
        deadline = time.monotonic() + engine_wait_sec
        while True:
            # A restarted engine comes back within seconds; wait rather than fail the trial.
            engine.wait_until_reachable(max(deadline - time.monotonic(), 1.0))
            result = run_trial(
                engine,
                images,
                task,
                make_solver(),
                trial_dir,
                run_id=config.job_id,
                build_log=job_dir / "builds" / f"{task.task_id}.log",
                options=config.trial_options,
            )
            if not _engine_lost_before_agent(result) or time.monotonic() >= deadline:
                return result
            log.warning("%s: the Docker engine went away before the agent ran; retrying", task)
            time.sleep(2.0)

    def record(status: str, stopped_by: str | None = None, *, final: bool = False) -> JobResult:
        summary = summarize(config, started_at, results, status)
        summary.n_planned, summary.stopped_by = n_planned, stopped_by
        if final:
            summary.finished_at = datetime.now(UTC)
        try:
            write_model(job_dir / "result.json", summary)
        except OSError as error:
            raise storage_error(error, job_dir / "result.json") from error
        return summary

    try:
        with ThreadPoolExecutor(max_workers=max(config.concurrency, 1)) as pool:
            futures = [pool.submit(one, task, trial_dir) for task, trial_dir in planned]
            try:
                for future in as_completed(futures):
                    result = future.result()
                    with lock:
                        results.append(result)
                        record("running")
                    on_trial_done(result)
            except BaseException:
                _stop(futures, engine)
                raise
    except BaseException as error:
        engine.retry_deferred_removals()
        reason = str(error) if isinstance(error, KettleError) else type(error).__name__
        try:
            record("interrupted", reason, final=True)
        except KettleError:
            log.info("job result not updated (the folder cannot be written); the last one stays")
        raise
    # Containers the engine could not remove while it was away (a restart) go now.
    engine.retry_deferred_removals()
    return record("completed", final=True)


def _engine_lost_before_agent(result: TrialResult) -> bool:
    """Nothing of the agent ran (no cost, no outcome): the trial can simply run again."""
    error = result.error
    return (
        error is not None
        and error.type == "DockerUnavailableError"
        and error.phase in ("image", "start")
        and result.agent_result is None
    )


def _stop(futures: list[Future[TrialResult]], engine: DockerEngine) -> None:
    for future in futures:
        future.cancel()
    engine.close_all()  # running trials see their containers go and end quickly


def _finished(trial_dir: Path) -> TrialResult | None:
    """The trial's result when it finished without an error (kept on resume), else None."""
    path = trial_dir / "result.json"
    if not path.is_file():
        return None
    try:
        result = read_model(path, TrialResult)
    except KettleError:
        return None
    return result if result.error is None and result.finished_at is not None else None


def _check_same_job(existing: JobConfig, requested: JobConfig, job_dir: Path) -> None:
    for field in ("agent", "model", "trials_per_task", "task_paths"):
        if getattr(existing, field) != getattr(requested, field):
            raise ConfigError(
                f"{job_dir} holds a job with another {field} "
                f"({getattr(existing, field)!r}, not {getattr(requested, field)!r})",
                "resume with the same options, or pass another --job-name",
            )


def summarize(
    config: JobConfig, started_at: datetime, results: list[TrialResult], status: str
) -> JobResult:
    ordered = sorted(results, key=lambda r: r.trial_id)
    scored = [r.reward for r in ordered if r.reward is not None]
    by_task: dict[str, list[float]] = {}
    for result in ordered:
        if result.reward is not None:
            by_task.setdefault(result.task_id, []).append(result.reward)
    task_ids = sorted({r.task_id for r in ordered})
    costs = [
        r.agent_result.cost_usd
        for r in ordered
        if r.agent_result is not None and r.agent_result.cost_usd is not None
    ]
    return JobResult(
        job_id=config.job_id,
        agent=config.agent,
        status=status,
        started_at=started_at,
        n_trials=len(ordered),
        n_errors=sum(1 for r in ordered if r.error is not None),
        mean_reward=sum(scored) / len(scored) if scored else None,
        mean_reward_by_task={
            task_id: (
                sum(by_task[task_id]) / len(by_task[task_id]) if by_task.get(task_id) else None
            )
            for task_id in task_ids
        },
        trials=[
            TrialSummary(
                trial_id=r.trial_id,
                task_id=r.task_id,
                reward=r.reward,
                error=r.error.message if r.error else None,
                duration_sec=r.timings.total_sec,
            )
            for r in ordered
        ],
        cost_usd=sum(costs) if costs else None,
    )
