"""Read bank statement exports: CSV rows of date, description and amount."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

_SYMBOLS = "$€£"


@dataclass(frozen=True)
class Entry:
    """One statement line. Spending is negative, income positive."""

    day: date
    description: str
    amount: Decimal


def parse_amount(text: str) -> Decimal:
    """Read an amount as banks print it: "1,234.56", "-3.20", "$12.00".

    Accounting exports mark debits with parentheses, "(45.00)", or with a minus sign
    after the number, "45.00-": both are negative amounts.
    """
    cleaned = text.strip()
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):
        negative, cleaned = True, cleaned[1:-1]
    elif cleaned.endswith("-"):
        negative, cleaned = True, cleaned[:-1]
    for symbol in _SYMBOLS:
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.replace(",", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if negative and value < 0:
        raise ValueError(f"not an amount: {text!r} is negative twice")
    return -value if negative else value


def read_statement(lines: Iterable[str]) -> list[Entry]:
    """Entries of a CSV export with a header row: date,description,amount."""
    entries = []
    for row in csv.DictReader(lines):
        entries.append(
            Entry(
                day=date.fromisoformat(row["date"].strip()),
                description=row["description"].strip(),
                amount=parse_amount(row["amount"]),
            )
        )
    return entries
