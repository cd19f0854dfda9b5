"""Durations as people write them in config files: "90s", "15m", "1.5d", "1h 30m"."""

from __future__ import annotations

import re
from decimal import Decimal

UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# One number and its unit, with the spaces around them.
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([dhms])\s*")
_ORDER = "dhms"


def parse_duration(text: str) -> int:
    """Whole seconds in a duration: "90s", "1.5d", or several units, largest first and each
    at most once, with or without spaces: "1h30m", "2d 4h" (fractions of a second cut off)."""
    cleaned = text.lower()
    total = Decimal(0)
    position = 0
    previous = -1
    while position < len(cleaned):
        part = _PART.match(cleaned, position)
        if not part:
            raise ValueError(f"not a duration: {text!r}")
        number, unit = part.groups()
        rank = _ORDER.index(unit)
        if rank <= previous:
            raise ValueError(f"not a duration: {text!r} (units go from days to seconds, each once)")
        previous = rank
        total += Decimal(number) * UNIT_SECONDS[unit]
        position = part.end()
    if previous < 0:
        raise ValueError(f"not a duration: {text!r}")
    return int(total)


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
