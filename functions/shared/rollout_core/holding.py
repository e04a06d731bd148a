"""Wait for operator: hold the weight while paused or at an approval gate.

One task polls the control channel (rollout_core.controls) every second for up to
HOLD_SECONDS and checks health every check interval, so holding costs two state
transitions per HOLD_SECONDS instead of three per check, and a control takes effect
within about a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from . import blind, clock, controls, notify
from .channel import RUNNING
from .controls import HOLD_SECONDS, state_of
from .deadline import CHECK_SECONDS, Deadline
from .errors import ApprovalTimedOut
from .health import inconclusive, judge
from .lifetime import lock_ttl
from .models import ApprovalGate, Inconclusive, NoSignal, Progress, RolloutPlan
from .names import HOLD_STATES, ErrorName, State
from .progress import where
from .results import TelemetryStart

POLL_SECONDS = 1.0


def hold(
    plan: RolloutPlan,
    cursor: Progress,
    phase: str,
    *,
    seconds: float = HOLD_SECONDS,
    now: Callable[[], datetime] = clock.now,
    sleep: Callable[[float], None] = time.sleep,
    deadline: Deadline | None = None,
    telemetry: TelemetryStart | None = None,
) -> Progress:
    """Hold the current weight for up to `seconds`: return at once when a control or the
    approval deadline ends the hold, or with the hold still set when the time is up (the
    workflow comes back). Health is checked every check interval, each check's reads
    within CHECK_SECONDS and the task's own `deadline`; a failure raises."""
    task = deadline or Deadline(seconds + CHECK_SECONDS)
    if cursor.hold is None:
        return cursor  # a retried task whose first run ended the hold
    state_name = HOLD_STATES.get(phase, State.WAIT_FOR_OPERATOR)
    started = now()
    cursor = _announce(plan, cursor)
    next_check = started + timedelta(seconds=plan.checkIntervalSeconds)
    end = started + timedelta(seconds=seconds)
    while True:
        moment = now()
        _, control = controls.read(plan)
        if control is not None:
            cursor = controls.apply(plan, cursor, control, moment, state_name)
            if cursor.hold is None:
                return cursor
        if _deadline_passed(cursor, moment):
            return _timed_out(plan, cursor, moment, state_name)
        if moment >= next_check:
            counted = cursor.model_copy(update={"checks": cursor.checks + 1})
            reads = Deadline(min(CHECK_SECONDS, task.remaining()))
            cursor = judge.judge(plan, counted, moment, state_name, reads, telemetry)
            next_check = moment + timedelta(seconds=plan.checkIntervalSeconds)
        if moment >= end:
            return cursor
        sleep(POLL_SECONDS)


def _announce(plan: RolloutPlan, cursor: Progress) -> Progress:
    """Keep the channel's state and the lock's lifetime current; tell people once that an
    approval is needed, naming the commands that answer it, or that the rollout holds for
    want of any health signal, naming what was not read."""
    controls.write(plan, state=state_of(cursor), phase=cursor.phase, ttl_seconds=lock_ttl(plan))
    gate = cursor.hold
    if isinstance(gate, NoSignal) and not gate.notified:
        notified = notify.publish("held_no_signal", blind.summary(plan, gate, where(cursor)))
        return cursor.model_copy(update={"hold": gate.model_copy(update={"notified": notified})})
    if isinstance(gate, Inconclusive) and not gate.notified:
        summary = inconclusive.summary(plan, gate, where(cursor))
        notified = notify.publish("held_inconclusive", summary)
        return cursor.model_copy(update={"hold": gate.model_copy(update={"notified": notified})})
    if not isinstance(gate, ApprovalGate) or gate.notified:
        return cursor
    summary = {
        "outcome": "approval_needed",
        "executionId": plan.executionId,
        "functionName": plan.functionName,
        "alias": plan.alias,
        "stableVersion": plan.stableVersion,
        "targetVersion": plan.targetVersion,
        "before": gate.before,
        "position": where(cursor),
    } | controls.answers(gate)
    notified = notify.publish("approval_needed", summary)  # {sns, eventBridge}
    return cursor.model_copy(update={"hold": gate.model_copy(update={"notified": notified})})


def _deadline_passed(cursor: Progress, now: datetime) -> bool:
    return isinstance(cursor.hold, ApprovalGate) and now >= cursor.hold.deadline


def _timed_out(plan: RolloutPlan, cursor: Progress, now: datetime, state_name: str) -> Progress:
    gate = cursor.hold
    assert isinstance(gate, ApprovalGate)  # only a gate has a deadline
    deadline = clock.iso(gate.deadline)
    timeout = controls.approval_timeout(gate, now, "the workflow", state_name)
    if gate.onTimeout == "proceed":
        controls.write(plan, state=RUNNING)
        return cursor.model_copy(update={"hold": None, "lastControl": timeout})
    raise ApprovalTimedOut(
        f"Nobody approved {plan.functionName}:{plan.alias} version {plan.targetVersion} "
        f"before {gate.before} by {deadline}; onTimeout is rollback "
        f"(during {state_name}, {where(cursor)})",
        timeout.model_copy(update={"result": ErrorName.APPROVAL_TIMED_OUT.value}),
    )
