"""The statistics the canary judge (health/canary.py) reasons with: pure functions of numbers,
no I/O, checked against scipy on many random cases (tests/unit/test_statistics.py).

Written here rather than imported: scipy (with numpy) is tens of megabytes and takes most
of a second to import, against the task Lambdas' import budget (median < 300 ms, issue 24);
what the judge needs is a few short formulas.

- `mann_whitney_u`: Mann-Whitney U of two samples, midranks for ties. It is what Kayenta,
  Spinnaker's canary judge, compares a canary with its baseline by. Its p-values:
  - with EXACT_BELOW or more samples of each: the normal approximation, with the tie
    correction of the variance and a continuity correction (scipy.stats.mannwhitneyu(
    method="asymptotic", use_continuity=True) gives the same U and p);
  - with fewer of either: exact, from U's distribution when no value is tied (its
    generating function, the Gaussian binomial coefficient [m + n, m]_q), where the normal
    approximation is poor in the tails the judge decides by (a few new samples against
    hundreds: U/n is then a sum of a few uniforms). A pair of equal values counts against
    the side tested (for `greater`, x's value as the smaller): the p-value of some way of
    breaking the ties, never smaller than the p of breaking them at random, which has the
    no-ties distribution; so the test stays within its level (conservative) with ties.
    scipy.stats.mannwhitneyu(method="exact") gives the same p on data without ties, and on
    data with its ties so broken.
- `fisher_greater`: the one-sided Fisher exact test of two rates (the hypergeometric tail;
  scipy.stats.fisher_exact(alternative="greater") on [[a, n1 - a], [c, n2 - c]]).
- `quantile`: linear interpolation between order statistics (numpy's default, R's type 7).
- `spent`: the share of an error a test repeated at every check may make at its k-th
  (alpha spending), so a rollout's repeated looks keep the error it was given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

EXACT_BELOW = 20  # either sample smaller: exact p (at most m² n / 2 steps, m < 20)
SPENDING_LAG = 3  # `spent`: by the k-th check, k / (k + 4) of the error is spent


@dataclass(frozen=True)
class RankTest:
    u: float  # U of the first sample: pairs (x, y) with x > y, a tie counting one half
    z: float  # (U - its mean) / its standard deviation, without the continuity correction
    greater: float  # one-sided p that x tends to be greater than y
    less: float  # one-sided p that x tends to be smaller than y


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> RankTest:
    """Mann-Whitney U of `x` against `y`, both non-empty, with both one-sided p-values.
    All values tied: no evidence either way (both p = 1)."""
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        raise ValueError("both samples need at least one value")
    rank_sum, ties, tied_pairs = _rank_sum_of_first(x, y)
    u = rank_sum - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return RankTest(u, 0.0, 1.0, 1.0)
    sd = math.sqrt(variance)
    z = (u - mean) / sd
    if min(n1, n2) < EXACT_BELOW:
        strict, loose = round(u - tied_pairs / 2), round(u + tied_pairs / 2)
        greater, less = _exact_at_most((n1 * n2 - strict, loose), n1, n2)
        return RankTest(u, z, greater, less)
    return RankTest(u, z, _upper_tail((u - mean - 0.5) / sd), _upper_tail((mean - u - 0.5) / sd))


def _exact_at_most(bounds: tuple[int, ...], m: int, n: int) -> list[float]:
    """P(U ≤ t) for each t of `bounds`, U without ties for samples of m and n: the number of
    arrangements with U = u is the coefficient of q^u in [m + n, m]_q, the product over i
    of (1 - q^(n + i)) / (1 - q^i), computed up to the degree needed (U is symmetric: a
    bound above half of m·n is read as the complement of the other tail)."""
    m, n = min(m, n), max(m, n)
    top = m * n
    lower = [min(t, top - t - 1) for t in bounds]  # the tail each bound is read from
    degree = max(lower)
    counts = [1] + [0] * max(degree, 0)
    for i in range(1, m + 1):
        for d in range(degree, n + i - 1, -1):
            counts[d] -= counts[d - n - i]
        for d in range(i, degree + 1):
            counts[d] += counts[d - i]
    total = math.comb(m + n, m)
    found = []
    for t, tail in zip(bounds, lower, strict=True):
        at_most = sum(counts[: tail + 1]) / total if tail >= 0 else 0.0
        found.append(min(1.0, at_most if tail == t else 1.0 - at_most))
    return found


def _rank_sum_of_first(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, int]:
    """The sum of `x`'s midranks in both samples together, Σ(t³ - t) over tied groups, and
    the pairs (x, y) of equal values."""
    pooled = sorted([(value, 1) for value in x] + [(value, 0) for value in y])
    rank_sum = ties = 0.0
    tied_pairs = 0
    start, size = 0, len(pooled)
    while start < size:
        end, value, firsts = start, pooled[start][0], pooled[start][1]
        while end + 1 < size and pooled[end + 1][0] == value:
            end += 1
            firsts += pooled[end][1]
        group = end - start + 1
        rank_sum += firsts * ((start + end) / 2 + 1)  # each of x's values there: the midrank
        ties += group**3 - group
        tied_pairs += firsts * (group - firsts)
        start = end + 1
    return rank_sum, ties, tied_pairs


def _upper_tail(z: float) -> float:
    """P(Z ≥ z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def fisher_greater(failed_a: int, total_a: int, failed_b: int, total_b: int) -> float:
    """One-sided p that A's rate is greater than B's: P(X ≥ failed_a) where X, A's share of
    all failures, is hypergeometric given both totals and the failures together."""
    if not 0 <= failed_a <= total_a or not 0 <= failed_b <= total_b:
        raise ValueError("failures must be between 0 and the total")
    failures, population = failed_a + failed_b, total_a + total_b
    highest = min(failures, total_a)
    if failed_a == 0:
        return 1.0
    terms = [
        _log_hypergeometric(k, population, failures, total_a) for k in range(failed_a, highest + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def _log_hypergeometric(k: int, population: int, successes: int, draws: int) -> float:
    return (
        _log_choose(successes, k)
        + _log_choose(population - successes, draws - k)
        - _log_choose(population, draws)
    )


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0 ≤ q ≤ 1) of non-empty `values`, interpolated linearly."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spent(error: float, look: int) -> float:
    """What the `look`-th check (from 1) of a test repeated over growing samples may spend
    of the rollout's `error`: error x (a + 1) / ((k + a)(k + a + 1)), a = SPENDING_LAG.
    These telescope: the first K checks spend error x K / (K + a + 1), below `error` however
    many checks there are (held steps' included), so by the union bound the test errs over
    the whole rollout with probability at most `error`. The lag spreads it: a fifth at the
    1st check, a third by the 2nd, half by the 4th, 88 % by the 30th; a first check sees
    one interval of a young canary (a few samples), where spending most of the error would
    buy little power and most of the false alarms."""
    k = max(look, 1)
    return error * (SPENDING_LAG + 1) / ((k + SPENDING_LAG) * (k + SPENDING_LAG + 1))
