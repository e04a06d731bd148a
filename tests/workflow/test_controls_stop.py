"""Operator controls that stop a rollout: abort, reject, and an approval nobody gave
(onTimeout rollback), each during a step and during the bake.

Each leaves through the workflow's own Roll back branch: the alias on the stable version
with no routing, verified, the lock released, and a Fail state whose Error says why and
whose Cause names the reason and the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tests.workflow.conftest import Finished, SampleFunction, Workflow
from tests.workflow.operator import REASON, Operator, assert_rolled_back_by_operator

pytestmark = pytest.mark.cloud

LONG = 60  # seconds: a step or bake only a control ends within the test's deadline
Result = tuple[SampleFunction, str, Finished, Operator]


def abort_during_step(cloud: Any, workflow: Workflow) -> Result:
    function, operator = SampleFunction(cloud, "wf-abort-step"), Operator(cloud, workflow)
    target = function.publish()
    steps = [{"percentage": 10, "waitSeconds": LONG}, {"percentage": 50, "waitSeconds": 1}]
    document = function.rollout(target, strategy={"steps": steps}, checkIntervalSeconds=1)
    arn = workflow.start(document)
    operator.when(function, "in step 1", phase="step")
    operator.send(function, arn, "abort")
    return function, target, workflow.wait(arn), operator


def abort_during_bake(cloud: Any, workflow: Workflow) -> Result:
    function, operator = SampleFunction(cloud, "wf-abort-bake"), Operator(cloud, workflow)
    target = function.publish()
    steps = [{"percentage": 50, "waitSeconds": 1}]
    document = function.rollout(
        target, strategy={"steps": steps}, checkIntervalSeconds=1, bakeSeconds=LONG
    )
    arn = workflow.start(document)
    operator.when(function, "baking", phase="bake")
    operator.send(function, arn, "abort")
    return function, target, workflow.wait(arn), operator


def reject_during_step(cloud: Any, workflow: Workflow) -> Result:
    """each-step: the gate at the end of step 1 (before step 2) is rejected."""
    function, operator = SampleFunction(cloud, "wf-reject-step"), Operator(cloud, workflow)
    target = function.publish()
    steps = [{"percentage": 10, "waitSeconds": 1}, {"percentage": 50, "waitSeconds": 1}]
    document = function.rollout(
        target,
        strategy={"steps": steps},
        checkIntervalSeconds=1,
        approval={"before": "each-step", "timeoutSeconds": 600},
    )
    arn = workflow.start(document)
    operator.when(function, "awaiting approval", state="awaiting-approval")
    operator.send(function, arn, "reject")
    return function, target, workflow.wait(arn), operator


def reject_during_bake(cloud: Any, workflow: Workflow) -> Result:
    """each-step with a bake: approve the step's gate, reject the bake's."""
    function, operator = SampleFunction(cloud, "wf-reject-bake"), Operator(cloud, workflow)
    target = function.publish()
    document = function.rollout(
        target,
        strategy={"steps": [{"percentage": 50, "waitSeconds": 1}]},
        checkIntervalSeconds=1,
        bakeSeconds=2,
        approval={"before": "each-step", "timeoutSeconds": 600},
    )
    arn = workflow.start(document)
    operator.when(function, "awaiting step 1's approval", state="awaiting-approval", phase="step")
    operator.send(function, arn, "approve", "step 1 looks fine")
    operator.when(function, "awaiting the bake's approval", state="awaiting-approval", phase="bake")
    operator.send(function, arn, "reject")
    return function, target, workflow.wait(arn), operator


def approval_times_out(cloud: Any, workflow: Workflow, phase: str) -> Result:
    """timeoutSeconds 60 at timeScale 0.1: nobody answers for 6 s, so the rollout rolls back
    (before Promote, or — each-step with a bake — at the end of the bake)."""
    function, operator = SampleFunction(cloud, f"wf-timeout-{phase}"), Operator(cloud, workflow)
    target = function.publish()
    approval = {"timeoutSeconds": 60, "onTimeout": "rollback"}
    if phase == "step":
        options: dict[str, Any] = {"approval": {"before": "promote", **approval}}
    else:
        options = {"approval": {"before": "each-step", **approval}, "bakeSeconds": 20}
    document = function.rollout(
        target,
        strategy={"steps": [{"percentage": 50, "waitSeconds": 10}]},
        timeScale=0.1,
        checkIntervalSeconds=1,
        **options,
    )
    arn = workflow.start(document)
    if phase == "bake":  # answer the step's gate; let the bake's time out
        operator.when(function, "awaiting approval of step 1", state="awaiting-approval")
        operator.send(function, arn, "approve")
    return function, target, workflow.wait(arn), operator


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "abort step": partial(abort_during_step, cloud, workflow),
        "abort bake": partial(abort_during_bake, cloud, workflow),
        "reject step": partial(reject_during_step, cloud, workflow),
        "reject bake": partial(reject_during_bake, cloud, workflow),
        "timeout step": partial(approval_times_out, cloud, workflow, "step"),
        "timeout bake": partial(approval_times_out, cloud, workflow, "bake"),
    }


def test_abort_during_a_step_rolls_back_through_the_workflow(runs, workflow, alias_log):
    function, target, run, operator = runs["abort step"]

    assert_rolled_back_by_operator(function, run, workflow, "RolloutAborted", REASON)
    assert f"Aborted by {operator.by}: {REASON} (during Check health, step 1/2" in run.cause
    assert alias_log.of(function.name) == [(function.stable, {target: 0.1}), (function.stable, {})]
    assert run.task_errors() == ["RolloutAborted"]


def test_abort_during_the_bake_rolls_back_from_100_percent(runs, workflow, alias_log):
    function, target, run, operator = runs["abort bake"]

    assert_rolled_back_by_operator(function, run, workflow, "RolloutAborted", REASON)
    assert f"Aborted by {operator.by}: {REASON} (during Check bake health, bake" in run.cause
    assert alias_log.of(function.name)[-2:] == [(target, {}), (function.stable, {})]


def test_reject_at_a_step_gate_rolls_back_like_abort(runs, workflow, alias_log):
    function, target, run, operator = runs["reject step"]

    assert_rolled_back_by_operator(function, run, workflow, "RolloutAborted", REASON)
    assert f"Rejected at the approval gate by {operator.by}: {REASON}" in run.cause
    assert "Wait for operator" in run.states_entered()
    # the gate held the weight of step 1: step 2 never started
    assert alias_log.of(function.name) == [(function.stable, {target: 0.1}), (function.stable, {})]


def test_reject_at_the_bake_gate_rolls_back_from_100_percent(runs, workflow, alias_log):
    function, target, run, _ = runs["reject bake"]

    assert_rolled_back_by_operator(function, run, workflow, "RolloutAborted", REASON)
    assert "during Wait for operator during bake" in run.cause
    assert alias_log.of(function.name) == [
        (function.stable, {target: 0.5}),
        (target, {}),
        (function.stable, {}),
    ]


def test_an_approval_nobody_gives_before_promote_rolls_back(runs, workflow, alias_log):
    function, target, run, _ = runs["timeout step"]

    assert_rolled_back_by_operator(function, run, workflow, "ApprovalTimedOut", "onTimeout")
    assert "Nobody approved" in run.cause and "before promote" in run.cause
    assert alias_log.of(function.name) == [(function.stable, {target: 0.5}), (function.stable, {})]
    assert "Promote" not in run.states_entered()


def test_an_approval_nobody_gives_at_the_end_of_the_bake_rolls_back(runs, workflow, alias_log):
    function, target, run, _ = runs["timeout bake"]

    assert_rolled_back_by_operator(function, run, workflow, "ApprovalTimedOut", "onTimeout")
    assert "before finishing" in run.cause and "Wait for operator during bake" in run.cause
    assert alias_log.of(function.name)[-2:] == [(target, {}), (function.stable, {})]
