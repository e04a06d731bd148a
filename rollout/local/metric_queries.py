"""GetMetricData seam: each query reads its own metric, in its own namespace, as CloudWatch
does.

AWS behaviour ("Amazon CloudWatch concepts", section "Namespaces",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Namespace):
"Metrics in different namespaces are isolated from each other, so that metrics from
different applications are not mistakenly aggregated into the same statistics." A
MetricStat query names its metric by namespace, name and dimensions (the API Reference's
`Metric`, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Metric.html).

moto 5.2.5's `CloudWatchBackend.get_metric_data` drops the namespace from its filter as
soon as a query has dimensions: a query for `AWS/Lambda` `Errors` with `FunctionName`
also sums a custom namespace's `Errors` put with the same dimensions, so a version would
be judged on someone else's metric. It also scans every datapoint of the account and
Region once per period of each query, so a check's cost grows with everything the Region
ever stored.

The seam hands moto's own computation, for each MetricStat query, only the datapoints of
that query's namespace and name (read once per request, as moto reads them); moto still
matches the dimensions. Metric math is then evaluated over those queries' results with
moto's own parser, in moto's order (MetricStat results first, then expressions). A
request with a Metrics Insights `SELECT` reads across metrics by design and is left to
moto whole. Measured in-process, 13,500 AWS/Lambda datapoints of 50 functions, four
queries of a check: 15-16 ms of CPU per request with moto alone, 9-10 ms with the seam.

Not corrected: a query with no dimensions still sums every dimension set of its metric, in
GetMetricData and GetMetricStatistics alike, where CloudWatch reads only the series put
with none; and Lambda's account-wide AWS/Lambda series (no dimensions) is not published.

moto internals (pinned by tests/local/test_metric_queries_moto.py): replaced
`CloudWatchBackend.get_metric_data(self, queries, start_time, end_time, scan_by)`, which
reads datapoints only through `self.get_all_metrics()`; read `MetricDatumBase.namespace`
and `.name`, and `parse_expression(expression, results)`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.cloudwatch.metric_data_expression_parser import parse_expression
from moto.cloudwatch.models import CloudWatchBackend, MetricDatumBase

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

Query = dict[str, Any]


class _Datapoints:
    """What moto's get_metric_data reads of its backend: the datapoints, here one metric's."""

    def __init__(self, datapoints: list[MetricDatumBase]) -> None:
        self._datapoints = datapoints

    def get_all_metrics(self) -> list[MetricDatumBase]:
        return self._datapoints


class MetricQueries:
    """Seam: GetMetricData reads each MetricStat query's namespace and name only."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        original = CloudWatchBackend.get_metric_data
        self._patches.replace(CloudWatchBackend, "get_metric_data", _per_metric(original))

    def uninstall(self) -> None:
        self._patches.undo()


def _per_metric(original: Callable[..., list[dict[str, Any]]]) -> Callable[..., Any]:
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
            own = _own_datapoints(stored, query["MetricStat"]["Metric"])
            computed = {**query, "ReturnData": True}  # expressions read every query's result
            results += original(_Datapoints(own), [computed], start_time, end_time, scan_by)
        returned = [
            result
            for query, result in zip(stats, results, strict=True)
            if query.get("ReturnData", True)
        ]
        return returned + [_expression(query, results) for query in queries if _is_math(query)]

    return get_metric_data


def _own_datapoints(stored: list[MetricDatumBase], metric: Query) -> list[MetricDatumBase]:
    """The datapoints of the query's namespace and name (moto matches the dimensions)."""
    return [
        datum
        for datum in stored
        if datum.namespace == metric["Namespace"] and datum.name == metric["MetricName"]
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
