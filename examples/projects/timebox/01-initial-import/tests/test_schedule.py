from datetime import datetime

import pytest
from timebox import Job, next_runs

START = datetime(2025, 4, 1, 9, 0)


def test_runs_follow_the_interval() -> None:
    job = Job("backup", "backup.sh", "15m", START)
    assert next_runs(job, datetime(2025, 4, 1, 9, 20)) == [
        datetime(2025, 4, 1, 9, 30),
        datetime(2025, 4, 1, 9, 45),
        datetime(2025, 4, 1, 10, 0),
    ]


def test_before_the_start_the_first_run_is_the_start() -> None:
    job = Job("report", "report.sh", "2h", START)
    assert next_runs(job, datetime(2025, 3, 31), count=1) == [START]


def test_zero_interval_is_an_error() -> None:
    with pytest.raises(ValueError, match="longer than 0s"):
        next_runs(Job("spin", "true", "0s", START), START)
