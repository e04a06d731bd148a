"""The safety net: executions stopped in every phase, a failed rollback, a timeout, drift.

Each case runs on its own function, all at once; the guard (run by the EventBridge rule on
the state machine's status changes) reports what it did in its log, which the tests read.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from rollout.local.faults import FaultRule, crash
from tests.conftest import REPO
from tests.reliability.rollouts import (
    alias_of,
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

pytestmark = pytest.mark.cloud


def stop(cloud: Any, arn: str) -> None:
    cloud.client("stepfunctions").stop_execution(executionArn=arn, cause="stopped by a test")


def test_stop_in_every_phase_restores_moved_traffic_and_releases_the_lock(cloud, faults):
    check_fn = task_function(cloud, "TrafficCheckFunction")
    cases = {  # function → (input extras, state after which to stop)
        "guard-before": ({}, "Prepare"),
        "guard-midstep": ({"waits": (30,)}, "Shift traffic"),
        "guard-promoted": ({"bakeSeconds": 30}, "Promote"),
        "guard-baking": ({"bakeSeconds": 30}, "Check bake health"),
    }
    # hold the pre-traffic check of the first case so it can be stopped before any traffic
    faults.add(
        FaultRule(
            "lambda",
            "Invoke",
            error_code=None,
            delay_seconds=2,
            resource=check_fn,
            body_contains="guard-before",
        )
    )
    versions = {name: sample_function(cloud, name) for name in cases}
    arns = {}
    for name, (extras, _) in cases.items():
        options = dict(extras)
        waits = options.pop("waits", (1,))
        arns[name] = start(cloud, rollout_input(name, versions[name][1], waits, **options))
    for name, (_, state) in cases.items():
        wait_for_state(cloud, arns[name], state)
        stop(cloud, arns[name])

    results = {name: guard_result(cloud, arn) for name, arn in arns.items()}

    for name, arn in arns.items():
        assert wait_for_end(cloud, arn)["status"] == "ABORTED"
        assert alias_of(cloud, name) == (versions[name][0], {}), name
        assert lock_holder(cloud, name) is None, name
        assert results[name]["lockReleased"] is True, name
    assert results["guard-before"]["action"] == "none"
    for moved in ("guard-midstep", "guard-promoted", "guard-baking"):
        assert results[moved]["action"] == "restored", results[moved]
        assert results[moved]["notified"] == {"sns": True, "eventBridge": True}


def test_a_rollback_that_fails_is_backed_up_by_the_guard(cloud, faults):
    name = "guard-rollback-fails"
    stable, target = sample_function(cloud, name)
    arn = start(cloud, rollout_input(name, target, (3,)))
    wait_for_state(cloud, arn, "Shift traffic")
    # a health check crashes → Roll back, whose alias update is refused once (not retryable)
    faults.add(crash(task_function(cloud, "CheckHealthFunction"), body_contains=name))
    faults.add(
        FaultRule(
            "lambda",
            "UpdateAlias",
            "AccessDeniedException",
            403,
            "not authorized (injected)",
            resource=name,
        )
    )

    ended = wait_for_end(cloud, arn)
    result = guard_result(cloud, arn)

    assert (ended["status"], ended["error"]) == ("FAILED", "RollbackFailed")
    assert result["action"] == "restored", result
    assert alias_of(cloud, name) == (stable, {})
    assert lock_holder(cloud, name) is None


def test_a_timed_out_execution_is_cleaned_up(cloud, faults):
    """TIMED_OUT comes after TimeoutSeconds (days); the guard is handed the event directly,
    as EventBridge would, for a rollout caught mid-step."""
    name = "guard-timed-out"
    stable, target = sample_function(cloud, name)
    arn = start(cloud, rollout_input(name, target, (30,)))
    wait_for_state(cloud, arn, "Shift traffic")
    event = {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": arn, "status": "TIMED_OUT"},
    }

    answer = cloud.client("lambda").invoke(
        FunctionName=cloud.stack_outputs["GuardFunctionName"], Payload=json.dumps(event)
    )
    result = json.loads(answer["Payload"].read())
    stop(cloud, arn)
    wait_for_end(cloud, arn)

    assert "FunctionError" not in answer, result
    assert (result["action"], result["lockReleased"]) == ("restored", True)
    assert alias_of(cloud, name) == (stable, {})
    assert lock_holder(cloud, name) is None


def test_an_alias_changed_by_someone_else_is_left_alone(cloud, faults):
    lam = cloud.client("lambda")
    workflow, stopped = "guard-drift-flow", "guard-drift-stop"
    versions = {name: sample_function(cloud, name) for name in (workflow, stopped)}
    arns = {
        name: start(
            cloud, rollout_input(name, versions[name][1], (3,) if name == workflow else (30,))
        )
        for name in versions
    }
    for name, arn in arns.items():
        wait_for_state(cloud, arn, "Shift traffic")
        stable, target = versions[name]
        lam.update_alias(
            FunctionName=name,
            Name="live",
            FunctionVersion=stable,
            RoutingConfig={"AdditionalVersionWeights": {target: 0.5}},
        )
    stop(cloud, arns[stopped])

    drifted = wait_for_end(cloud, arns[workflow])
    result = guard_result(cloud, arns[stopped])

    assert (drifted["status"], drifted["error"]) == ("FAILED", "AliasDrift")
    for name, (stable, target) in versions.items():
        assert alias_of(cloud, name) == (stable, {target: 0.5}), name
        assert lock_holder(cloud, name) is None, name
    assert result["action"] == "left" and "someone else" in result["detail"]
    assert result["notified"] == {"sns": True, "eventBridge": True}


def test_the_guard_leaves_a_cleanly_rolled_back_execution_alone(cloud, faults):
    name = "guard-clean-rollback"
    stable, target = sample_function(cloud, name)
    faults.add(crash(task_function(cloud, "CheckHealthFunction"), body_contains=name))
    arn = start(cloud, rollout_input(name, target))

    ended = wait_for_end(cloud, arn)
    result = guard_result(cloud, arn)

    assert ended["status"] == "FAILED"
    assert "Notify rollback" in [
        e["stateExitedEventDetails"]["name"]
        for e in history(cloud, arn)
        if "stateExitedEventDetails" in e
    ]
    assert result["action"] == "none" and result["reason"] == "the workflow already cleaned up"
    assert alias_of(cloud, name) == (stable, {})


def test_the_execution_timeout_outlasts_the_longest_plan():
    from rollout_core.strategies import MAX_TOTAL_WAIT_SECONDS

    definition = json.loads((REPO / "statemachine" / "rollout.asl.json").read_text())
    max_bake_seconds = 86400  # docs/workflow.md: bakeSeconds 0..86400
    assert definition["TimeoutSeconds"] > MAX_TOTAL_WAIT_SECONDS + max_bake_seconds
