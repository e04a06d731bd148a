"""The state of each watched alarm, pushed: items `alarm#<name>` a check reads in one
BatchGetItem instead of a DescribeAlarms per check.

"CloudWatch sends events to Amazon EventBridge whenever a CloudWatch alarm changes alarm
state" (Alarm events and EventBridge,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html);
the template's rule sends them to the telemetry, which records each (`record`). An event
only comes with a change, so:

- Start telemetry seeds the item from Prepare's one DescribeAlarms (plan.alarmStates) and
  adds the execution to its `watchers` (the telemetry wakes each watcher on ALARM);
- writes are conditioned on the state's own timestamp, so a late or repeated event never
  puts an older state back (EventBridge delivers at least once, in no promised order);
- an event can still be lost: CloudWatch guarantees delivery to EventBridge, but its
  delivery to the telemetry ends after Lambda's retries of an asynchronous invocation. So
  a check that finds a state not confirmed for CONFIRM_SECONDS (by an event, the seed or a
  reconciliation) reads it again with DescribeAlarms, taking a token from the account's
  shared DescribeAlarms budget (telemetry.budget): at most one call per rollout every
  CONFIRM_SECONDS, whatever its checks, functions or alarms (up to 100 names a call).
  Without a token, the pushed state is used and the check says how old it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from .. import clients
from ..deadline import Deadline
from ..models import AlarmReading
from . import budget, table

CONFIRM_SECONDS = 300
MISSING = "MISSING"  # an alarm deleted during the rollout


@dataclass(frozen=True)
class AlarmState:
    name: str
    value: str  # OK, ALARM, INSUFFICIENT_DATA, MISSING
    state_ms: int  # when the alarm entered it (its own timestamp)
    confirmed_ms: int  # when an event, the seed or DescribeAlarms last said so

    def age_seconds(self, now_ms: int) -> float:
        return (now_ms - self.confirmed_ms) / 1000


def _key(name: str) -> dict[str, Any]:
    return table.key(f"alarm#{name}", "state")


def record(
    name: str, value: str, state_ms: int, reason: str = "", watcher: str | None = None
) -> set[str] | None:
    """Store the state unless a newer one is stored; the executions watching the alarm, or
    None when this state was older than the stored one (nothing changed)."""
    names = {"#v": "value", "#at": "stateAt", "#c": "confirmedAt", "#e": table.EXPIRES}
    values: dict[str, Any] = {
        ":v": {"S": value},
        ":at": {"N": str(state_ms)},
        ":c": {"N": str(table.now_ms())},
        ":r": {"S": reason[:500]},
        ":e": table.expiry(),
    }
    expression = "SET #v = :v, #at = :at, #c = :c, reason = :r, #e = :e"
    if watcher is not None:
        names["#w"] = "watchers"
        values[":w"] = {"SS": [watcher]}
        expression += " ADD #w :w"
    try:
        updated = clients.dynamodb().update_item(
            TableName=table.name(),
            Key=_key(name),
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(#at) OR #at <= :at",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        if watcher is not None:
            watch([name], watcher)
        return None
    return set(updated["Attributes"].get("watchers", {}).get("SS", []))


def seed(readings: list[AlarmReading], execution: str) -> None:
    """Start telemetry: Prepare's readings (unless an event brought a newer state), and
    this execution among each alarm's watchers."""
    for reading in readings:
        at = reading.updatedAt
        record(reading.name, reading.state, _ms(at) if at else 0, "read by Prepare", execution)


def watch(names: list[str], execution: str) -> None:
    _watchers(names, execution, "ADD")


def unwatch(names: list[str], execution: str) -> None:
    _watchers(names, execution, "DELETE")


def _watchers(names: list[str], execution: str, verb: str) -> None:
    for name in names:
        try:
            clients.dynamodb().update_item(
                TableName=table.name(),
                Key=_key(name),
                UpdateExpression=f"{verb} watchers :w SET #e = :e",
                ConditionExpression="attribute_exists(pk)",  # only an alarm seeded
                ExpressionAttributeNames={"#e": table.EXPIRES},
                ExpressionAttributeValues={":w": {"SS": [execution]}, ":e": table.expiry()},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


def read(names: list[str], deadline: Deadline) -> dict[str, AlarmState]:
    """The stored state of each alarm that has one (one consistent BatchGetItem)."""
    if not names:
        return {}
    ddb = clients.within("dynamodb", deadline.remaining())
    request = {table.name(): {"Keys": [_key(n) for n in names], "ConsistentRead": True}}
    found: dict[str, AlarmState] = {}
    while request:
        answer = ddb.batch_get_item(RequestItems=request)
        for item in answer.get("Responses", {}).get(table.name(), []):
            state = _state(item)
            found[state.name] = state
        request = answer.get("UnprocessedKeys") or {}
        if request:
            ddb = clients.within("dynamodb", deadline.remaining())
    return found


def _state(item: dict[str, Any]) -> AlarmState:
    return AlarmState(
        name=item[table.PK]["S"].removeprefix("alarm#"),
        value=item.get("value", {}).get("S", "INSUFFICIENT_DATA"),
        state_ms=int(item.get("stateAt", {}).get("N", "0")),
        confirmed_ms=int(item.get("confirmedAt", {}).get("N", "0")),
    )


def stale(names: list[str], states: dict[str, AlarmState]) -> list[str]:
    """The alarms whose state is unknown, or not confirmed for CONFIRM_SECONDS."""
    now = table.now_ms()
    return [n for n in names if n not in states or states[n].age_seconds(now) >= CONFIRM_SECONDS]


def reconcile(names: list[str], deadline: Deadline) -> dict[str, AlarmState] | None:
    """Read the alarms again with one DescribeAlarms, within the account's shared budget,
    and store what it says; None when the budget had no token in time."""
    if not budget.take("DescribeAlarms", 1, deadline):
        return None
    found = clients.within("cloudwatch", deadline.remaining()).describe_alarms(
        AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    described = {
        alarm["AlarmName"]: alarm
        for kind in ("MetricAlarms", "CompositeAlarms")
        for alarm in found.get(kind, [])
    }
    now = table.now_ms()
    fresh: dict[str, AlarmState] = {}
    for name in names:
        alarm = described.get(name)
        value = alarm["StateValue"] if alarm else MISSING
        at = _ms(alarm["StateUpdatedTimestamp"]) if alarm else now
        record(name, value, at, "read by DescribeAlarms")
        fresh[name] = AlarmState(name, value, at, now)
    return fresh


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
