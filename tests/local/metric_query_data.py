"""Metrics both metric query test modules put and query: Lambda's `Errors` of one function
(1) and of one version through an alias (2), and a custom namespace's `Errors` with the
version's dimensions (5), as a team's own metric beside Lambda's would be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

LAMBDA, CUSTOM = "AWS/Lambda", "Orders/Custom"
FUNCTION = [{"Name": "FunctionName", "Value": "orders"}]
VERSION = [
    *FUNCTION,
    {"Name": "Resource", "Value": "orders:live"},
    {"Name": "ExecutedVersion", "Value": "2"},
]
VERSION_REORDERED = [VERSION[2], VERSION[1], VERSION[0]]  # the same metric, named otherwise
NOW = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
WINDOW = {"StartTime": NOW - timedelta(minutes=5), "EndTime": NOW + timedelta(minutes=5)}


def put_errors(cloudwatch: Any) -> None:
    for namespace, dimensions, value in ((LAMBDA, FUNCTION, 1.0), (LAMBDA, VERSION, 2.0),
                                         (CUSTOM, VERSION, 5.0)):  # fmt: skip
        datum = {"MetricName": "Errors", "Dimensions": dimensions, "Value": value, "Timestamp": NOW}
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=[datum])


def errors_query(
    query_id: str, namespace: str, dimensions: list[dict[str, str]], **extra: Any
) -> dict[str, Any]:
    metric = {"Namespace": namespace, "MetricName": "Errors", "Dimensions": dimensions}
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}, **extra}


def values(cloudwatch: Any, *queries: dict[str, Any], **request: Any) -> dict[str, list[float]]:
    """GetMetricData's values by query id."""
    answer = cloudwatch.get_metric_data(MetricDataQueries=list(queries), **WINDOW, **request)
    return {result["Id"]: result["Values"] for result in answer["MetricDataResults"]}


def statistics(cloudwatch: Any, dimensions: list[dict[str, str]]) -> list[float]:
    """GetMetricStatistics' sums for AWS/Lambda `Errors` with these dimensions."""
    answer = cloudwatch.get_metric_statistics(
        Namespace=LAMBDA,
        MetricName="Errors",
        Dimensions=dimensions,
        Period=60,
        Statistics=["Sum"],
        **WINDOW,
    )
    return [datapoint["Sum"] for datapoint in answer["Datapoints"]]


def every_difference(cloudwatch: Any) -> dict[str, Any]:
    """What each query the seam corrects answers: on AWS, 2, 2, 5, [], 1."""
    return {
        **values(
            cloudwatch,
            errors_query("version", LAMBDA, VERSION),
            errors_query("reordered", LAMBDA, VERSION_REORDERED),
            errors_query("custom", CUSTOM, VERSION),
            errors_query("undimensioned", LAMBDA, []),
        ),
        "statistics_of_function": statistics(cloudwatch, FUNCTION),
    }
