"""The meta-benchmark's formulas, as pure functions (no Docker, no files).

Per built environment::

    M4 = F1(M2 recall, M3 kill rate) = 2·M2·M3 / (M2 + M3)          (0 when both are 0)
    quality = (0.6·M4 + 0.25·M5 + 0.15·M8) / (sum of the weights of the metrics present)
    EnvScore = M1 · M6 · M7 · quality

M1 (validity), M6 (leak-free) and M7 (determinism) are gates, each 0 or 1. M8 (the judge's
instruction–verifier alignment) is present only with ``--judge``; without it the weights of
M4 and M5 are renormalized to 0.6/0.85 and 0.25/0.85.

Per builder: MetaScore = mean EnvScore over the seeds it applies to (repeats of one seed
are averaged first, so every seed weighs the same), with a percentile bootstrap 95% CI
that resamples seeds; the resampling is seeded, so the same scores give the same interval.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

WEIGHTS = {"m4": 0.6, "m5": 0.25, "m8": 0.15}
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20250101


def f1(recall: float, kill_rate: float) -> float:
    if recall + kill_rate == 0:
        return 0.0
    return 2 * recall * kill_rate / (recall + kill_rate)


def quality(m4: float, m5: float | None, m8: float | None) -> float:
    """The weighted mean of the quality metrics present (renormalized weights)."""
    present = {"m4": m4, "m5": m5, "m8": m8}
    weighted = [(WEIGHTS[key], value) for key, value in present.items() if value is not None]
    total = sum(weight for weight, _ in weighted)
    return sum(weight * value for weight, value in weighted) / total


def env_score(
    m1: float, m6: float, m7: float, m4: float, m5: float | None, m8: float | None
) -> float:
    return m1 * m6 * m7 * quality(m4, m5, m8)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def bootstrap_ci(
    values: Sequence[float],
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None for no values; a point for one."""
    if not values:
        return None
    if len(values) == 1:
        return values[0], values[0]
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    low = means[int(tail * resamples)]
    high = means[min(int((1 - tail) * resamples), resamples - 1)]
    return low, high
