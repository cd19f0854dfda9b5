"""The meta-benchmark's formulas: F1, the EnvScore gates and weights, the bootstrap CI."""

from __future__ import annotations

import pytest

from meta_bench.metrics import bootstrap_ci, env_score, f1, mean, paired_bootstrap, quality


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


def test_qualification_is_a_gate_and_absent_where_the_seed_hands_over_its_commits() -> None:
    assert env_score(1, 1, 1, 1.0, 1.0, None, m0=0.0) == 0.0
    assert env_score(1, 1, 1, 1.0, 1.0, None, m0=1.0) == pytest.approx(1.0)
    assert env_score(1, 1, 1, 1.0, 1.0, None, m0=None) == pytest.approx(1.0)


def test_repeats_that_disagree_widen_the_interval() -> None:
    steady = [[0.6, 0.6, 0.6], [0.7, 0.7, 0.7], [0.65, 0.65, 0.65], [0.6, 0.6, 0.6]]
    shaky = [[0.2, 1.0, 0.6], [0.3, 1.0, 0.8], [0.1, 0.9, 0.95], [1.0, 0.2, 0.6]]
    low_steady, high_steady = bootstrap_ci(steady)  # type: ignore[misc]
    low_shaky, high_shaky = bootstrap_ci(shaky)  # type: ignore[misc]
    assert high_shaky - low_shaky > 2 * (high_steady - low_steady)
    assert bootstrap_ci([[0.5, 0.5]]) == (0.5, 0.5)
    assert bootstrap_ci([[0.0, 1.0]]) == (0.0, 1.0)  # one seed: the repeats alone


def test_a_paired_comparison_is_significant_only_when_one_builder_wins_seed_after_seed() -> None:
    better = {f"s{n}": [0.9] for n in range(8)}
    worse = {f"s{n}": [0.6] for n in range(8)}
    diff, low, high, not_better = paired_bootstrap(better, worse)  # type: ignore[misc]
    assert diff == pytest.approx(0.3) and low > 0 and not_better == 0.0
    mixed = {f"s{n}": [0.9 if n % 2 else 0.3] for n in range(8)}
    diff, low, high, not_better = paired_bootstrap(mixed, worse)  # type: ignore[misc]
    assert low < 0 < high and 0.05 < not_better < 0.95


def test_a_paired_comparison_uses_only_the_seeds_both_builders_have() -> None:
    a = {"s1": [1.0], "s2": [1.0], "only-a": [0.0]}
    b = {"s1": [0.5], "s2": [0.5], "only-b": [1.0]}
    diff, *_ = paired_bootstrap(a, b)  # type: ignore[misc]
    assert diff == pytest.approx(0.5)
    assert paired_bootstrap({"x": [1.0]}, {"y": [1.0]}) is None
