"""The metric queries seam (rollout/local/metric_queries.py): GetMetricData reads each
query's own namespace, through boto3 on a cloud with the seam. moto alone adds another
namespace's metric with the same name and dimensions (test_metric_queries_moto.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.cloudwatch.models import CloudWatchBackend

from rollout.local.cloud import LocalCloud
from rollout.local.metric_queries import MetricQueries
from tests.local.metric_query_data import (
    CUSTOM,
    LAMBDA,
    NOW,
    WINDOW,
    errors_query,
    put_errors,
    values,
)

pytestmark = pytest.mark.cloud

Cloud = Callable[..., AbstractContextManager[LocalCloud]]


@pytest.fixture(scope="module")
def cloud(isolated_cloud: Cloud) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[MetricQueries]) as started:
        put_errors(started.client("cloudwatch"))
        yield started


@pytest.fixture
def cloudwatch(cloud: LocalCloud) -> Any:
    return cloud.client("cloudwatch")


def test_each_query_reads_its_own_namespace(cloudwatch: Any) -> None:
    answer = values(cloudwatch, errors_query("lambda", LAMBDA), errors_query("own", CUSTOM))
    assert answer == {"lambda": [2.0], "own": [5.0]}


def test_metric_math_reads_every_querys_result_and_returns_what_is_asked(cloudwatch: Any) -> None:
    hidden = errors_query("lambda", LAMBDA, ReturnData=False)
    # moto's metric math evaluates an expression that names one query's id, and no more
    copy = {"Id": "copy", "Expression": "lambda", "Label": "Lambda's errors"}
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[hidden, errors_query("own", CUSTOM), copy], **WINDOW
    )
    results = answer["MetricDataResults"]
    assert [(r["Id"], r["Label"], r["Values"]) for r in results] == [
        ("own", "Errors Sum", [5.0]),
        ("copy", "Lambda's errors", [2.0]),
    ]


def test_scan_by_and_the_time_range_checks_are_moto_s(cloudwatch: Any) -> None:
    both = values(cloudwatch, errors_query("lambda", LAMBDA), ScanBy="TimestampDescending")
    assert both == {"lambda": [2.0]}
    expression_only = [{"Id": "e", "Expression": "1 + 1"}]
    with pytest.raises(ClientError, match="must not equal"):
        cloudwatch.get_metric_data(MetricDataQueries=expression_only, StartTime=NOW, EndTime=NOW)


def test_uninstall_restores_moto(cloud: LocalCloud, cloudwatch: Any) -> None:
    seam = cloud.seam(MetricQueries)
    patched = CloudWatchBackend.get_metric_data
    seam.uninstall()
    try:
        assert CloudWatchBackend.get_metric_data is not patched
        assert values(cloudwatch, errors_query("lambda", LAMBDA)) == {"lambda": [7.0]}
    finally:
        seam.install(cloud)
