"""Acceptance (issue 22, "Done when"): `rollout local up`, started in its own process with
AWS's API rate quotas on (its default), rolls out a release of ten functions under traffic
while another client of the same account and Region keeps CloudWatch Logs' FilterLogEvents
and CloudWatch's GetMetricData busy at their quotas, as a person's or a tool's log and
metric reads would. The release succeeds; no check is judged on a throttle; the busy
client was throttled (the seam's counters say so).

The busy client sends each call once (no SDK retries), as fast as the quota refills:
FilterLogEvents at twice its us-east-1 rate (25 a second), GetMetricData from as many
threads as it takes to be answered without pause. GetMetricData's quota (500 a second) is
more than this machine's one-process cloud answers beside a release, so its calls are
counted and may or may not be throttled; FilterLogEvents' must be.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollout.local.quotas import STATS_PATH
from tests.local.served import ServedCloud, served_cloud
from tests.reliability.rollouts import ALIAS, history, sample_function, wait_for_end

# the module's set-up (the cloud deployed, ten functions, the release) runs in its first test
pytestmark = [pytest.mark.cloud, pytest.mark.slow, pytest.mark.timeout(900)]

FUNCTIONS = 10
ONCE = {"retries": {"mode": "standard", "total_max_attempts": 1}}
LOGS_PER_SECOND = 50  # twice FilterLogEvents' quota in us-east-1 ...
LOGS_THREADS = 5  # ... from threads enough to send it while each call takes its time
METRIC_THREADS = 4
RELEASE_TIMEOUT = 240  # s: one 40 s step at 5 s checks, on a loaded machine


@pytest.fixture(scope="module")
def cloud() -> Iterator[ServedCloud]:
    with served_cloud() as env:
        assert "AWS's API rate quotas: enforced" in env["BANNER"]
        yield ServedCloud(env)


class Traffic(threading.Thread):
    """One request a second to each alias, as users send them."""

    def __init__(self, cloud: ServedCloud, names: list[str]) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self._lam = cloud.client("lambda")
        self._names = names

    def run(self) -> None:
        while not self.stop.wait(1.0):
            for name in self._names:
                self._lam.invoke(FunctionName=name, Qualifier=ALIAS, Payload=b"{}")


class BusyReader:
    """Another client of the account: FilterLogEvents and GetMetricData at their quotas,
    each call sent once. Counts what it sent and what came back throttled."""

    def __init__(self, cloud: ServedCloud, log_group: str) -> None:
        self._logs = cloud.client("logs", max_pool_connections=16, **ONCE)
        self._cloudwatch = cloud.client("cloudwatch", max_pool_connections=16, **ONCE)
        self._group = log_group
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.sent: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self._threads = [
            threading.Thread(target=self._logs_loop, daemon=True) for _ in range(LOGS_THREADS)
        ] + [
            threading.Thread(target=self._metrics_loop, daemon=True) for _ in range(METRIC_THREADS)
        ]

    def __enter__(self) -> BusyReader:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _logs_loop(self) -> None:
        while not self.stop.wait(LOGS_THREADS / LOGS_PER_SECOND):
            self._once(
                "FilterLogEvents",
                lambda: self._logs.filter_log_events(logGroupName=self._group, limit=10),
            )

    def _metrics_loop(self) -> None:
        while not self.stop.is_set():
            self._once("GetMetricData", self._metric_data)

    def _metric_data(self) -> Any:
        end = datetime.now(UTC)
        return self._cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "errors",
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"},
                        "Period": 60,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=end - timedelta(minutes=5),
            EndTime=end,
        )

    def _once(self, operation: str, call: Any) -> None:
        try:
            call()
            throttled = False
        except ClientError as error:
            throttled = error.response["Error"]["Code"] in {"ThrottlingException", "Throttling"}
        with self._lock:
            self.sent[operation] += 1
            self.throttled[operation] += throttled


def seam_counters(cloud: ServedCloud) -> dict[tuple[str, str], dict[str, int]]:
    with urllib.request.urlopen(cloud.env["AWS_ENDPOINT_URL"] + STATS_PATH, timeout=10) as reply:
        stats = json.load(reply)
    assert stats["enforced"] is True
    return {(r["service"], r["operation"]): r for r in stats["operations"]}


def release(names: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "functions": [
            {"functionName": name, "alias": ALIAS, "targetVersion": new, "preTraffic": False}
            for name, new in names
        ],
        "strategy": {"steps": [{"percentage": 10, "waitSeconds": 40}]},
        "checkIntervalSeconds": 5,
    }


@pytest.fixture(scope="module")
def outcome(cloud: ServedCloud) -> dict[str, Any]:
    names = [f"busy-{i:02d}" for i in range(FUNCTIONS)]
    versions = [sample_function(cloud, name) for name in names]
    lam = cloud.client("lambda")
    for name, (stable, new) in zip(names, versions, strict=True):
        for version in (stable, new):  # each version's log group and a warm environment
            lam.invoke(FunctionName=name, Qualifier=version, Payload=b"{}")
    sfn = cloud.client("stepfunctions")
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    traffic = Traffic(cloud, names)
    traffic.start()
    try:
        with BusyReader(cloud, f"/aws/lambda/{names[0]}") as busy:
            document = release([(n, new) for n, (_, new) in zip(names, versions, strict=True)])
            arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(document))[
                "executionArn"
            ]
            ended = wait_for_end(cloud, arn, timeout=RELEASE_TIMEOUT)
    finally:
        traffic.stop.set()
        traffic.join(timeout=30)
    return {
        "ended": ended,
        "events": history(cloud, arn),
        "busy": busy,
        "aliases": [lam.get_alias(FunctionName=n, Name=ALIAS) for n in names],
        "targets": [new for _, new in versions],
        "counters": seam_counters(cloud),
    }


def test_the_release_succeeds_with_every_function_on_its_new_version(outcome) -> None:
    assert outcome["ended"]["status"] == "SUCCEEDED", outcome["ended"].get("cause")
    for alias, target in zip(outcome["aliases"], outcome["targets"], strict=True):
        assert alias["FunctionVersion"] == target
        assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")


def test_no_check_was_judged_on_a_throttle(outcome) -> None:
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in outcome["events"]
        if e["type"].endswith("StateEntered")
    ]
    assert entered.count("Check health") >= 2  # the step was checked, under the busy reads
    assert "Roll back" not in entered
    # the wait for the next check times out when no evidence wakes it: that is the clock
    assert set(ended_badly(outcome["events"])) <= {("Wait for next check", "TaskTimedOut")}


def ended_badly(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(state, event type) of every task that failed or timed out."""
    state, found = "", []
    for event in events:
        if event["type"] == "TaskStateEntered":
            state = event["stateEnteredEventDetails"]["name"]
        elif event["type"] in ("TaskFailed", "TaskTimedOut"):
            found.append((state, event["type"]))
    return found


def test_the_busy_client_was_throttled_and_the_seam_counted_it(outcome) -> None:
    busy, counters = outcome["busy"], outcome["counters"]
    assert busy.throttled["FilterLogEvents"] > 0
    assert busy.sent["GetMetricData"] > 0
    for operation, service in (("FilterLogEvents", "logs"), ("GetMetricData", "cloudwatch")):
        # every throttle the busy client saw, the seam counted (the workflow's own may add)
        assert counters[(service, operation)]["throttled"] >= busy.throttled[operation]
