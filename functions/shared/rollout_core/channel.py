"""The rollout table's item: one per running rollout, keyed `<function>:<alias>`, holding its
lock and its control channel (docs/workflow.md, "How a control reaches the workflow").

Modelled on Powertools' idempotency persistence layer: one class, Channel, owns the item's
attribute names, its reads and its conditional writes, for everyone who touches it:

- Prepare takes the lock (creates the item), the Finalize states and the guard release it
  (deletes it), each only as its owner (lock.py says what the lock means);
- the workflow keeps its `state` and `phase` there, renews the item's TTL while it holds its
  weight, and consumes an operator's `control` (controls.py says what a control does);
- an operator sends a control (rollout/commands/control.py, or the `aws dynamodb
  update-item` of docs/workflow.md): one conditional write that applies only to the
  execution named, in the states the control applies to; when refused, `send` says why.

The item format is a contract with people's own scripts; it doesn't change here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from . import clients

# The item's attributes.
KEY = "lockKey"  # the table's partition key (template.yaml)
OWNER = "owner"  # the execution ARN holding the lock
EXPIRES = "expiresAt"  # the table's TTL attribute (epoch seconds)
ACQUIRED = "acquiredAt"
TARGET = "targetVersion"  # what the owner rolls out: a second start of it is a duplicate
STATE, PHASE = "state", "phase"  # what the workflow is doing, for the operator's condition
CONTROL = "control"  # the operator's pending control, {action, reason, by, at}
# On each lock of a release (rollout_core.release): the key of the item that is the
# release's control channel, so a control can name any of its functions.
CONTROL_KEY = "controlKey"
# On a pipeline's item (rollout_core.pipeline): the targets of the wave rolling out, as
# JSON, so an abort can reach their rollouts.
RUNNING_TARGETS = "runningTargets"


class ChannelState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    AWAITING = "awaiting-approval"


RUNNING, PAUSED, AWAITING = ChannelState.RUNNING, ChannelState.PAUSED, ChannelState.AWAITING

# action → the states it applies to (docs/workflow.md, "Operator controls"): the sender's
# condition and the workflow's reading of a control both follow it. promote and
# promote-full apply only before the bake.
APPLIES: dict[str, tuple[ChannelState, ...]] = {
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
class Rules:
    """When each control applies: the states (`applies`) and, for some, the phase
    (`in_bake`: action → True when it applies only during the bake, False only before it).
    A rollout's are APPLIES and BEFORE_BAKE_ONLY; a pipeline has its own
    (rollout_core.pipeline.controls)."""

    applies: dict[str, tuple[ChannelState, ...]]
    in_bake: dict[str, bool]


ROLLOUT = Rules(APPLIES, {action: False for action in BEFORE_BAKE_ONLY})


class Control(BaseModel):
    """The `control` attribute an operator writes: all strings."""

    model_config = ConfigDict(defer_build=True)

    action: str
    reason: str
    by: str
    at: str  # an ISO time (milliseconds): it tells one control from the next

    @classmethod
    def new(cls, action: str, reason: str, by: str) -> Control:
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return cls(action=action, reason=reason, by=by, at=at)


@dataclass(frozen=True)
class Item:
    """The item as read."""

    key: str
    owner: str
    expires_at: int
    target: str | None  # the version the owner rolls out
    state: str
    phase: str
    control: Control | None  # pending: sent, not consumed yet
    control_key: str | None  # a release's member: the key of the release's channel
    running_targets: str | None = None  # a pipeline's: its running wave's targets (JSON)

    @property
    def live(self) -> bool:
        """Not past its TTL (DynamoDB deletes expired items late, so they can still be read)."""
        return self.expires_at >= int(time.time())


class ControlRefused(Exception):
    """The operator's control does not apply; nothing changed. The message says why."""


def expiry(ttl_seconds: int) -> int:
    return int(time.time()) + ttl_seconds


class Channel:
    """The rollout table, item by item, through one DynamoDB client."""

    def __init__(self, table: str, ddb: Any) -> None:
        self.table = table
        self._ddb = ddb

    # -- the lock ---------------------------------------------------------------------

    def acquire(self, key: str, owner: str, ttl_seconds: int, target: str = "") -> bool:
        """Create the item for `owner`, or take it over from itself or from an expired
        owner; False when someone else holds it."""
        try:
            self._ddb.put_item(**self._put(key, owner, ttl_seconds, target))
        except ClientError as error:
            if not _condition_failed(error):
                raise
            return False
        return True

    def acquire_all(self, keys: list[tuple[str, str]], owner: str, ttl_seconds: int) -> bool:
        """Every (key, target) item of a release, or none (one TransactWriteItems); False
        when any is held by someone else. The first key's item is the release's channel."""
        control_key = keys[0][0]
        puts = [self._put(key, owner, ttl_seconds, target, control_key) for key, target in keys]
        try:
            self._ddb.transact_write_items(TransactItems=[{"Put": put} for put in puts])
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            return False
        return True

    def _put(
        self, key: str, owner: str, ttl_seconds: int, target: str, control_key: str = ""
    ) -> dict[str, Any]:
        now = int(time.time())
        item = {
            KEY: {"S": key},
            OWNER: {"S": owner},
            EXPIRES: {"N": str(now + ttl_seconds)},
            ACQUIRED: {"N": str(now)},
            TARGET: {"S": target},
            STATE: {"S": RUNNING.value},
            PHASE: {"S": "pending"},
        }
        if control_key:
            item[CONTROL_KEY] = {"S": control_key}
        return {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": (
                "attribute_not_exists(#key) OR #owner = :owner OR #expires < :now"
            ),
            "ExpressionAttributeNames": {"#key": KEY, "#owner": OWNER, "#expires": EXPIRES},
            "ExpressionAttributeValues": {":owner": {"S": owner}, ":now": {"N": str(now)}},
        }

    def release(self, key: str, owner: str) -> bool:
        """Delete the item if `owner` holds it; False when it was not held (already released)."""
        try:
            self._ddb.delete_item(
                TableName=self.table,
                Key={KEY: {"S": key}},
                ConditionExpression="#owner = :owner",  # owner is a DynamoDB reserved word
                ExpressionAttributeNames={"#owner": OWNER},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def keys_held_by(self, owner: str) -> list[str]:
        """The keys of every item `owner` holds: a Scan, small because the table holds one
        item per running rollout."""
        pages = self._ddb.get_paginator("scan").paginate(
            TableName=self.table,
            ConsistentRead=True,
            FilterExpression="#owner = :owner",
            ProjectionExpression="#key",
            ExpressionAttributeNames={"#owner": OWNER, "#key": KEY},
            ExpressionAttributeValues={":owner": {"S": owner}},
        )
        return [item[KEY]["S"] for page in pages for item in page.get("Items", [])]

    def item(self, key: str) -> Item | None:
        """The item, read consistently; None when no rollout holds `key` (even an expired
        one is returned: `Item.live` tells)."""
        raw = self._ddb.get_item(
            TableName=self.table, Key={KEY: {"S": key}}, ConsistentRead=True
        ).get("Item")
        return _parse(key, raw) if raw else None

    # -- the workflow -----------------------------------------------------------------

    def update(
        self,
        key: str,
        owner: str,
        *,
        state: str | None = None,
        phase: str | None = None,
        expires_at: int | None = None,
        consumed: Control | None = None,
        running_targets: str | None = None,
    ) -> bool:
        """One conditional update of `owner`'s item; removing `consumed` only if it is still
        the pending control (conditioned on its `at`). False when the item isn't `owner`'s
        any more or the control was replaced meanwhile (the newer one is read next time)."""
        names = {"#owner": OWNER}
        values: dict[str, Any] = {":me": {"S": owner}}
        sets, condition = [], "#owner = :me"
        for attribute, value in (
            (STATE, state),
            (PHASE, phase),
            (RUNNING_TARGETS, running_targets),
        ):
            if value is not None:
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = {"S": str(value)}
                sets.append(f"#{attribute} = :{attribute}")
        if expires_at is not None:
            names["#expires"] = EXPIRES
            values[":expires"] = {"N": str(expires_at)}
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
            self._ddb.update_item(
                TableName=self.table,
                Key={KEY: {"S": key}},
                UpdateExpression=expression.strip(),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    # -- the operator -----------------------------------------------------------------

    def send(self, key: str, execution: str, control: Control, rules: Rules = ROLLOUT) -> None:
        """Write `control` for the rollout (or pipeline) `execution` runs, or ControlRefused
        saying why it doesn't apply (nothing changed)."""
        expression, names, values = condition(control.action, rules)
        values[":exec"] = {"S": execution}
        values[":control"] = {"M": {name: {"S": text} for name, text in control}}
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={KEY: {"S": key}},
                UpdateExpression="SET #control = :control",
                ConditionExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not _condition_failed(error):
                raise
            raise ControlRefused(self._refusal(key, execution, control.action, rules)) from None

    def _refusal(self, key: str, execution: str, action: str, rules: Rules) -> str:
        """Why the condition failed, in words; nothing was changed."""
        item = self.item(key)
        verb = action.replace("-full", " --full")
        if item is None or item.owner != execution:
            return (
                f"{verb}: {execution} is not running any more (its lock is released); "
                "nothing changed"
            )
        if item.state not in rules.applies.get(action, ()):
            hint = {
                AWAITING: "it is awaiting approval: approve or reject it",
                PAUSED: "it is paused: resume, promote or abort it",
                RUNNING: "it is running (not paused, not awaiting approval)",
            }.get(item.state, item.state)
            return f"{verb} does not apply: {hint}; nothing changed"
        in_bake = rules.in_bake.get(action)
        if in_bake is False and item.phase == "bake":
            return f"{verb} does not apply during the bake (already promoted); nothing changed"
        if in_bake is True and item.phase != "bake":
            return f"{verb} applies only during a bake; nothing changed"
        if item.control is not None:
            return (
                f"{verb}: a {item.control.action} from {item.control.by} is still waiting for "
                "the workflow's next check; try again in a few seconds; nothing changed"
            )
        return f"{verb} does not apply now; nothing changed"


def condition(action: str, rules: Rules = ROLLOUT) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(ConditionExpression, names, values) that make `action` apply or change nothing; the
    sender adds `:exec` (the execution named) and `:control`."""
    names = {"#owner": OWNER, "#state": STATE, "#control": CONTROL}
    states = rules.applies[action]
    values: dict[str, Any] = {f":s{i}": {"S": state.value} for i, state in enumerate(states)}
    text = f"#owner = :exec AND #state IN ({', '.join(values)})"
    in_bake = rules.in_bake.get(action)
    if in_bake is not None:
        names["#phase"] = PHASE
        values[":bake"] = {"S": "bake"}
        text += f" AND #phase {'=' if in_bake else '<>'} :bake"
    if action != "abort":  # abort replaces a pending control; the others wait their turn
        text += " AND attribute_not_exists(#control)"
    return text, names, values


def of(table: str) -> Channel:
    """The channel as the task Lambdas reach it (rollout_core's client)."""
    return Channel(table, clients.dynamodb())


def _parse(key: str, raw: dict[str, Any]) -> Item:
    def text(name: str) -> str | None:
        value = raw.get(name, {}).get("S")
        return None if value is None else str(value)

    return Item(
        key=key,
        owner=text(OWNER) or "",
        expires_at=int(raw.get(EXPIRES, {}).get("N", "0")),
        target=text(TARGET) or None,
        state=text(STATE) or RUNNING.value,
        phase=text(PHASE) or "pending",
        control=_control(raw.get(CONTROL)),
        control_key=text(CONTROL_KEY),
        running_targets=text(RUNNING_TARGETS),
    )


def _control(raw: Any) -> Control | None:
    """A pending control as written (a raw update-item may leave fields out)."""
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


def _condition_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"
