"""Metrics both GetMetricData test modules put and query: the same name and dimensions in
two namespaces, as a custom metric beside Lambda's own would be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

DIMENSIONS = [{"Name": "FunctionName", "Value": "orders"}]
LAMBDA, CUSTOM = "AWS/Lambda", "Orders/Custom"
NOW = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
WINDOW = {"StartTime": NOW - timedelta(minutes=5), "EndTime": NOW + timedelta(minutes=5)}


def put_errors(cloudwatch: Any) -> None:
    """2 Errors in AWS/Lambda, 5 in the custom namespace, with the same dimensions."""
    for namespace, value in ((LAMBDA, 2.0), (CUSTOM, 5.0)):
        cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {"MetricName": "Errors", "Dimensions": DIMENSIONS, "Value": value, "Timestamp": NOW}
            ],
        )


def errors_query(query_id: str, namespace: str, **extra: Any) -> dict[str, Any]:
    metric = {"Namespace": namespace, "MetricName": "Errors", "Dimensions": DIMENSIONS}
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}, **extra}


def values(cloudwatch: Any, *queries: dict[str, Any], **request: Any) -> dict[str, list[float]]:
    answer = cloudwatch.get_metric_data(MetricDataQueries=list(queries), **WINDOW, **request)
    return {result["Id"]: result["Values"] for result in answer["MetricDataResults"]}
