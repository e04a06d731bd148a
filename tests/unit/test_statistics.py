"""The canary judge's statistics (rollout_core.health.statistics) against references:
textbook values always, and scipy on many random cases where it is installed (a test-only
check: the task Lambdas never import it)."""

from __future__ import annotations

import math
import random

import pytest
from rollout_core.health.statistics import (
    EXACT_BELOW,
    fisher_greater,
    mann_whitney_u,
    quantile,
)


def test_mann_whitney_u_of_separated_samples():
    # x = 4, 5, 6 against y = 1, 2, 3: every pair favours x, U = n1·n2 = 9; exact (fewer
    # than EXACT_BELOW): of the C(6, 3) = 20 equally likely arrangements, one has U = 9
    found = mann_whitney_u([4, 5, 6], [1, 2, 3])
    assert found.u == 9
    assert found.greater == pytest.approx(1 / 20, rel=1e-12)
    assert found.less == 1.0  # every arrangement has U ≤ 9


def test_mann_whitney_u_of_large_separated_samples_is_approximated():
    # x = 20..39 against y = 0..19 (EXACT_BELOW each): U = 400, mean 200, variance
    # 400/12·41, z = (400 - 200 - 0.5)/√(400·41/12), P(Z ≥ z) by the normal tail
    size = EXACT_BELOW
    found = mann_whitney_u(list(range(size, 2 * size)), list(range(size)))
    assert found.u == size * size
    z = (size * size / 2 - 0.5) / math.sqrt(size * size / 12 * (2 * size + 1))
    assert found.greater == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)), rel=1e-12)


def test_mann_whitney_u_exact_counts_ties_against_the_side_tested():
    # x = 2, 3 against y = 1, 2: U = 3.5 (one tied pair); of the 6 arrangements, U is 0, 1,
    # 2, 2, 3, 4; for `greater` the tie counts for y (U = 3: 2 of 6 at least that high),
    # for `less` for x (U = 4: all 6 at most that)
    found = mann_whitney_u([2, 3], [1, 2])
    assert found.u == 3.5
    assert found.greater == pytest.approx(2 / 6, rel=1e-12)
    assert found.less == 1.0


def test_mann_whitney_u_counts_ties_as_halves_and_corrects_the_variance():
    # pooled 1 2 2 3 3 4: midranks 1, 2.5, 2.5, 4.5, 4.5, 6; x = 2, 3, 4 → R = 13, U = 7;
    # ties: two groups of 2, Σ(t³ - t) = 12; variance 9/12·(7 - 12/30) = 4.95
    found = mann_whitney_u([2, 3, 4], [1, 2, 3])
    assert found.u == 7
    assert found.z == pytest.approx((7 - 4.5) / 4.95**0.5)


def test_mann_whitney_u_of_identical_values_is_no_evidence():
    found = mann_whitney_u([5.0] * 20, [5.0] * 30)
    assert (found.greater, found.less) == (1.0, 1.0)


def test_fisher_exact_lady_tasting_tea():
    # Fisher's own example: 3 of 4 cups right, one-sided p = 17/70
    assert fisher_greater(3, 4, 1, 4) == pytest.approx(17 / 70, rel=1e-12)
    assert fisher_greater(0, 10, 5, 10) == 1.0


def test_fisher_exact_of_a_rare_error_rate():
    # 1 % against 0.1 % over 1,000 and 9,000 invocations: p from scipy 1.17 (fisher_exact)
    assert fisher_greater(10, 1000, 9, 9000) == pytest.approx(3.8026e-06, rel=1e-4)


def test_quantile_interpolates_linearly():
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([10], 0.99) == 10
    assert quantile(list(range(101)), 0.9) == pytest.approx(90)


def exact_reference(stats, x: list[float], y: list[float], side: str) -> float:
    """scipy's exact p, x's values tied with y's moved against `side` (so no pair is tied:
    scipy's exact distribution has no ties); all values tied is no evidence."""
    if len(set(x) | set(y)) == 1:
        return 1.0
    nudge = -1e-9 if side == "greater" else 1e-9
    shared = set(x) & set(y)
    broken = [v + nudge * abs(v or 1) if v in shared else v for v in x]
    return float(stats.mannwhitneyu(broken, y, alternative=side, method="exact").pvalue)


def test_exact_mann_whitney_u_against_scipy_on_small_samples():
    from scipy import stats

    rng = random.Random(2024)
    for _ in range(600):
        x = [round(rng.gauss(0.3, 1), rng.choice((0, 1, 3))) for _ in range(rng.randint(1, 19))]
        y = [round(rng.gauss(0, 1), rng.choice((0, 1, 3))) for _ in range(rng.randint(1, 300))]
        if rng.random() < 0.5:
            x, y = y, x
        found = mann_whitney_u(x, y)
        for side in ("greater", "less"):
            assert getattr(found, side) == pytest.approx(
                exact_reference(stats, x, y, side), rel=1e-9, abs=1e-12
            ), (x, y, side)


def test_against_scipy_on_random_cases():
    import numpy
    from scipy import stats  # a dev dependency (pyproject.toml): the reference, never skipped

    rng = random.Random(24)
    for _ in range(400):
        x = [
            round(rng.lognormvariate(0, 1), rng.choice((0, 1, 2)))
            for _ in range(rng.randint(1, 80))
        ]
        y = [
            round(rng.lognormvariate(0.2, 1), rng.choice((0, 1, 2)))
            for _ in range(rng.randint(1, 80))
        ]
        found = mann_whitney_u(x, y)
        for side in ("greater", "less"):
            ref = stats.mannwhitneyu(
                x, y, alternative=side, method="asymptotic", use_continuity=True
            )
            assert found.u == pytest.approx(ref.statistic)
            if min(len(x), len(y)) < EXACT_BELOW:
                assert getattr(found, side) == pytest.approx(
                    exact_reference(stats, x, y, side), rel=1e-9, abs=1e-12
                )
            elif not numpy.isnan(ref.pvalue):
                assert getattr(found, side) == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)
        failed_a, failed_b = rng.randint(0, 30), rng.randint(0, 30)
        total_a, total_b = failed_a + rng.randint(0, 400), failed_b + rng.randint(0, 4000)
        table = [[failed_a, total_a - failed_a], [failed_b, total_b - failed_b]]
        ref_p = stats.fisher_exact(table, alternative="greater").pvalue
        assert fisher_greater(failed_a, total_a, failed_b, total_b) == pytest.approx(
            ref_p, rel=1e-9, abs=1e-300
        )
        values = [rng.random() for _ in range(rng.randint(1, 60))]
        for q in (0.5, 0.9, 0.99):
            assert quantile(values, q) == pytest.approx(float(numpy.quantile(values, q)))
