import pytest
from ledgerline.categories import Rule, categorizer, load_rules

RULES = """
# food
coffee = eating out
grocer = groceries

salary = income
"""


def test_rules_skip_comments_and_blank_lines() -> None:
    assert load_rules(RULES) == [
        Rule("coffee", "eating out"),
        Rule("grocer", "groceries"),
        Rule("salary", "income"),
    ]


def test_first_matching_rule_wins_ignoring_case() -> None:
    categorize = categorizer(load_rules("coffee = eating out\ncorner = shops\n"))
    assert categorize("COFFEE CORNER #12") == "eating out"
    assert categorize("Corner Shop") == "shops"
    assert categorize("Rent") is None


def test_a_line_without_a_category_is_an_error() -> None:
    with pytest.raises(ValueError, match="line 2"):
        load_rules("coffee = eating out\ngrocer\n")
