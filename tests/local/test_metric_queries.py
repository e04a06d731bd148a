"""The metric queries seam (rollout/local/metric_queries.py): GetMetricData and
GetMetricStatistics read exactly the metric a query names, through boto3 on a cloud with
the seam. moto alone reads others too (test_metric_queries_moto.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.cloudwatch.models import CloudWatchBackend

from rollout.local.cloud import LocalCloud
from rollout.local.metric_queries import MetricQueries
from tests.conftest import IsolatedCloud as Cloud
from tests.local.metric_query_data import (
    CUSTOM,
    LAMBDA,
    NOW,
    VERSION,
    errors_query,
    every_difference,
    put_errors,
    values,
)

pytestmark = pytest.mark.cloud


@pytest.fixture(scope="module")
def cloud(isolated_cloud: Cloud) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[MetricQueries]) as started:
        put_errors(started.client("cloudwatch"))
        yield started


@pytest.fixture
def cloudwatch(cloud: LocalCloud) -> Any:
    return cloud.client("cloudwatch")


def test_each_query_reads_the_metric_it_names_and_no_other(cloudwatch: Any) -> None:
    assert every_difference(cloudwatch) == {
        "version": [2.0],
        "reordered": [2.0],
        "custom": [5.0],
        "undimensioned": [],  # no AWS/Lambda Errors series was put without dimensions
        "statistics_of_function": [1.0],
    }


def test_metric_math_reads_every_querys_result_and_returns_what_is_asked(cloudwatch: Any) -> None:
    hidden = errors_query("lambda", LAMBDA, VERSION, ReturnData=False)
    # moto's metric math evaluates an expression that names one query's id, and no more
    copy = {"Id": "copy", "Expression": "lambda", "Label": "Lambda's errors"}
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[hidden, errors_query("own", CUSTOM, VERSION), copy],
        StartTime=NOW.timestamp() - 300,
        EndTime=NOW.timestamp() + 300,
    )
    results = answer["MetricDataResults"]
    assert [(r["Id"], r["Label"], r["Values"]) for r in results] == [
        ("own", "Errors Sum", [5.0]),
        ("copy", "Lambda's errors", [2.0]),
    ]


def test_scan_by_and_the_time_range_checks_are_moto_s(cloudwatch: Any) -> None:
    query = errors_query("version", LAMBDA, VERSION)
    assert values(cloudwatch, query, ScanBy="TimestampDescending") == {"version": [2.0]}
    expression_only = [{"Id": "e", "Expression": "1 + 1"}]
    with pytest.raises(ClientError, match="must not equal"):
        cloudwatch.get_metric_data(MetricDataQueries=expression_only, StartTime=NOW, EndTime=NOW)
    with pytest.raises(ClientError, match="must be less than"):
        cloudwatch.get_metric_statistics(
            Namespace=LAMBDA, MetricName="Errors", Period=60, Statistics=["Sum"],
            StartTime=NOW, EndTime=NOW,
        )  # fmt: skip


def test_uninstall_restores_moto(cloud: LocalCloud, cloudwatch: Any) -> None:
    seam = cloud.seam(MetricQueries)
    patched = (CloudWatchBackend.get_metric_data, CloudWatchBackend.get_metric_statistics)
    seam.uninstall()
    try:
        assert CloudWatchBackend.get_metric_data is not patched[0]
        assert CloudWatchBackend.get_metric_statistics is not patched[1]
        assert every_difference(cloudwatch)["version"] == [7.0]
        assert every_difference(cloudwatch)["statistics_of_function"] == [3.0]
    finally:
        seam.install(cloud)
