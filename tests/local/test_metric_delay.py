"""AWS/Lambda metrics per minute, readable only `delay` seconds after their minute ends
(rollout/local/metric_delay.py), and alarms over what is readable. No real waits: the
tests move the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.cloudwatch.models import MetricAggregatedDatum, cloudwatch_backends

from rollout.commands import local
from rollout.local.cloud import LocalCloud
from rollout.local.metric_delay import RELEASE_TICK, DelayedMetrics, alarm_lag

pytestmark = pytest.mark.cloud
MINUTE_START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def cloud(
    isolated_cloud: Callable[..., AbstractContextManager[LocalCloud]],
) -> Iterator[LocalCloud]:
    """An empty cloud for each test: `stored` reads every datapoint of the function."""
    with isolated_cloud(seams=[]) as started:
        yield started


def datum(name: str, value: float, at: datetime, unit: str = "Count") -> dict[str, Any]:
    return {
        "MetricName": name,
        "Value": value,
        "Unit": unit,
        "Dimensions": [{"Name": "FunctionName", "Value": "delayed"}],
        "Timestamp": at.replace(tzinfo=None),
    }


def stored(cloud: LocalCloud) -> list[Any]:
    backend = cloudwatch_backends[cloud.account_id][cloud.region]
    return [d for d in backend.metric_data if d.dimensions[0].value == "delayed"]


def test_datapoints_are_summed_per_minute_and_readable_delay_seconds_after_it(
    cloud: LocalCloud,
) -> None:
    now = [MINUTE_START.timestamp() + 10]
    held = DelayedMetrics(delay=0.0, clock=lambda: now[0])
    held.delay = 60.0  # no thread: the test moves the clock
    for second, errors in ((10, 1.0), (40, 0.0), (59, 1.0)):
        held.put(
            cloud, "AWS/Lambda", [datum("Errors", errors, MINUTE_START + timedelta(seconds=second))]
        )
    held.put(cloud, "AWS/Lambda", [datum("Errors", 1.0, MINUTE_START + timedelta(seconds=61))])

    now[0] = MINUTE_START.timestamp() + 60 + 59.9  # the minute ended, the delay hasn't passed
    assert held.release_due() == 0 and stored(cloud) == []
    now[0] = MINUTE_START.timestamp() + 120
    assert held.release_due() == 1
    [first] = stored(cloud)
    assert isinstance(first, MetricAggregatedDatum)
    assert (first.sum, first.sample_count, first.min, first.max) == (2.0, 3.0, 0.0, 1.0)
    assert first.timestamp.replace(tzinfo=UTC) == MINUTE_START
    assert held.held() == 1  # the next minute waits for its own end + delay

    cloudwatch = cloud.client("cloudwatch")
    result = cloudwatch.get_metric_data(
        StartTime=MINUTE_START - timedelta(minutes=1),
        EndTime=MINUTE_START + timedelta(minutes=5),
        MetricDataQueries=[
            {
                "Id": "e",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Errors",
                        "Dimensions": [{"Name": "FunctionName", "Value": "delayed"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
    )
    assert sum(result["MetricDataResults"][0]["Values"]) == 2.0


def test_zero_delay_writes_at_once(cloud: LocalCloud) -> None:
    held = DelayedMetrics(delay=0.0)
    before = len(stored(cloud))
    held.put(cloud, "AWS/Lambda", [datum("Invocations", 1.0, datetime.now(UTC))])
    assert len(stored(cloud)) == before + 1 and held.held() == 0


def test_alarms_judge_every_minute_once_it_is_written_whatever_their_phase() -> None:
    """A minute stamped 12:00 is due at 12:02:00 (its end + 60 s) and written up to a
    release tick later. Whatever the phase of an alarm's once-a-minute evaluations, exactly
    one of them has that minute in its most recent window, and not before it is written."""
    lag = timedelta(seconds=alarm_lag(60.0))
    written = MINUTE_START + timedelta(seconds=120 + RELEASE_TICK)
    for tenth in range(600):
        first = MINUTE_START + timedelta(seconds=90 + tenth / 10)
        evaluations = [first + timedelta(minutes=k) for k in range(4)]
        judged = [
            e for e in evaluations if e - lag - timedelta(minutes=1) < MINUTE_START <= e - lag
        ]
        assert len(judged) == 1, first
        assert judged[0] >= written, first


def test_each_datapoint_is_written_in_the_account_and_region_it_was_put_for(
    cloud: LocalCloud,
) -> None:
    @dataclass(frozen=True)
    class Elsewhere:
        account_id: str = "111122223333"
        region: str = "eu-west-1"

    now = [MINUTE_START.timestamp()]
    held = DelayedMetrics(delay=0.0, clock=lambda: now[0])
    held.delay = 60.0
    here = len(stored(cloud))
    held.put(Elsewhere(), "AWS/Lambda", [datum("Errors", 1.0, MINUTE_START)])
    now[0] += 120
    assert held.release_due() == 1
    there = cloudwatch_backends["111122223333"]["eu-west-1"].metric_data
    assert [d.dimensions[0].value for d in there] == ["delayed"]
    assert len(stored(cloud)) == here  # nothing in the cloud's own account and Region


def test_local_up_has_the_option() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    local.register(parser.add_subparsers())
    args = parser.parse_args(["local", "up", "--metric-delay", "60"])
    assert args.metric_delay == 60.0 and args.log_delay is None
    assert LocalCloud(template=None, metric_delay=60).log_delay == 2.0
    assert LocalCloud(template=None).metric_delay == 0.0
