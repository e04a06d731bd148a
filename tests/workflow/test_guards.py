"""What stops a rollout before or during its run without the new version's health:
invalid input, another rollout holding the lock, someone else changing the alias, and a
target that is already live."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tests.workflow.conftest import (
    ALIAS,
    ALIAS_READ_EVERY,
    EXECUTION_POLL,
    Finished,
    SampleFunction,
    Workflow,
    deadline_poll,
)

pytestmark = pytest.mark.cloud

REJECTED = ["Prepare", "Explain rejection", "Request rejected"]

# name → (input changes on top of a valid request, the Cause Prepare gives)
INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "unknown key": ({"colour": "blue"}, "colour: unknown key"),
    "unknown preset": (
        {"strategy": "Canary50Percent1Minute"},
        "strategy: unknown preset 'Canary50Percent1Minute'",
    ),
    "decreasing steps": (
        {
            "strategy": {
                "steps": [
                    {"percentage": 50, "waitSeconds": 1},
                    {"percentage": 20, "waitSeconds": 1},
                ]
            }
        },
        "strategy: step percentages must strictly increase",
    ),
    "missing version": (
        {"targetVersion": "999"},
        "targetVersion: {name} has no published version 999",
    ),
    "missing alias": ({"alias": "prod"}, "alias: {name} has no alias prod"),
    "$LATEST": ({"targetVersion": "$LATEST"}, "targetVersion: $LATEST can't take weighted traffic"),
    "time scale": ({"timeScale": 0}, "timeScale: Input should be greater than 0"),
}


def invalid_inputs(cloud: Any, workflow: Workflow) -> tuple[SampleFunction, dict[str, Finished]]:
    function = SampleFunction(cloud, "wf-invalid")
    target = function.publish()
    arns = {
        name: workflow.start(function.rollout(target, **changes))
        for name, (changes, _) in INVALID.items()
    }
    return function, {name: workflow.wait(arn) for name, arn in arns.items()}


def lock_conflict(cloud: Any, workflow: Workflow) -> dict[str, Any]:
    """B (another version) and C (A's own version again) start while A holds the lock: A's
    alias split is visible and A's one step lasts long enough for B's and C's Prepare to
    run before it ends."""
    function = SampleFunction(cloud, "wf-lock")
    target = function.publish()
    other = function.publish()
    first = workflow.start(
        function.rollout(
            target,
            strategy={"steps": [{"percentage": 10, "waitSeconds": 10}]},
            checkIntervalSeconds=1,
        )
    )
    deadline_poll(
        "the first rollout's 10 % step", lambda: function.alias()[1], every=ALIAS_READ_EVERY
    )
    second = workflow.run(function.rollout(other, strategy="AllAtOnce"))
    twin = workflow.run(function.rollout(target, strategy="AllAtOnce"))
    return {
        "function": function,
        "target": target,
        "first_arn": first,
        "second": second,
        "twin": twin,
        "first": workflow.wait(first),
    }


def drift(cloud: Any, workflow: Workflow) -> tuple[SampleFunction, str, str, Finished]:
    """Someone points the alias at a hotfix version during the first step."""
    function = SampleFunction(cloud, "wf-drift")
    target = function.publish()
    hotfix = function.publish()
    arn = workflow.start(
        function.rollout(
            target,
            checkIntervalSeconds=1,
            strategy={
                "steps": [
                    {"percentage": 10, "waitSeconds": 5},
                    {"percentage": 50, "waitSeconds": 1},
                ]
            },
        )
    )
    # the step has begun once Shift traffic has set the alias and read it back: the hotfix
    # lands during the step, not between the workflow's write and its check of that write
    deadline_poll(
        "the 10 % step",
        lambda: workflow.has_left(arn, "Shift traffic"),
        every=EXECUTION_POLL,
    )
    function.set_alias(hotfix)
    return function, target, hotfix, workflow.wait(arn)


def already_live(cloud: Any, workflow: Workflow) -> tuple[SampleFunction, Finished]:
    function = SampleFunction(cloud, "wf-noop")
    function.publish()  # a newer version exists; the request names the live one
    return function, workflow.run(function.rollout(function.stable))


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "lock": partial(lock_conflict, cloud, workflow),
        "drift": partial(drift, cloud, workflow),
        "invalid": partial(invalid_inputs, cloud, workflow),
        "noop": partial(already_live, cloud, workflow),
    }


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_input_is_rejected_before_anything_is_touched(name, runs, alias_log, workflow):
    function, finished = runs["invalid"]
    run = finished[name]

    assert (run.status, run.error) == ("FAILED", "InvalidRolloutRequest")
    assert run.task_errors() == ["InvalidRolloutRequest"]
    assert run.cause.startswith(INVALID[name][1].format(name=function.name))
    assert run.states_entered() == REJECTED
    assert function.alias() == (function.stable, {})
    assert alias_log.of(function.name) == []
    assert workflow.lock(function.name) is None


def test_a_second_rollout_of_a_locked_alias_fails_and_its_twin_ends_quietly(
    runs, alias_log, workflow
):
    result = runs["lock"]
    function, target, second = result["function"], result["target"], result["second"]

    assert (second.status, second.error) == ("FAILED", "RolloutInProgress")
    assert second.task_errors() == ["RolloutInProgress"]
    assert second.cause == f"{function.name}:{ALIAS} is being rolled out by {result['first_arn']}"
    assert second.states_entered() == REJECTED
    # the same version started again ends quietly, naming the rollout that rolls it out
    twin = result["twin"]
    assert (twin.status, twin.error) == ("SUCCEEDED", None)
    assert twin.task_errors() == []
    assert twin.states_entered() == ["Prepare", "Roll out?", "Already rolling out"]
    first = result["first"]
    assert (first.status, first.error, first.cause) == ("SUCCEEDED", None, None)
    # the second and the twin left the first's lock alone: the first released it itself
    assert first.summary().lockReleased is True
    assert function.alias() == (target, {})
    assert alias_log.of(function.name) == [(function.stable, {target: 0.1}), (target, {})]
    assert workflow.lock(function.name) is None


def test_an_alias_changed_elsewhere_stops_the_rollout_and_is_left_alone(runs, alias_log, workflow):
    function, target, hotfix, run = runs["drift"]

    assert (run.status, run.error) == ("FAILED", "AliasDrift")
    assert run.task_errors() == ["AliasDrift"]
    assert run.cause == (
        f"{function.name}:{ALIAS} was changed by someone else; the rollout stopped and left it "
        f"as they set it — {function.name}:{ALIAS} is at version {hotfix}, expected version "
        f"{function.stable} with 10% on version {target}; someone else changed it, so this "
        "rollout leaves it alone"
    )
    assert run.states_entered()[-2:] == ["Notify drift", "Alias changed elsewhere"]
    assert function.alias() == (hotfix, {})
    assert alias_log.of(function.name) == [(function.stable, {target: 0.1}), (hotfix, {})]
    assert workflow.lock(function.name) is None


def test_a_target_already_live_is_a_successful_no_op(runs, alias_log, workflow):
    function, run = runs["noop"]

    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert run.plan.action == "noop"
    assert run.plan.reason == f"version {function.stable} is already live on {function.name}:live"
    assert run.states_entered() == ["Prepare", "Roll out?", "Already live"]
    assert function.alias() == (function.stable, {})
    assert alias_log.of(function.name) == []
    assert workflow.lock(function.name) is None
