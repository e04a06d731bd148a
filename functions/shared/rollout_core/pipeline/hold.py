"""Before wave and Bake wave: the pipeline holds between waves (README, "Blockers").

One task polls the pipeline's channel every second for up to HOLD_SECONDS (so a hold costs
two state transitions per ten minutes, and a control takes effect within about a second),
reads the blocker alarms every `checkIntervalSeconds`, and returns when the wave may start
(`ready`) or the time is up (the workflow comes back).

- Before wave: the next wave starts when nothing blocks it (no blocker alarm in ALARM,
  inside a window), it is not paused, and, with `approval.before: each-wave`, it was
  approved. Blocked longer than `blockers.timeoutSeconds`: PipelineBlocked. An approval
  gate unanswered by its deadline: ApprovalTimedOut, or on with `onTimeout: proceed`.
- A hold that begins (blocked, paused, awaiting approval) returns at once: the history
  then says why the pipeline waits (`cursor.hold`), and the next task waits on.
- Bake wave: the wave's bake time runs (promote skips the rest; a pause holds past it);
  blockers are read and shown, and hold the next wave at its gate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .. import clock, notify
from ..channel import AWAITING, RUNNING
from ..controls import answers, approval_timeout
from ..errors import ApprovalTimedOut
from ..models import ApprovalGate, Pause
from ..names import ErrorName
from . import blockers, controls, summary
from .errors import PipelineBlocked, PipelineErrorDetails
from .models import Blocked, PipelineCursor, PipelinePlan
from .names import HOLD_STATES
from .plan import HOLD_SECONDS

POLL_SECONDS = 1.0


def hold(
    plan: PipelinePlan,
    cursor: PipelineCursor,
    phase: str,
    *,
    seconds: float = HOLD_SECONDS,
    now: Callable[[], datetime] = clock.now,
    sleep: Callable[[float], None] = time.sleep,
) -> PipelineCursor:
    """Hold for up to `seconds`: return at once when the wave may start (or the bake is
    over), else with `ready` false when the time is up."""
    started = now()
    if phase == "gate" and cursor.phase != "gate":
        cursor = _open_gate(cursor)
    if cursor.ready:
        return cursor  # a retried task whose first run ended the hold
    held_before = type(cursor.hold)
    end = started + timedelta(seconds=seconds)
    next_read = started
    controls.write(
        plan, state=controls.state_of(cursor), phase=cursor.phase, ttl_seconds=plan.channelSeconds
    )
    while True:
        moment = now()
        _, control = controls.read(plan)
        if control is not None:
            cursor = controls.apply(plan, cursor, control, moment, where(plan, cursor))
        if moment >= next_read:
            cursor = _read_blockers(plan, cursor, moment)
            next_read = moment + timedelta(seconds=plan.checkIntervalSeconds)
        cursor = _gate(plan, cursor, moment) if phase == "gate" else _bake(cursor, moment)
        if cursor.ready or moment >= end or _hold_began(held_before, cursor):
            return cursor
        sleep(POLL_SECONDS)


def _hold_began(held_before: type, cursor: PipelineCursor) -> bool:
    """A new hold (blocked, paused, awaiting approval) ends the task at once, so the
    execution history, and every view that reads it, says why the pipeline waits. It
    costs a few transitions per wave: a gate is blocked once (it starts when clear), and
    pauses and approvals are people's."""
    return cursor.hold is not None and not isinstance(cursor.hold, held_before)


def where(plan: PipelinePlan, cursor: PipelineCursor) -> str:
    """Where the pipeline is, for people: `Before wave, wave eu (2/3)`."""
    label = summary.wave_label(plan, cursor.waveIndex)
    state = HOLD_STATES.get(cursor.phase)
    return f"{state}, {label}" if state else label


def _open_gate(cursor: PipelineCursor) -> PipelineCursor:
    """The next wave's gate: nothing approved yet; a pause stays."""
    keep = cursor.hold if isinstance(cursor.hold, Pause) else None
    return cursor.model_copy(
        update={
            "phase": "gate",
            "waveIndex": cursor.waveIndex + 1,
            "ready": False,
            "approved": False,
            "hold": keep,
            "wave": None,
            "bakeUntil": None,
        }
    )


def _read_blockers(plan: PipelinePlan, cursor: PipelineCursor, moment: datetime) -> PipelineCursor:
    reasons = blockers.reasons(plan.blockers, moment)
    update: dict[str, Any] = {"blockers": reasons, "blockedChecks": cursor.blockedChecks + 1}
    if cursor.phase != "gate" or isinstance(cursor.hold, Pause | ApprovalGate):
        return cursor.model_copy(update=update)
    if not reasons:
        return cursor.model_copy(update={**update, "hold": None})
    held = cursor.hold if isinstance(cursor.hold, Blocked) else None
    if held is None:
        held = Blocked(
            since=moment,
            deadline=moment + timedelta(seconds=plan.blockers.timeoutSeconds),
            reasons=reasons,
        )
        held = held.model_copy(
            update={"notified": _announce(plan, cursor, "pipeline_blocked", reasons)}
        )
    held = held.model_copy(update={"reasons": reasons})
    if moment >= held.deadline:
        waited = int((moment - held.since).total_seconds())
        raise PipelineBlocked(
            f"Blockers held {where(plan, cursor)} for {waited} s, longer than "
            f"blockers.timeoutSeconds ({plan.blockers.timeoutSeconds} s): {'; '.join(reasons)}",
            PipelineErrorDetails(reasons=reasons),
        )
    return cursor.model_copy(update={**update, "hold": held})


def _gate(plan: PipelinePlan, cursor: PipelineCursor, moment: datetime) -> PipelineCursor:
    hold = cursor.hold
    if isinstance(hold, Pause | Blocked):
        return cursor
    if isinstance(hold, ApprovalGate):
        return _deadline(plan, cursor, hold, moment) if moment >= hold.deadline else cursor
    if plan.approval is not None and not cursor.approved:
        gate = controls.approval_gate(plan, cursor, moment)
        notified = _announce(plan, cursor, "pipeline_approval_needed", [], gate)
        controls.write(plan, state=AWAITING)
        return cursor.model_copy(update={"hold": gate.model_copy(update={"notified": notified})})
    return _start_wave(plan, cursor, moment)


def _start_wave(plan: PipelinePlan, cursor: PipelineCursor, moment: datetime) -> PipelineCursor:
    wave = plan.waves[cursor.waveIndex]
    controls.write(plan, state=RUNNING, phase="wave", running=wave.targets)
    return cursor.model_copy(
        update={"ready": True, "phase": "wave", "wave": wave, "waveStartedAt": moment}
    )


def _deadline(
    plan: PipelinePlan, cursor: PipelineCursor, gate: ApprovalGate, moment: datetime
) -> PipelineCursor:
    deadline = clock.iso(gate.deadline)
    timeout = approval_timeout(gate, moment, "the pipeline", where(plan, cursor))
    if gate.onTimeout == "proceed":
        controls.write(plan, state=RUNNING)
        approved = cursor.model_copy(
            update={"hold": None, "approved": True, "lastControl": timeout}
        )
        return _start_wave(plan, approved, moment)
    raise ApprovalTimedOut(
        f"Nobody approved {gate.before} by {deadline}; onTimeout is rollback",
        timeout.model_copy(update={"result": ErrorName.APPROVAL_TIMED_OUT.value}),
    )


def _bake(cursor: PipelineCursor, moment: datetime) -> PipelineCursor:
    if isinstance(cursor.hold, Pause) or cursor.bakeUntil is None or moment < cursor.bakeUntil:
        return cursor
    return cursor.model_copy(update={"ready": True})


def _announce(
    plan: PipelinePlan,
    cursor: PipelineCursor,
    kind: str,
    reasons: list[str],
    gate: ApprovalGate | None = None,
) -> dict[str, bool | None]:
    """Tell people once that a wave is held, and why (SNS and EventBridge)."""
    detail = summary.of(plan, cursor) | {
        "outcome": kind.removeprefix("pipeline_"),
        "reasons": reasons,
    }
    if gate is not None:
        detail |= answers(gate)
    return notify.publish(kind, detail)
