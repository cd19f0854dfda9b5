"""Outcome tests written from the user's words (public API only: croniter(...).get_prev/get_next)."""

from datetime import datetime

import pytest

from croniter import croniter


def prev(expr, start):
    return croniter(expr, start).get_prev(datetime)


def nxt(expr, start):
    return croniter(expr, start).get_next(datetime)


@pytest.mark.parametrize(
    "start",
    [datetime(2024, 3, 1, 12), datetime(2024, 3, 15), datetime(2024, 3, 28, 23, 59)],
)
def test_billing_schedule_finds_leap_day(start):
    assert prev("0 0 29 * *", start) == datetime(2024, 2, 29)


def test_other_leap_years():
    assert prev("0 0 29 * *", datetime(2028, 3, 10)) == datetime(2028, 2, 29)
    assert prev("0 0 29 * *", datetime(2020, 3, 20, 8, 30)) == datetime(2020, 2, 29)


def test_year_2000_was_a_leap_year():
    assert prev("0 0 29 * *", datetime(2000, 3, 15)) == datetime(2000, 2, 29)


def test_list_including_29th():
    assert prev("0 0 10,29 * *", datetime(2024, 3, 5)) == datetime(2024, 2, 29)
    assert prev("0 0 29,30 * *", datetime(2024, 3, 15)) == datetime(2024, 2, 29)


def test_time_of_day_schedule():
    assert prev("30 12 29 * *", datetime(2024, 3, 15)) == datetime(2024, 2, 29, 12, 30)


def test_normal_year_has_no_leap_day():
    assert prev("0 0 29 * *", datetime(2023, 3, 15)) == datetime(2023, 1, 29)
    assert prev("0 0 10,29 * *", datetime(2023, 3, 5)) == datetime(2023, 2, 10)
    assert prev("0 0 29,30 * *", datetime(2023, 3, 15)) == datetime(2023, 1, 30)


def test_normal_year_other_schedule_unchanged():
    it = croniter("0 0 16,30 * *", datetime(2023, 3, 16, 1))
    assert [it.get_prev(datetime) for _ in range(3)] == [
        datetime(2023, 3, 16),
        datetime(2023, 2, 16),
        datetime(2023, 1, 30),
    ]


def test_from_january_goes_to_previous_december():
    assert prev("0 0 29 * *", datetime(2024, 1, 15)) == datetime(2023, 12, 29)


def test_walking_back_through_a_leap_year():
    it = croniter("0 0 29 * *", datetime(2024, 4, 1))
    runs = [it.get_prev(datetime) for _ in range(4)]
    assert runs == [
        datetime(2024, 3, 29),
        datetime(2024, 2, 29),
        datetime(2024, 1, 29),
        datetime(2023, 12, 29),
    ]


def test_get_next_unchanged():
    assert nxt("0 0 29 * *", datetime(2024, 2, 1)) == datetime(2024, 2, 29)
    assert nxt("0 0 29 * *", datetime(2023, 2, 1)) == datetime(2023, 3, 29)
    assert nxt("0 6 */7 * *", datetime(2024, 2, 28)) == datetime(2024, 2, 29, 6)
