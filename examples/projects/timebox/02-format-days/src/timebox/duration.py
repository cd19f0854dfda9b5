"""Durations as people write them in config files: "90s", "15m", "2h", "1.5d"."""

from __future__ import annotations

import re
from decimal import Decimal

UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([dhms])$")


def parse_duration(text: str) -> int:
    """Whole seconds in a duration like "90s", "15m", "2h" or "1.5d" (fractions cut off)."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    number, unit = match.groups()
    return int(Decimal(number) * UNIT_SECONDS[unit])


def format_duration(seconds: int) -> str:
    """``seconds`` in whole units, largest first: 5400 -> "1h 30m"."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)
