"""moto 5.2.5's GetMetricData as the metric queries seam (rollout/local/metric_queries.py)
finds it. A module of its own: these tests run moto in-process, with no cloud."""

from __future__ import annotations

import inspect
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.cloudwatch.models import CloudWatchBackend, MetricDatumBase

from tests.local.metric_query_data import CUSTOM, LAMBDA, errors_query, put_errors, values

pytestmark = [pytest.mark.cloud, pytest.mark.usefixtures("no_cloud")]


def test_contract_with_moto_internals() -> None:
    assert list(inspect.signature(CloudWatchBackend.get_metric_data).parameters) == [
        "self",
        "queries",
        "start_time",
        "end_time",
        "scan_by",
    ]
    source = inspect.getsource(CloudWatchBackend.get_metric_data)
    # the datapoints are read once, through get_all_metrics, and from nothing else of self
    assert source.count("self.") == 1 and "self.get_all_metrics()" in source
    assert 'parse_expression(query["Expression"], results)' in source
    assert {"namespace", "name"} <= set(inspect.signature(MetricDatumBase.__init__).parameters)


def test_moto_alone_sums_another_namespaces_metric_with_the_same_dimensions() -> None:
    with mock_aws():
        cloudwatch: Any = boto3.client("cloudwatch", region_name="us-east-1")
        put_errors(cloudwatch)
        answer = values(cloudwatch, errors_query("lambda", LAMBDA), errors_query("own", CUSTOM))
    # each query also reads the other namespace's Errors: 2 + 5, twice
    assert answer == {"lambda": [7.0], "own": [7.0]}
