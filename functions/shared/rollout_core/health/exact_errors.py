"""The canary judge's errors check: the new version's error rate against the stable
version's, by a one-sided Fisher exact test (health/statistics.py), beside the threshold
the metric gate and the logs signal judge (error_rate.py, unchanged).

The threshold fails a version whose rate is above `errorRatePercent`; the exact test fails
one whose rate is above the stable version's with ERRORS_CONFIDENCE, however low both
rates are (1 % against 0.1 % is caught without a threshold of 1 %). The test repeats at
every check over counts that keep growing, so ERRORS_CONFIDENCE is the rollout's, spent
over its checks as latency's is (statistics.spent): the k-th check fails only below
(1 - ERRORS_CONFIDENCE) x 4 / ((k + 3)(k + 4)), and a version failing no more than its
stable one fails the test in at most one rollout in a hundred, however many checks it
runs (held steps' included). At 99.9 % per check, unspent, the bound grew with every check
(3.5 % over a 35-check step, none over a hold); the price is power on rare rates late in
a step (1 % against 0.1 % at a 10 % canary: docs/benchmarks.md), which the threshold rule
beside it keeps catching.
- fail: p below this check's share of 1 - ERRORS_CONFIDENCE;
- marginal: the new rate is higher and p < MARGINAL_P, not yet beyond doubt;
- pass: otherwise;
- inconclusive (never holds a step: `lowTraffic` decides about too little traffic, as for
  the threshold): fewer than `minInvocations` invocations, or no stable invocations.
"""

from __future__ import annotations

from typing import Any

from ..models import HealthPolicy
from .statistics import fisher_greater, spent
from .verdict import Spread, Verdict

ERRORS_CONFIDENCE = 0.99  # over the rollout's checks
MARGINAL_P = 0.05


def judge(
    new: tuple[str, int, int], stable: tuple[str, int, int], policy: HealthPolicy, look: int = 1
) -> Verdict:
    """`new` and `stable` are (version, failures, invocations); `look` the rollout's check
    number."""
    (new_version, new_failed, new_total), (stable_version, stable_failed, stable_total) = (
        new,
        stable,
    )
    base: dict[str, Any] = {
        "check": "errors",
        "new": _spread(new_version, new_failed, new_total),
        "stable": _spread(stable_version, stable_failed, stable_total),
        "tolerance": f"not above the stable rate at {ERRORS_CONFIDENCE * 100:g}% confidence "
        "over the rollout's checks",
    }
    if new_total < max(policy.minInvocations, 1) or not stable_total:
        why = (
            f"errors: too few invocations to compare (version {new_version} {new_total}, "
            f"version {stable_version} {stable_total})"
        )
        return Verdict.model_validate({**base, "outcome": "inconclusive", "why": why})
    p = fisher_greater(new_failed, new_total, stable_failed, stable_total)
    share = spent(1 - ERRORS_CONFIDENCE, look)
    numbers = (
        f"{new_failed}/{new_total} ({base['new'].ratePercent:g}%) vs "
        f"{stable_failed}/{stable_total} ({base['stable'].ratePercent:g}%); Fisher exact "
        f"p={p:.3g}"
    )
    higher = new_failed * stable_total > stable_failed * new_total
    if p < share:
        outcome, why = "fail", f"errors: version {new_version} fails more than version "
        numbers += f" < {share:.2g} (check {look})"
    elif higher and p < MARGINAL_P:
        outcome, why = "marginal", f"errors: version {new_version} may fail more than version "
    else:
        outcome, why = "pass", f"errors: version {new_version} fails no more than version "
    return Verdict.model_validate(
        {
            **base,
            "outcome": outcome,
            "why": f"{why}{stable_version}: {numbers}",
            "test": "Fisher exact",
            "p": p,
        }
    )


def _spread(version: str, failed: int, total: int) -> Spread:
    rate = round(100 * failed / total, 3) if total else None
    return Spread(version=version, n=total, failures=failed, ratePercent=rate)
