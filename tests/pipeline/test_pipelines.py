"""Pipelines through the local cloud: two accounts, two Regions, the rollout stack in each.

Every scenario starts at once (`runs`); each test then takes its own result. The module
waits for pipelines of up to four rollouts each, all at once, on a shared machine: its
tests may take longer than the suite's default timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from rollout_core.pipeline.models import Restored, TargetOutcome
from rollout_core.pipeline.names import PipelineState as S

from rollout.local.cloud import LocalCloud
from tests.pipeline.conftest import (
    HOME,
    HOME_EU,
    MEMBER_EU,
    MEMBER_US,
    Ended,
    Fleet,
    Gate,
    Pipelines,
    deadline_poll,
    waves,
)

pytestmark = [pytest.mark.timeout(1800), pytest.mark.slow]
Json = dict[str, Any]
TWO_WAVES = [[HOME], [HOME_EU, MEMBER_US, MEMBER_EU]]


# -- the scenarios --------------------------------------------------------------------------


def succeeds(cloud: LocalCloud, pipelines: Pipelines) -> tuple[Fleet, Ended]:
    fleet = Fleet(cloud, "waves-ok")
    arn = pipelines.start({**fleet.rollout(), "waves": waves(*TWO_WAVES)})
    return fleet, pipelines.wait(arn)


def fails_in_wave_two(cloud: LocalCloud, pipelines: Pipelines) -> tuple[Fleet, Ended]:
    fleet = Fleet(cloud, "waves-fail", failing=(MEMBER_EU,))
    arn = pipelines.start({**fleet.rollout(), "waves": waves(*TWO_WAVES)})
    return fleet, pipelines.wait(arn)


def stops_in_wave_two(cloud: LocalCloud, pipelines: Pipelines) -> tuple[Fleet, Ended]:
    fleet = Fleet(cloud, "waves-stop", failing=(MEMBER_US,))
    document = {**fleet.rollout(), "waves": waves([HOME], [MEMBER_US]), "onFailure": "stop"}
    return fleet, pipelines.wait(pipelines.start(document))


def held_by_a_blocker(cloud: LocalCloud, pipelines: Pipelines) -> tuple[Fleet, Ended, Json]:
    fleet = Fleet(cloud, "waves-blocked")
    gate = Gate(cloud)
    gate.hold()
    try:
        document = {
            **fleet.rollout(),
            "waves": waves([HOME], [MEMBER_EU]),
            "blockers": {"alarms": [gate.name]},
        }
        arn = pipelines.start(document)
        # the history says why it waits
        held = deadline_poll("a blocked Before wave", lambda: pipelines.blocked(arn), 240)
        seen = {"reasons": held.reasons, "live while held": fleet.live(HOME)}
    finally:
        gate.clear()
    return fleet, pipelines.wait(arn), seen


def aborted_in_a_bake(cloud: LocalCloud, pipelines: Pipelines) -> tuple[Fleet, Ended, Json]:
    fleet = Fleet(cloud, "waves-abort")
    arn = pipelines.start({**fleet.rollout(), "waves": waves([HOME], [MEMBER_EU], bake=600)})
    deadline_poll("the first bake", lambda: pipelines.entered(arn, S.BAKE_WAVE), 240)
    sent = pipelines.control(arn, "abort", "wrong build")
    return fleet, pipelines.wait(arn), sent


def refused_before_anything_moves(cloud: LocalCloud, pipelines: Pipelines) -> tuple[Fleet, Ended]:
    fleet = Fleet(cloud, "waves-refused")
    fleet.lam(MEMBER_EU).delete_alias(FunctionName=fleet.name, Name="live")
    arn = pipelines.start({**fleet.rollout(), "waves": waves(*TWO_WAVES)})
    return fleet, pipelines.wait(arn)


SCENARIOS: dict[str, Callable[[LocalCloud, Pipelines], Any]] = {
    "succeeds": succeeds,
    "fails": fails_in_wave_two,
    "stops": stops_in_wave_two,
    "blocked": held_by_a_blocker,
    "aborted": aborted_in_a_bake,
    "refused": refused_before_anything_moves,
}


@pytest.fixture(scope="module")
def runs(pipeline_cloud: LocalCloud, pipelines: Pipelines) -> Iterator[dict[str, Future[Any]]]:
    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        futures = {}
        for name, scenario in SCENARIOS.items():
            futures[name] = pool.submit(scenario, pipeline_cloud, pipelines)
            time.sleep(0.5)
        yield futures


def result(runs: dict[str, Future[Any]], name: str) -> Any:
    return runs[name].result(timeout=1500)


# -- the tests ------------------------------------------------------------------------------


def test_a_two_wave_pipeline_rolls_out_everywhere_in_order(runs: dict[str, Future[Any]]) -> None:
    fleet, ended = result(runs, "succeeds")
    assert ended.status == "SUCCEEDED", (ended.error, ended.cause)
    for place in (HOME, HOME_EU, MEMBER_US, MEMBER_EU):
        assert fleet.live(place) == ("2", {}), place
    (closed_one, closed_two) = ended.cursors(S.CLOSE_WAVE)
    (first,) = closed_one.outcomes
    second = [o for o in closed_two.outcomes if o.wave == 1]
    assert len(second) == 3 and all(o.status == "succeeded" for o in closed_two.outcomes)
    # wave 2 started only once wave 1's rollout ended and its bake was over
    assert first.stoppedAt is not None
    assert all(o.startedAt and o.startedAt > first.stoppedAt for o in second)
    # each target ran the rollout state machine in its own account and Region
    for outcome in closed_two.outcomes:
        assert f":{outcome.region}:{outcome.account}:execution:" in outcome.executionArn
        assert outcome.moved[0].stableVersion == "1" and outcome.moved[0].targetVersion == "2"


def test_targets_in_the_pipelines_region_are_nested_executions(
    runs: dict[str, Future[Any]],
) -> None:
    """Step Functions' own .sync:2 integration, with the target role as Credentials, for
    the targets in the pipeline's Region (another account's included); elsewhere the
    target Lambda starts and follows them."""
    _, ended = result(runs, "succeeds")
    nested = [
        e["taskScheduledEventDetails"]
        for e in ended.history
        if e["type"] == "TaskScheduled"
        and e["taskScheduledEventDetails"]["resource"] == "startExecution.sync:2"
    ]
    assert len(nested) == 2  # home us-east-1 and the member's us-east-1
    entered = ended.states_entered()
    assert entered.count(S.RUN_TARGET) == 2 and entered.count(S.START_TARGET) == 2


def test_the_pipelines_history_does_not_grow_with_its_childrens_checks(
    runs: dict[str, Future[Any]],
) -> None:
    """The children's states are in their own histories; the pipeline has a fixed number
    of states per wave and target (plus one Follow target per 10 minutes elsewhere)."""
    _, ended = result(runs, "succeeds")
    entered = ended.states_entered()
    assert not {"Check health", "Shift traffic", "Prepare"} & set(entered)
    assert len(ended.history) < 200, len(ended.history)
    assert ended.plan.historyEvents < 20000


def test_a_failure_in_wave_two_restores_every_completed_target(
    runs: dict[str, Future[Any]],
) -> None:
    fleet, ended = result(runs, "fails")
    assert ended.status == "FAILED"
    assert ended.error == "TargetFailed"
    assert ended.cause is not None
    # the Cause names the target and its child's reason
    assert "Wave wave-2 (2/2): the rollout in eu-west-1 in 210987654321 failed" in ended.cause
    assert "PreTrafficCheckFailed" in ended.cause
    assert "every completed target restored, newest wave first" in ended.cause
    for place in (HOME, HOME_EU, MEMBER_US, MEMBER_EU):
        assert fleet.live(place) == ("1", {}), place
    restored = [
        Restored.model_validate(r)
        for wave in ended.outputs_of(S.RESTORE_TARGETS)[0]["restored"]
        for r in wave
    ]
    # newest wave first: wave 2's completed targets, then wave 1's
    assert [r.wave for r in restored] == [1, 1, 0]
    assert all(r.ok for r in restored)


def test_on_failure_stop_leaves_completed_targets(runs: dict[str, Future[Any]]) -> None:
    fleet, ended = result(runs, "stops")
    assert (ended.status, ended.error) == ("FAILED", "TargetFailed")
    assert "onFailure is stop: completed targets keep their new versions" in (ended.cause or "")
    assert fleet.live(HOME) == ("2", {})
    assert fleet.live(MEMBER_US) == ("1", {})
    assert S.RESTORE_TARGETS not in ended.states_entered()


def test_a_blocker_alarm_holds_the_next_wave_until_it_clears(
    runs: dict[str, Future[Any]],
) -> None:
    fleet, ended, seen = result(runs, "blocked")
    assert seen["live while held"] == ("1", {})  # nothing moved while blocked
    assert any("is ALARM" in reason for reason in seen["reasons"]), seen
    assert ended.status == "SUCCEEDED", (ended.error, ended.cause)
    assert fleet.live(HOME) == ("2", {}) and fleet.live(MEMBER_EU) == ("2", {})


def test_an_abort_during_a_bake_stops_and_restores(runs: dict[str, Future[Any]]) -> None:
    fleet, ended, sent = result(runs, "aborted")
    assert sent["accepted"], sent
    assert (ended.status, ended.error) == ("FAILED", "PipelineAborted")
    assert "Aborted by tests: wrong build" in (ended.cause or "")
    assert fleet.live(HOME) == ("1", {})
    assert fleet.live(MEMBER_EU) == ("1", {})  # its wave never started
    assert S.ROLL_OUT_WAVE in ended.states_entered()
    outcomes = [
        TargetOutcome.model_validate(o)
        for o in ended.outputs_of(S.PLAN_RESTORE)[0]["restore"]["outcomes"]
    ]
    assert [(o.wave, o.status) for o in outcomes] == [(0, "succeeded")]


def test_prepare_refuses_a_target_without_the_alias_before_anything_moves(
    runs: dict[str, Future[Any]],
) -> None:
    fleet, ended = result(runs, "refused")
    assert (ended.status, ended.error) == ("FAILED", "InvalidRolloutRequest")
    assert "waves.1.targets.2 (eu-west-1 in 210987654321)" in (ended.cause or "")
    assert S.ROLL_OUT_WAVE not in ended.states_entered()
    for place in (HOME, HOME_EU, MEMBER_US):
        assert fleet.live(place) == ("1", {}), place
