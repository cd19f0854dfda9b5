"""The local executor: units run in the driver's own process, on the run folder itself."""

from __future__ import annotations

from pathlib import Path

from harness.executors.base import ExecutorKind, FolderJob, PayloadT, ResultT, RetryNote
from harness.run_budget import BudgetLimits, RunBudget, SharedBudget


class LocalExecutor:
    """Units run in the driver's own process, on the run folder itself."""

    name: ExecutorKind = "local"
    remote = False

    def __init__(self, slots: int = 1) -> None:
        self._slots = slots

    def slots(self) -> int:
        return self._slots

    def budget(self, limits: BudgetLimits) -> SharedBudget:
        return RunBudget.of(limits)

    def run_in_folder(
        self,
        job: FolderJob[PayloadT, ResultT],
        folder: Path,
        payload: PayloadT,
        *,
        label: str,
        on_retry: RetryNote | None = None,
    ) -> ResultT:
        folder.mkdir(parents=True, exist_ok=True)
        return job(folder, payload)

    def cancel_all(self) -> None:
        return None  # the driver's engine tears its own containers down

    def close(self) -> None:
        return None
