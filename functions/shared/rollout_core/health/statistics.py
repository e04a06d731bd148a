"""The statistics the canary judge (health/canary.py) reasons with: pure functions of numbers,
no I/O, checked against scipy on many random cases (tests/unit/test_statistics.py).

Written here rather than imported: scipy (with numpy) is tens of megabytes and takes most
of a second to import, against the task Lambdas' import budget (median < 300 ms, issue 24);
what the judge needs is a few short formulas.

- `stratified_u`: the Mann-Whitney U of two samples within each stratum, summed over the
  strata (midranks for ties, per stratum). The canary judge's strata are time slices
  (health/latency.py): it compares like with like in time. A stratum without values of
  both samples, or whose values are all equal, carries no information about the
  difference and drops out (an all-equal stratum's U is its mean whatever the labels).
  The sum is van Elteren's stratified Mann-Whitney statistic with every stratum's weight
  1 instead of 1/(N_s + 1): the judge's slices are equally long, so their N_s differ
  only as the traffic does and the two weightings nearly agree, and unit weights keep
  the statistic a count of pairs, whose exact distribution is the product of the
  strata's (below). Under the null each stratum's labels are a random draw (a
  randomisation test: the alias draws the version of each request by weight, whatever
  the time), so the strata's U are independent: mean Σ n1 n2 / 2, variance Σ of each
  stratum's tie-corrected variance n1 n2 / 12 ((N + 1) - Σ(t³ - t) / (N (N - 1))). Its
  p-values:
  - when the smaller sample of each stratum, summed over the strata, is EXACT_BELOW or
    more (one stratum: both samples are): the normal approximation, with the tie
    correction and a continuity correction (with one stratum,
    scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=True) gives the same U
    and p; with several, scipy's U per stratum and its tie correction, combined);
  - below that: exact, from the distribution of the sum without ties, whose generating
    function is the product over the strata of the Gaussian binomial coefficients
    [N_s, n1_s]_q. There the normal approximation is poor in the tails the judge decides
    by (a few new samples against hundreds: U/n is then a sum of a few uniforms), and it
    is not conservative either way at every level. A pair of equal values counts against
    the side tested (for `greater`, x's value as the smaller): the p-value of some way of
    breaking the ties, never smaller than the p of breaking them at random, which has
    the no-ties distribution; so the test stays within its level (conservative) with
    ties. With one stratum, scipy.stats.mannwhitneyu(method="exact") gives the same p on
    data without ties, and on data with its ties so broken; with several, a brute-force
    enumeration of the labels within each stratum (tests/unit/test_statistics.py).
- `mann_whitney_u`: the same test with one stratum. It is what Kayenta, Spinnaker's
  canary judge, compares a canary with its baseline by.
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

EXACT_BELOW = 20  # smaller samples, summed over the strata: exact p (at most m² n / 2 steps)
SPENDING_LAG = 3  # `spent`: by the k-th check, k / (k + 4) of the error is spent

Stratum = tuple[Sequence[float], Sequence[float]]  # (x's values, y's values) in one stratum


@dataclass(frozen=True)
class RankTest:
    u: float  # pairs (x, y) of the same stratum with x > y, a tie counting one half
    z: float  # (U - its mean) / its standard deviation, without the continuity correction
    greater: float  # one-sided p that x tends to be greater than y
    less: float  # one-sided p that x tends to be smaller than y
    pairs: int = 0  # the pairs (x, y) compared: Σ n1·n2 over the strata with both
    strata: int = 1  # the strata with values of both samples

    @property
    def above_half(self) -> bool:
        """x is the greater in more pairs than y is: the median of the pairs' differences
        x - y (the Hodges-Lehmann estimate of the shift, within strata) is above 0."""
        return self.u > self.pairs / 2


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> RankTest:
    """Mann-Whitney U of `x` against `y`, both non-empty, with both one-sided p-values.
    All values tied: no evidence either way (both p = 1)."""
    if not x or not y:
        raise ValueError("both samples need at least one value")
    return stratified_u([(x, y)])


def stratified_u(strata: Sequence[Stratum]) -> RankTest:
    """The Mann-Whitney U of x against y within each stratum, summed, with both one-sided
    p-values; strata without values of both drop out, and at least one must have them.
    Every informative stratum's values all tied: no evidence either way (both p = 1)."""
    both = [(x, y) for x, y in strata if x and y]
    if not both:
        raise ValueError("no stratum has values of both samples")
    u = mean = variance = 0.0
    tied_pairs = 0
    sizes: list[tuple[int, int]] = []  # the informative strata's (n1, n2)
    for x, y in both:
        rank_sum, ties, tied = _rank_sum_of_first(x, y)
        n1, n2 = len(x), len(y)
        n = n1 + n2
        u += rank_sum - n1 * (n1 + 1) / 2
        stratum_variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
        if stratum_variance <= 0:
            continue  # all its values equal: its U is its mean, whatever the labels
        mean += n1 * n2 / 2
        variance += stratum_variance
        tied_pairs += tied
        sizes.append((n1, n2))
    pairs = sum(len(x) * len(y) for x, y in both)
    if not sizes:
        return RankTest(u, 0.0, 1.0, 1.0, pairs, len(both))
    informative_u = u - (pairs - sum(a * b for a, b in sizes)) / 2
    sd = math.sqrt(variance)
    z = (informative_u - mean) / sd
    if sum(min(size) for size in sizes) < EXACT_BELOW:
        strict = round(informative_u - tied_pairs / 2)
        loose = round(informative_u + tied_pairs / 2)
        top = sum(a * b for a, b in sizes)
        greater, less = _exact_at_most((top - strict, loose), sizes)
        return RankTest(u, z, greater, less, pairs, len(both))
    greater = _upper_tail((informative_u - mean - 0.5) / sd)
    less = _upper_tail((mean - informative_u - 0.5) / sd)
    return RankTest(u, z, greater, less, pairs, len(both))


def _exact_at_most(bounds: tuple[int, ...], sizes: Sequence[tuple[int, int]]) -> list[float]:
    """P(U ≤ t) for each t of `bounds`, U the sum over strata of sizes (m, n) of their U
    without ties: the number of arrangements with U = u is the coefficient of q^u in the
    product over the strata of [m + n, m]_q, each the product over i of (1 - q^(n + i)) /
    (1 - q^i), computed up to the degree needed (U is symmetric about its mean: a bound
    above half of Σ m·n is read as the complement of the other tail)."""
    top = sum(m * n for m, n in sizes)
    lower = [min(t, top - t - 1) for t in bounds]  # the tail each bound is read from
    degree = max(lower)
    counts = [1] + [0] * max(degree, 0)
    total = 1
    for m, n in sizes:
        m, n = min(m, n), max(m, n)
        for i in range(1, m + 1):
            for d in range(degree, n + i - 1, -1):
                counts[d] -= counts[d - n - i]
            for d in range(i, degree + 1):
                counts[d] += counts[d - i]
        total *= math.comb(m + n, m)
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
