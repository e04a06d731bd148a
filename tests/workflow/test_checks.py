"""Pre- and post-traffic checks: the new version invoked directly, before any traffic
(a failure leaves the alias untouched) and at 100 % (a failure rolls back)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tests.workflow.conftest import (
    ALIAS,
    Finished,
    SampleFunction,
    Workflow,
)

pytestmark = pytest.mark.cloud

Result = tuple[SampleFunction, str, Finished]
CANARY = {"type": "canary", "percentage": 10, "intervalSeconds": 1}


def pre_traffic_failure(cloud: Any, workflow: Workflow) -> Result:
    """A payload makes the pre-traffic check invoke the version (default: readiness only)."""
    function = SampleFunction(cloud, "wf-pre")
    target = function.publish("fail")
    document = function.rollout(
        target, strategy=CANARY, checkIntervalSeconds=1, preTraffic={"payload": {"order": "ok"}}
    )
    return function, target, workflow.run(document)


def post_traffic_failure(cloud: Any, workflow: Workflow) -> Result:
    function = SampleFunction(cloud, "wf-post")
    target = function.publish("fail-bad")
    document = function.rollout(
        target, strategy=CANARY, checkIntervalSeconds=1, postTraffic={"payload": {"order": "bad"}}
    )
    return function, target, workflow.run(document)


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "pre": partial(pre_traffic_failure, cloud, workflow),
        "post": partial(post_traffic_failure, cloud, workflow),
    }


def test_pre_traffic_failure_leaves_the_alias_untouched_and_releases_the_lock(
    runs, alias_log, workflow
):
    function, target, run = runs["pre"]

    assert (run.status, run.error) == ("FAILED", "PreTrafficCheckFailed")
    assert run.task_errors() == ["PreTrafficCheckFailed"]
    assert run.cause == (
        f"Version {target} of {function.name} failed its pre-traffic check; {ALIAS} stays on "
        f"version {function.stable} — Pre-traffic check of {function.name} version {target} "
        f"failed: invoke: function error (Unhandled): release 2 failed (fail)"
    )
    assert function.alias() == (function.stable, {})
    assert alias_log.of(function.name) == []
    assert "Shift traffic" not in run.states_entered()
    assert run.states_entered()[-2:] == ["Release lock", "Pre-traffic check failed"]
    assert workflow.lock(function.name) is None


def test_post_traffic_failure_rolls_back(runs, alias_log, workflow):
    function, target, run = runs["post"]

    assert (run.status, run.error) == ("FAILED", "PostTrafficCheckFailed")
    assert run.task_errors() == ["PostTrafficCheckFailed"]
    assert run.cause.startswith(
        f"Rolled back {function.name}:{ALIAS} to version {function.stable}: Post-traffic check "
        f"of {function.name} version {target} failed: invoke: function error (Unhandled): "
        f"release 2 failed (fail-bad) — state: Post-traffic check"
    )
    assert function.alias() == (function.stable, {})
    assert alias_log.of(function.name) == [
        (function.stable, {target: 0.1}),
        (target, {}),
        (function.stable, {}),
    ]
    assert run.states_entered()[-3:] == ["Roll back", "Notify rollback", "Rolled back"]
    assert workflow.lock(function.name) is None
