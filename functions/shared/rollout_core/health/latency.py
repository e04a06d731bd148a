"""The canary judge's latency checks: the new version's durations against the stable
version's, over the same window and the same traffic (the alias splits it by weight), by a
Mann-Whitney U test (health/statistics.py), as Kayenta judges a canary.

A rank test with an effect-size tolerance, as Kayenta's: the tolerated duration of a stable
duration d is max(d x (1 + maxIncreasePercent/100), d + FLOOR_MS). So
- fail: the new durations are slower than the stable ones (one-sided U test, p below this
  check's share of 1 - confidence: alpha spending, below) and the effect is beyond the
  tolerance (the new median above the stable median's tolerated duration);
- pass: the new durations are below the tolerated stable ones, with `confidence`;
- marginal: pass, but slower than the stable durations as they are, with `confidence`;
- inconclusive: none of these could be shown, or fewer than MIN_SAMPLES of either version.
MIN_SAMPLES, 5: the U test's p is exact on small samples (statistics.py), so a few settled
durations are judged at the test's own level; fewer than 5 leave the median, which the
effect-size tolerance reads, to one or two invocations. A 10 % canary at 10 requests/s has
about 20 invocations by the 2nd check, and its young environments' first 3 are left out
(below): a minimum of 10 left a 2x regression undecided at the 2nd check in one rollout of
seven (docs/benchmarks.md).
A version slower than its stable one by about the tolerance may fail (its median is as
likely above as below the tolerated one); a version no slower than its stable one fails a
rollout by chance with probability at most 1 - confidence.

FLOOR_MS, 10 ms: a regression smaller than that is no regression anyone rolls back for. A
handler of 1 ms against 2 ms is +100 %, and passes.

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
apart (`coldStarts`): the init durations of both versions by the same test, so a real init
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
irreversible, and the next check tests the version again. Stable environments are
already warm when a rollout starts, so the stable version often has few cold starts in the
window: below MIN_COLD_SAMPLES its check is inconclusive and never holds a step (gating:
latency only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models import LatencyPolicy
from ..telemetry.reports import Sample
from .statistics import RankTest, mann_whitney_u, quantile, spent
from .verdict import CheckName, Spread, Verdict

FLOOR_MS = 10.0
MIN_SAMPLES = 5
MIN_COLD_SAMPLES = 5
YOUNG_INVOCATIONS = 3
# where each version's distribution is kept (Spread.quantiles): the report draws its CDF
QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


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


def settled_durations(samples: Sequence[Sample], new_version: bool = False) -> list[float]:
    """Durations of the successful invocations no young environment served. A new version's
    environment is young at its first samples even when its cold start came before the
    window: a pre-traffic check, or a direct invocation, started it moments before."""
    young = _young(samples, every_environment=new_version)
    return [
        s.duration_ms
        for i, s in enumerate(samples)
        if s.duration_ms is not None and s.init_ms is None and not s.failed and i not in young
    ]


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


def init_durations(samples: Sequence[Sample]) -> list[float]:
    return [s.init_ms for s in samples if s.init_ms is not None]


def durations(
    new: tuple[str, Sequence[float]],
    stable: tuple[str, Sequence[float]],
    policy: LatencyPolicy,
    gating: bool = True,
    look: int = 1,
) -> Verdict:
    """`latency`: settled durations at the rollout's `look`-th check; inconclusive holds the
    step when `gating`."""
    return _compare("latency", new, stable, policy, MIN_SAMPLES, gating, look)


def cold_starts(
    new: tuple[str, Sequence[float]],
    stable: tuple[str, Sequence[float]],
    policy: LatencyPolicy,
    look: int = 1,
) -> Verdict:
    """`coldStarts`: init durations; never holds a step."""
    return _compare("coldStarts", new, stable, policy, MIN_COLD_SAMPLES, False, look)


_LABELS = {"latency": "settled duration", "coldStarts": "init duration"}


def _compare(
    check: CheckName,
    new: tuple[str, Sequence[float]],
    stable: tuple[str, Sequence[float]],
    policy: LatencyPolicy,
    minimum: int,
    gating: bool,
    look: int,
) -> Verdict:
    (new_version, x), (stable_version, y) = new, stable
    tolerance = (
        f"+{policy.maxIncreasePercent:g}% and +{FLOOR_MS:g} ms "
        f"at {policy.confidence * 100:g}% confidence"
    )
    base: dict[str, Any] = {
        "check": check,
        "new": spread(new_version, x),
        "stable": spread(stable_version, y),
        "tolerance": tolerance,
        "gating": gating,
    }
    label = _LABELS[check]
    if len(x) < minimum or len(y) < minimum:
        why = (
            f"{check}: too few samples to compare {label}s (version {new_version} {len(x)}, "
            f"version {stable_version} {len(y)}; at least {minimum} each)"
        )
        return Verdict(outcome="inconclusive", why=why, **base)
    alpha = 1 - policy.confidence
    numbers = _numbers(base["new"], base["stable"])
    as_they_are = mann_whitney_u(x, y)
    share = alpha_per_check(policy, look)
    if as_they_are.greater < share and _beyond(quantile(x, 0.5), quantile(y, 0.5), policy):
        return _verdict(
            base,
            "fail",
            as_they_are,
            as_they_are.greater,
            f"{check}: version {new_version} is slower than version {stable_version} beyond "
            f"the tolerance ({tolerance}): {numbers}",
            f" < {share:.2g} (check {look})",
        )
    tolerated = [_tolerated(v, policy) for v in y]
    against_tolerance = mann_whitney_u(x, tolerated)
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


def _tolerated(duration: float, policy: LatencyPolicy) -> float:
    """The most a stable duration may grow: by maxIncreasePercent, and at least FLOOR_MS."""
    return max(duration * (1 + policy.maxIncreasePercent / 100), duration + FLOOR_MS)


def _beyond(new_median: float, stable_median: float, policy: LatencyPolicy) -> bool:
    """The effect size is beyond the tolerance: the new median above the tolerated one."""
    return new_median > _tolerated(stable_median, policy)


def _verdict(
    base: dict[str, Any], outcome: str, test: RankTest, p: float, why: str, bound: str = ""
) -> Verdict:
    return Verdict.model_validate(
        {
            **base,
            "outcome": outcome,
            "why": f"{why}; Mann-Whitney U={test.u:g}, p={p:.3g}{bound}",
            "test": "Mann-Whitney U",
            "statistic": test.u,
            "p": p,
        }
    )


def _numbers(new: Spread, stable: Spread) -> str:
    return (
        f"median {new.median:g} vs {stable.median:g} ms, p90 {new.p90:g} vs {stable.p90:g}, "
        f"p99 {new.p99:g} vs {stable.p99:g}, n {new.n} vs {stable.n}"
    )
