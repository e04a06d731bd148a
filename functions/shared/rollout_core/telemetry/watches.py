"""Who watches what, and how evidence wakes a waiting rollout.

Items:
- `rollout#<execution>` / `watch`: one per running rollout. Wait for next check (and Wait
  during bake) stores its task token here (`arm`), with what a wake needs: the window's
  start, whether the new versions have traffic to judge, the alarms whose ALARM fails the
  check, when the wait times out, and when the last check ran.
- `function#<function>` / `<execution>`: one per function a rollout watches with the logs
  signal: its target and stable versions and the error-rate policy. The telemetry finds
  the rollouts a failure concerns with one Query.

`wake` takes the token away in the same conditional update that records the evidence, so
of every telemetry invocation that finds evidence, exactly one sends SendTaskSuccess; the
others only leave the evidence. Evidence that finds no token (the check is running, or the
next wait isn't armed yet) stays on the item, and the next `arm` wakes its own task at
once if it came after the last check. A token whose wait has timed out by now is not sent
(Step Functions would answer TaskTimedOut): its evidence waits for the next arm too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from .. import clients, release
from ..models import HealthPolicy, Progress, RolloutPlan
from ..progress import window_start
from . import table

_POLICY = {"errorRatePercent", "minInvocations", "compareToStable"}  # what a wake judges by
TOKEN_MARGIN_MS = 1000  # a token this close to its wait's timeout is left to the clock
CLOSED = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")  # SendTaskSuccess: too late


def _rollout_key(execution: str) -> dict[str, Any]:
    return table.key(f"rollout#{execution}", "watch")


def _function_key(function: str, execution: str) -> dict[str, Any]:
    return table.key(f"function#{function}", execution)


def start(plan: RolloutPlan, ttl_seconds: int, logs: bool) -> None:
    """The rollout's item, and (with the logs signal) one per function it watches. The
    alarms whose ALARM wakes it are known from the start, so an ALARM before the first
    wait is armed is evidence the first wait finds."""
    expires = table.expiry(ttl_seconds)
    alarms = [n for n in plan.alarms if n not in plan.ignoredAlarms]
    items = [
        {
            **_rollout_key(plan.executionId),
            "wakeAlarms": {"L": [{"S": n} for n in alarms]},
            table.EXPIRES: expires,
        }
    ]
    if logs:
        items += [_function_item(member, expires) for member in release.members(plan)]
    ddb = clients.dynamodb()
    name = table.name()
    for first in range(0, len(items), 25):  # BatchWriteItem's limit
        requests = [{"PutRequest": {"Item": item}} for item in items[first : first + 25]]
        pending: dict[str, Any] = {name: requests}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _function_item(member: RolloutPlan, expires: dict[str, str]) -> dict[str, Any]:
    policy = member.health
    return {
        **_function_key(member.functionName, member.executionId),
        "target": {"S": member.targetVersion},
        "stable": {"S": member.stableVersion},
        "policy": {"S": policy.model_dump_json(include=_POLICY)},
        table.EXPIRES: expires,
    }


def stop(plan: RolloutPlan) -> None:
    """Delete the rollout's items (each delete is idempotent)."""
    keys = [_rollout_key(plan.executionId)] + [
        _function_key(member.functionName, plan.executionId) for member in release.members(plan)
    ]
    ddb = clients.dynamodb()
    name = table.name()
    for key in keys:
        ddb.delete_item(TableName=name, Key=key)


# -- the wait ---------------------------------------------------------------------------


def arm(
    plan: RolloutPlan, cursor: Progress, token: str, now: datetime, wake_alarms: list[str]
) -> str | None:
    """Store the waiting task's token; the evidence to wake it with at once when some
    arrived since the last check (else None). Nothing is stored for a rollout whose
    telemetry never started: its waits end by the clock."""
    now_ms = int(now.timestamp() * 1000)
    last = cursor.lastCheck.at if cursor.lastCheck and cursor.lastCheck.at else None
    since = window_start(cursor, now, plan.checkIntervalSeconds)
    values: dict[str, Any] = {
        ":t": {"S": token},
        ":armed": {"N": str(now_ms)},
        ":timeout": {"N": str(now_ms + 1000 * cursor.nextWaitSeconds)},
        ":since": {"N": str(int(since.timestamp() * 1000))},
        ":judging": {"BOOL": cursor.weight > 0},
        ":alarms": {"L": [{"S": name} for name in wake_alarms]},
        ":last": {"N": str(int(last.timestamp() * 1000) if last else 0)},
    }
    try:
        old = (
            clients.dynamodb()
            .update_item(
                TableName=table.name(),
                Key=_rollout_key(plan.executionId),
                UpdateExpression="SET #t = :t, armedAt = :armed, timeoutAt = :timeout, "
                "since = :since, judging = :judging, wakeAlarms = :alarms, lastCheckAt = :last "
                "REMOVE evidence, evidenceAt",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
            .get("Attributes", {})
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    evidence_at = int(old.get("evidenceAt", {}).get("N", "0"))
    if evidence_at and evidence_at > int(values[":last"]["N"]):
        return str(old.get("evidence", {}).get("S", "evidence"))
    return None


@dataclass(frozen=True)
class Watch:
    """What a rollout's wait armed: read by the telemetry before it judges evidence."""

    execution: str
    since: datetime | None
    judging: bool
    wake_alarms: list[str]


def armed(execution: str) -> Watch | None:
    item = (
        clients.dynamodb()
        .get_item(TableName=table.name(), Key=_rollout_key(execution), ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        return None
    since = item.get("since", {}).get("N")
    return Watch(
        execution,
        datetime.fromtimestamp(int(since) / 1000, UTC) if since else None,
        bool(item.get("judging", {}).get("BOOL", False)),
        [entry["S"] for entry in item.get("wakeAlarms", {}).get("L", [])],
    )


@dataclass(frozen=True)
class FunctionWatch:
    execution: str
    function: str
    target: str
    stable: str
    policy: HealthPolicy


def watching(function: str) -> list[FunctionWatch]:
    """The rollouts watching `function` with the logs signal (one Query)."""
    found = clients.dynamodb().query(
        TableName=table.name(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"function#{function}"}},
        ConsistentRead=True,
    )
    return [
        FunctionWatch(
            execution=item[table.SK]["S"],
            function=function,
            target=item["target"]["S"],
            stable=item["stable"]["S"],
            policy=HealthPolicy.model_validate_json(item["policy"]["S"]),
        )
        for item in found.get("Items", [])
    ]


def wake(execution: str, reason: str, now_ms: int) -> bool:
    """Record the evidence and take the token; send it, if any and still in time. True
    when this call woke the rollout's wait."""
    try:
        old = (
            clients.dynamodb()
            .update_item(
                TableName=table.name(),
                Key=_rollout_key(execution),
                UpdateExpression="SET evidence = :e, evidenceAt = :at REMOVE #t",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={":e": {"S": reason[:1000]}, ":at": {"N": str(now_ms)}},
                ReturnValues="ALL_OLD",
            )
            .get("Attributes", {})
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False  # the rollout has ended
        raise
    token = old.get("token", {}).get("S")
    timeout_ms = int(old.get("timeoutAt", {}).get("N", "0"))
    if token is None or now_ms >= timeout_ms - TOKEN_MARGIN_MS:
        return False
    armed_ms = int(old.get("armedAt", {}).get("N", str(now_ms)))
    return send(token, reason, (now_ms - armed_ms) // 1000)


def claim(execution: str, token: str) -> bool:
    """Take the token back, unless the telemetry took it first (then it sent it)."""
    try:
        clients.dynamodb().update_item(
            TableName=table.name(),
            Key=_rollout_key(execution),
            UpdateExpression="REMOVE #t",
            ConditionExpression="#t = :t",
            ExpressionAttributeNames={"#t": "token"},
            ExpressionAttributeValues={":t": {"S": token}},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def send(token: str, reason: str, waited_seconds: int) -> bool:
    """SendTaskSuccess: the wait ends now, with the evidence as its output ($.wake)."""
    return _succeed(
        token, {"how": "evidence", "reason": reason, "waitedSeconds": max(0, waited_seconds)}
    )


def end_now(token: str) -> bool:
    """SendTaskSuccess of a wait with nothing to wait: the clock's end, after 0 s."""
    return _succeed(token, {"how": "clock", "waitedSeconds": 0})


def _succeed(token: str, output: dict[str, object]) -> bool:
    try:
        clients.stepfunctions().send_task_success(taskToken=token, output=json.dumps(output))
    except ClientError as error:
        if error.response["Error"]["Code"] in CLOSED:
            return False
        raise
    return True
