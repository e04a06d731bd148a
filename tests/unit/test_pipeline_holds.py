"""Before wave and Bake wave (rollout_core.pipeline.hold) with the pipeline's controls
(pipeline.controls) on moto: gates, approvals, pauses, promote, blockers and their
timeout, on a fake clock (no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rollout_core import channel
from rollout_core.channel import Control
from rollout_core.errors import ApprovalTimedOut
from rollout_core.models import ApprovalGate, LockRef, Pause
from rollout_core.pipeline import controls
from rollout_core.pipeline.errors import PipelineAborted, PipelineBlocked
from rollout_core.pipeline.hold import hold
from rollout_core.pipeline.models import (
    Blocked,
    Blockers,
    PipelineCursor,
    PipelinePlan,
    Place,
    Wave,
    WaveApproval,
    Window,
)

from tests.unit.conftest import ACCOUNT, REGION, TABLE, World

ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:rollout-PipelineStateMachine-X:p1"
START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday


class Clock:
    """Each sleep of the hold's poll moves the clock 10 s on: holds of fake minutes cost a
    few dozen moto calls."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=max(seconds, 10))


def make_plan(**changes: object) -> PipelinePlan:
    plan = PipelinePlan(
        action="pipeline",
        executionId=ARN,
        name="p1",
        home=Place(account=ACCOUNT, region=REGION),
        waves=[
            Wave(name="one", bakeSeconds=60, targets=[]),
            Wave(name="two", bakeSeconds=0, targets=[]),
        ],
        rollout={"functionName": "orders", "alias": "live"},
        channel=LockRef(table=TABLE, key=controls.channel_key(ARN), owner=ARN),
    )
    plan = plan.model_copy(update=changes)
    assert channel.of(TABLE).acquire(plan.channel.key, ARN, 3600)
    return plan


def run(
    plan: PipelinePlan, cursor: PipelineCursor, phase: str, clock: Clock, seconds: float = 600
) -> PipelineCursor:
    return hold(plan, cursor, phase, seconds=seconds, now=clock, sleep=clock.sleep)


def send(action: str) -> controls.Sent:
    return controls.send(TABLE, ARN, Control.new(action, f"{action} it", "tests"))


@pytest.fixture
def clock(world: World) -> Clock:
    return Clock()


def test_a_gate_with_nothing_to_wait_for_starts_the_wave(clock: Clock) -> None:
    cursor = run(make_plan(), PipelineCursor(waveCount=2), "gate", clock)
    assert cursor.ready and cursor.phase == "wave" and cursor.waveIndex == 0
    assert cursor.wave is not None and cursor.wave.name == "one"
    assert clock.now == START  # at once


def test_an_approval_gate_returns_as_it_opens_and_approve_starts_the_wave(clock: Clock) -> None:
    plan = make_plan(approval=WaveApproval(timeoutSeconds=3600))
    cursor = run(plan, PipelineCursor(waveCount=2), "gate", clock)
    assert not cursor.ready and isinstance(cursor.hold, ApprovalGate)
    assert cursor.hold.approve == f'rollout approve {ARN} --reason "…"'
    assert not send("pause").accepted  # awaiting approval: approve, reject or abort
    assert send("approve").accepted
    cursor = run(plan, cursor, "gate", clock)
    assert cursor.ready and cursor.approved and cursor.lastControl is not None


def test_reject_at_the_gate_stops_the_pipeline(clock: Clock) -> None:
    plan = make_plan(approval=WaveApproval(timeoutSeconds=3600))
    cursor = run(plan, PipelineCursor(waveCount=2), "gate", clock)
    assert send("reject").accepted
    with pytest.raises(PipelineAborted, match=r"Rejected at the wave's approval gate by tests"):
        run(plan, cursor, "gate", clock)


def test_an_unanswered_gate_times_out(clock: Clock) -> None:
    plan = make_plan(approval=WaveApproval(timeoutSeconds=120))
    cursor = run(plan, PipelineCursor(waveCount=2), "gate", clock)
    with pytest.raises(ApprovalTimedOut):
        run(plan, cursor, "gate", clock)
    channel.of(TABLE).release(plan.channel.key, ARN)
    proceed = make_plan(approval=WaveApproval(timeoutSeconds=120, onTimeout="proceed"))
    cursor = run(proceed, PipelineCursor(waveCount=2), "gate", clock)
    cursor = run(proceed, cursor, "gate", clock)
    assert cursor.ready and cursor.lastControl is not None
    assert cursor.lastControl.action == "approval-timeout"


def test_promote_skips_the_rest_of_a_bake_and_pause_holds_past_it(clock: Clock) -> None:
    plan = make_plan()
    started = run(plan, PipelineCursor(waveCount=2), "gate", clock)
    baking = started.model_copy(
        update={"phase": "bake", "ready": False, "bakeUntil": clock.now + timedelta(seconds=600)}
    )
    assert send("pause").accepted
    paused = run(plan, baking, "bake", clock, seconds=5)
    assert isinstance(paused.hold, Pause) and not paused.ready  # returned as the pause began
    clock.now += timedelta(seconds=900)  # past the bake: still paused
    assert not run(plan, paused, "bake", clock, seconds=5).ready
    assert send("resume").accepted
    resumed = run(plan, paused, "bake", clock, seconds=5)
    assert resumed.ready and resumed.hold is None
    again = baking.model_copy(update={"bakeUntil": clock.now + timedelta(seconds=600)})
    assert send("promote").accepted
    assert run(plan, again, "bake", clock, seconds=5).ready  # at once, not in 600 s


def test_promote_outside_a_bake_is_refused(clock: Clock) -> None:
    make_plan()
    sent = send("promote")
    assert not sent.accepted and "applies only during a bake" in sent.reason


def test_a_freeze_blocks_the_wave_and_gives_up_after_the_timeout(clock: Clock) -> None:
    freeze = Window(days=[], start="00:00", end="24:00", timeZone="UTC")
    plan = make_plan(blockers=Blockers(windows=[freeze], timeoutSeconds=300))
    cursor = run(plan, PipelineCursor(waveCount=2), "gate", clock)
    assert isinstance(cursor.hold, Blocked) and not cursor.ready  # returned as it began
    assert "outside every window" in cursor.hold.reasons[0]
    with pytest.raises(PipelineBlocked, match=r"longer than blockers\.timeoutSeconds"):
        run(plan, cursor, "gate", clock)


def test_a_window_defers_the_wave_until_it_opens(clock: Clock) -> None:
    later = Window(days=["Mon"], start="10:30", end="11:00", timeZone="UTC")
    plan = make_plan(blockers=Blockers(windows=[later], timeoutSeconds=3600))
    cursor = run(plan, PipelineCursor(waveCount=2), "gate", clock)
    assert isinstance(cursor.hold, Blocked)
    cursor = run(plan, cursor, "gate", clock, seconds=3600)
    assert cursor.ready and clock.now >= START + timedelta(minutes=30)


def test_a_blocker_alarm_in_alarm_blocks_and_clears(world: World, clock: Clock) -> None:
    from rollout_core.pipeline.models import BlockerAlarm

    alarm = BlockerAlarm(alarmName=world.alarm, account=ACCOUNT, region=REGION)
    plan = make_plan(blockers=Blockers(alarms=[alarm]))
    world.set_alarm("ALARM")
    cursor = run(plan, PipelineCursor(waveCount=2), "gate", clock)
    assert isinstance(cursor.hold, Blocked) and f"alarm {world.alarm}" in cursor.hold.reasons[0]
    world.set_alarm("OK")
    assert run(plan, cursor, "gate", clock).ready


def test_abort_stops_a_held_pipeline(clock: Clock) -> None:
    plan = make_plan(approval=WaveApproval(timeoutSeconds=3600))
    cursor = run(plan, PipelineCursor(waveCount=2), "gate", clock)
    assert send("abort").accepted
    with pytest.raises(PipelineAborted, match="Aborted by tests: abort it"):
        run(plan, cursor, "gate", clock)
