"""The metric gate: each new version's own error rate from Lambda's AWS/Lambda metrics.

Errors are counted with ExecutedVersion bound to each version, so the stable version's
errors never fail a healthy new version (the anchors' most common mistake), and with
Resource bound to the alias, so only the alias's traffic counts. Every check reads from the
rollout's first traffic shift (progress.window_start says why: Lambda's metrics are
readable a minute or more late, so a per-step window would never judge a failure near a
step's end).

One GetMetricData reads every function of a release: Invocations and Errors (Sum, 60 s)
of its new and stable versions, four queries per function (500 per call is the quota), so
a check costs one call whatever the release's size. A call throttled or too slow for the
check's deadline is a note naming GetMetricData; the check judges its other signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .. import clients
from ..deadline import READ_ERRORS, Deadline, missed, unread
from ..models import RolloutPlan, VersionCounts
from . import error_rate
from .signal import Check, Findings, Judged

METRICS = ("Invocations", "Errors")


@dataclass(frozen=True)
class VersionStats:
    """A version's sums as read (floats: the rule rounds them in its lines)."""

    version: str
    invocations: float
    errors: float

    @property
    def rate(self) -> float | None:
        return 100 * self.errors / self.invocations if self.invocations else None

    def counts(self) -> VersionCounts:
        """What the check's result keeps."""
        rate = self.rate
        return VersionCounts(
            version=self.version,
            invocations=int(self.invocations),
            errors=int(self.errors),
            errorRatePercent=None if rate is None else round(rate, 2),
        )


def read(check: Check) -> Findings:
    try:
        stats = version_stats(check.members, check.since, check.now, check.deadline)
    except READ_ERRORS as error:
        if not missed(error):
            raise
        return Findings(unread=[unread("metrics", "GetMetricData", error)], read=False)
    return Findings(
        functions=[
            _judge(check, member, found) for member, found in zip(check.members, stats, strict=True)
        ]
    )


def version_stats(
    members: list[RolloutPlan], start: datetime, end: datetime, deadline: Deadline
) -> list[dict[str, VersionStats]]:
    """Each member's new and stable versions' sums in [start, end), whole minutes, from
    one GetMetricData: per member, version → sums."""
    start = start.replace(second=0, microsecond=0)
    end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    queries = [
        _query(_id(metric, m, v), member, version, metric)
        for m, member in enumerate(members)
        for v, version in enumerate(_versions(member))
        for metric in METRICS
    ]
    sums = _sums(queries, start, end, deadline)
    return [
        {
            version: VersionStats(
                version, sums[_id("Invocations", m, v)], sums[_id("Errors", m, v)]
            )
            for v, version in enumerate(_versions(member))
        }
        for m, member in enumerate(members)
    ]


def _versions(member: RolloutPlan) -> list[str]:
    return [member.targetVersion, member.stableVersion]


def _id(metric: str, member: int, version: int) -> str:
    return f"{metric[0].lower()}{member}_{version}"  # GetMetricData ids: [a-z][a-zA-Z0-9_]*


def _query(query_id: str, member: RolloutPlan, version: str, metric: str) -> dict[str, Any]:
    dimensions = {
        "FunctionName": member.functionName,
        "Resource": f"{member.functionName}:{member.alias}",
        "ExecutedVersion": version,
    }
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            },
            "Period": 60,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


def _sums(
    queries: list[dict[str, Any]], start: datetime, end: datetime, deadline: Deadline
) -> dict[str, float]:
    """Every query's sum; each page (a window of days has more) within the deadline."""
    sums = {query["Id"]: 0.0 for query in queries}
    args: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
    while True:
        page = clients.within("cloudwatch", deadline.remaining()).get_metric_data(**args)
        for result in page["MetricDataResults"]:
            sums[result["Id"]] += sum(result.get("Values", []))
        if not page.get("NextToken"):
            return sums
        args["NextToken"] = page["NextToken"]


def _judge(check: Check, member: RolloutPlan, stats: dict[str, VersionStats]) -> Judged:
    """One function's new version against the policy; low traffic is judged at the end
    of a step only."""
    new, stable = stats[member.targetVersion], stats[member.stableVersion]
    judged = Judged(numbers={"newVersion": new.counts(), "stableVersion": stable.counts()})
    if not check.judging_traffic:
        # AllAtOnce checks once before promotion, when the new version gets no traffic:
        # there is nothing to judge, and low traffic there must not fail the rollout.
        judged.notes.append(
            f"version {new.version} has no traffic share yet; error rate not judged"
        )
        return judged
    policy = member.health
    compared = (stable.version, stable.rate) if policy.compareToStable else None
    judgement = error_rate.judge(
        "metrics", new.version, new.errors, new.invocations, policy, compared
    )
    if not judgement.judged:
        line = (
            f"low traffic: version {new.version} had "
            f"{error_rate.too_few(new.invocations, policy.minInvocations)}"
        )
        if check.cursor.stepComplete and policy.lowTraffic == "fail":
            judged.reasons.append(line)
        else:
            judged.notes.append(f"{line}; error rate not judged")
    judged.reasons += [judgement.reason] if judgement.reason else []
    judged.notes += [judgement.note] if judgement.note else []
    return judged
