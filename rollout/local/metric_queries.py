"""Metric queries seam: GetMetricData and GetMetricStatistics read exactly the metric a
query names, as CloudWatch does.

AWS behaviour:
- "Metrics in different namespaces are isolated from each other, so that metrics from
  different applications are not mistakenly aggregated into the same statistics"
  ("Amazon CloudWatch concepts", Namespaces,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html).
- "A dimension is a name/value pair that is part of the identity of a metric" (API
  Reference, `Dimension`,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html).
  "CloudWatch treats each unique combination of dimensions as a separate metric. If a
  specific combination of dimensions was not published, you can't retrieve statistics for
  it. You must specify the same dimensions that were used when the metrics were created"
  (API Reference, GetMetricStatistics, `Dimensions`,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html).
  A list of name/value pairs names the same metric in any order.

moto 5.2.5 differs (tests/local/test_metric_queries_moto.py records each):
- GetMetricData drops the namespace from its filter as soon as a query has dimensions: a
  query for `AWS/Lambda` `Errors` also sums a custom namespace's `Errors` put with the same
  dimensions, so a version would be judged on someone else's metric.
- GetMetricData matches dimensions by sorting them with a `Dimension.__lt__` that compares
  a value with a name: the same three dimensions listed in another order find nothing.
  A query that lists `Resource` first would see no errors where AWS sees them.
- Both APIs read a query with fewer dimensions (or none) as every series that has them:
  `FunctionName` alone also sums the `Resource` and `ExecutedVersion` series Lambda puts
  beside it.
- GetMetricData scans every datapoint of the Region once per period of every query.

The seam chooses each query's datapoints itself (namespace, name, and the dimension set,
order aside: `dimension_set`), then hands them to moto's own computation as a query with no
dimensions, so moto's statistics, periods, units, labels and time-range checks stay as
they are. GetMetricData runs it once per MetricStat query, then evaluates metric math over
every query's result with moto's parser, in moto's order (MetricStat results first, then
expressions). A request with a Metrics Insights `SELECT` reads across metrics by design and
is left to moto whole. Measured in-process, 13,500 AWS/Lambda datapoints of 50 functions,
four queries of a check: 15-16 ms of CPU per request with moto alone, 9-10 ms with the seam.

Not emulated: Lambda's account-wide AWS/Lambda series (no dimensions) is not published, so
a query without dimensions for it finds nothing.

moto internals (pinned by tests/local/test_metric_queries_moto.py): replaced
`CloudWatchBackend.get_metric_data(self, queries, start_time, end_time, scan_by)` and
`CloudWatchBackend.get_metric_statistics(self, namespace, metric_name, start_time, end_time,
period, stats, dimensions, unit)`, which read datapoints only through
`self.get_all_metrics()`; read `MetricDatumBase.namespace`, `.name` and `.dimensions`
(`Dimension.name`, `.value`), and `parse_expression(expression, results)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from moto.cloudwatch.metric_data_expression_parser import parse_expression
from moto.cloudwatch.models import CloudWatchBackend, MetricDatumBase

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

Query = dict[str, Any]
DimensionSet = frozenset[tuple[str, str]]


def dimension_set(dimensions: Iterable[Any]) -> DimensionSet:
    """Stored dimensions (moto's `Dimension`s) as CloudWatch tells metrics apart: the
    name/value pairs, in no order."""
    return frozenset((dimension.name, dimension.value) for dimension in dimensions)


def asked_set(dimensions: list[dict[str, str]] | None) -> DimensionSet:
    """A request's `Dimensions` ([{"Name", "Value"}]) as `dimension_set` words them."""
    return frozenset((dimension["Name"], dimension["Value"]) for dimension in dimensions or [])


class _Datapoints:
    """What moto's queries read of their backend: the datapoints, here one metric's."""

    def __init__(self, datapoints: list[MetricDatumBase]) -> None:
        self._datapoints = datapoints

    def get_all_metrics(self) -> list[MetricDatumBase]:
        return self._datapoints


class MetricQueries:
    """Seam: GetMetricData and GetMetricStatistics read the metric a query names, only."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        backend = CloudWatchBackend
        data, statistics = backend.get_metric_data, backend.get_metric_statistics
        self._patches.replace(backend, "get_metric_data", _metric_data(data))
        self._patches.replace(backend, "get_metric_statistics", _metric_statistics(statistics))

    def uninstall(self) -> None:
        self._patches.undo()


def _metric_data(original: Callable[..., list[dict[str, Any]]]) -> Callable[..., Any]:
    def get_metric_data(
        self: CloudWatchBackend,
        queries: list[Query],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        if any(_is_insights(query) for query in queries):
            return original(self, queries, start_time, end_time, scan_by)
        stored = self.get_all_metrics()
        stats = [query for query in queries if "MetricStat" in query]
        # moto's own checks of the time range, made even when no query reads a metric
        results = [] if stats else original(_Datapoints([]), [], start_time, end_time, scan_by)
        for query in stats:
            own, computed = _chosen(stored, query)
            results += original(_Datapoints(own), [computed], start_time, end_time, scan_by)
        returned = [
            result
            for query, result in zip(stats, results, strict=True)
            if query.get("ReturnData", True)
        ]
        return returned + [_expression(query, results) for query in queries if _is_math(query)]

    return get_metric_data


def _metric_statistics(original: Callable[..., list[Any]]) -> Callable[..., Any]:
    def get_metric_statistics(
        self: CloudWatchBackend,
        namespace: str,
        metric_name: str,
        start_time: datetime,
        end_time: datetime,
        period: int,
        stats: list[str],
        dimensions: list[dict[str, str]],
        unit: str | None = None,
    ) -> list[Any]:
        stored = self.get_all_metrics()
        own = _Datapoints(_datapoints_of(stored, namespace, metric_name, asked_set(dimensions)))
        return original(own, namespace, metric_name, start_time, end_time, period, stats, [], unit)

    return get_metric_statistics


def _chosen(stored: list[MetricDatumBase], query: Query) -> tuple[list[MetricDatumBase], Query]:
    """A MetricStat query's own datapoints, and the query moto computes over them: every
    result kept (expressions read them all), no dimensions left to match again."""
    stat = query["MetricStat"]
    metric = stat["Metric"]
    own = _datapoints_of(
        stored, metric["Namespace"], metric["MetricName"], asked_set(metric.get("Dimensions"))
    )
    undimensioned = {**stat, "Metric": {**metric, "Dimensions": []}}
    return own, {**query, "MetricStat": undimensioned, "ReturnData": True}


def _datapoints_of(
    stored: list[MetricDatumBase], namespace: str, name: str, dimensions: DimensionSet
) -> list[MetricDatumBase]:
    return [
        datum
        for datum in stored
        if datum.namespace == namespace
        and datum.name == name
        and dimension_set(datum.dimensions) == dimensions
    ]


def _is_insights(query: Query) -> bool:
    return str(query.get("Expression", "")).startswith("SELECT")


def _is_math(query: Query) -> bool:
    return "Expression" in query and not _is_insights(query)


def _expression(query: Query, results: list[dict[str, Any]]) -> dict[str, Any]:
    """A metric math query's result, as moto's get_metric_data builds it."""
    values, timestamps = parse_expression(query["Expression"], results)
    return {
        "id": query["Id"],
        "label": query.get("Label") or query["Id"],
        "values": values,
        "timestamps": timestamps,
        "status_code": "Complete",
    }
