"""moto 5.2.5's GetMetricData and GetMetricStatistics as the metric queries seam
(rollout/local/metric_queries.py) finds them. A module of its own: these tests run moto
in-process, with no cloud."""

from __future__ import annotations

import inspect
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.cloudwatch.models import CloudWatchBackend, Dimension, MetricDatumBase

from tests.local.metric_query_data import every_difference, put_errors

pytestmark = [pytest.mark.cloud, pytest.mark.usefixtures("no_cloud")]


def test_contract_with_moto_internals() -> None:
    assert list(inspect.signature(CloudWatchBackend.get_metric_data).parameters) == [
        "self", "queries", "start_time", "end_time", "scan_by",
    ]  # fmt: skip
    assert list(inspect.signature(CloudWatchBackend.get_metric_statistics).parameters) == [
        "self", "namespace", "metric_name", "start_time", "end_time", "period", "stats",
        "dimensions", "unit",
    ]  # fmt: skip
    # each reads its datapoints once, through get_all_metrics, and nothing else of self
    for query in (CloudWatchBackend.get_metric_data, CloudWatchBackend.get_metric_statistics):
        source = inspect.getsource(query)
        assert source.count("self.") == 1 and "self.get_all_metrics()" in source
    source = inspect.getsource(CloudWatchBackend.get_metric_data)
    assert 'metric_stat["Metric"].get("Dimensions", [])' in source  # none: no dimension match
    assert 'parse_expression(query["Expression"], results)' in source
    assert {"namespace", "name", "dimensions"} <= set(
        inspect.signature(MetricDatumBase.__init__).parameters
    )
    assert {"name", "value"} <= set(vars(Dimension("FunctionName", "orders")))


def test_moto_alone_reads_other_metrics_than_the_one_named() -> None:
    with mock_aws():
        cloudwatch: Any = boto3.client("cloudwatch", region_name="us-east-1")
        put_errors(cloudwatch)
        answer = every_difference(cloudwatch)
    assert answer == {
        "version": [7.0],  # the custom namespace's 5 added: namespaces dropped with dimensions
        "reordered": [],  # the same dimensions in another order: not found
        "custom": [7.0],
        "undimensioned": [3.0],  # every AWS/Lambda series of the name
        "statistics_of_function": [3.0],  # the version's series too: its dimensions include it
    }
