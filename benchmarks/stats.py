"""Summaries the benchmarks report: a sample of durations as milliseconds."""

from __future__ import annotations

import statistics


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary_ms(samples_sec: list[float]) -> dict[str, float]:
    return {
        "n": len(samples_sec),
        "median_ms": round(statistics.median(samples_sec) * 1000, 2),
        "p95_ms": round(percentile(samples_sec, 0.95) * 1000, 2),
        "min_ms": round(min(samples_sec) * 1000, 2),
        "max_ms": round(max(samples_sec) * 1000, 2),
    }
