"""CloudWatch metric alarm evaluation: which windows of data an alarm reads, and the state
they call for. Pure functions of moto's stored alarm and metric data; alarms.py (the seam)
decides when to evaluate (alarm_schedule.py) and what a transition does.

Evaluation, simplified from CloudWatch's and documented so results can be predicted:
the N (EvaluationPeriods) most recent windows of Period seconds ending at the moment of
evaluation, each (end - Period, end]; a window without data is missing. Missing windows
are filled per TreatMissingData (breaching / notBreaching) or stay missing (missing /
ignore). Then: no data at all -> INSUFFICIENT_DATA (missing) or unchanged (ignore); at
least M (DatapointsToAlarm) breaching -> ALARM; some breaching but M still reachable
through missing windows -> unchanged (no premature transition); otherwise OK. Metric
math, percentiles, anomaly bands and composite alarms are not evaluated. The missing-data
rules follow "Configuring how CloudWatch alarms treat missing data",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html.
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import Alarm, MetricAggregatedDatum, MetricDatumBase

from rollout.local.metric_queries import dimension_set

ALARM, OK, INSUFFICIENT = "ALARM", "OK", "INSUFFICIENT_DATA"
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
STATISTICS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """moto stores naive UTC datetimes; the seam compares aware ones."""
    return moment.replace(tzinfo=datetime.UTC) if moment.tzinfo is None else moment


def aws_time(moment: datetime.datetime) -> str:
    """CloudWatch's timestamp spelling in reasons and events: 2024-01-31T12:00:00.000+0000."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


# -- what an alarm watches, and the data in its windows ------------------------------


@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    metric_name: str
    dimensions: frozenset[tuple[str, str]]
    period: int
    statistic: str
    unit: str | None


@dataclass(frozen=True)
class Window:
    end: datetime.datetime
    value: float | None  # None: no data in this window
    samples: float


def metric_spec(alarm: Alarm) -> MetricSpec | None:
    """The single metric a static-threshold alarm watches; None for what we don't evaluate."""
    unsupported = (
        alarm.rule is not None
        or alarm.metric_data_queries
        or alarm.extended_statistic
        or alarm.threshold_metric_id
    )
    if unsupported or alarm.statistic not in STATISTICS:
        return None
    if alarm.comparison_operator not in COMPARISONS:
        return None
    return MetricSpec(
        namespace=alarm.namespace,
        metric_name=alarm.metric_name,
        dimensions=dimension_set(alarm.dimensions),
        period=int(alarm.period),
        statistic=alarm.statistic,
        unit=alarm.unit,
    )


def _matches(datum: MetricDatumBase, spec: MetricSpec) -> bool:
    # CloudWatch alarms match dimensions exactly (moto's own filters match subsets).
    same_metric = dimension_set(datum.dimensions) == spec.dimensions
    return same_metric and (spec.unit is None or datum.unit == spec.unit)


def _summary(datum: MetricDatumBase) -> tuple[float, float, float, float]:
    """(samples, sum, min, max) of a raw value or a StatisticValues set."""
    if isinstance(datum, MetricAggregatedDatum):
        return datum.sample_count, datum.sum, datum.min, datum.max
    value = float(datum.value)  # type: ignore[attr-defined]
    return 1.0, value, value, value


def aggregate(data: Iterable[MetricDatumBase], statistic: str) -> tuple[float | None, float]:
    """One window's statistic and sample count; (None, 0) when the window is empty."""
    summaries = [_summary(datum) for datum in data]
    samples = sum(s[0] for s in summaries)
    if not summaries or samples == 0:
        return None, 0.0
    total = sum(s[1] for s in summaries)
    value = {
        "Sum": total,
        "Average": total / samples,
        "Minimum": min(s[2] for s in summaries),
        "Maximum": max(s[3] for s in summaries),
        "SampleCount": samples,
    }[statistic]
    return value, samples


def windows(
    data: Iterable[MetricDatumBase], spec: MetricSpec, now: datetime.datetime, count: int
) -> list[Window]:
    """The `count` most recent windows ending at `now`, oldest first."""
    period = datetime.timedelta(seconds=spec.period)
    matching = [(as_utc(d.timestamp), d) for d in data if _matches(d, spec)]
    result = []
    for index in reversed(range(count)):
        end = now - index * period
        inside = [datum for moment, datum in matching if end - period < moment <= end]
        value, samples = aggregate(inside, spec.statistic)
        result.append(Window(end, value, samples))
    return result


# -- the verdict ------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str
    reason_data: dict[str, Any]


def verdict(alarm: Alarm, spec: MetricSpec, recent: list[Window], current: str) -> Verdict | None:
    """The state the windows call for; None keeps the current state."""
    compare, words = COMPARISONS[alarm.comparison_operator]
    threshold = float(alarm.threshold)
    treat = alarm.treat_missing_data or "missing"
    total = len(recent)
    needed = int(alarm.datapoints_to_alarm or total)
    marks = [_mark(w, compare, threshold, treat) for w in recent]
    breaching, unknown = marks.count(True), marks.count(None)
    data = _reason_data(spec, threshold, recent)
    shown = [w.value for w in recent if w.value is not None]
    if unknown == total:
        if treat == "ignore":
            return None
        return Verdict(INSUFFICIENT, f"Insufficient Data: {total} datapoints were unknown.", data)
    if breaching >= needed:
        reason = (
            f"Threshold Crossed: {breaching} out of the last {total} datapoints {shown} "
            f"{'was' if breaching == 1 else 'were'} {words} the threshold ({threshold}) "
            f"(minimum {needed} datapoints for {current} -> ALARM transition)."
        )
        return Verdict(ALARM, reason, data)
    if breaching and breaching + unknown >= needed:
        return None  # missing windows could still make it an ALARM: wait for them
    reason = (
        f"Threshold Crossed: {total - breaching} out of the last {total} datapoints "
        f"{shown} {'was' if total - breaching == 1 else 'were'} not {words} the "
        f"threshold ({threshold}) (minimum {needed} datapoints for ALARM)."
    )
    return Verdict(OK, reason, data)


def _mark(
    window: Window, compare: Callable[[float, float], bool], threshold: float, treat: str
) -> bool | None:
    """True breaching, False not breaching, None missing (after TreatMissingData)."""
    if window.value is not None:
        return compare(window.value, threshold)
    return {"breaching": True, "notBreaching": False}.get(treat)


def _reason_data(spec: MetricSpec, threshold: float, recent: list[Window]) -> dict[str, Any]:
    period = datetime.timedelta(seconds=spec.period)
    present = [w for w in recent if w.value is not None]
    return {
        "version": "1.0",
        "queryDate": aws_time(recent[-1].end),
        "startDate": aws_time(recent[0].end - period),
        "statistic": spec.statistic,
        "period": spec.period,
        "recentDatapoints": [w.value for w in present],
        "threshold": threshold,
        "evaluatedDatapoints": [
            {"timestamp": aws_time(w.end - period), "sampleCount": w.samples, "value": w.value}
            for w in reversed(present)
        ],
    }
