from decimal import Decimal

from ledgerline.parse import read_statement
from ledgerline.report import UNCATEGORIZED, format_report, summarize


def test_without_rules_everything_is_uncategorized(sample_lines: list[str]) -> None:
    totals = summarize(read_statement(sample_lines))
    assert totals == {UNCATEGORIZED: Decimal("2379.45")}


def test_report_lists_spending_first_and_a_total() -> None:
    text = format_report({"food": Decimal("-62.15"), "income": Decimal("2450.00")})
    lines = text.splitlines()
    assert lines[0].split() == ["food", "-62.15"]
    assert lines[1].split() == ["income", "2450.00"]
    assert lines[-1].split() == ["total", "2387.85"]
