"""The canary judge's statistics (rollout_core.health.statistics) against references:
textbook values always, scipy on many random cases (a test-only check: the task Lambdas
never import it), and for the stratified test a brute-force enumeration of the labels
within each stratum (its exact p) and scipy per stratum, combined (its approximation)."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator

import pytest
from rollout_core.health.statistics import (
    EXACT_BELOW,
    fisher_greater,
    mann_whitney_u,
    quantile,
    stratified_u,
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


# -- stratified: the U of each stratum, summed -----------------------------------------------


def test_strata_without_both_samples_or_with_all_values_tied_drop_out():
    # x = 4, 5, 6 against y = 1, 2, 3 as above; a stratum of x alone, one of y alone and one
    # whose values are all equal (its U is its mean, 2 of 4 pairs, whatever the labels)
    alone = mann_whitney_u([4, 5, 6], [1, 2, 3])
    found = stratified_u([([4, 5, 6], [1, 2, 3]), ([9.0], []), ([], [0.5]), ([7, 7], [7, 7])])
    assert (found.greater, found.less, found.z) == (alone.greater, alone.less, alone.z)
    assert (found.u, found.pairs, found.strata) == (9 + 2, 9 + 4, 2)
    with pytest.raises(ValueError):
        stratified_u([([1.0], []), ([], [2.0])])


def test_two_separated_strata_are_exact():
    # two strata of 2 against 2, x above y in both: U = 4 + 4 = 8 is the top of the sum,
    # reached in 1 of C(4, 2)² = 36 equally likely arrangements
    found = stratified_u([([3, 4], [1, 2]), ([30, 40], [10, 20])])
    assert (found.u, found.pairs, found.strata) == (8, 8, 2)
    assert found.greater == pytest.approx(1 / 36, rel=1e-12)
    assert found.less == 1.0


def permutation_tails(strata: list[tuple[list[float], list[float]]]) -> tuple[Counter, float]:
    """The distribution of the sum of the strata's U over every way of relabelling each
    stratum's values (x's count kept), by brute force, each U counted pair by pair: Counter
    {U: arrangements}; and the observed U (a tie counting one half), as scipy counts it."""
    from scipy import stats

    total: Counter = Counter({0.0: 1})
    observed = 0.0
    for x, y in strata:
        here: Counter = Counter()
        for xs, ys in relabellings(x, y):
            here[sum((a > b) + (a == b) / 2 for a in xs for b in ys)] += 1
        observed += float(stats.mannwhitneyu(x, y).statistic)
        combined: Counter = Counter()
        for a, ways_a in total.items():
            for b, ways_b in here.items():
                combined[a + b] += ways_a * ways_b
        total = combined
    return total, observed


def relabellings(x: list[float], y: list[float]) -> Iterator[tuple[list, list]]:
    """Every way of labelling the values of x and y together with len(x) of them x's."""
    pool = x + y
    for chosen in map(set, itertools.combinations(range(len(pool)), len(x))):
        yield [pool[i] for i in chosen], [pool[i] for i in range(len(pool)) if i not in chosen]


def tail(distribution: Counter, at_least: float) -> float:
    return sum(w for u, w in distribution.items() if u >= at_least - 1e-9) / sum(
        distribution.values()
    )


def small_strata(
    rng: random.Random, digits: tuple[int, ...], largest: int = 9
) -> list[tuple[list, list]]:
    """1 to 3 strata of 2 to `largest` values, a level of its own each (a drift), rounded
    to `digits` (ties)."""
    found = []
    for _ in range(rng.randint(1, 3)):
        level, size = rng.uniform(0, 5), rng.randint(2, largest)
        places = rng.choice(digits)
        values = [round(level + rng.gauss(0, 1), places) for _ in range(size)]
        cut = rng.randint(1, size - 1)
        found.append((values[:cut], values[cut:]))
    return found


def test_exact_stratified_u_against_a_brute_force_permutation_without_ties():
    rng = random.Random(4242)
    for _ in range(200):
        strata = small_strata(rng, (6,))
        found = stratified_u(strata)
        distribution, observed = permutation_tails(strata)
        assert found.u == pytest.approx(observed)
        assert found.greater == pytest.approx(tail(distribution, observed), rel=1e-9)
        mirrored = Counter({-u: w for u, w in distribution.items()})
        assert found.less == pytest.approx(tail(mirrored, -observed), rel=1e-9)


def test_exact_stratified_u_with_ties_against_a_brute_force_with_the_ties_broken():
    # a pair tied across the samples counts against the side tested: the exact p of the
    # data with x's tied values moved that way, by brute force over the labels' arrangements
    rng = random.Random(4343)
    for _ in range(200):
        strata = small_strata(rng, (0, 1))
        found = stratified_u(strata)
        informative = [(x, y) for x, y in strata if len(set(x) | set(y)) > 1]
        if not informative:
            assert (found.greater, found.less) == (1.0, 1.0)
            continue
        for side, nudge in (("greater", -1e-9), ("less", 1e-9)):
            broken = [
                ([v + nudge * abs(v or 1) if v in set(y) else v for v in x], y)
                for x, y in informative
            ]
            # scipy's exact distribution has no ties: the labels' arrangements of N distinct
            # values, stratum by stratum
            distinct = [(list(range(len(x))), list(range(len(x), len(x + y)))) for x, y in broken]
            no_ties, _ = permutation_tails(distinct)
            _, broken_u = permutation_tails(broken)
            if side == "greater":
                expected = tail(no_ties, broken_u)
            else:
                flipped = Counter({-u: w for u, w in no_ties.items()})
                expected = tail(flipped, -broken_u)
            assert getattr(found, side) == pytest.approx(expected, rel=1e-9), (strata, side)


def test_exact_stratified_u_with_ties_keeps_its_level():
    # never kinder: under the null every relabelling of each stratum's tied values is as
    # likely, and over all of them P(p ≤ t) ≤ t for every t, on both sides
    rng = random.Random(4545)
    for _ in range(60):
        strata = small_strata(rng, (0,), largest=6)
        every = itertools.product(*(list(relabellings(x, y)) for x, y in strata))
        tests = [stratified_u(list(labelled)) for labelled in every]
        for side in ("greater", "less"):
            found = sorted(getattr(test, side) for test in tests)
            for p in found:
                at_most = bisect.bisect_right(found, p) / len(found)
                assert at_most <= p + 1e-12, (strata, side, p, at_most)


def test_approximated_stratified_u_against_scipy_per_stratum():
    from scipy import stats

    rng = random.Random(4444)
    for _ in range(300):
        strata = []
        for _ in range(rng.randint(1, 6)):
            level = rng.lognormvariate(0, 1)
            places = rng.choice((0, 1, 2))
            strata.append(
                (
                    [
                        round(level * rng.lognormvariate(0.1, 1), places)
                        for _ in range(rng.randint(0, 40))
                    ],
                    [
                        round(level * rng.lognormvariate(0, 1), places)
                        for _ in range(rng.randint(0, 200))
                    ],
                )
            )
        informative = [(x, y) for x, y in strata if x and y and len(set(x) | set(y)) > 1]
        if sum(min(len(x), len(y)) for x, y in informative) < EXACT_BELOW:
            continue
        found = stratified_u(strata)
        u = mean = variance = 0.0
        for x, y in informative:
            u += float(stats.mannwhitneyu(x, y).statistic)
            n1, n2 = len(x), len(y)
            mean += n1 * n2 / 2
            variance += n1 * n2 * (n1 + n2 + 1) / 12 * stats.tiecorrect(stats.rankdata(x + y))
        sd = math.sqrt(variance)
        assert found.greater == pytest.approx(stats.norm.sf((u - mean - 0.5) / sd), rel=1e-9)
        assert found.less == pytest.approx(stats.norm.sf((mean - u - 0.5) / sd), rel=1e-9)
        assert found.z == pytest.approx((u - mean) / sd, rel=1e-9, abs=1e-12)
