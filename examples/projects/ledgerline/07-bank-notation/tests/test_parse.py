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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(45.00)", "-45.00"),
        ("($1,200.00)", "-1200.00"),
        ("120.00-", "-120.00"),
        ("£3.10-", "-3.10"),
    ],
)
def test_debits_in_accounting_notation_are_negative(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["twelve", "(-4.00)", "-4.00-"])
def test_text_that_is_not_an_amount_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


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


def test_statement_debits_in_parentheses_count_as_spending() -> None:
    lines = [
        "date,description,amount\n",
        "2025-02-14,Bakery,(4.50)\n",
        '2025-02-15,Refund Grocer & Sons,"1,012.00"\n',
        "2025-02-16,Transfer to savings,250.00-\n",
    ]
    amounts = [entry.amount for entry in read_statement(lines)]
    assert amounts == [Decimal("-4.50"), Decimal("1012.00"), Decimal("-250.00")]
