"""A run's shared budget: dollars and wall time for all of its agents together.

Every agent loop of a run charges the same budget as it goes and stops once the run's
budget is spent, so N agents in parallel cannot overspend N times. On one machine the
budget is this object, shared by threads; on a Ray cluster it lives in one actor and every
worker talks to it (``harness.executors.ray``), so the budget holds across the cluster.
"""

from __future__ import annotations

import threading
import time
from typing import Literal, Protocol

BudgetKind = Literal["run_cost", "run_wall_time"]


class SharedBudget(Protocol):
    """What an agent loop needs of the run's budget."""

    def add(self, dollars: float | None) -> None: ...

    def remaining(self) -> float | None: ...

    def remaining_sec(self) -> float | None: ...

    def exhausted(self) -> BudgetKind | None: ...


class RunBudget:
    """Dollars spent and time left for a whole run; None limits mean unlimited."""

    def __init__(self, budget_usd: float | None, wall_sec: float | None = None) -> None:
        self.budget_usd = budget_usd
        self.wall_sec = wall_sec
        self._spent = 0.0
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def add(self, dollars: float | None) -> None:
        if dollars:
            with self._lock:
                self._spent += dollars

    @property
    def spent(self) -> float:
        with self._lock:
            return self._spent

    def remaining(self) -> float | None:
        if self.budget_usd is None:
            return None
        return max(self.budget_usd - self.spent, 0.0)

    def remaining_sec(self) -> float | None:
        if self.wall_sec is None:
            return None
        return max(self.wall_sec - (time.monotonic() - self._started), 0.0)

    def exhausted(self) -> BudgetKind | None:
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            return "run_cost"
        seconds = self.remaining_sec()
        if seconds is not None and seconds <= 0:
            return "run_wall_time"
        return None
