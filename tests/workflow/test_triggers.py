"""Rollouts EventBridge starts by itself: PublishVersion of a function tagged for rollouts
rolls the new version out with the settings in its tags; an untagged function is skipped;
a PublishVersion that hands back a version just rolled back doesn't roll it out again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from rollout_core import rolled_back
from rollout_core.models import Step

from tests.workflow.conftest import (
    ALIAS,
    Finished,
    SampleFunction,
    Workflow,
    weights_of,
)
from tests.workflow.operator import REASON, Operator

pytestmark = pytest.mark.cloud

TAGS = {
    "rollout:alias": ALIAS,
    "rollout:strategy": "Canary10Percent5Minutes",
    "rollout:time-scale": "0.01",  # 3 s at 10 %
    "rollout:check-interval": "1",
}
Result = tuple[SampleFunction, str, Finished]


@dataclass
class Republished:
    function: SampleFunction
    target: str
    aborted: Finished  # the trigger's rollout of `target`, aborted
    again: str  # the version the second PublishVersion handed back
    refused: Finished  # the trigger's run for that publish
    asked: Finished  # the rollout of `target` asked for explicitly (retryRolledBack)


def published(cloud: Any, workflow: Workflow, tags: dict[str, str] | None) -> Result:
    """Publish version 2 and follow the execution EventBridge started for it."""
    function = SampleFunction(cloud, "wf-tagged" if tags else "wf-untagged")
    if tags:  # tagged after version 1 is live, so only version 2 is rolled out
        function.tag(tags)
    target = function.publish()
    return function, target, workflow.wait(workflow.started_for(function.name, target))


def republished_after_an_abort(cloud: Any, workflow: Workflow) -> Republished:
    """Publish version 2 of a tagged function, abort its rollout, publish again with
    nothing new (Lambda hands back version 2, CloudTrail records it), then ask for it."""
    function, operator = SampleFunction(cloud, "wf-republished"), Operator(cloud, workflow)
    function.tag({**TAGS, "rollout:time-scale": "0.2"})  # a 60 s step only the abort ends
    target = function.publish()
    first = workflow.started_for(function.name, target)
    operator.when(function, "in its step", phase="step")
    operator.send(function, first, "abort")
    aborted = workflow.wait(first)
    again = str(function.lam.publish_version(FunctionName=function.name)["Version"])
    refused = workflow.wait(workflow.started_for(function.name, again, besides=first))
    asked = workflow.run(function.rollout(target, retryRolledBack=True, strategy="AllAtOnce"))
    return Republished(function, target, aborted, again, refused, asked)


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "tagged": partial(published, cloud, workflow, TAGS),
        "untagged": partial(published, cloud, workflow, None),
        "republished": partial(republished_after_an_abort, cloud, workflow),
    }


def test_publishing_a_version_of_a_tagged_function_rolls_it_out(runs, alias_log, workflow):
    function, target, run = runs["tagged"]

    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    plan = run.plan
    assert plan.strategy is not None
    assert (plan.source, plan.strategy.name) == ("eventbridge", TAGS["rollout:strategy"])
    assert (plan.stableVersion, plan.targetVersion) == (function.stable, target)
    assert plan.steps == [Step(percentage=10, weight=0.1, waitSeconds=3)]
    assert plan.checkIntervalSeconds == 1
    assert function.alias() == (target, {})
    assert alias_log.of(function.name) == weights_of(function.stable, target, [10])
    assert workflow.lock(function.name) is None


def test_publishing_a_version_of_an_untagged_function_is_skipped(runs, alias_log, workflow):
    function, target, run = runs["untagged"]

    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert (run.plan.action, run.plan.targetVersion) == ("skip", target)
    assert run.plan.reason == (f"{function.arn} has no rollout:alias tag; not opted in to rollouts")
    assert run.states_entered() == ["Prepare", "Roll out?", "Skipped"]
    assert function.alias() == (function.stable, {})
    assert alias_log.of(function.name) == []


def test_a_publish_that_hands_back_a_rolled_back_version_does_not_roll_it_out_again(
    runs, alias_log, workflow
):
    found: Republished = runs["republished"]
    function, target, aborted, refused = found.function, found.target, found.aborted, found.refused

    assert (aborted.status, aborted.error) == ("FAILED", "RolloutAborted"), aborted.cause
    assert found.again == target  # nothing new: Lambda handed back the same version
    assert (refused.status, refused.error, refused.cause) == ("SUCCEEDED", None, None)
    assert refused.states_entered() == ["Prepare", "Roll out?", "Previously rolled back"]
    plan = refused.plan
    assert (plan.action, plan.source, plan.targetVersion) == (
        "previouslyRolledBack",
        "eventbridge",
        target,
    )
    [prior] = plan.rolledBackBefore
    assert (prior.executionId, prior.error) == (aborted.arn, "RolloutAborted")
    assert prior.withRelease is None  # rolled back on its own
    assert REASON in prior.cause  # the abort's reason
    assert plan.reason is not None and f"by {aborted.arn} at " in plan.reason
    assert f"--version {target}" in plan.reason  # how to try it again
    # the refused run touched nothing: the aborted rollout's shift and its restore, then the
    # rollout asked for
    assert alias_log.of(function.name)[:2] == [
        (function.stable, {target: 0.1}),
        (function.stable, {}),
    ]


def test_a_rolled_back_version_asked_for_explicitly_rolls_out(runs, alias_log, workflow):
    found: Republished = runs["republished"]
    function, target, asked = found.function, found.target, found.asked

    assert (asked.status, asked.error, asked.cause) == ("SUCCEEDED", None, None)
    assert [prior.executionId for prior in asked.plan.rolledBackBefore] == [found.aborted.arn]
    assert any("rolled out again (a success forgets it)" in note for note in asked.plan.notes)
    assert function.alias() == (target, {})
    assert alias_log.of(function.name)[2:] == [(target, {})]
    assert workflow.lock(function.name) is None
    record = rolled_back.key(function.name, ALIAS, target)
    found_after = workflow.ddb.get_item(
        TableName=workflow.table, Key={"lockKey": {"S": record}}, ConsistentRead=True
    )
    assert "Item" not in found_after  # its success forgot the rollback
