from decimal import Decimal

from ledgerline.categories import categorizer, load_rules
from ledgerline.parse import read_statement
from ledgerline.report import UNCATEGORIZED, format_report, summarize


def test_without_rules_everything_is_uncategorized(sample_lines: list[str]) -> None:
    totals = summarize(read_statement(sample_lines))
    assert totals == {
        "2025-01": {UNCATEGORIZED: Decimal("2383.35")},
        "2025-02": {UNCATEGORIZED: Decimal("-3.90")},
    }


def test_entries_are_totalled_per_month_and_category(sample_lines: list[str]) -> None:
    categorize = categorizer(load_rules("coffee = eating out\nsalary = income\n"))
    totals = summarize(read_statement(sample_lines), categorize)
    assert totals["2025-01"] == {
        "income": Decimal("2450.00"),
        "eating out": Decimal("-4.50"),
        UNCATEGORIZED: Decimal("-62.15"),
    }
    assert totals["2025-02"] == {"eating out": Decimal("-3.90")}


def test_report_has_a_section_per_month_with_spending_first() -> None:
    text = format_report(
        {
            "2025-02": {"food": Decimal("-10.00")},
            "2025-01": {"food": Decimal("-62.15"), "income": Decimal("2450.00")},
        }
    )
    lines = [line.split() for line in text.splitlines()]
    assert lines == [
        ["==", "2025-01"],
        ["food", "-62.15"],
        ["income", "2450.00"],
        ["total", "2387.85"],
        ["==", "2025-02"],
        ["food", "-10.00"],
        ["total", "-10.00"],
    ]
