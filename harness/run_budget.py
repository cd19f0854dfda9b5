"""A run's shared budget: dollars, tokens and wall time for all of its agents together.

Every agent loop of a run charges the same budget as it goes and stops once the run's
budget is spent, so N agents in parallel cannot overspend N times. On one machine the
budget is this object, shared by threads; on a Ray cluster it lives in one actor and every
worker talks to it (``harness.executors.ray``), so the budget holds across the cluster.

A call whose price is unknown is never counted as free: with a dollar budget and no token
budget, the first unpriced call ends the run's model work (``run_cost_unknown``), since
the dollars it spent cannot be known. ``harness.build`` refuses such a run at the start
unless the user gives a price or a token budget, so this is a last line of defence.
"""

from __future__ import annotations

import threading
import time
from typing import Literal, Protocol

from pydantic import BaseModel, Field

BudgetKind = Literal["run_cost", "run_cost_unknown", "run_tokens", "run_wall_time"]


class BudgetLimits(BaseModel):
    """What a run may spend in all; None means unlimited."""

    usd: float | None = Field(None, ge=0, description="Dollars (--budget-usd)")
    tokens: int | None = Field(None, ge=0, description="Prompt + completion tokens")
    wall_sec: float | None = Field(None, ge=0, description="Seconds from the run's start")


class SharedBudget(Protocol):
    """What an agent loop needs of the run's budget."""

    def add(self, dollars: float | None, tokens: int = 0) -> None:
        """Charge one model call: its cost (None: unknown price) and its tokens."""
        ...

    def remaining(self) -> float | None: ...

    def remaining_sec(self) -> float | None: ...

    def exhausted(self) -> BudgetKind | None: ...


class RunBudget:
    """Dollars and tokens spent and time left for a whole run."""

    def __init__(
        self,
        budget_usd: float | None,
        wall_sec: float | None = None,
        *,
        budget_tokens: int | None = None,
    ) -> None:
        self.budget_usd = budget_usd
        self.budget_tokens = budget_tokens
        self.wall_sec = wall_sec
        self._spent = 0.0
        self._tokens = 0
        self._unpriced_calls = 0
        self._started = time.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, limits: BudgetLimits) -> RunBudget:
        return cls(limits.usd, limits.wall_sec, budget_tokens=limits.tokens)

    def add(self, dollars: float | None, tokens: int = 0) -> None:
        with self._lock:
            self._tokens += tokens
            if dollars is None:
                self._unpriced_calls += 1
            else:
                self._spent += dollars

    @property
    def spent(self) -> float:
        with self._lock:
            return self._spent

    @property
    def tokens(self) -> int:
        with self._lock:
            return self._tokens

    @property
    def unpriced_calls(self) -> int:
        with self._lock:
            return self._unpriced_calls

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
        if self.budget_usd is not None and self.budget_tokens is None and self.unpriced_calls:
            return "run_cost_unknown"
        if self.budget_tokens is not None and self.tokens >= self.budget_tokens:
            return "run_tokens"
        seconds = self.remaining_sec()
        if seconds is not None and seconds <= 0:
            return "run_wall_time"
        return None
