"""Ideal control for humanize-naturalsize-one-byte, written from the user's words only.

Public API only (humanize.naturalsize). One byte is "1 Byte" (negative: "-1 Byte") however
it arrives (int, float, string); the gnu=True style, where one byte is "1B", stays as it is.
"""

from __future__ import annotations

import pytest

import humanize


@pytest.mark.parametrize("value", [1, 1.0, "1", "1.0", "1.00"])
@pytest.mark.parametrize("binary", [False, True])
def test_one_byte_is_always_1_byte(value: object, binary: bool) -> None:
    assert humanize.naturalsize(value, binary) == "1 Byte"


@pytest.mark.parametrize("value", [-1, -1.0, "-1", "-1.0"])
@pytest.mark.parametrize("binary", [False, True])
def test_minus_one_byte_is_minus_1_byte(value: object, binary: bool) -> None:
    assert humanize.naturalsize(value, binary) == "-1 Byte"


def test_the_reported_values() -> None:
    assert humanize.naturalsize(1.0) == "1 Byte"
    assert humanize.naturalsize(1) == "1 Byte"
    assert humanize.naturalsize(2.0) == "2 Bytes"
    assert humanize.naturalsize("1") == "1 Byte"
    assert humanize.naturalsize(-1.0) == "-1 Byte"


def test_a_custom_format_does_not_bring_decimals_back() -> None:
    assert humanize.naturalsize(1.0, format="%.3f") == "1 Byte"
    assert humanize.naturalsize(-1.0, True, format="%.2f") == "-1 Byte"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1, "1B"), (1.0, "1B"), ("1", "1B"), ("1.0", "1B"), (-1, "-1B"), (-1.0, "-1B"),
     ("-1", "-1B"), (2.0, "2B"), (300, "300B"), (3000, "2.9K"), (1.123456789, "1B")],
)
def test_the_gnu_style_stays_as_it_is(value: object, shown: str) -> None:
    assert humanize.naturalsize(value, gnu=True) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2.0, "2 Bytes"), ("2", "2 Bytes"), (300.0, "300 Bytes"), (-2.0, "-2 Bytes"),
     (1000.0, "1.0 kB"), ("3000000", "3.0 MB"), (1024.0, "1.0 kB")],
)
def test_other_sizes_from_floats_and_strings_look_like_the_rest(value: object, shown: str) -> None:
    assert humanize.naturalsize(value) == shown
