"""Ideal control for timebox-compound-durations, written from the user's words only.

Public API only (parse_duration, format_duration, Job, next_runs). The error wording is not
pinned: the user asked for a ValueError that shows the bad value.
"""

from datetime import datetime
from decimal import Decimal
from itertools import combinations

import pytest
from timebox import Job, format_duration, next_runs, parse_duration

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def test_the_reported_durations_are_90_minutes() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1h 30m") == 5400


def test_a_job_every_1h30m_runs_every_90_minutes() -> None:
    start = datetime(2025, 4, 1, 2, 0)
    job = Job("nightly-export", "export.sh", "1h30m", start)
    assert next_runs(job, start) == [
        datetime(2025, 4, 1, 3, 30),
        datetime(2025, 4, 1, 5, 0),
        datetime(2025, 4, 1, 6, 30),
    ]


@pytest.mark.parametrize("separator", ["", " "])
@pytest.mark.parametrize("size", [2, 3, 4])
def test_any_units_from_days_down_to_seconds_add_up(separator: str, size: int) -> None:
    amounts = {"d": 2, "h": 7, "m": 45, "s": 9}
    for units in combinations("dhms", size):
        text = separator.join(f"{amounts[unit]}{unit}" for unit in units)
        assert parse_duration(text) == sum(amounts[unit] * UNITS[unit] for unit in units), text


@pytest.mark.parametrize(
    "seconds",
    [0, 1, 59, 60, 61, 3599, 3600, 3601, 3605, 3660, 5400, 86399, 86400, 86401, 86460,
     90000, 93784, 93905, 172800, 1_000_000, *range(7, 400_000, 3_989)],
)
def test_what_format_duration_prints_parses_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_the_example_format_parses_back() -> None:
    assert parse_duration("1d 2h 5m") == 86400 + 2 * 3600 + 5 * 60


@pytest.mark.parametrize(
    "number",
    ["0", "1", "15", "90", "0.5", "1.5", "0.25", "0.7", "1.4", "2.3", "4.1", "8.2", "0.01",
     "2.05", "9.03", "12.75"],
)
@pytest.mark.parametrize("unit", ["d", "h", "m", "s"])
def test_single_unit_values_parse_as_before(number: str, unit: str) -> None:
    # Before the change a single value meant int(Decimal(number) * unit), fractions cut off.
    assert parse_duration(f"{number}{unit}") == int(Decimal(number) * UNITS[unit])


@pytest.mark.parametrize(("text", "seconds"), [("2 m", 120), (" 10S ", 10), ("1.5H", 5400)])
def test_single_unit_spellings_that_worked_still_work(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["1h1h", "30m1h", "1s1m", "1h 1h", "30m 1h", "1d1d", "1h30m1h", "1h 30m 1h", "5s 2d",
     "1m 2h 3s", "1d 1m 2h"],
)
def test_repeated_or_unordered_units_are_refused(text: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_duration(text)
    assert text in str(error.value)


@pytest.mark.parametrize(
    "text",
    ["1h 30", "1 5m", "1h 3 0m", "1h-30m", "1h,30m", "2d 3x", "h1", "1h30mm", "ten minutes", "",
     "5", "-3m", "3w", "m"],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_duration(text)
    assert text in str(error.value)
