import pytest
from timebox import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1.5h", 5400), ("2 m", 120), (" 10S ", 10)],
)
def test_single_units(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "5", "-3m", "3w", "m"])
def test_text_that_is_not_a_duration_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (5400, "1h 30m"), (3661, "1h 1m 1s"), (93784, "1d 2h 3m 4s")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_negative_durations_cannot_be_formatted() -> None:
    with pytest.raises(ValueError):
        format_duration(-1)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("2d 4h", 187200),
        ("1d2h3m4s", 93784),
        ("1H 5M", 3900),
        ("0.5h 15m", 2700),
        (" 3m  20s ", 200),
    ],
)
def test_several_units_add_up(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("seconds", [1, 59, 61, 3600, 5400, 86399, 90061, 172800])
def test_formatted_durations_parse_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["1h1h", "30m1h", "1s1m", "1h 30", "1h-30m", "2d 3x"])
def test_repeated_or_unordered_units_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)
