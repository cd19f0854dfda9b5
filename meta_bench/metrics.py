"""The meta-benchmark's formulas, as pure functions (no Docker, no files).

Per built environment::

    M4 = F1(M2 recall, M3 kill rate) = 2·M2·M3 / (M2 + M3)          (0 when both are 0)
    quality = (0.6·M4 + 0.25·M5 + 0.15·M8) / (sum of the weights of the metrics present)
    EnvScore = M0 · M1 · M6 · M7 · quality

M0 (qualification: on a session seed, the builder found the upstream fix, or rightly
refused a negative seed), M1 (validity), M6 (leak-free) and M7 (determinism) are gates,
each 0 or 1; M0 is 1 where the seed hands the builder its commits. M8 (the judge's
instruction–verifier alignment) is present only with ``--judge``; without it the weights
of M4 and M5 are renormalized to 0.6/0.85 and 0.25/0.85. A negative seed has no
environment to judge: its EnvScore is M0.

Per builder: MetaScore = mean EnvScore over the common seeds (those every builder on the
board applies to; a unit the machinery could not finish counts 0), repeats of one seed
averaged first, so every seed weighs the same. Its 95% interval is a two-level
percentile bootstrap: seeds are resampled, then each resampled seed's repeats, so
run-to-run variance widens the interval. Two builders are compared with a *paired*
bootstrap of the difference: the same resampled seeds for both. Resampling is seeded:
the same scores give the same intervals.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

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
    m1: float,
    m6: float,
    m7: float,
    m4: float,
    m5: float | None,
    m8: float | None,
    m0: float | None = None,
) -> float:
    gate = 1.0 if m0 is None else m0
    return gate * m1 * m6 * m7 * quality(m4, m5, m8)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percentiles(samples: list[float], level: float) -> tuple[float, float]:
    samples.sort()
    tail = (1 - level) / 2
    count = len(samples)
    return samples[int(tail * count)], samples[min(int((1 - tail) * count), count - 1)]


def _resampled_mean(rng: random.Random, seeds: Sequence[Sequence[float]]) -> float:
    total = 0.0
    for repeats in rng.choices(seeds, k=len(seeds)):
        total += sum(rng.choices(repeats, k=len(repeats))) / len(repeats)
    return total / len(seeds)


def bootstrap_ci(
    values: Sequence[float] | Sequence[Sequence[float]],
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean over seeds; ``values`` holds one score per
    seed, or each seed's repeats (then repeats are resampled within each resampled seed).
    None for no seeds; a point for one seed with one score."""
    seeds = [list(v) if isinstance(v, Sequence) else [float(v)] for v in values]
    seeds = [repeats for repeats in seeds if repeats]
    if not seeds:
        return None
    if len(seeds) == 1 and len(seeds[0]) == 1:
        return seeds[0][0], seeds[0][0]
    rng = random.Random(seed)
    return _percentiles([_resampled_mean(rng, seeds) for _ in range(resamples)], level)


def paired_bootstrap(
    a: Mapping[str, Sequence[float]],
    b: Mapping[str, Sequence[float]],
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float, float, float] | None:
    """Mean of A − B over the seeds both have, its paired bootstrap interval, and the share
    of resamples where A is not above B. None without a common seed."""
    common = sorted(set(a) & set(b))
    pairs = [(list(a[s]), list(b[s])) for s in common if a[s] and b[s]]
    if not pairs:
        return None
    diff = sum(mean(x) - mean(y) for x, y in pairs) / len(pairs)  # type: ignore[operator]
    rng = random.Random(seed)
    samples = []
    for _ in range(resamples):
        total = 0.0
        for x, y in rng.choices(pairs, k=len(pairs)):
            total += sum(rng.choices(x, k=len(x))) / len(x) - sum(rng.choices(y, k=len(y))) / len(y)
        samples.append(total / len(pairs))
    not_better = sum(1 for value in samples if value <= 0) / resamples
    low, high = _percentiles(samples, level)
    return diff, low, high, not_better
