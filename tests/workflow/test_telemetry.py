"""Health telemetry pushed, not polled (docs/workflow.md, "Telemetry"), on the local cloud.

- Start telemetry places a subscription filter on the rolled function's log group, and
  every ending removes it;
- a failing version's logs, delivered by the subscription, wake the waiting rollout: its
  check runs on that evidence (`wokenBy`), long before the check interval is over;
- an ALARM of a watched alarm, delivered as an alarm state change event, wakes it too;
- a log group that already has its two subscription filters is polled instead, within
  the account's shared budget, and the plan's notes say so; the filters stay its owners'.

Every scenario runs at once, each with its own sample function.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.workflow.conftest import (
    ALIAS,
    Finished,
    SampleFunction,
    Workflow,
    deadline_poll,
    traffic,
    unique,
)

pytestmark = pytest.mark.cloud

# A check interval no scenario waits out: a check that runs is woken by evidence.
LONG_INTERVAL = 60
THEIRS = ("theirs-1", "theirs-2")
Result = tuple[SampleFunction, str, Finished, list[list[str]]]


def group_of(function: SampleFunction) -> str:
    return f"/aws/lambda/{function.name}"


def filters(cloud: Any, function: SampleFunction) -> list[str]:
    found = cloud.client("logs").describe_subscription_filters(logGroupName=group_of(function))
    return sorted(f["filterName"] for f in found["subscriptionFilters"])


def _watch_filters(
    cloud: Any, function: SampleFunction, seen: list[list[str]], done: threading.Event
) -> None:
    """Every distinct set of the group's filters while the rollout runs."""
    while not done.wait(0.5):
        try:
            now = filters(cloud, function)
        except ClientError:  # the group doesn't exist before the function first logs
            continue
        if not seen or seen[-1] != now:
            seen.append(now)


def _run(
    cloud: Any, workflow: Workflow, function: SampleFunction, target: str, **options: Any
) -> Result:
    seen: list[list[str]] = []
    done = threading.Event()
    watcher = threading.Thread(target=_watch_filters, args=(cloud, function, seen, done))
    watcher.start()
    try:
        document = function.rollout(target, **options)
        with traffic(function, per_second=5):
            finished = workflow.run(document)
    finally:
        done.set()
        watcher.join()
    return function, target, finished, seen


def healthy(cloud: Any, workflow: Workflow) -> Result:
    function = SampleFunction(cloud, "wf-tel-ok")
    target = function.publish("ok")
    strategy = {"steps": [{"percentage": 50, "waitSeconds": 4}]}
    return _run(cloud, workflow, function, target, strategy=strategy, checkIntervalSeconds=2)


def failing(cloud: Any, workflow: Workflow) -> Result:
    """A version failing every request, checked every LONG_INTERVAL seconds."""
    function = SampleFunction(cloud, "wf-tel-fail")
    target = function.publish("fail")
    return _run(
        cloud,
        workflow,
        function,
        target,
        strategy={"steps": [{"percentage": 50, "waitSeconds": 2 * LONG_INTERVAL}]},
        checkIntervalSeconds=LONG_INTERVAL,
        health={"minInvocations": 3},
    )


def alarm_fires(cloud: Any, workflow: Workflow) -> tuple[Result, str]:
    """A healthy version; its alarm is set to ALARM by hand once traffic has shifted."""
    function = SampleFunction(cloud, "wf-tel-alarm")
    target = function.publish("ok")
    alarm = unique("wf-tel-alarm")
    cw = cloud.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName=alarm,
        Namespace="Custom/Tests",
        MetricName="Nothing",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="before the rollout")

    def fire_once_shifted() -> None:
        deadline_poll("the first shift", lambda: function.alias()[1])
        cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="by hand")

    firing = threading.Thread(target=fire_once_shifted)
    firing.start()
    try:
        return _run(
            cloud,
            workflow,
            function,
            target,
            strategy={"steps": [{"percentage": 50, "waitSeconds": 2 * LONG_INTERVAL}]},
            checkIntervalSeconds=LONG_INTERVAL,
            alarms=[alarm],
        ), alarm
    finally:
        firing.join()


def two_filters_already(cloud: Any, workflow: Workflow) -> Result:
    """The group has its two subscription filters (another tool's); the version fails."""
    function = SampleFunction(cloud, "wf-tel-full")
    lam, logs = cloud.client("lambda"), cloud.client("logs")
    sink = SampleFunction(cloud, "wf-tel-sink")  # their destination
    lam.add_permission(
        FunctionName=sink.name,
        StatementId="logs",
        Action="lambda:InvokeFunction",
        Principal="logs.amazonaws.com",
    )
    group = group_of(function)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    for name in THEIRS:
        logs.put_subscription_filter(
            logGroupName=group, filterName=name, filterPattern="", destinationArn=sink.arn
        )
    target = function.publish("fail")
    return _run(
        cloud,
        workflow,
        function,
        target,
        strategy={"steps": [{"percentage": 50, "waitSeconds": 8}]},
        checkIntervalSeconds=2,
        health={"minInvocations": 3},
    )


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "healthy": partial(healthy, cloud, workflow),
        "failing": partial(failing, cloud, workflow),
        "alarm": partial(alarm_fires, cloud, workflow),
        "two filters": partial(two_filters_already, cloud, workflow),
    }


def started_telemetry(run: Finished) -> dict[str, Any]:
    (document,) = run.outputs_of("Start telemetry")
    telemetry: dict[str, Any] = document["telemetry"]
    return telemetry


def assert_rolled_back(function: SampleFunction, run: Finished) -> None:
    assert (run.status, run.error) == ("FAILED", "HealthCheckFailed"), run.cause
    assert function.alias() == (function.stable, {})


def test_start_telemetry_subscribes_the_group_and_the_ending_removes_it(runs, workflow_cloud):
    function, _, run, seen = runs["healthy"]
    assert run.status == "SUCCEEDED", run.cause
    group = group_of(function)
    assert started_telemetry(run) | {"alarmsWatched": []} == {
        "pushed": [group],
        "polled": [],
        "alarmsWatched": [],
        "notes": [],
    }
    # while it ran: the deployment's one filter (named `<stack>-rollout-telemetry`)
    assert any(len(names) == 1 and names[0].endswith("-rollout-telemetry") for names in seen)
    assert filters(workflow_cloud, function) == []  # removed when it ended
    logs = [check.logs for check in run.health_checks()]
    assert logs and all(found is not None and found.source == "push" for found in logs)


def test_failing_logs_wake_the_wait_long_before_the_interval(runs, workflow_cloud):
    function, target, run, _ = runs["failing"]
    assert_rolled_back(function, run)
    failed = run.failed_check()
    assert failed.wokenBy is not None and failed.wokenBy.startswith(f"{function.name}: logs:")
    assert f"logs: version {target} error rate" in run.cause
    assert run.health_checks() == []  # no check ran by the clock before it
    assert filters(workflow_cloud, function) == []  # every ending removes it, a rollback too


def test_an_alarm_state_change_wakes_the_wait(runs):
    (function, _, run, _), alarm = runs["alarm"]
    assert_rolled_back(function, run)
    assert run.failed_check().wokenBy == f"alarm {alarm} is in ALARM"
    assert f"alarm {alarm} is in ALARM" in run.cause


def test_a_group_with_two_filters_is_polled_within_the_shared_budget(runs, workflow_cloud):
    function, _, run, _ = runs["two filters"]
    assert_rolled_back(function, run)
    telemetry = started_telemetry(run)
    assert (telemetry["pushed"], telemetry["polled"]) == ([], [group_of(function)])
    (note,) = telemetry["notes"]
    assert "already has 2 subscription filters" in note and "FilterLogEvents" in note
    assert run.failed_check().logs is not None
    assert run.failed_check().logs.source == "poll"  # type: ignore[union-attr]
    assert filters(workflow_cloud, function) == sorted(THEIRS)  # theirs, untouched
    assert (run.plan.functionName, run.plan.alias) == (function.name, ALIAS)
