"""Run jobs on a schedule written in human durations."""

from timebox.duration import UNIT_SECONDS, format_duration, parse_duration
from timebox.schedule import Job, next_runs

__all__ = ["UNIT_SECONDS", "Job", "format_duration", "next_runs", "parse_duration"]
