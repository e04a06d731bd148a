"""The canary judge's latency checks: the new version's durations against the stable
version's, over the same window and the same traffic (the alias splits it by weight), by a
Mann-Whitney U test within time slices (health/statistics.py), as Kayenta judges a canary.

A rank test with an effect-size tolerance, as Kayenta's: the tolerated duration of a stable
duration d is max(d x (1 + maxIncreasePercent/100), d + FLOOR_MS). So
- fail: the new durations are slower than the stable ones of their time slice (one-sided
  stratified U test, p below this check's share of 1 - confidence: alpha spending, below)
  and the effect is beyond the tolerance (below);
- pass: the new durations are below the tolerated stable ones of their slice, with
  `confidence` (the same stratified test, against the tolerated durations);
- marginal: pass, but slower than the stable durations as they are, with `confidence`;
- inconclusive: none of these could be shown, or fewer than MIN_SAMPLES of either version
  in the slices both served in.
MIN_SAMPLES, 5: the U test's p is exact on small samples (statistics.py), so a few settled
durations are judged at the test's own level; fewer than 5 leave the effect size, which the
tolerance reads, to one or two invocations. A 10 % canary at 10 requests/s has about 20
invocations by the 2nd check, and its young environments' first 3 are left out (below): a
minimum of 10 left a 2x regression undecided at the 2nd check in one rollout of seven
(docs/benchmarks.md).
A version slower than its stable one by about the tolerance may fail (its durations are as
likely above as below the tolerated ones); a version no slower than its stable one fails a
rollout by chance with probability at most 1 - confidence.

FLOOR_MS, 10 ms: a regression smaller than that is no regression anyone rolls back for. A
handler of 1 ms against 2 ms is +100 %, and passes.

Like with like in time: time slices. The alias's weight changes from step to step (10 % →
50 % → 100 %): over the whole window the new version's samples come mostly from the late
steps and the stable version's from the early ones, so latency that drifts with time (a
busy neighbour, a slow dependency, a loaded machine) would read as the version's
regression. So each new duration is compared only with the stable durations of its time
slice, and the slices' U are summed (statistics.stratified_u): slices as long as the
shortest time the alias holds one weight (`slicing`: the check interval, or a step's wait
if shorter: the weight moves only at a step's start, which follows a check), counted on
the clock from the epoch (Sample.at_ms, when the report was logged), so every check and a
replay (health/replay.py) cut the same slices. Within a slice both versions serve under
one weight, and the alias draws each request's version by that weight whatever the time:
under the null the slice's labels are a random draw, and the test keeps its level however
latency drifts from slice to slice. (A slice that straddles a step's start mixes two
weights, over at most one slice's drift.) A slice that only one version served carries no
information about the difference and drops out: the bake's, where the stable version has
no traffic, and a slice of a traffic so low that its canary served no request. The cost is
power: a new duration is compared with the stable ones of its slice, not of the window,
which grows the variance of its comparison by (n + 1) / n for n stable durations in its
slice: 10 % at 9 (a 10 % canary at 1 request/s, 10 s slices). Samples without a time
(recorded before samples had one) are one slice of their own.

The effect size: beyond the tolerance when, among the pairs (new, stable) of the same
slice, the new duration is above the tolerated stable one in more pairs than below it
(RankTest.above_half of the test against the tolerated durations: the median of the
same-slice differences new - tolerated stable, a Hodges-Lehmann estimate stratified by
slice, above 0). For a regression that moves the whole distribution it reads as comparing
medians did (the new median above the stable median's tolerated duration; exactly so for a
log-normal's multiplicative shift), but slice by slice, where pooled medians would read a
drift as an effect. The why says the share of pairs above the tolerance. The Verdict's
Spreads (n, median, p90, p99, the report's quantiles) are pooled over the window, for
display: under drift they may differ between two equally fast versions; the statistic, the
p-value and `strata` are the stratified test's.

Settled invocations only (`latency`): like with like. An environment's first invocation
runs after its init, and the next few still pay for it (lazy imports, cold caches, new
connections, a young process), while a new version's environments are all young and the
stable version's mostly warm: counted, they would read as a regression of a healthy
version. So each environment's first YOUNG_INVOCATIONS invocations (its cold start and the
ones after it) are left out of both versions' durations; an environment is its log stream
(Sample.environment), its invocations ordered by when their reports were logged. An
environment whose cold start is not among the samples was born before the window: all its
invocations are settled; except for the new version's, young at their first samples all
the same (a pre-traffic check or a direct invocation may have started one just before the
shift: its next invocations, in the window, are still young). Cold starts are judged
apart (`coldStarts`): the init durations of both versions by the same test, in the same
slices (an init drifts with the machine's load as a duration does), so a real init
regression still fails.

YOUNG_INVOCATIONS, 3: measured on the local cloud (docs/workflow.md, "Young
environments"), a Python environment's 1st invocation takes 1.37x its steady duration
(median over 8 environments), its 2nd 1.07x, its 3rd 1.03x, the later ones its steady
level within noise; so the first three are left out: a 10 % canary at 1 request/s loses
three samples per new environment.

The test repeats at every check over samples that keep growing, so its `confidence` is the
rollout's, not one check's: alpha spending. The rollout's k-th check (`Progress.checks`)
fails only below `alpha_per_check(policy, k)` = (1 - confidence) x 4 / ((k + 3)(k + 4))
(statistics.spent); the first K checks spend K / (K + 4) of 1 - confidence, less than all
of it over any number of checks, so by the union bound a healthy version fails a whole
rollout by chance with probability at most 1 - confidence, however long it runs, its held
steps' checks included. A fifth goes to the 1st check, which sees one interval of a young
canary: a 2x regression is caught at the 2nd (0.27 %) and +50 % by the 4th (0.14 %); the
late checks have the most samples. Passing stays at `confidence`: a pass acts on nothing
irreversible, and the next check tests the version again. A version's cold starts come
with its traffic's growth (the new one's at each shift, while the stable one's
environments are already warm), so few slices hold cold starts of both: below
MIN_COLD_SAMPLES in such slices its check is inconclusive and never holds a step (gating:
latency only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..models import LatencyPolicy, Plan
from ..telemetry.reports import Sample
from .statistics import RankTest, Stratum, quantile, spent, stratified_u
from .verdict import CheckName, Spread, Verdict

FLOOR_MS = 10.0
MIN_SAMPLES = 5
MIN_COLD_SAMPLES = 5
YOUNG_INVOCATIONS = 3
# where each version's distribution is kept (Spread.quantiles): the report draws its CDF
QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)

Slice = int | None  # a time slice's number since the epoch; None: samples without a time
BySlice = Mapping[Slice, Sequence[float]]  # one version's values, by the slice served in
Served = Sequence[float] | BySlice  # a plain sequence: all of it in one slice


@dataclass(frozen=True)
class Slicing:
    """The time slices the versions are compared within: `seconds` long, counted from the
    epoch; None: the whole window as one slice (the pooled test, confounded by drift)."""

    seconds: int | None

    def of(self, sample: Sample) -> Slice:
        if self.seconds is None or sample.at_ms is None:
            return None
        return sample.at_ms // (self.seconds * 1000)

    def split(self, samples: Sequence[Sample], value: Callable[[Sample], float]) -> BySlice:
        found: dict[Slice, list[float]] = {}
        for s in samples:
            found.setdefault(self.of(s), []).append(value(s))
        return found


WHOLE_WINDOW = Slicing(None)


def slicing(plan: Plan) -> Slicing:
    """Slices as long as the shortest time the alias holds one weight: the weight moves at
    a step's start, which follows a check, so at most once a check interval, or once a
    step's wait where that is shorter (at least 1 s)."""
    waits = [step.waitSeconds for step in plan.steps if step.waitSeconds > 0]
    return Slicing(max(1, min([plan.checkIntervalSeconds, *waits])))


def alpha_per_check(policy: LatencyPolicy, look: int) -> float:
    """The error the rollout's `look`-th check (from 1) may make: the rollout's error,
    1 - confidence, spent over its checks (statistics.spent)."""
    return spent(1 - policy.confidence, look)


def spread(version: str, values: Sequence[float]) -> Spread:
    if not values:
        return Spread(version=version, n=0)
    return Spread(
        version=version,
        n=len(values),
        median=round(quantile(values, 0.5), 2),
        p90=round(quantile(values, 0.9), 2),
        p99=round(quantile(values, 0.99), 2),
        quantiles=[round(quantile(values, q), 2) for q in QUANTILES],
    )


def settled(samples: Sequence[Sample], new_version: bool = False) -> list[Sample]:
    """The successful invocations no young environment served, with their durations. A new
    version's environment is young at its first samples even when its cold start came
    before the window: a pre-traffic check, or a direct invocation, started it moments
    before."""
    young = _young(samples, every_environment=new_version)
    return [
        s
        for i, s in enumerate(samples)
        if s.duration_ms is not None and s.init_ms is None and not s.failed and i not in young
    ]


def settled_durations(
    samples: Sequence[Sample], slices: Slicing, new_version: bool = False
) -> BySlice:
    """`settled` samples' durations, by time slice."""
    return slices.split(settled(samples, new_version), _duration)


def init_durations(samples: Sequence[Sample], slices: Slicing) -> BySlice:
    """The cold starts' init durations, by time slice."""
    return slices.split([s for s in samples if s.init_ms is not None], _init)


def _duration(sample: Sample) -> float:
    assert sample.duration_ms is not None
    return sample.duration_ms


def _init(sample: Sample) -> float:
    assert sample.init_ms is not None
    return sample.init_ms


def _young(samples: Sequence[Sample], every_environment: bool = False) -> set[int]:
    """Indexes of the samples among their environment's first YOUNG_INVOCATIONS, for each
    environment whose cold start is among them (`every_environment`: for each one)."""
    by_environment: dict[str, list[tuple[int, int]]] = {}
    born: dict[str, int] = {}
    for index, s in enumerate(samples):
        if not s.environment or s.at_ms is None:
            continue
        by_environment.setdefault(s.environment, []).append((s.at_ms, index))
        if s.init_ms is not None or every_environment:
            born[s.environment] = min(born.get(s.environment, s.at_ms), s.at_ms)
    young: set[int] = set()
    for environment, start in born.items():
        since = sorted(item for item in by_environment[environment] if item[0] >= start)
        young.update(index for _, index in since[:YOUNG_INVOCATIONS])
    return young


def durations(
    new: tuple[str, Served],
    stable: tuple[str, Served],
    policy: LatencyPolicy,
    gating: bool = True,
    look: int = 1,
) -> Verdict:
    """`latency`: settled durations at the rollout's `look`-th check; inconclusive holds the
    step when `gating`."""
    return _compare("latency", new, stable, policy, MIN_SAMPLES, gating, look)


def cold_starts(
    new: tuple[str, Served],
    stable: tuple[str, Served],
    policy: LatencyPolicy,
    look: int = 1,
) -> Verdict:
    """`coldStarts`: init durations; never holds a step."""
    return _compare("coldStarts", new, stable, policy, MIN_COLD_SAMPLES, False, look)


_LABELS = {"latency": "settled duration", "coldStarts": "init duration"}


def _compare(
    check: CheckName,
    new: tuple[str, Served],
    stable: tuple[str, Served],
    policy: LatencyPolicy,
    minimum: int,
    gating: bool,
    look: int,
) -> Verdict:
    (new_version, new_values), (stable_version, stable_values) = new, stable
    x, y = _by_slice(new_values), _by_slice(stable_values)
    tolerance = (
        f"+{policy.maxIncreasePercent:g}% and +{FLOOR_MS:g} ms "
        f"at {policy.confidence * 100:g}% confidence"
    )
    base: dict[str, Any] = {
        "check": check,
        "new": spread(new_version, _pooled(x)),
        "stable": spread(stable_version, _pooled(y)),
        "tolerance": tolerance,
        "gating": gating,
    }
    label = _LABELS[check]
    paired = _paired(x, y)
    new_n, stable_n = (sum(len(stratum[side]) for stratum in paired) for side in (0, 1))
    if new_n < minimum or stable_n < minimum:
        why = (
            f"{check}: too few samples to compare {label}s served at the same time (version "
            f"{new_version} {new_n}, version {stable_version} {stable_n} in the time slices "
            f"both served in; at least {minimum} each)"
        )
        return Verdict(outcome="inconclusive", why=why, **base)
    alpha = 1 - policy.confidence
    as_they_are = stratified_u(paired)
    against_tolerance = stratified_u(
        [(xs, [_tolerated(v, policy) for v in ys]) for xs, ys in paired]
    )
    numbers = _numbers(base["new"], base["stable"], against_tolerance)
    share = alpha_per_check(policy, look)
    if as_they_are.greater < share and against_tolerance.above_half:
        return _verdict(
            base,
            "fail",
            as_they_are,
            as_they_are.greater,
            f"{check}: version {new_version} is slower than version {stable_version} beyond "
            f"the tolerance ({tolerance}): {numbers}",
            f" < {share:.2g} (check {look})",
        )
    if against_tolerance.less >= alpha:
        return _verdict(
            base,
            "inconclusive",
            against_tolerance,
            against_tolerance.less,
            f"{check}: can't tell yet whether version {new_version} is within the tolerance "
            f"({tolerance}): {numbers}",
        )
    if as_they_are.greater < alpha:
        return _verdict(
            base,
            "marginal",
            as_they_are,
            as_they_are.greater,
            f"{check}: version {new_version} is slower than version {stable_version}, within "
            f"the tolerance ({tolerance}): {numbers}",
        )
    return _verdict(
        base,
        "pass",
        against_tolerance,
        against_tolerance.less,
        f"{check}: version {new_version} within the tolerance ({tolerance}): {numbers}",
    )


def _by_slice(values: Served) -> BySlice:
    return values if isinstance(values, Mapping) else {None: values}


def _pooled(values: BySlice) -> list[float]:
    return [v for part in values.values() for v in part]


def _paired(x: BySlice, y: BySlice) -> list[Stratum]:
    """The slices both versions served in, in time order (untimed samples first)."""
    both = [key for key in x if x[key] and y.get(key)]
    return [(x[key], y[key]) for key in sorted(both, key=lambda key: (key is not None, key or 0))]


def _tolerated(duration: float, policy: LatencyPolicy) -> float:
    """The most a stable duration may grow: by maxIncreasePercent, and at least FLOOR_MS."""
    return max(duration * (1 + policy.maxIncreasePercent / 100), duration + FLOOR_MS)


def _verdict(
    base: dict[str, Any], outcome: str, test: RankTest, p: float, why: str, bound: str = ""
) -> Verdict:
    return Verdict.model_validate(
        {
            **base,
            "outcome": outcome,
            "why": f"{why}; Mann-Whitney U={test.u:g} in {_slices(test.strata)}, p={p:.3g}{bound}",
            "test": "Mann-Whitney U by time slice",
            "statistic": test.u,
            "p": p,
            "strata": test.strata,
        }
    )


def _slices(count: int) -> str:
    return f"{count} time slice{'s' if count > 1 else ''}"


def _numbers(new: Spread, stable: Spread, against_tolerance: RankTest) -> str:
    above = against_tolerance.u / against_tolerance.pairs
    return (
        f"median {new.median:g} vs {stable.median:g} ms, p90 {new.p90:g} vs {stable.p90:g}, "
        f"p99 {new.p99:g} vs {stable.p99:g}, n {new.n} vs {stable.n}; above the tolerated "
        f"stable duration in {above:.0%} of {against_tolerance.pairs} same-slice pairs"
    )
