"""Behaviour of stash's @cached: results are reused only for the same call."""

from __future__ import annotations

import pytest
from stash import cached


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting(func):
    """Wrap ``func`` so each real (uncached) call is recorded."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append((args, kwargs))
        return func(*args, **kwargs)

    wrapper.calls = calls
    return wrapper


RATES = {"USD": 1.0, "EUR": 0.9, "GBP": 0.8, "JPY": 150.0}


def make_convert(**options):
    @counting
    def convert(amount, *, currency="USD"):
        return round(amount * RATES[currency], 2)

    return cached(**options)(convert), convert.calls


def test_calls_differing_only_in_keyword_values_get_their_own_results():
    convert, _ = make_convert()

    assert convert(100, currency="EUR") == 90.0
    assert convert(100, currency="GBP") == 80.0
    assert convert(100, currency="JPY") == 15000.0
    assert convert(100, currency="EUR") == 90.0


def test_each_distinct_keyword_call_is_computed_once():
    convert, calls = make_convert()

    for _ in range(3):
        convert(100, currency="EUR")
        convert(100, currency="GBP")

    assert len(calls) == 2
    assert convert.cache_info().hits == 4
    assert convert.cache_info().currsize == 2


def test_keyword_values_count_with_several_keywords_and_typed_keys():
    @cached(typed=True)
    def label(*, name, width):
        return name.ljust(width, ".")

    assert label(name="ab", width=4) == "ab.."
    assert label(name="ab", width=6) == "ab...."
    assert label(width=3, name="xyz") == "xyz"


def test_invalidate_forgets_only_the_named_call():
    convert, calls = make_convert()
    convert(100, currency="EUR")
    convert(100, currency="GBP")
    assert len(calls) == 2

    assert convert.invalidate(100, currency="EUR") is True
    assert convert.invalidate(100, currency="EUR") is False
    assert convert(100, currency="GBP") == 80.0
    assert len(calls) == 2
    assert convert(100, currency="EUR") == 90.0
    assert len(calls) == 3


def test_repeated_identical_calls_are_served_from_the_cache():
    convert, calls = make_convert()

    assert [convert(5) for _ in range(3)] == [5.0, 5.0, 5.0]
    assert [convert(5, currency="EUR") for _ in range(3)] == [4.5, 4.5, 4.5]
    assert len(calls) == 2


def test_keyword_order_does_not_create_separate_entries():
    @counting
    def area(*, width, height):
        return width * height

    cached_area = cached()(area)

    assert cached_area(width=2, height=3) == 6
    assert cached_area(height=3, width=2) == 6
    assert len(area.calls) == 1


def test_positional_arguments_still_distinguish_calls():
    convert, calls = make_convert()

    assert convert(1) == 1.0
    assert convert(2) == 2.0
    assert len(calls) == 2


def test_entries_expire_after_ttl():
    clock = FakeClock()
    convert, calls = make_convert(ttl=10, clock=clock)

    convert(100, currency="EUR")
    clock.now += 9.5
    convert(100, currency="EUR")
    assert len(calls) == 1
    clock.now += 1
    convert(100, currency="EUR")
    assert len(calls) == 2


def test_least_recently_used_entry_is_dropped_past_maxsize():
    convert, calls = make_convert(maxsize=2)

    convert(1)
    convert(2)
    convert(1)
    convert(3)
    assert convert.cache_info().currsize == 2
    convert(1)
    assert len(calls) == 3
    convert(2)
    assert len(calls) == 4


def test_typed_keeps_int_and_float_apart():
    @counting
    def describe(value):
        return type(value).__name__

    typed = cached(typed=True)(describe)

    assert typed(1) == "int"
    assert typed(1.0) == "float"
    assert len(describe.calls) == 2


@pytest.mark.parametrize("kwargs", [{"ttl": 0}, {"maxsize": -1}])
def test_invalid_options_are_rejected(kwargs):
    with pytest.raises(ValueError):
        cached(**kwargs)(lambda: None)
