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
    """Read an amount as banks print it: "1,234.56", "-3.20", "$12.00", "(45.00)"."""
    cleaned = text.strip().strip("()")
    for symbol in _SYMBOLS:
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.replace(",", "").replace(" ", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None


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
