"""Operator controls that steer a rollout: promote, promote --full, pause then resume,
approve (and onTimeout proceed), a health failure while paused, a control sent to a
finished rollout, and a dry run. Each asserts the alias, the status, the Error/Cause and
the lock."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from rollout.aws import CliError
from tests.workflow.conftest import ALIAS, Finished, SampleFunction, Workflow, traffic
from tests.workflow.operator import Operator

pytestmark = pytest.mark.cloud

LONG = 240  # seconds: a step only a control ends within the test's deadline
PAUSED_FOR = 4.0  # seconds a paused rollout is held past its step's end
GOOD, BAD = {"order": "ok"}, {"order": "bad"}
Result = tuple[SampleFunction, str, Finished, Operator]


def promote(cloud: Any, workflow: Workflow) -> tuple[Result, float]:
    """promote ends step 1 (LONG) at once; step 2 (1 s) then runs as planned."""
    function, operator = SampleFunction(cloud, "wf-promote"), Operator(cloud, workflow)
    target = function.publish()
    steps = [{"percentage": 10, "waitSeconds": LONG}, {"percentage": 50, "waitSeconds": 1}]
    document = function.rollout(target, strategy={"steps": steps}, checkIntervalSeconds=1)
    started = time.monotonic()
    arn = workflow.start(document)
    operator.when(function, "in step 1", phase="step")
    operator.send(function, arn, "promote")
    finished = workflow.wait(arn)
    return (function, target, finished, operator), time.monotonic() - started


def promote_full(cloud: Any, workflow: Workflow) -> Result:
    """promote --full skips steps 1 (rest) and 2 to Promote; the bake still runs."""
    function, operator = SampleFunction(cloud, "wf-promote-full"), Operator(cloud, workflow)
    target = function.publish()
    steps = [{"percentage": 10, "waitSeconds": LONG}, {"percentage": 50, "waitSeconds": LONG}]
    document = function.rollout(
        target, strategy={"steps": steps}, checkIntervalSeconds=1, bakeSeconds=2
    )
    arn = workflow.start(document)
    operator.when(function, "in step 1", phase="step")
    operator.send(function, arn, "promote-full")
    return function, target, workflow.wait(arn), operator


def pause_then_resume(cloud: Any, workflow: Workflow) -> tuple[Result, list[Any], Any]:
    """A 3 s step paused at once is held PAUSED_FOR s past its end, then resumes."""
    function, operator = SampleFunction(cloud, "wf-pause"), Operator(cloud, workflow)
    target = function.publish()
    steps = [{"percentage": 20, "waitSeconds": 3}]
    document = function.rollout(target, strategy={"steps": steps}, checkIntervalSeconds=1)
    arn = workflow.start(document)
    operator.when(function, "in step 1", phase="step")
    operator.send(function, arn, "pause", "looking at the logs")
    operator.when(function, "paused", state="paused")
    time.sleep(PAUSED_FOR)  # the step's 3 s end while paused
    held = function.alias()
    refused = _refused(operator, function, arn, "pause")  # already paused
    operator.send(function, arn, "resume", "logs are clean")
    return (function, target, workflow.wait(arn), operator), [held], refused


def approve(cloud: Any, workflow: Workflow) -> Result:
    function, operator = SampleFunction(cloud, "wf-approve"), Operator(cloud, workflow)
    target = function.publish()
    document = function.rollout(
        target,
        strategy={"steps": [{"percentage": 30, "waitSeconds": 1}]},
        checkIntervalSeconds=1,
        approval={"before": "promote", "timeoutSeconds": 600},
    )
    arn = workflow.start(document)
    operator.when(function, "awaiting approval", state="awaiting-approval")
    operator.send(function, arn, "approve", "canary metrics look fine")
    return function, target, workflow.wait(arn), operator


def proceed_on_timeout(cloud: Any, workflow: Workflow) -> Result:
    """onTimeout proceed: 60 s at timeScale 0.05 = 3 s without an answer, then Promote."""
    function, operator = SampleFunction(cloud, "wf-proceed"), Operator(cloud, workflow)
    target = function.publish()
    document = function.rollout(
        target,
        strategy={"steps": [{"percentage": 30, "waitSeconds": 20}]},
        timeScale=0.05,
        checkIntervalSeconds=1,
        approval={"before": "promote", "timeoutSeconds": 60, "onTimeout": "proceed"},
    )
    return function, target, workflow.run(document), operator


def fails_while_paused(cloud: Any, workflow: Workflow) -> Result:
    """The new version fails requests only once the rollout is paused: the hold's own
    health checks see it and roll back."""
    function, operator = SampleFunction(cloud, "wf-paused-fail"), Operator(cloud, workflow)
    target = function.publish("fail-bad")
    steps = [{"percentage": 50, "waitSeconds": LONG}]
    document = function.rollout(
        target,
        strategy={"steps": steps},
        checkIntervalSeconds=1,
        health={"minInvocations": 3},
    )
    paused = False

    def payload() -> dict[str, str]:
        return BAD if paused else GOOD

    with traffic(function, payload):
        arn = workflow.start(document)
        operator.when(function, "in step 1", phase="step")
        operator.send(function, arn, "pause")
        operator.when(function, "paused", state="paused")
        paused = True
        finished = workflow.wait(arn)
    return function, target, finished, operator


def finished_rollout(cloud: Any, workflow: Workflow) -> tuple[Result, dict[str, Any]]:
    """Every control sent to a rollout that has ended is refused and changes nothing."""
    function, operator = SampleFunction(cloud, "wf-finished"), Operator(cloud, workflow)
    target = function.publish()
    finished = workflow.run(function.rollout(target, strategy="AllAtOnce"))
    refusals = {
        action: _refused(operator, function, finished.arn, action)
        for action in ("abort", "promote", "promote-full", "pause", "resume", "approve", "reject")
    }
    return (function, target, finished, operator), refusals


def dry_run(cloud: Any, workflow: Workflow) -> Result:
    function, operator = SampleFunction(cloud, "wf-dry-run"), Operator(cloud, workflow)
    target = function.publish()
    document = function.rollout(
        target,
        strategy="Linear10PercentEvery1Minute",
        approval={"before": "each-step"},
        dryRun=True,
    )
    return function, target, workflow.run(document), operator


def _refused(operator: Operator, function: SampleFunction, arn: str, action: str) -> Any:
    try:
        operator.send(function, arn, action)
    except CliError as error:
        return error
    return None


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "promote": partial(promote, cloud, workflow),
        "promote full": partial(promote_full, cloud, workflow),
        "pause": partial(pause_then_resume, cloud, workflow),
        "approve": partial(approve, cloud, workflow),
        "proceed": partial(proceed_on_timeout, cloud, workflow),
        "paused fail": partial(fails_while_paused, cloud, workflow),
        "finished": partial(finished_rollout, cloud, workflow),
        "dry run": partial(dry_run, cloud, workflow),
    }


def assert_rolled_out(function: SampleFunction, target: str, run: Finished, workflow: Workflow):
    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert run.states_entered()[-1] == "Rolled out"
    assert function.alias() == (target, {})
    assert workflow.lock(function.name) is None


def test_promote_ends_the_current_step_now(runs, workflow, alias_log):
    (function, target, run, operator), took = runs["promote"]

    assert_rolled_out(function, target, run, workflow)
    assert alias_log.of(function.name) == [
        (function.stable, {target: 0.1}),
        (function.stable, {target: 0.5}),
        (target, {}),
    ]
    assert took < LONG / 2  # not the whole of step 1 (a loaded machine takes ~35 s)
    (control,) = [p.lastControl for p in run.progress_of("Check health")][-1:]
    assert control is not None and (control.action, control.by) == ("promote", operator.by)


def test_promote_full_skips_every_remaining_step_but_not_the_bake(runs, workflow, alias_log):
    function, target, run, _ = runs["promote full"]

    assert_rolled_out(function, target, run, workflow)
    assert alias_log.of(function.name) == [(function.stable, {target: 0.1}), (target, {})]
    assert "Check bake health" in run.states_entered()
    assert run.progress_of("Shift traffic")[-1].stepIndex == 0


def test_pause_holds_the_weight_past_the_step_end_until_resume(runs, workflow, alias_log):
    (function, target, run, _), held, refused = runs["pause"]

    assert_rolled_out(function, target, run, workflow)
    assert held == [(function.stable, {target: 0.2})]
    assert refused is not None and refused.exit_code == 2 and "paused" in str(refused)
    entered = run.states_entered()
    assert "Wait for operator" in entered
    # resumed: the step's remaining time ran (checks after the hold), then Promote
    after_hold = entered[entered.index("Wait for operator") :]
    assert "Check health" in after_hold and "Promote" in after_hold
    assert alias_log.of(function.name) == [(function.stable, {target: 0.2}), (target, {})]
    last = run.progress_of("Wait for operator")[-1].lastControl
    assert last is not None and (last.action, last.reason) == ("resume", "logs are clean")


def test_approve_lets_the_rollout_proceed_to_promote(runs, workflow):
    function, target, run, operator = runs["approve"]

    assert_rolled_out(function, target, run, workflow)
    last = run.progress_of("Wait for operator")[-1].lastControl
    assert last is not None
    assert (last.action, last.by, last.result) == ("approve", operator.by, "applied")


def test_an_unanswered_gate_with_on_timeout_proceed_promotes(runs, workflow):
    function, target, run, _ = runs["proceed"]

    assert_rolled_out(function, target, run, workflow)
    last = run.progress_of("Wait for operator")[-1].lastControl
    assert last is not None and last.action == "approval-timeout"


def test_a_health_failure_while_paused_rolls_back(runs, workflow):
    function, _, run, _ = runs["paused fail"]

    assert run.status == "FAILED" and run.error == "HealthCheckFailed", run.cause
    assert "Wait for operator, step 1/1 at 50%" in run.cause
    assert function.alias() == (function.stable, {})
    assert workflow.lock(function.name) is None


def test_controls_to_a_finished_rollout_are_refused_and_change_nothing(runs, workflow):
    (function, target, run, _), refusals = runs["finished"]

    assert_rolled_out(function, target, run, workflow)  # still, after the refusals
    for action, refusal in refusals.items():
        assert refusal is not None and refusal.exit_code == 2, action
        assert "not running any more" in str(refusal), (action, str(refusal))


def test_a_dry_run_ends_in_dry_run_with_the_plan_and_touches_nothing(runs, workflow):
    function, target, run, _ = runs["dry run"]

    assert (run.status, run.states_entered()[-1]) == ("SUCCEEDED", "Dry run")
    assert run.output["plan"]["action"] == "dryRun"
    assert run.output["plan"]["targetVersion"] == target
    assert len(run.output["plan"]["steps"]) == 9
    assert run.output["plan"]["approval"]["before"] == "each-step"
    assert function.alias() == (function.stable, {})
    assert workflow.lock(function.name) is None
    assert run.output["plan"]["alias"] == ALIAS
