"""Rollouts EventBridge starts by itself: PublishVersion of a function tagged for rollouts
rolls the new version out with the settings in its tags; an untagged function is skipped."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from rollout_core.models import Step

from tests.workflow.conftest import (
    ALIAS,
    Finished,
    SampleFunction,
    Workflow,
    weights_of,
)

pytestmark = pytest.mark.cloud

TAGS = {
    "rollout:alias": ALIAS,
    "rollout:strategy": "Canary10Percent5Minutes",
    "rollout:time-scale": "0.01",  # 3 s at 10 %
    "rollout:check-interval": "1",
}
Result = tuple[SampleFunction, str, Finished]


def published(cloud: Any, workflow: Workflow, tags: dict[str, str] | None) -> Result:
    """Publish version 2 and follow the execution EventBridge started for it."""
    function = SampleFunction(cloud, "wf-tagged" if tags else "wf-untagged")
    if tags:  # tagged after version 1 is live, so only version 2 is rolled out
        function.tag(tags)
    target = function.publish()
    return function, target, workflow.wait(workflow.started_for(function.name, target))


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "tagged": partial(published, cloud, workflow, TAGS),
        "untagged": partial(published, cloud, workflow, None),
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
