"""One rollout per function+alias: a DynamoDB item keyed "<function>:<alias>".

The owner is the execution id, so a retried Prepare re-acquires its own lock and only
the owner can release it. The TTL attribute lets DynamoDB clear a lock whose execution
died without releasing it; an expired lock is also taken over at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from . import clients
from .errors import RolloutInProgress

KEY = "lockKey"  # the table's partition key (template.yaml)
OWNER = "owner"
EXPIRES = "expiresAt"  # the table's TTL attribute (epoch seconds)
# The lock item is also the rollout's control channel (rollout_core.controls): the
# workflow keeps its state there, and operators write their control next to it.
STATE, PHASE = "state", "phase"
# On each lock of a release (rollout_core.release): the key of the item that is the
# release's control channel, so a control can name any of its functions.
CONTROL_KEY = "controlKey"


def lock_key(function: str, alias: str) -> str:
    return f"{function}:{alias}"


TARGET = "targetVersion"  # what the holder is rolling out: a second start of it is a duplicate


@dataclass(frozen=True)
class Holding:
    owner: str
    target: str | None


def acquire(table: str, key: str, owner: str, ttl_seconds: int, target: str = "") -> None:
    try:
        clients.dynamodb().put_item(**_put(table, key, owner, ttl_seconds, target))
    except ClientError as error:
        if not _condition_failed(error):
            raise
        raise _in_progress(table, key) from None


def acquire_all(table: str, keys: list[tuple[str, str]], owner: str, ttl_seconds: int) -> None:
    """Take every (key, target) lock of a release or none (one TransactWriteItems). The
    first key's item is the release's control channel; each item names it (CONTROL_KEY)."""
    control_key = keys[0][0]
    puts = [_put(table, key, owner, ttl_seconds, target, control_key) for key, target in keys]
    try:
        clients.dynamodb().transact_write_items(TransactItems=[{"Put": put} for put in puts])
    except ClientError as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        held_elsewhere = [key for key, _ in keys if holder_of(table, key) not in (None, owner)]
        raise _in_progress(table, held_elsewhere[0] if held_elsewhere else keys[0][0]) from None


def _put(
    table: str, key: str, owner: str, ttl_seconds: int, target: str, control_key: str = ""
) -> dict[str, Any]:
    now = int(time.time())
    item = {
        KEY: {"S": key},
        OWNER: {"S": owner},
        EXPIRES: {"N": str(now + ttl_seconds)},
        "acquiredAt": {"N": str(now)},
        TARGET: {"S": target},
        STATE: {"S": "running"},
        PHASE: {"S": "pending"},
    }
    if control_key:
        item[CONTROL_KEY] = {"S": control_key}
    return {
        "TableName": table,
        "Item": item,
        "ConditionExpression": "attribute_not_exists(#key) OR #owner = :owner OR #expires < :now",
        "ExpressionAttributeNames": {"#key": KEY, "#owner": OWNER, "#expires": EXPIRES},
        "ExpressionAttributeValues": {":owner": {"S": owner}, ":now": {"N": str(now)}},
    }


def _in_progress(table: str, key: str) -> RolloutInProgress:
    holder = holder_of(table, key)
    error = RolloutInProgress(
        f"{key} is being rolled out by {holder or 'another execution'}; "
        "wait for it to finish or stop it"
    )
    error.key = key  # which lock of a release was taken (rollout_core.plan names its entry)
    return error


def release(table: str, key: str, owner: str) -> bool:
    """Delete the lock if `owner` holds it; False when it was not held (already released)."""
    try:
        clients.dynamodb().delete_item(
            TableName=table,
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


def release_held_by(table: str, owner: str) -> list[str]:
    """Release every lock `owner` holds; the keys released.

    For a Prepare that failed after taking its lock: its plan, which names the key, never
    reached the workflow. The table holds one item per running rollout, so a scan is small;
    each delete is still conditional on the owner.
    """
    pages = (
        clients.dynamodb()
        .get_paginator("scan")
        .paginate(
            TableName=table,
            ConsistentRead=True,
            FilterExpression="#owner = :owner",
            ProjectionExpression="#key",
            ExpressionAttributeNames={"#owner": OWNER, "#key": KEY},
            ExpressionAttributeValues={":owner": {"S": owner}},
        )
    )
    keys = [item[KEY]["S"] for page in pages for item in page.get("Items", [])]
    return [key for key in keys if release(table, key, owner)]


def holder_of(table: str, key: str) -> str | None:
    """The live owner of the lock, if any (expired locks don't count)."""
    holding = held(table, key)
    return holding.owner if holding else None


def held(table: str, key: str) -> Holding | None:
    """Who holds the lock and for which version, if anyone (expired locks don't count)."""
    item = (
        clients.dynamodb()
        .get_item(TableName=table, Key={KEY: {"S": key}}, ConsistentRead=True)
        .get("Item")
    )
    if not item or int(item.get(EXPIRES, {}).get("N", "0")) < int(time.time()):
        return None
    return Holding(item[OWNER]["S"], item.get(TARGET, {}).get("S") or None)


def _condition_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"
