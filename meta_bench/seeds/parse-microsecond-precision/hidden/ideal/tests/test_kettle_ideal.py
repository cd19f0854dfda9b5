"""Ideal control for parse-microsecond-precision, written from the user's words only.

Public API only (parse.parse with the {:ti} and {:tg} types). The parsed microseconds must
be exactly the fraction's digits: shorter fractions are padded (.5 is 500000), digits past
the sixth are dropped as datetime.fromisoformat does, never rounded up.
"""

from datetime import datetime

import parse
import pytest

# Six-digit fractions, including every one in 0..999999 stepping by 997 and values whose
# float reading is one below (e.g. .000249, .501902, .502813).
SIX_DIGITS = sorted({f"{n:06d}" for n in range(0, 1_000_000, 997)}
                    | {"000249", "000251", "501902", "502813", "999999", "000001", "100000"})


def iso(fraction: str, suffix: str = "") -> datetime:
    return parse.parse("{:ti}", f"2024-02-19T08:15:42.{fraction}{suffix}")[0]


def test_the_reported_timestamp() -> None:
    assert parse.parse("{:ti}", "2024-02-19T08:15:42.502813")[0] == datetime(
        2024, 2, 19, 8, 15, 42, 502813
    )


@pytest.mark.parametrize("suffix", ["", "Z", "+01:00"])
def test_six_digit_fractions_are_taken_digit_for_digit(suffix: str) -> None:
    wrong = {f: iso(f, suffix).microsecond for f in SIX_DIGITS if iso(f, suffix).microsecond != int(f)}
    assert wrong == {}


def test_shorter_fractions_are_padded() -> None:
    fractions = [f"{n:0{width}d}" for width in (1, 2, 3) for n in range(10**width)]
    fractions += [f"{n:04d}" for n in range(0, 10_000, 7)] + [f"{n:05d}" for n in range(0, 100_000, 71)]
    fractions += ["0157", "0314", "00397", "00785"]
    for fraction in fractions:
        assert iso(fraction).microsecond == int(fraction.ljust(6, "0")), fraction
    assert iso("5").microsecond == 500000


@pytest.mark.parametrize(
    ("fraction", "microsecond"),
    [("1234567", 123456), ("5028139", 502813), ("502813999", 502813), ("999999999", 999999),
     ("0002490", 249), ("000249000", 249), ("5019020", 501902), ("501902000000", 501902),
     ("9999995", 999999)],
)
def test_digits_past_the_sixth_are_dropped(fraction: str, microsecond: int) -> None:
    parsed = iso(fraction, "Z")
    assert parsed.microsecond == microsecond
    assert parsed.second == 42


def test_more_digits_never_round_up_past_the_text() -> None:
    for n in range(0, 1_000_000, 4_999):
        fraction = f"{n:06d}999"
        assert iso(fraction).microsecond == n, fraction


@pytest.mark.parametrize("fraction", ["502813", "000249", "501902", "5", "25", "0157", "1234567", "502813999"])
def test_the_older_log_format_is_exact_too(fraction: str) -> None:
    parsed = parse.parse("{:tg}", f"19/02/2024 08:15:42.{fraction}")[0]
    assert parsed.microsecond == int(fraction[:6].ljust(6, "0"))
    assert (parsed.year, parsed.month, parsed.day, parsed.second) == (2024, 2, 19, 42)


def test_older_format_sweep() -> None:
    for fraction in SIX_DIGITS[::7]:
        parsed = parse.parse("{:tg}", f"19/02/2024 08:15:42.{fraction}")[0]
        assert parsed.microsecond == int(fraction), fraction


def test_timestamps_without_a_fraction_have_no_microseconds() -> None:
    assert parse.parse("{:ti}", "2024-02-19T08:15:42")[0].microsecond == 0
    assert parse.parse("{:tg}", "19/02/2024 08:15:42")[0].microsecond == 0
