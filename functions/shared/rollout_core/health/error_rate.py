"""The error-rate rule both health signals judge a new version by: the metric gate
(metrics.py, AWS/Lambda metrics) and the logs signal (logs.py, its log streams).

A rate over few invocations says little, so below `minInvocations` it isn't judged, with
one exception, a deliberate fail-fast: the failures already seen put the first
`minInvocations` invocations above the threshold. `failures / minInvocations` is their rate
even if every one still to come succeeds; once it is above `errorRatePercent` (and above the
stable version's rate, with `compareToStable`), the check fails. Later successes would only
dilute those failures (every check reads from the first traffic shift), not undo them, and
waiting for them sends more users to a failing version: at a 10 % canary of 10 requests/s,
waiting for 3 invocations costs about 3 s, and one more check interval when a check comes
too soon. The price: one early failure fails a version whose rate over a longer window
would have passed (with 10 and 1 %, any failure among its first 10 invocations).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import HealthPolicy


@dataclass(frozen=True)
class Judgement:
    judged: bool  # False: too few invocations to judge, and the failures don't settle it
    reason: str | None = None  # why the version fails
    note: str | None = None  # above the threshold, but no worse than the stable version


def judge(
    signal: str,
    version: str,
    failures: float,
    invocations: float,
    policy: HealthPolicy,
    stable: tuple[str, float | None] | None = None,
) -> Judgement:
    """`version`'s `failures` of `invocations` against `policy`; `stable` is the stable
    version and its rate (None: no invocations) when it is compared. Lines start with
    `signal`."""
    threshold = policy.errorRatePercent
    minimum = policy.minInvocations
    stable_version, stable_rate = stable or ("", None)
    if invocations and invocations >= minimum:
        rate = 100 * failures / invocations
        counts = f"{_n(failures)}/{_n(invocations)} invocations failed"
        line = f"{signal}: version {version} error rate {rate:.2f}% ({counts}) above {threshold:g}%"
    elif failures and minimum and _settled(100 * failures / minimum, threshold, stable_rate):
        rate = 100 * failures / minimum
        counts = (
            f"{_n(failures)}/{_n(invocations)} invocations failed: at least "
            f"{_n(failures)}/{minimum} once {minimum} are in"
        )
        line = (
            f"{signal}: version {version} error rate at least {rate:.2f}% ({counts}) "
            f"above {threshold:g}%"
        )
    else:
        return Judgement(judged=False)
    if rate <= threshold:
        return Judgement(judged=True)
    if stable_rate is not None:
        if stable_rate >= rate:
            return Judgement(
                judged=True,
                note=f"{line}, but stable version {stable_version} is as bad ({stable_rate:.2f}%)",
            )
        line += f" and above stable version {stable_version} ({stable_rate:.2f}%)"
    return Judgement(judged=True, reason=line)


def _settled(floor: float, threshold: float, stable_rate: float | None) -> bool:
    """A lower bound settles the verdict only when above everything it is compared with;
    one at or below the stable version's rate settles nothing yet (low traffic)."""
    return floor > threshold and (stable_rate is None or floor > stable_rate)


def too_few(invocations: float, minimum: int) -> str:
    """`N invocations, fewer than M`: why a version wasn't judged (M 0: none at all)."""
    return f"{_n(invocations)} invocations" + (f", fewer than {minimum}" if minimum else "")


def _n(value: float) -> str:
    return str(round(value))  # metric sums are floats
