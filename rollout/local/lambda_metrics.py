"""The AWS/Lambda metrics Lambda emits per invocation, written into moto's CloudWatch.

Dimension sets, as Lambda publishes them: {FunctionName}; {FunctionName, Resource};
and {FunctionName, Resource, ExecutedVersion} when a version or alias was invoked.
Resource is "name:qualifier" for a qualified invocation, else the function name.
Rollout health checks key on ExecutedVersion, so the old version's errors never
count against the new one. They are written in the function's own account and Region,
where Lambda publishes them: "Metrics exist only in the Region in which they are created"
(Amazon CloudWatch concepts,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.utils import utcnow

from rollout.local.seam import Place

NAMESPACE = "AWS/Lambda"


@dataclass(frozen=True)
class InvocationRecord:
    """What one invocation did, as far as metrics are concerned."""

    function_name: str
    qualifier: str | None  # as the caller gave it: None, "$LATEST", a version or an alias
    executed_version: str
    duration_ms: float = 0.0
    errored: bool = False
    throttled: bool = False


def dimension_sets(record: InvocationRecord) -> list[list[dict[str, str]]]:
    name = record.function_name
    resource = f"{name}:{record.qualifier}" if record.qualifier else name
    sets = [
        [{"Name": "FunctionName", "Value": name}],
        [{"Name": "FunctionName", "Value": name}, {"Name": "Resource", "Value": resource}],
    ]
    if record.qualifier and record.qualifier != "$LATEST":
        sets.append([*sets[1], {"Name": "ExecutedVersion", "Value": record.executed_version}])
    return sets


def metric_values(record: InvocationRecord) -> list[tuple[str, float, str]]:
    """(MetricName, Value, Unit) for the invocation; a throttled call only counts as that."""
    if record.throttled:
        return [("Throttles", 1.0, "Count")]
    return [
        ("Invocations", 1.0, "Count"),
        ("Errors", 1.0 if record.errored else 0.0, "Count"),
        ("Duration", round(record.duration_ms, 3), "Milliseconds"),
    ]


Put = Callable[[Place, str, list[dict[str, Any]]], None]


def emit(place: Place, record: InvocationRecord, put: Put | None = None) -> None:
    """Write the invocation's metrics in `place` (the function's account and Region),
    through `put` (metric_delay.py's per-minute delay) when given. Nothing reacts to
    their arrival: CloudWatch evaluates alarms on a schedule (alarms.py)."""
    now = utcnow()
    data: list[dict[str, Any]] = [
        {"MetricName": metric, "Value": value, "Unit": unit, "Dimensions": dims, "Timestamp": now}
        for dims in dimension_sets(record)
        for metric, value, unit in metric_values(record)
    ]
    if put is not None:
        put(place, NAMESPACE, data)
    else:
        cloudwatch_backends[place.account_id][place.region].put_metric_data(NAMESPACE, data)
