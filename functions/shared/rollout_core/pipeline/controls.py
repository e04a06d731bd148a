"""Operator controls on a whole pipeline (README, "Waves"; docs/workflow.md, "Pipelines").

The pipeline's control channel is its own item in the home rollout table (key
`pipeline:<execution name>`, owned by the pipeline's execution), read and written through
rollout_core.channel with the pipeline's rules:

- abort (running, paused or awaiting approval; replaces a pending control): every running
  target's rollout is sent `abort` (each rolls itself back), then the pipeline restores
  per `onFailure` (PipelineAborted);
- pause (running): holds before the next wave (sent during a wave: once it ends);
  resume (paused) ends the hold;
- promote (running or paused, during a bake): skips the rest of the bake;
- approve, reject (awaiting approval): the wave's gate opens, or the pipeline stops as
  for an abort.
Every control but abort waits for a pending one to be consumed.

A control is sent by the pipeline's control function (`send`), which also carries an abort
to the rollouts running in the targets' accounts, through the target roles: the pipeline
itself is waiting for them then, so only a sender can reach them at once. Before wave and
Bake wave poll the item every second (`apply`); Close wave reads a pending abort.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import channel, clock
from .. import controls as rollout_controls
from ..channel import AWAITING, PAUSED, RUNNING, Control, ControlRefused, Rules
from ..controls import record
from ..models import ApprovalGate, Pause
from . import summary, targets
from .errors import PipelineAborted, PipelineErrorDetails
from .models import PipelineCursor, PipelinePlan, PipelineTarget
from .names import PipelineError

RULES = Rules(
    applies={
        "abort": (RUNNING, PAUSED, AWAITING),
        "pause": (RUNNING,),
        "resume": (PAUSED,),
        "promote": (RUNNING, PAUSED),
        "approve": (AWAITING,),
        "reject": (AWAITING,),
    },
    in_bake={"promote": True},
)
CHANNEL_PREFIX = "pipeline:"


def channel_key(execution_arn: str) -> str:
    return f"{CHANNEL_PREFIX}{execution_arn.rsplit(':', 1)[-1]}"


def state_of(cursor: PipelineCursor) -> str:
    if isinstance(cursor.hold, Pause):
        return PAUSED
    return AWAITING if isinstance(cursor.hold, ApprovalGate) else RUNNING


# -- the sender: the control function -------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    accepted: bool
    reason: str = ""  # why not (nothing changed)
    relayed: tuple[str, ...] = ()  # the targets' rollouts an abort reached


def send(table: str, execution_arn: str, control: Control) -> Sent:
    """Write `control` on the pipeline's item if it applies; an abort also goes to every
    rollout of the running wave."""
    items = channel.of(table)
    key = channel_key(execution_arn)
    try:
        items.send(key, execution_arn, control, RULES)
    except ControlRefused as refused:
        return Sent(False, str(refused))
    if control.action != "abort":
        return Sent(True)
    item = items.item(key)
    running = running_targets(item.running_targets if item else None)
    relayed = [
        t.executionArn for t in running if targets.abort(t, _relayed(control, execution_arn))
    ]
    return Sent(True, relayed=tuple(relayed))


def _relayed(control: Control, execution_arn: str) -> Control:
    name = execution_arn.rsplit(":", 1)[-1]
    reason = f"pipeline {name} aborted: {control.reason}"
    return Control.new("abort", reason, control.by)


def running_targets(text: str | None) -> list[PipelineTarget]:
    return [PipelineTarget.model_validate(t) for t in json.loads(text)] if text else []


# -- the pipeline's own tasks ---------------------------------------------------------------


def read(plan: PipelinePlan) -> tuple[channel.Item | None, Control | None]:
    """The pipeline's item and its pending control; (None, None) when not ours."""
    item = channel.of(plan.channel.table).item(plan.channel.key)
    if item is None or item.owner != plan.executionId:
        return None, None
    return item, item.control


def write(
    plan: PipelinePlan,
    *,
    state: str | None = None,
    phase: str | None = None,
    consumed: Control | None = None,
    ttl_seconds: int | None = None,
    running: list[PipelineTarget] | None = None,
) -> bool:
    expires_at = None if ttl_seconds is None else channel.expiry(ttl_seconds)
    running_text = (
        None if running is None else json.dumps([t.model_dump(mode="json") for t in running])
    )
    return channel.of(plan.channel.table).update(
        plan.channel.key,
        plan.executionId,
        state=state,
        phase=phase,
        expires_at=expires_at,
        consumed=consumed,
        running_targets=running_text,
    )


def close(plan: PipelinePlan) -> None:
    """The pipeline ended: its item goes, and no control applies any more."""
    channel.of(plan.channel.table).release(plan.channel.key, plan.executionId)


def apply(
    plan: PipelinePlan, cursor: PipelineCursor, control: Control, now: datetime, where: str
) -> PipelineCursor:
    """The cursor after `control` (a hold task's); abort and reject raise PipelineAborted."""
    action, current = control.action, state_of(cursor)
    applies = current in RULES.applies.get(action, ()) and (
        action != "promote" or cursor.phase == "bake"
    )
    if not applies:
        write(plan, consumed=control)
        ignored = record(control, now, where, f"ignored: does not apply when {current}")
        return cursor.model_copy(update={"lastControl": ignored})
    if not write(plan, consumed=control, state=_state_after(action, cursor)):
        return cursor  # replaced by a newer control: read next time
    if action in ("abort", "reject"):
        raise aborted(control, now, where, at_gate=action == "reject")
    update: dict[str, Any] = {"lastControl": record(control, now, where)}
    if action == "pause":
        update["hold"] = Pause(since=clock.iso(now), by=control.by)
    elif action == "promote":
        update["bakeUntil"] = now
    elif action == "approve":
        update |= {"hold": None, "approved": True}
    else:  # resume
        update["hold"] = None
    return cursor.model_copy(update=update)


def aborted(
    control: Control, now: datetime, where: str, *, at_gate: bool = False
) -> PipelineAborted:
    verb = "Rejected at the wave's approval gate" if at_gate else "Aborted"
    details = PipelineErrorDetails(
        control=record(control, now, where, PipelineError.PIPELINE_ABORTED.value)
    )
    return PipelineAborted(f"{verb} by {control.by}: {control.reason} (during {where})", details)


def _state_after(action: str, cursor: PipelineCursor) -> str:
    if action == "pause":
        return PAUSED
    if action in ("resume", "approve", "promote"):
        return RUNNING
    return state_of(cursor)


def approval_gate(plan: PipelinePlan, cursor: PipelineCursor, now: datetime) -> ApprovalGate:
    """The hold of a wave's gate, naming the commands that answer it."""
    assert plan.approval is not None
    before = summary.wave_label(plan, cursor.waveIndex)
    return rollout_controls.approval_gate(
        before, plan.executionId, now, plan.approval.timeoutSeconds, plan.approval.onTimeout
    )
