"""Totals per category, as a table."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from ledgerline.parse import Entry

UNCATEGORIZED = "uncategorized"

Categorize = Callable[[str], str | None]


def summarize(entries: Iterable[Entry], categorize: Categorize | None = None) -> dict[str, Decimal]:
    """The sum of the amounts in each category."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        category = categorize(entry.description) if categorize else UNCATEGORIZED
        if category is None:
            print(f"warning: Unkown category for {entry.description!r}", file=sys.stderr)
            category = UNCATEGORIZED
        totals[category] += entry.amount
    return dict(totals)


def format_report(totals: dict[str, Decimal]) -> str:
    """One line per category, largest spending first, then the overall total."""
    lines = [
        f"{category:<24}{amount:>12.2f}"
        for category, amount in sorted(totals.items(), key=lambda item: (item[1], item[0]))
    ]
    lines.append(f"{'total':<24}{sum(totals.values(), Decimal(0)):>12.2f}")
    return "\n".join(lines)
