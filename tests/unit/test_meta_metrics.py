"""The meta-benchmark's formulas: F1, the EnvScore gates and weights, the bootstrap CI."""

from __future__ import annotations

import pytest

from meta_bench.metrics import bootstrap_ci, env_score, f1, mean, quality


def test_f1_is_the_harmonic_mean_of_recall_and_kill_rate() -> None:
    assert f1(1.0, 1.0) == 1.0
    assert f1(0.5, 1.0) == pytest.approx(2 / 3)
    assert f1(0.0, 1.0) == 0.0
    assert f1(0.0, 0.0) == 0.0


def test_without_a_judge_the_weights_of_f1_and_exploit_resistance_are_renormalized() -> None:
    assert quality(1.0, 0.0, None) == pytest.approx(0.6 / 0.85)
    assert quality(0.0, 1.0, None) == pytest.approx(0.25 / 0.85)
    assert quality(1.0, 1.0, None) == pytest.approx(1.0)


def test_with_a_judge_the_weights_are_sixty_twenty_five_fifteen() -> None:
    assert quality(1.0, 0.0, 0.0) == pytest.approx(0.6)
    assert quality(0.0, 1.0, 0.0) == pytest.approx(0.25)
    assert quality(0.0, 0.0, 1.0) == pytest.approx(0.15)


@pytest.mark.parametrize(("m1", "m6", "m7"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_validity_leaks_and_flakiness_are_gates_that_zero_the_score(
    m1: float, m6: float, m7: float
) -> None:
    assert env_score(m1, m6, m7, 1.0, 1.0, 1.0) == 0.0


def test_a_perfect_environment_scores_one() -> None:
    assert env_score(1, 1, 1, 1.0, 1.0, None) == pytest.approx(1.0)


def test_bootstrap_ci_brackets_the_mean_and_is_reproducible() -> None:
    values = [1.0, 0.9, 0.0, 0.6, 0.75, 1.0, 0.3, 0.8]
    low, high = bootstrap_ci(values)  # type: ignore[misc]
    assert low <= mean(values) <= high  # type: ignore[operator]
    assert 0.0 <= low < high <= 1.0
    assert bootstrap_ci(values) == (low, high)


def test_bootstrap_ci_of_one_value_is_that_value_and_of_none_is_none() -> None:
    assert bootstrap_ci([0.4]) == (0.4, 0.4)
    assert bootstrap_ci([]) is None
    assert mean([]) is None
