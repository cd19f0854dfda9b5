"""Jobs and when they run next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from timebox.duration import parse_duration


@dataclass(frozen=True)
class Job:
    """A command to run every ``every`` (a duration such as "15m"), from ``start`` on."""

    name: str
    command: str
    every: str
    start: datetime

    @property
    def interval(self) -> timedelta:
        seconds = parse_duration(self.every)
        if seconds <= 0:
            raise ValueError(f"job {self.name}: the interval must be longer than 0s")
        return timedelta(seconds=seconds)


def next_runs(job: Job, after: datetime, count: int = 3) -> list[datetime]:
    """The job's next ``count`` run times strictly after ``after``."""
    interval = job.interval
    if after < job.start:
        first = job.start
    else:
        elapsed = (after - job.start) // interval + 1
        first = job.start + elapsed * interval
    return [first + n * interval for n in range(count)]
