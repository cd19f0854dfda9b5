"""A job: every (task, trial) pair for one solver, run N at a time, summarized.

Layout (the same shape Harbor users know)::

    <jobs-dir>/<job-id>/config.json
    <jobs-dir>/<job-id>/result.json           trials, mean reward, errors, timings
    <jobs-dir>/<job-id>/builds/<task>.log     image build logs
    <jobs-dir>/<job-id>/<task>__<n>/...       one folder per trial (see harness/trial.py)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from harness.sandbox import DockerEngine
from harness.solvers import Solver
from harness.task_image import TaskImages
from harness.trial import TrialResult, run_trial
from tools.fsio import write_model
from tools.harbor_task import HarborTask


class JobConfig(BaseModel):
    schema_version: int = 1
    job_id: str
    task_paths: list[str]
    agent: str
    model: str | None = None
    trials_per_task: int = 1
    concurrency: int = 1
    created_at: datetime


class TrialSummary(BaseModel):
    trial_id: str
    task_id: str
    reward: float | None
    error: str | None = None
    duration_sec: float


class JobResult(BaseModel):
    schema_version: int = 1
    job_id: str
    agent: str
    status: str = Field(description="completed | interrupted")
    started_at: datetime
    finished_at: datetime | None = None
    n_trials: int
    n_errors: int
    mean_reward: float | None
    mean_reward_by_task: dict[str, float | None]
    trials: list[TrialSummary]
    cost_usd: float | None = None


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
) -> JobResult:
    """Run every trial; write result.json after each one, so an interrupted job keeps its data."""
    job_dir.mkdir(parents=True, exist_ok=True)
    write_model(job_dir / "config.json", config)
    started_at = datetime.now(UTC)
    planned = [
        (task, job_dir / f"{task.task_id}__{index + 1}")
        for task in tasks
        for index in range(config.trials_per_task)
    ]
    results: list[TrialResult] = []
    lock = threading.Lock()

    def one(task: HarborTask, trial_dir: Path) -> TrialResult:
        return run_trial(
            engine,
            images,
            task,
            make_solver(),
            trial_dir,
            run_id=config.job_id,
            build_log=job_dir / "builds" / f"{task.task_id}.log",
        )

    status = "interrupted"
    try:
        with ThreadPoolExecutor(max_workers=max(config.concurrency, 1)) as pool:
            futures = [pool.submit(one, task, trial_dir) for task, trial_dir in planned]
            try:
                for future in as_completed(futures):
                    result = future.result()
                    with lock:
                        results.append(result)
                        write_model(
                            job_dir / "result.json",
                            summarize(config, started_at, results, "running"),
                        )
                    on_trial_done(result)
            except BaseException:
                for future in futures:
                    future.cancel()
                engine.close_all()
                raise
        status = "completed"
    finally:
        final = summarize(config, started_at, results, status)
        final.finished_at = datetime.now(UTC)
        write_model(job_dir / "result.json", final)
    return final


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
