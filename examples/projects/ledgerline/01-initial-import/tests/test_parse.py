from datetime import date
from decimal import Decimal

import pytest
from ledgerline.parse import parse_amount, read_statement


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.00", "12.00"),
        ("-3.20", "-3.20"),
        ("1,234.56", "1234.56"),
        ("$12.00", "12.00"),
        ("-€7.25", "-7.25"),
        (" 7 ", "7"),
    ],
)
def test_plain_amounts(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


def test_text_that_is_not_an_amount_is_rejected() -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount("twelve")


def test_read_statement(sample_lines: list[str]) -> None:
    entries = read_statement(sample_lines)
    assert [entry.amount for entry in entries] == [
        Decimal("2450.00"),
        Decimal("-4.50"),
        Decimal("-62.15"),
        Decimal("-3.90"),
    ]
    assert entries[0].day == date(2025, 1, 3)
    assert entries[2].description == "Grocer & Sons"
