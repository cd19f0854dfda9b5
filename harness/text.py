"""Text helpers shared by the terminal, the loop and reports."""

from __future__ import annotations

import re

# Terminal control sequences (colours, cursor moves, OSC titles): never part of a report.
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes and other escape sequences."""
    return _ANSI.sub("", text)


def truncate_middle(text: str, max_bytes: int) -> tuple[str, int]:
    """Keep the head and tail of ``text`` within ``max_bytes`` (UTF-8), marking the cut.

    Returns the text and how many bytes were omitted. The beginning of an output says what
    ran and the end says how it finished; the middle is what a reader can most afford to lose.
    """
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text, 0
    half = max(max_bytes // 2, 1)
    omitted = len(encoded) - 2 * half
    head = encoded[:half].decode("utf-8", "ignore")
    tail = encoded[-half:].decode("utf-8", "ignore")
    marker = f"\n[... output truncated: {omitted} bytes omitted ...]\n"
    return head + marker + tail, omitted
