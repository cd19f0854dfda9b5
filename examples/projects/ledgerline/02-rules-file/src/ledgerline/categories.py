"""Categories from a rules file: one `pattern = category` per line, first match wins.

Patterns match anywhere in an entry's description, ignoring case. Blank lines and lines
starting with `#` are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    pattern: str
    category: str


def load_rules(text: str) -> list[Rule]:
    rules = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, category = line.partition("=")
        if not sep or not pattern.strip() or not category.strip():
            raise ValueError(f"line {number}: expected 'pattern = category', got {raw!r}")
        rules.append(Rule(pattern.strip().lower(), category.strip()))
    return rules


def categorizer(rules: list[Rule]) -> Callable[[str], str | None]:
    """A function from a description to its category (None when no rule matches)."""

    def categorize(description: str) -> str | None:
        lowered = description.lower()
        for rule in rules:
            if rule.pattern in lowered:
                return rule.category
        return None

    return categorize
