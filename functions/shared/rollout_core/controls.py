"""Operator controls: what abort, promote, promote-full, pause, resume, approve and reject
do to a running rollout, and where approval gates open.

A control reaches the workflow through the rollout's own item in the rollout table
(rollout_core.channel): an operator sends it there, only for the execution named and
only in a state it applies to (channel.APPLIES); only the lock's owner consumes it (the
task checks the owner is the execution id Step Functions passed it, `$$.Execution.Id`),
removing exactly that control in the same update that moves the channel's state.

Check health and Check bake health read the channel after every healthy check, so a
control takes effect at the next check (within one check interval). While the rollout
holds its weight (paused, or at an approval gate), Wait for operator (rollout_core.holding)
polls the channel every second instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from . import channel, clock, release
from .channel import APPLIES, AWAITING, BEFORE_BAKE_ONLY, PAUSED, RUNNING, Control
from .errors import RolloutAborted
from .models import (
    ApprovalGate,
    ControlRecord,
    Inconclusive,
    LockRef,
    NoSignal,
    Pause,
    Plan,
    Progress,
    RolloutPlan,
)
from .names import ErrorName
from .progress import where

HOLD_SECONDS = 600  # one Wait for operator task (rollout_core.holding); Lambda timeout 660 s


def state_of(cursor: Progress) -> str:
    """The channel's state for this cursor."""
    if cursor.hold is None:
        return RUNNING
    return PAUSED if isinstance(cursor.hold, Pause | NoSignal | Inconclusive) else AWAITING


def record(
    control: Control, applied_at: datetime, state: str, result: str = "applied"
) -> ControlRecord:
    """`progress.lastControl`: what the report and `rollout watch` show."""
    return ControlRecord(
        **control.model_dump(), appliedAt=clock.iso(applied_at), state=state, result=result
    )


# -- this rollout's item ----------------------------------------------------------------


def _lock(plan: Plan) -> LockRef:
    if plan.lock is None:
        raise RuntimeError("a rollout plan always has a lock")
    return plan.lock


def read(plan: RolloutPlan) -> tuple[channel.Item | None, Control | None]:
    """This rollout's item and its pending control; (None, None) when not ours."""
    item = channel.of(_lock(plan).table).item(_lock(plan).key)
    if item is None or item.owner != plan.executionId:
        return None, None  # only the owner may consume: another execution's controls stay
    return item, item.control


def write(
    plan: RolloutPlan,
    *,
    state: str | None = None,
    phase: str | None = None,
    consumed: Control | None = None,
    ttl_seconds: int | None = None,
) -> bool:
    """One conditional update of our own item (see channel.Channel.update); a new lifetime
    is given to every lock of a release, which lives as long as its control channel."""
    ref = _lock(plan)
    items = channel.of(ref.table)
    expires_at = None if ttl_seconds is None else channel.expiry(ttl_seconds)
    done = items.update(
        ref.key,
        plan.executionId,
        state=state,
        phase=phase,
        expires_at=expires_at,
        consumed=consumed,
    )
    if done and expires_at is not None:
        for member in release.lock_refs(plan)[1:]:
            items.update(member.key, plan.executionId, expires_at=expires_at)
    return done


# -- applying a control -------------------------------------------------------------------


def apply(
    plan: RolloutPlan, cursor: Progress, control: Control, now: datetime, state_name: str
) -> Progress:
    """The cursor after `control`; abort and reject raise RolloutAborted (→ Roll back)."""
    current = state_of(cursor)
    action = control.action
    if action not in APPLIES:
        return _ignored(plan, cursor, control, now, state_name, f"unknown action {action!r}")
    if current not in APPLIES[action] or (action in BEFORE_BAKE_ONLY and cursor.phase == "bake"):
        return _ignored(plan, cursor, control, now, state_name, f"does not apply when {current}")
    if not write(plan, consumed=control, state=_state_after(action, cursor)):
        return cursor  # replaced by a newer control: that one is read at the next look
    if action in ("abort", "reject"):
        verb = "Aborted" if action == "abort" else "Rejected at the approval gate"
        raise RolloutAborted(
            f"{verb} by {control.by}: {control.reason} (during {state_name}, {where(cursor)})",
            record(control, now, state_name, ErrorName.ROLLOUT_ABORTED),
        )
    update: dict[str, Any] = {"lastControl": record(control, now, state_name)}
    if action in ("promote", "promote-full"):
        update |= {"hold": None, "stepComplete": True, "nextWaitSeconds": 0}
        if action == "promote-full":
            update["hasNextStep"] = False
    elif action == "pause":
        update["hold"] = Pause(since=clock.iso(now), by=control.by)
    else:  # resume, approve
        update["hold"] = None
    return cursor.model_copy(update=update)


def _state_after(action: str, cursor: Progress) -> str:
    if action == "pause":
        return PAUSED
    if action in ("resume", "approve", "promote", "promote-full"):
        return RUNNING
    return state_of(cursor)


def _ignored(
    plan: RolloutPlan,
    cursor: Progress,
    control: Control,
    now: datetime,
    state_name: str,
    why: str,
) -> Progress:
    """A control that raced with a change of state: consumed, recorded, nothing done."""
    write(plan, consumed=control)
    ignored = record(control, now, state_name, f"ignored: {why}")
    return cursor.model_copy(update={"lastControl": ignored})


# -- after each healthy check ----------------------------------------------------------


def after_check(plan: RolloutPlan, cursor: Progress, now: datetime, state_name: str) -> Progress:
    """Act on a pending control, open an approval gate, then keep the channel's state and
    phase what the check decided. The holds a check opens (a gate here, an inconclusive or
    blind hold before it) are written to the channel only here, from the check's result:
    a check retried after a timeout may decide otherwise than its first run, and a state
    written during that run would leave the channel paused under a running rollout."""
    item, control = read(plan)
    if control is not None:
        cursor = apply(plan, cursor, control, now, state_name)
        item, _ = read(plan)  # rare: the item as the control left it
    cursor = gate(plan, cursor, now)
    if item is not None and (item.state, item.phase) != (state_of(cursor), cursor.phase):
        write(plan, state=state_of(cursor), phase=cursor.phase)
    return cursor


def gate(plan: RolloutPlan, cursor: Progress, now: datetime) -> Progress:
    """Hold for approval when a gated step (or the bake) has just ended."""
    approval = plan.approval
    if approval is None or cursor.hold is not None or not cursor.stepComplete:
        return cursor
    if cursor.phase == "bake":
        if approval.before != "each-step":
            return cursor
        before = "finishing"
    elif approval.before == "each-step" and cursor.hasNextStep:
        before = "the next step"
    elif not cursor.hasNextStep:
        before = "promote"
    else:
        return cursor
    hold = approval_gate(before, plan.executionId, now, approval.timeoutSeconds, approval.onTimeout)
    return cursor.model_copy(update={"hold": hold})  # the channel: after_check writes it


def approval_gate(
    before: str,
    execution_id: str,
    now: datetime,
    timeout_seconds: int,
    on_timeout: Literal["rollback", "proceed"],
) -> ApprovalGate:
    """A gate held from `now` (a rollout's or a pipeline's), naming the commands that answer
    it."""
    return ApprovalGate(
        before=before,
        since=clock.iso(now),
        deadline=clock.iso(now + timedelta(seconds=timeout_seconds)),
        onTimeout=on_timeout,
        approve=command("approve", execution_id),
        reject=command("reject", execution_id),
    )


def command(action: str, execution_id: str) -> str:
    return f'rollout {action} {execution_id} --reason "…"'


def answers(gate: ApprovalGate) -> dict[str, str]:
    """What an approval-needed notification says of its gate (a rollout's or a pipeline's):
    until when, what then, and the commands that answer it."""
    return {
        "deadline": clock.iso(gate.deadline),
        "onTimeout": gate.onTimeout,
        "approveCommand": gate.approve,
        "rejectCommand": gate.reject,
    }


def approval_timeout(gate: ApprovalGate, now: datetime, by: str, state: str) -> ControlRecord:
    """The record of a gate nobody answered by its deadline: `onTimeout` says what follows
    (its `result` is set when the timeout stops the run)."""
    return ControlRecord(
        action="approval-timeout",
        reason=f"no answer by {clock.iso(gate.deadline)}; onTimeout is {gate.onTimeout}",
        by=by,
        at=clock.iso(now),
        appliedAt=clock.iso(now),
        state=state,
    )
