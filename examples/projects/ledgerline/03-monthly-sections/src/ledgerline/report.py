"""Totals per month and category, as a table with one section per month."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from ledgerline.parse import Entry

UNCATEGORIZED = "uncategorized"

Categorize = Callable[[str], str | None]
Totals = dict[str, dict[str, Decimal]]


def summarize(entries: Iterable[Entry], categorize: Categorize | None = None) -> Totals:
    """For each month ("2025-02"), the sum of the amounts in each category."""
    totals: Totals = defaultdict(lambda: defaultdict(Decimal))
    for entry in entries:
        category = categorize(entry.description) if categorize else UNCATEGORIZED
        if category is None:
            print(f"warning: Unkown category for {entry.description!r}", file=sys.stderr)
            category = UNCATEGORIZED
        totals[entry.day.strftime("%Y-%m")][category] += entry.amount
    return {month: dict(categories) for month, categories in totals.items()}


def format_report(totals: Totals) -> str:
    """A section per month: one line per category, largest spending first, then a total."""
    lines: list[str] = []
    for month in sorted(totals):
        categories = totals[month]
        lines.append(f"== {month}")
        lines += [
            f"{category:<24}{amount:>12.2f}"
            for category, amount in sorted(categories.items(), key=lambda item: (item[1], item[0]))
        ]
        lines.append(f"{'total':<24}{sum(categories.values(), Decimal(0)):>12.2f}")
    return "\n".join(lines)
