"""Faults the workflow must ride through: a throttled alias update, and task Lambdas run
twice because Step Functions retried them after their work was done (a lost response).

Faults are injected inside the local cloud for one sample function only, so they don't
touch the rollouts other scenarios run at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from rollout.local.faults import FaultRule, throttle
from tests.workflow.conftest import (
    AliasLog,
    Finished,
    SampleFunction,
    Workflow,
    weights_of,
)

pytestmark = pytest.mark.cloud

STEPS = {"steps": [{"percentage": 20, "waitSeconds": 1}, {"percentage": 60, "waitSeconds": 1}]}


def lose_first_response(workflow: Workflow, task: str, function: str) -> FaultRule:
    """The first invocation of the `task` Lambda for `function` does its work, then the
    caller gets a 429 instead of its result, so Step Functions retries the task."""
    (task_function,) = [f for f in workflow.task_functions() if f"-{task}-" in f]
    return FaultRule(
        "lambda",
        "Invoke",
        "TooManyRequestsException",
        429,
        count=1,
        after=True,
        resource=task_function.rsplit(":", 1)[-1],
        # in the plan or Prepare's console input, not in the PublishVersion event
        body_contains=(f'"functionName": "{function}"', '"targetVersion"'),
    )


def roll_out_with(
    cloud: Any, workflow: Workflow, name: str, fault: Callable[[SampleFunction], FaultRule]
) -> tuple[SampleFunction, str, Finished, FaultRule]:
    """A rollout of a new sample function with `fault(function)` active until it ends."""
    function = SampleFunction(cloud, f"wf-{name}")
    target = function.publish()
    rule = cloud.faults.add(fault(function))
    try:
        run = workflow.run(function.rollout(target, strategy=STEPS, checkIntervalSeconds=1))
    finally:
        cloud.faults.remove(rule)
    return function, target, run, rule


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    faults: dict[str, Callable[[SampleFunction], FaultRule]] = {
        "throttled": lambda f: throttle("lambda", "UpdateAlias", count=3, resource=f.name),
        "prepare-twice": lambda f: lose_first_response(workflow, "PrepareFunction", f.name),
        "shift-twice": lambda f: lose_first_response(workflow, "ShiftTrafficFunction", f.name),
    }
    return {
        name: partial(roll_out_with, cloud, workflow, name, fault) for name, fault in faults.items()
    }


def assert_rolled_out(
    function: SampleFunction, target: str, run: Finished, alias_log: AliasLog, workflow: Workflow
) -> None:
    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert function.alias() == (target, {})
    assert run.alias_weights() == [0.2, 0.6, 1.0]
    assert alias_log.of(function.name) == weights_of(function.stable, target, [20, 60])
    assert workflow.lock(function.name) is None


def test_a_throttled_alias_update_is_retried(runs, alias_log, workflow):
    function, target, run, throttled = runs["throttled"]

    assert_rolled_out(function, target, run, alias_log, workflow)
    assert throttled.fired == 3  # refused three times, retried by the task's SDK client
    assert run.task_errors() == []


def test_prepare_run_twice_takes_its_own_lock_again(runs, alias_log, workflow):
    function, target, run, lost = runs["prepare-twice"]

    assert_rolled_out(function, target, run, alias_log, workflow)
    assert lost.fired == 1  # the first Prepare's response was lost; it ran again
    assert run.task_errors() == ["Lambda.TooManyRequestsException"]


def test_shift_traffic_run_twice_accepts_the_weight_it_already_set(runs, alias_log, workflow):
    function, target, run, lost = runs["shift-twice"]

    assert_rolled_out(function, target, run, alias_log, workflow)
    assert lost.fired == 1
    assert run.task_errors() == ["Lambda.TooManyRequestsException"]
