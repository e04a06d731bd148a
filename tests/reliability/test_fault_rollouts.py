"""Rollouts on the local cloud with faults injected: transient errors are retried, a task
crashing or timing out in any state ends cleanly, lost dependencies roll back or fail
before touching anything. Every case asserts the alias and the lock afterwards; cases on
different functions run at once."""

from __future__ import annotations

from typing import Any

import pytest

from rollout.local.faults import FaultRule, crash, throttle, unavailable
from tests.reliability.rollouts import (
    alias_of,
    exited_states,
    guard_result,
    history,
    lock_holder,
    rollout_input,
    sample_function,
    start,
    task_function,
    wait_for_end,
    wait_for_state,
)

pytestmark = [pytest.mark.cloud, pytest.mark.slow]


def alarm(cloud: Any, name: str) -> str:
    alarm_name = f"{name}-errors"
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName=alarm_name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1000,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    return alarm_name


def test_transient_errors_on_every_call_the_tasks_make_are_retried(cloud, faults):
    name = "fault-transient"
    stable, target = sample_function(cloud, name)
    inside = {"body_contains": name, "from_lambda": True}
    rules = [
        throttle("lambda", "UpdateAlias", 2, resource=name),
        unavailable("lambda", "GetAlias", 2, resource=name),
        throttle("lambda", "Invoke", 1, resource=name),  # the pre-traffic check's DryRun
        throttle("cloudwatch", "DescribeAlarms", 2, **inside),
        unavailable("cloudwatch", "GetMetricData", 2, **inside),
        throttle("dynamodb", "PutItem", 2, **inside),
        unavailable("dynamodb", "DeleteItem", 2, **inside),
        throttle("sns", "Publish", 2, **inside),
        unavailable("events", "PutEvents", 2, **inside),
    ]
    # the Step Functions interpreter's own Invoke of each task (retried by the ASL)
    for task in ("ShiftTrafficFunction", "CheckHealthFunction", "PromoteFunction"):
        rules.append(
            throttle("lambda", "Invoke", 1, resource=task_function(cloud, task), body_contains=name)
        )
    faults.add(*rules)

    ended = wait_for_end(
        cloud,
        start(cloud, rollout_input(name, target, (2,), alarms=[alarm(cloud, name)])),
        timeout=90,
    )

    assert ended["status"] == "SUCCEEDED", (ended.get("error"), ended.get("cause"))
    assert alias_of(cloud, name) == (target, {})
    assert lock_holder(cloud, name) is None
    assert {(r.service, r.operation, r.error_code): r.fired for r in rules if not r.fired} == {}
    assert stable != target


LONG_STEP = 60  # s: a step no load outlasts, cut short by a fault at its first check

# function → (task that fails, how, where (a body marker), input extras, expected error)
CRASHES = {
    "crash-prepare": ("PrepareFunction", "Sandbox.Timedout", None, {}),
    "crash-pretraffic": ("TrafficCheckFunction", "Unhandled", '"phase": "preTraffic"', {}),
    "crash-shift": ("ShiftTrafficFunction", "Sandbox.Timedout", None, {}),
    "crash-health": ("CheckHealthFunction", "Unhandled", '"phase": "step"', {}),
    "crash-promote": ("PromoteFunction", "Sandbox.Timedout", None, {}),
    "crash-posttraffic": (
        "TrafficCheckFunction",
        "Unhandled",
        '"phase": "postTraffic"',
        {"postTraffic": {"payload": {}}},
    ),
    "crash-bake": (
        "CheckHealthFunction",
        "Sandbox.Timedout",
        '"phase": "bake"',
        {"bakeSeconds": 2},
    ),
}


def test_a_task_crashing_or_timing_out_in_each_state_ends_cleanly(cloud, faults):
    """The task runs (its side effects happen) and then reports a crash or a timeout, the
    harder case for the states that move the alias. Before traffic the alias is never
    touched; after, it is rolled back from wherever the task left it. A timeout is retried
    (the tasks that time out here are safe to run twice), so these time out every time."""
    versions = {name: sample_function(cloud, name) for name in CRASHES}
    arns = {}
    for name, (task, error, marker, extras) in CRASHES.items():
        body = (f'"{name}"',) + ((marker,) if marker else ())
        count = None if error == "Sandbox.Timedout" else 1
        faults.add(crash(task_function(cloud, task), error, count, after=True, body_contains=body))
        arns[name] = start(cloud, rollout_input(name, versions[name][1], (1,), **extras))

    ended = {name: wait_for_end(cloud, arn, timeout=120) for name, arn in arns.items()}
    # Prepare took the lock before it "timed out": the workflow releases it, not the guard
    prepare_guard = guard_result(cloud, arns["crash-prepare"])

    for name, (_, error, _, _) in CRASHES.items():
        stable, _target = versions[name]
        assert (ended[name]["status"], ended[name].get("error")) == ("FAILED", error), name
        assert alias_of(cloud, name) == (stable, {}), name
        assert lock_holder(cloud, name) is None, name
    assert "Release Prepare's lock" in exited_states(cloud, arns["crash-prepare"])
    assert prepare_guard["lockReleased"] is False  # already released by the workflow


def test_a_task_timing_out_once_is_retried(cloud, faults):
    """Sandbox.Timedout is transient for the tasks that are safe to run twice: a Prepare
    and a Shift traffic that each time out once (after doing their work) still succeed."""
    name = "timeout-once"
    _stable, target = sample_function(cloud, name)
    # the console input's rollout, not the one EventBridge starts for the publish
    console = (f'"{name}"', '"targetVersion"')
    rules = [
        crash(task_function(cloud, task), "Sandbox.Timedout", 1, after=True, body_contains=console)
        for task in ("PrepareFunction", "ShiftTrafficFunction")
    ]
    faults.add(*rules)
    arn = start(cloud, rollout_input(name, target, (1,)))
    ended = wait_for_end(cloud, arn, timeout=90)

    assert ended["status"] == "SUCCEEDED", (ended.get("error"), ended.get("cause"))
    assert alias_of(cloud, name) == (target, {})
    assert lock_holder(cloud, name) is None
    failed = [
        e["taskFailedEventDetails"]["error"]
        for e in history(cloud, arn)
        if e["type"] == "TaskFailed"
    ]
    assert [(r.fired, r.resource) for r in rules] == [(1, r.resource) for r in rules]
    assert failed == ["Sandbox.Timedout", "Sandbox.Timedout"]


def test_lost_dependencies_end_cleanly(cloud, faults):
    """The lock table gone, alarm state unreadable, the rollback's alias update throttled,
    the alias deleted mid-rollout: each on its own function. The target version can't be
    lost: Lambda refuses to delete a version an alias routes to, and so does the local
    cloud, so that rollout carries on."""
    lam = cloud.client("lambda")
    names = ("lost-table", "lost-alarms", "lost-rollback-update", "lost-version", "lost-alias")
    versions = {name: sample_function(cloud, name) for name in names}
    gone = FaultRule(
        "dynamodb",
        "PutItem",
        "ResourceNotFoundException",
        400,
        "Requested resource not found",
        count=None,
        body_contains='"lost-table',
    )
    faults.add(gone)
    alarms = {"alarms": [alarm(cloud, "lost-alarms")]}
    # The rollback's faults land once its rollout has shifted (the throttle is for the
    # rollback's UpdateAlias, not the shift's); its long step keeps it in that step however
    # late they land on a loaded machine (in 3 s it once succeeded before them), and its first
    # check after them crashes, so the long step costs no time.
    waits = {"lost-rollback-update": (LONG_STEP,)}
    arns = {
        name: start(
            cloud,
            rollout_input(
                name,
                versions[name][1],
                waits.get(name, (3,)),
                **(alarms if name == "lost-alarms" else {}),
            ),
        )
        for name in names
    }
    # the alarm turns unreadable as soon as its rollout shifted: its step lasts 3 s, and
    # waiting for the other rollouts first could let its decisive check pass before it
    wait_for_state(cloud, arns["lost-alarms"], "Shift traffic")
    faults.add(
        FaultRule(
            "cloudwatch",
            "DescribeAlarms",
            "AccessDenied",
            403,
            "not authorized",
            count=None,
            body_contains="lost-alarms-errors",
        )
    )
    wait_for_state(cloud, arns["lost-rollback-update"], "Shift traffic")
    rollback_fn = task_function(cloud, "RollbackFunction")
    faults.add(
        crash(task_function(cloud, "CheckHealthFunction"), body_contains='"lost-rollback-update"')
    )
    update = faults.add(
        throttle("lambda", "UpdateAlias", 3, resource="lost-rollback-update", from_lambda=True)
    )
    for name in names[3:]:
        wait_for_state(cloud, arns[name], "Shift traffic")
    with pytest.raises(lam.exceptions.ResourceConflictException, match="aliases reference it"):
        lam.delete_function(FunctionName="lost-version", Qualifier=versions["lost-version"][1])
    lam.delete_alias(FunctionName="lost-alias", Name="live")

    ended = {name: wait_for_end(cloud, arn, timeout=90) for name, arn in arns.items()}
    missing = guard_result(cloud, arns["lost-alias"])

    outcome = {name: (e["status"], e.get("error")) for name, e in ended.items()}
    # Prepare failed before taking the lock: nothing touched
    assert outcome["lost-table"] == ("FAILED", "ResourceNotFoundException")
    assert outcome["lost-alarms"][0] == "FAILED"  # unreadable alarms roll back
    assert outcome["lost-rollback-update"] == ("FAILED", "Unhandled")  # rolled back
    assert update.fired == 3 and rollback_fn
    assert outcome["lost-version"] == ("SUCCEEDED", None), ended["lost-version"]
    assert alias_of(cloud, "lost-version") == (versions["lost-version"][1], {})
    assert outcome["lost-alias"] == ("FAILED", "RollbackFailed")
    for name in ("lost-table", "lost-alarms", "lost-rollback-update"):
        assert alias_of(cloud, name) == (versions[name][0], {}), name
    for name in names:
        assert lock_holder(cloud, name) is None, name
    assert missing["action"] == "missing" and missing["lockReleased"] is False
    assert gone.fired >= 1
