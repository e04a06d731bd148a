"""The canary judge's statistics (rollout_core.health.statistics) against references:
textbook values always, and scipy on many random cases where it is installed (a test-only
check: the task Lambdas never import it)."""

from __future__ import annotations

import random

import pytest
from rollout_core.health.statistics import fisher_greater, mann_whitney_u, quantile


def test_mann_whitney_u_of_separated_samples():
    # x = 4, 5, 6 against y = 1, 2, 3: every pair favours x, U = n1·n2 = 9; mean 4.5,
    # variance 9/12·7 = 5.25, z = (9 - 4.5 - 0.5)/√5.25 = 1.7457, P(Z ≥ z) = 0.040428
    found = mann_whitney_u([4, 5, 6], [1, 2, 3])
    assert found.u == 9
    assert found.greater == pytest.approx(0.040428, abs=1e-6)
    assert found.less == pytest.approx(0.985452, abs=1e-6)  # the other side, corrected too


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
            if not numpy.isnan(ref.pvalue):
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
