"""Operator controls: abort, promote, promote-full, pause, resume, approve, reject.

The control channel is the rollout's own lock item (`<function>:<alias>` in the rollout
table, rollout_core.lock):

- the workflow keeps its `state` there (`running`, `paused`, `awaiting-approval`) and its
  `phase` (`pending`, `step`, `bake`);
- an operator writes one `control` attribute, `{action, reason, by, at}`, with a condition
  that the item is owned by the execution named and that the control applies to its state
  (rollout/commands/control.py, or the one `aws dynamodb update-item` in docs/workflow.md).
  A finished rollout has no lock item, so the write fails and nothing changes;
- only the lock's owner consumes it: the task reads the item of its own plan, checks that
  the owner is the execution id Step Functions passed it (`$$.Execution.Id`), and removes
  exactly that control (conditioned on its `at`) in the same update that moves its state.

Check health and Check bake health read the channel after every healthy check, so a
control takes effect at the next check (within one check interval). While the rollout
holds its weight (paused, or at an approval gate), Wait for operator (rollout_core.holding)
polls the channel every second instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from . import clients, clock, lock, release
from .errors import RolloutAborted
from .models import Plan, Progress, RolloutPlan
from .progress import where

CONTROL = "control"  # the attribute operators write
RUNNING, PAUSED, AWAITING = "running", "paused", "awaiting-approval"
HOLD_SECONDS = 600  # one Wait for operator task (rollout_core.holding); Lambda timeout 660 s

# action → the states it applies to (docs/workflow.md, "Operator controls"); promote and
# promote-full apply only before the bake. The sender's condition expression says the same.
APPLIES: dict[str, tuple[str, ...]] = {
    "abort": (RUNNING, PAUSED, AWAITING),
    "promote": (RUNNING, PAUSED),
    "promote-full": (RUNNING, PAUSED),
    "pause": (RUNNING,),
    "resume": (PAUSED,),
    "approve": (AWAITING,),
    "reject": (AWAITING,),
}
BEFORE_BAKE_ONLY = frozenset({"promote", "promote-full"})


@dataclass(frozen=True)
class Control:
    action: str
    reason: str
    by: str
    at: str

    def record(self, applied_at: datetime, state: str, result: str) -> dict[str, Any]:
        """`progress.lastControl`: what the report and `rollout watch` show."""
        return {
            "action": self.action,
            "reason": self.reason,
            "by": self.by,
            "at": self.at,
            "appliedAt": clock.iso(applied_at),
            "state": state,
            "result": result,
        }


def state_of(cursor: Progress) -> str:
    if cursor.hold is None:
        return RUNNING
    return PAUSED if cursor.hold.get("kind") == "pause" else AWAITING


# -- the channel --------------------------------------------------------------------------


def read(plan: RolloutPlan) -> tuple[dict[str, Any] | None, Control | None]:
    """This rollout's lock item and its pending control; (None, None) when not ours."""
    item = (
        clients.dynamodb()
        .get_item(
            TableName=_lock(plan).table, Key={lock.KEY: {"S": _lock(plan).key}}, ConsistentRead=True
        )
        .get("Item")
    )
    if not item or item.get(lock.OWNER, {}).get("S") != plan.executionId:
        return None, None  # only the owner may consume: another execution's controls stay
    return item, _parse(item.get(CONTROL))


def _parse(raw: Any) -> Control | None:
    fields = (raw or {}).get("M")
    if not isinstance(fields, dict):
        return None
    text = {k: str(v.get("S", "")) for k, v in fields.items() if isinstance(v, dict)}
    return Control(
        action=text.get("action", ""),
        reason=text.get("reason", "") or "no reason given",
        by=text.get("by", "") or "unknown caller",
        at=text.get("at", ""),
    )


def _lock(plan: Plan) -> Any:
    if plan.lock is None:
        raise RuntimeError("a rollout plan always has a lock")
    return plan.lock


def write(
    plan: RolloutPlan,
    *,
    state: str | None = None,
    phase: str | None = None,
    consumed: Control | None = None,
    ttl_seconds: int | None = None,
) -> bool:
    """One conditional update of our own lock item; False when it isn't ours any more or
    the consumed control was replaced meanwhile (the newer one is read next time)."""
    names = {"#owner": lock.OWNER}
    values: dict[str, Any] = {":me": {"S": plan.executionId}}
    sets, condition = [], "#owner = :me"
    for attribute, value in ((lock.STATE, state), (lock.PHASE, phase)):
        if value is not None:
            names[f"#{attribute}"] = attribute
            values[f":{attribute}"] = {"S": value}
            sets.append(f"#{attribute} = :{attribute}")
    if ttl_seconds is not None:
        names["#expires"] = lock.EXPIRES
        values[":expires"] = {"N": str(int(time.time()) + ttl_seconds)}
        sets.append("#expires = :expires")
    expression = f"SET {', '.join(sets)}" if sets else ""
    if consumed is not None:
        names |= {"#control": CONTROL, "#at": "at"}
        values[":at"] = {"S": consumed.at}
        condition += " AND #control.#at = :at"
        expression += " REMOVE #control"
    if not expression:
        return True
    try:
        clients.dynamodb().update_item(
            TableName=_lock(plan).table,
            Key={lock.KEY: {"S": _lock(plan).key}},
            UpdateExpression=expression.strip(),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    if ttl_seconds is not None:
        _renew_members(plan, values[":expires"])
    return True


def _renew_members(plan: RolloutPlan, expires: dict[str, str]) -> None:
    """A release's other locks live as long as its control channel (a pause renews them)."""
    for ref in release.lock_refs(plan)[1:]:
        try:
            clients.dynamodb().update_item(
                TableName=ref.table,
                Key={lock.KEY: {"S": ref.key}},
                UpdateExpression="SET #expires = :expires",
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#expires": lock.EXPIRES, "#owner": lock.OWNER},
                ExpressionAttributeValues={":expires": expires, ":me": {"S": plan.executionId}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


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
            f"{verb} by {control.by}: {control.reason} (during {state_name}, {where(cursor)})"
        )
    update: dict[str, Any] = {"lastControl": control.record(now, state_name, "applied")}
    if action in ("promote", "promote-full"):
        update |= {"hold": None, "stepComplete": True, "nextWaitSeconds": 0}
        if action == "promote-full":
            update["hasNextStep"] = False
    elif action == "pause":
        update["hold"] = {"kind": "pause", "since": clock.iso(now), "by": control.by}
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
    record = control.record(now, state_name, f"ignored: {why}")
    return cursor.model_copy(update={"lastControl": record})


# -- after each healthy check ----------------------------------------------------------


def after_check(plan: RolloutPlan, cursor: Progress, now: datetime, state_name: str) -> Progress:
    """Act on a pending control, keep the channel's phase current, open an approval gate."""
    item, control = read(plan)
    if control is not None:
        cursor = apply(plan, cursor, control, now, state_name)
    elif item is not None and item.get(lock.PHASE, {}).get("S") != cursor.phase:
        write(plan, phase=cursor.phase)
    return gate(plan, cursor, now)


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
    deadline = now + timedelta(seconds=approval.timeoutSeconds)
    hold = {
        "kind": "approval",
        "before": before,
        "since": clock.iso(now),
        "deadline": clock.iso(deadline),
        "onTimeout": approval.onTimeout,
        "approve": command("approve", plan.executionId),
        "reject": command("reject", plan.executionId),
        "notified": False,
    }
    write(plan, state=AWAITING, phase=cursor.phase)
    return cursor.model_copy(update={"hold": hold})


def command(action: str, execution_id: str) -> str:
    return f'rollout {action} {execution_id} --reason "…"'
