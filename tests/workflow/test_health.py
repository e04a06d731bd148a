"""Health during the rollout: alarms, the new version's own error rate, low traffic, bake.

Every scenario runs at once, each with its own sample function and, where it needs one,
its own traffic. Failures are made deterministic: a version in MODE fail-bad fails
exactly the requests whose payload is {"order": "bad"}, and the traffic decides when to
send those (for instance only once the alias reached a given weight).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest

from tests.workflow.conftest import (
    ALIAS,
    RESULT_DEADLINE,
    Finished,
    SampleFunction,
    Workflow,
    assert_compared_with_stable,
    traffic,
    unique,
    weights_of,
)

pytestmark = pytest.mark.cloud

GOOD, BAD = {"order": "ok"}, {"order": "bad"}
BAKE_SECONDS = 8
Result = tuple[SampleFunction, str, Finished]


def alarm_fires_in_step_2(cloud: Any, workflow: Workflow) -> tuple[Result, str]:
    """A real metric alarm on the new version's Errors (ExecutedVersion); the new version
    fails only the bad requests, and those start once the alias is at step 2 (30 %).
    The alarm (Period 10) is evaluated every 10 s, not when the errors arrive: step 2
    lasts long enough for the next evaluation after the first bad request, with room."""
    function = SampleFunction(cloud, "wf-alarm")
    target = function.publish("fail-bad")
    alarm = unique("wf-new-version-errors")
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Dimensions=[
            {"Name": "FunctionName", "Value": function.name},
            {"Name": "Resource", "Value": f"{function.name}:{ALIAS}"},
            {"Name": "ExecutedVersion", "Value": target},
        ],
        Period=10,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    steps = [
        {"percentage": 10, "waitSeconds": 1},
        {"percentage": 30, "waitSeconds": 20},
        {"percentage": 60, "waitSeconds": 1},
    ]

    def payload() -> dict[str, str]:
        return BAD if function.recent_alias()[1].get(target, 0) >= 0.3 else GOOD

    document = function.rollout(
        target,
        strategy={"steps": steps},
        alarms=[alarm],
        checkIntervalSeconds=1,
        # only the alarm can fail it: no threshold, no comparison with the stable version
        health={"errorRatePercent": 100, "compareToStable": False},
    )
    with traffic(function, payload):
        return (function, target, workflow.run(document)), alarm


@contextmanager
def setting_alarm(
    cloudwatch: Any, alarm: str, when: Callable[[], bool], every: float = 0.5
) -> Iterator[list[float]]:
    """SetAlarmState(ALARM) every `every` seconds while `when()` holds, from a background
    thread (AWS's docs suggest SetAlarmState for testing what an alarm does); yields the
    times it was set."""
    stop = threading.Event()
    sets: list[float] = []

    def run() -> None:
        deadline = time.monotonic() + RESULT_DEADLINE
        while not stop.is_set() and time.monotonic() < deadline:
            if not when():
                stop.wait(0.05)
                continue
            cloudwatch.set_alarm_state(
                AlarmName=alarm, StateValue="ALARM", StateReason="workflow test: set by hand"
            )
            sets.append(time.monotonic())
            stop.wait(every)

    thread = threading.Thread(target=run, daemon=True, name=f"set-{alarm}")
    thread.start()
    try:
        yield sets
    finally:
        stop.set()
        thread.join(timeout=10)


def alarm_set_by_hand_in_step_1(cloud: Any, workflow: Workflow) -> tuple[Result, str, int]:
    """An alarm on a custom metric that never gets data (Period 60, notBreaching), set to
    ALARM by hand every 0.5 s during step 1 while traffic keeps Lambda's own metrics
    arriving. CloudWatch holds a set state until the alarm's next scheduled evaluation
    (about once a minute for this period), so the check sees ALARM and rolls back."""
    function = SampleFunction(cloud, "wf-set-alarm")
    target = function.publish()
    alarm = unique("wf-set-by-hand")
    cloudwatch = cloud.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace="Rollout/WorkflowTests",
        MetricName="NeverEmitted",
        Dimensions=[{"Name": "FunctionName", "Value": function.name}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    # step 1 lasts 8 s: the state change reaches the checks through its event (EventBridge,
    # then the alarm-state watcher, a cold start on a busy machine), and a set state lasts
    # only until the alarm's next evaluation puts it back, so the decisive check's
    # DescribeAlarms alone may meet it between two sets
    steps = [{"percentage": 10, "waitSeconds": 8}, {"percentage": 50, "waitSeconds": 1}]
    document = function.rollout(
        target,
        strategy={"steps": steps},
        alarms=[alarm],
        checkIntervalSeconds=1,
        # only the alarm can fail it: no threshold, no comparison with the stable version
        health={"errorRatePercent": 100, "compareToStable": False},
    )

    def in_step_1() -> bool:  # asked every 0.05 s: read inside moto, no API call
        return function.recent_alias() == (function.stable, {target: 0.1})

    # steady traffic: Lambda's metrics arrive many times between two checks
    with traffic(function, per_second=50), setting_alarm(cloudwatch, alarm, in_step_1) as sets:
        run = workflow.run(document)
    return (function, target, run), alarm, len(sets)


def new_version_errors(cloud: Any, workflow: Workflow) -> Result:
    function = SampleFunction(cloud, "wf-new-errors")
    target = function.publish("fail")
    document = function.rollout(
        target,
        strategy={"steps": [{"percentage": 50, "waitSeconds": 4}]},
        checkIntervalSeconds=1,
        health={"minInvocations": 5},
    )
    with traffic(function, lambda: GOOD):
        return function, target, workflow.run(document)


def old_version_errors(cloud: Any, workflow: Workflow) -> Result:
    """The stable version fails every other request; the new one is healthy.

    The step lasts 6 s: the latency check wants MIN_SAMPLES settled durations of each
    version (health/latency.py), and only half of the stable version's requests succeed. On
    a busy machine the traffic thread sends far fewer than 10 requests a second: a 3 s step
    was extended there, and could run out of its 5 extensions of 1 s (then hold, and the
    run never end) before both had enough."""
    function = SampleFunction(cloud, "wf-old-errors", mode="fail-bad")
    target = function.publish("ok")
    alternate = itertools.cycle([GOOD, BAD])
    document = function.rollout(
        target,
        strategy={"steps": [{"percentage": 50, "waitSeconds": 6}]},
        checkIntervalSeconds=1,
        health={"minInvocations": 5},
    )
    with traffic(function, lambda: next(alternate)):
        return function, target, workflow.run(document)


def low_traffic(cloud: Any, workflow: Workflow, policy: str) -> Result:
    """No traffic at all: fewer invocations than minInvocations in every check."""
    function = SampleFunction(cloud, f"wf-low-{policy}")
    target = function.publish()
    document = function.rollout(
        target,
        strategy={"steps": [{"percentage": 10, "waitSeconds": 2}]},
        checkIntervalSeconds=1,
        health={"minInvocations": 10, "lowTraffic": policy},
    )
    return function, target, workflow.run(document)


def all_at_once_low_traffic_fail(cloud: Any, workflow: Workflow) -> Result:
    """AllAtOnce checks health once before promotion, when the new version has no share."""
    function = SampleFunction(cloud, "wf-low-all")
    target = function.publish()
    document = function.rollout(target, strategy="AllAtOnce", health={"lowTraffic": "fail"})
    return function, target, workflow.run(document)


def bake(cloud: Any, workflow: Workflow, mode: str) -> Result:
    """AllAtOnce with a bake; bad requests start once the new version takes all traffic.

    The bake lasts 8 checks: the new version served nothing before Promote, so its first
    invocation is a cold start, seconds long on a busy machine; a 4-check bake could end
    before any invocation of it was counted, and lowTraffic "pass" then finalizes."""
    function = SampleFunction(cloud, f"wf-bake-{mode}")
    target = function.publish(mode)

    def payload() -> dict[str, str]:
        return BAD if function.recent_alias() == (target, {}) else GOOD

    document = function.rollout(
        target,
        strategy="AllAtOnce",
        bakeSeconds=BAKE_SECONDS,
        checkIntervalSeconds=1,
        health={"minInvocations": 3},
    )
    with traffic(function, payload):
        return function, target, workflow.run(document)


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "alarm": partial(alarm_fires_in_step_2, cloud, workflow),
        "alarm set by hand": partial(alarm_set_by_hand_in_step_1, cloud, workflow),
        "new errors": partial(new_version_errors, cloud, workflow),
        "old errors": partial(old_version_errors, cloud, workflow),
        "low traffic pass": partial(low_traffic, cloud, workflow, "pass"),
        "low traffic fail": partial(low_traffic, cloud, workflow, "fail"),
        "all at once low traffic fail": partial(all_at_once_low_traffic_fail, cloud, workflow),
        "bake pass": partial(bake, cloud, workflow, "ok"),
        "bake fail": partial(bake, cloud, workflow, "fail-bad"),
    }


def assert_rolled_back(function: SampleFunction, run: Finished, workflow: Workflow) -> None:
    assert run.status == "FAILED"
    assert run.error == "HealthCheckFailed"
    assert run.task_errors() == ["HealthCheckFailed"]
    assert run.cause.startswith(f"Rolled back {function.name}:{ALIAS} to version {function.stable}")
    assert function.alias() == (function.stable, {})
    assert run.states_entered()[-3:] == ["Roll back", "Notify rollback", "Rolled back"]
    assert workflow.lock(function.name) is None


def test_an_alarm_firing_in_step_2_rolls_back_from_step_2(runs, alias_log, workflow):
    (function, target, run), alarm = runs["alarm"]

    assert_rolled_back(function, run, workflow)
    assert f"Check health, step 2/3 at 30%: alarm {alarm} is in ALARM" in run.cause
    assert alias_log.of(function.name) == [
        (function.stable, {target: 0.1}),
        (function.stable, {target: 0.3}),
        (function.stable, {}),
    ]


def test_an_alarm_set_to_alarm_by_hand_in_step_1_rolls_back_despite_traffic(
    runs, alias_log, workflow
):
    (function, target, run), alarm, sets = runs["alarm set by hand"]

    assert sets > 0, "the alarm was never set: step 1 was not seen"
    assert_rolled_back(function, run, workflow)
    assert f"Check health, step 1/2 at 10%: alarm {alarm} is in ALARM" in run.cause
    assert alias_log.of(function.name) == [(function.stable, {target: 0.1}), (function.stable, {})]


def test_new_version_error_rate_above_threshold_rolls_back(runs, alias_log, workflow):
    function, target, run = runs["new errors"]

    assert_rolled_back(function, run, workflow)
    # every invocation read failed; the first ones may settle it (rollout_core/error_rate.py)
    assert re.search(rf"version {target} error rate [^(]*\((\d+)/\1 invocations failed", run.cause)
    line = next(part for part in run.cause.split("; ") if f"version {target} error rate" in part)
    assert_compared_with_stable(run, function, "logs" if "logs: " in line else "metrics", line)
    assert alias_log.of(function.name) == [(function.stable, {target: 0.5}), (function.stable, {})]


def test_old_version_errors_alone_do_not_roll_back(runs, alias_log, workflow):
    function, target, run = runs["old errors"]

    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert function.alias() == (target, {})
    assert alias_log.of(function.name) == weights_of(function.stable, target, [50])
    checks = run.health_checks()
    # the stable version's errors were there and seen, and the new version had none
    assert any(check.stableVersion and check.stableVersion.errors > 0 for check in checks)
    assert all(check.newVersion and check.newVersion.errors == 0 for check in checks)


def test_low_traffic_with_policy_pass_succeeds_without_judging(runs, alias_log, workflow):
    function, target, run = runs["low traffic pass"]

    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert function.alias() == (target, {})
    assert alias_log.of(function.name) == weights_of(function.stable, target, [10])
    notes = [note for check in run.health_checks() for note in check.notes]
    assert (
        f"low traffic: version {target} had 0 invocations, fewer than 10; error rate not judged"
        in notes
    )


def test_low_traffic_with_policy_fail_rolls_back_at_the_end_of_the_step(runs, alias_log, workflow):
    function, target, run = runs["low traffic fail"]

    assert_rolled_back(function, run, workflow)
    assert (
        f"Check health, step 1/1 at 10%: low traffic: version {target} had 0 invocations"
        in run.cause
    )
    # judged at the end of the step only: the check in the middle of it passed
    assert len(run.health_checks()) == 1
    assert alias_log.of(function.name) == [(function.stable, {target: 0.1}), (function.stable, {})]


def test_low_traffic_policy_fail_does_not_judge_a_version_without_a_share(
    runs, alias_log, workflow
):
    function, target, run = runs["all at once low traffic fail"]

    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert function.alias() == (target, {})
    assert alias_log.of(function.name) == [(target, {})]
    assert run.health_checks()[0].notes == [
        f"version {target} has no traffic share yet; error rate not judged"
    ]


def test_bake_with_healthy_checks_succeeds(runs, alias_log, workflow):
    function, target, run = runs["bake pass"]

    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert function.alias() == (target, {})
    assert alias_log.of(function.name) == [(target, {})]
    # a check a second through the bake, and one more per extension: on a busy machine the
    # last check may still lack latency samples (inconclusive), and the bake is extended
    extensions = run.progress_of("Check bake health")[-1].extensions
    assert run.states_entered().count("Check bake health") == BAKE_SECONDS + extensions
    assert workflow.lock(function.name) is None


def test_a_failure_during_bake_rolls_back(runs, alias_log, workflow):
    function, target, run = runs["bake fail"]

    assert_rolled_back(function, run, workflow)
    assert "Check bake health, bake at 100%" in run.cause
    # nearly every request fails: a request sent just before Promote may have been good
    assert f"version {target} error rate " in run.cause
    assert f"above stable version {function.stable} (0.00%)" in run.cause
    assert alias_log.of(function.name) == [(target, {}), (function.stable, {})]
