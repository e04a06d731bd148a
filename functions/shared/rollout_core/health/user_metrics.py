"""The user's own CloudWatch metrics (`health.metrics`), a signal like the others
(signal.py): each metric, or metric-math expression, read for the new and the stable
version over the check's window, and judged against its threshold or the stable
version's value.

A metric's dimension values may name the version: `${function}`, `${alias}` and
`${version}` are filled per version (e.g. `{"FunctionName": "${function}",
"Resource": "${function}:${alias}", "ExecutedVersion": "${version}"}` reads Lambda's own
per-version metrics). Each value is the statistic over the whole window (the first traffic
shift to the check, in whole minutes: one period, so one datapoint per query), from one
GetMetricData per check for every metric of every function (the API takes 500 queries).

Per metric, each check yields pass, fail or inconclusive (no datapoint yet) with its
numbers, kept as `userMetrics` in the check (each function's row in a release):
- fail: the new value above `threshold`, or above the stable value raised by
  `maxIncreasePercent`; the reason names the metric. With `dryRun`, a fail is a note
  ("would fail") and never acts: recorded only, as Argo Rollouts' dry-run metrics;
- inconclusive is shown, never holds a step (a metric may simply have no data).

A read throttled or too slow for the check's deadline is a note naming GetMetricData
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html);
the check judges its other signals.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any, Literal

from .. import clients
from ..deadline import READ_ERRORS, Deadline, missed, unread
from ..models import CheckResult, Document, MetricStat, RolloutPlan, UserMetric, unless_set
from .signal import Check, Findings, Judged

MetricOutcome = Literal["pass", "fail", "inconclusive"]


class MetricVerdict(Document):
    """One user metric of one function in one check."""

    name: str
    outcome: MetricOutcome
    why: str  # names the metric, with its numbers
    new: float | None = None
    stable: float | None = None
    threshold: float | None = unless_set()
    maxIncreasePercent: float | None = unless_set()
    dryRun: bool = False


def read(check: Check) -> Findings:
    if not any(member.health.metrics for member in check.members):
        return Findings(read=None)
    if not check.judging_traffic:
        return Findings(functions=[Judged() for _ in check.members], read=None)
    try:
        values = _values(check.members, check.since, check.now, check.deadline)
    except READ_ERRORS as error:
        if not missed(error):
            raise
        return Findings(unread=[unread("userMetrics", "GetMetricData", error)], read=False)
    return Findings(
        functions=[_judged(m, member, values) for m, member in enumerate(check.members)],
    )


def _judged(m: int, member: RolloutPlan, values: dict[str, float | None]) -> Judged:
    judged = Judged()
    found = []
    for index, metric in enumerate(member.health.metrics):
        new, stable = values.get(_id(m, index, 0)), values.get(_id(m, index, 1))
        verdict = judge(metric, member.targetVersion, new, member.stableVersion, stable)
        found.append(verdict)
        if acts(verdict):
            judged.reasons.append(verdict.why)
        elif verdict.outcome == "fail":
            judged.notes.append(f"{verdict.why} (dry run: would fail, not acted on)")
    if found:
        judged.numbers["userMetrics"] = found
    return judged


def acts(verdict: MetricVerdict) -> bool:
    """A fail fails the check, unless its metric is a dry run."""
    return verdict.outcome == "fail" and not verdict.dryRun


def judge(
    metric: UserMetric,
    new_version: str,
    new: float | None,
    stable_version: str,
    stable: float | None,
) -> MetricVerdict:
    """One metric's verdict from its values for both versions."""
    base: dict[str, Any] = {
        "name": metric.name,
        "new": new,
        "stable": stable,
        "threshold": metric.threshold,
        "maxIncreasePercent": metric.maxIncreasePercent,
        "dryRun": metric.dryRun,
    }
    label = f"metric {metric.name}"
    if new is None:
        why = f"{label}: no datapoint of version {new_version} yet"
        return MetricVerdict(outcome="inconclusive", why=why, **base)
    shown = f"version {new_version} {new:g}, version {stable_version} " + (
        "no datapoint" if stable is None else f"{stable:g}"
    )
    if metric.threshold is not None and new > metric.threshold:
        why = f"{label}: version {new_version} at {new:g}, above the threshold {metric.threshold:g}"
        return MetricVerdict(outcome="fail", why=f"{why} ({shown})", **base)
    if metric.maxIncreasePercent is not None and stable is not None:
        limit = stable * (1 + metric.maxIncreasePercent / 100)
        if new > limit:
            why = (
                f"{label}: version {new_version} at {new:g}, more than "
                f"{metric.maxIncreasePercent:g}% above version {stable_version} ({stable:g})"
            )
            return MetricVerdict(outcome="fail", why=why, **base)
    if metric.threshold is None and stable is None:
        why = f"{label}: no datapoint of version {stable_version} to compare with ({shown})"
        return MetricVerdict(outcome="inconclusive", why=why, **base)
    return MetricVerdict(outcome="pass", why=f"{label}: within its limits ({shown})", **base)


def _values(
    members: list[RolloutPlan], since: datetime, now: datetime, deadline: Deadline
) -> dict[str, float | None]:
    """Every metric of every member, for both versions: query id → the window's value."""
    start = since.replace(second=0, microsecond=0)
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    period = max(60, math.ceil((end - start).total_seconds() / 60) * 60)
    queries = [
        query
        for m, member in enumerate(members)
        for index, metric in enumerate(member.health.metrics)
        for side, version in enumerate((member.targetVersion, member.stableVersion))
        for query in _queries(_id(m, index, side), metric, member, version, period)
    ]
    found: dict[str, float | None] = {}
    args: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": start + timedelta(seconds=period),
    }
    while True:
        page = clients.within("cloudwatch", deadline.remaining()).get_metric_data(**args)
        for result in page["MetricDataResults"]:
            values = result.get("Values") or []
            if values:
                found[result["Id"]] = float(values[0])
        if not page.get("NextToken"):
            return found
        args["NextToken"] = page["NextToken"]


def _id(member: int, index: int, side: int) -> str:
    """A GetMetricData id ([a-z][a-zA-Z0-9_]*) per function, metric and version."""
    return f"u{member}_{index}_{side}"


def _queries(
    query_id: str, metric: UserMetric, member: RolloutPlan, version: str, period: int
) -> list[dict[str, Any]]:
    if metric.metric is not None:
        return [_stat(query_id, metric.metric, member, version, period, True)]
    assert metric.expression is not None
    inner = {name: f"{query_id}_{name}" for name in metric.metrics}
    expression = re.sub(
        r"\b[a-z][a-zA-Z0-9_]*\b",
        lambda found: inner.get(found[0], found[0]),
        metric.expression,
    )
    return [
        *(
            _stat(inner[name], stat, member, version, period, False)
            for name, stat in metric.metrics.items()
        ),
        {"Id": query_id, "Expression": expression, "ReturnData": True},
    ]


def _stat(
    query_id: str,
    stat: MetricStat,
    member: RolloutPlan,
    version: str,
    period: int,
    returned: bool,
) -> dict[str, Any]:
    fill = {"${function}": member.functionName, "${alias}": member.alias, "${version}": version}
    dimensions = [
        {"Name": name, "Value": _filled(value, fill)} for name, value in stat.dimensions.items()
    ]
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": stat.namespace,
                "MetricName": stat.metricName,
                "Dimensions": dimensions,
            },
            "Period": period,
            "Stat": stat.stat,
        },
        "ReturnData": returned,
    }


def _filled(value: str, fill: dict[str, str]) -> str:
    for placeholder, text in fill.items():
        value = value.replace(placeholder, text)
    return value


def of(check: CheckResult) -> list[tuple[str | None, MetricVerdict]]:
    """Each function's user-metric verdicts in a check (function name, or None for one)."""
    rows = (
        [(row.functionName, row.model_extra) for row in check.functions]
        if check.functions
        else [(None, check.model_extra)]
    )
    return [
        (name, MetricVerdict.model_validate(found))
        for name, extra in rows
        for found in (extra or {}).get("userMetrics") or []
    ]
