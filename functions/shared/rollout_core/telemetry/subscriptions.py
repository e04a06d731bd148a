"""The subscription filter that pushes a log group's invocation reports to the telemetry,
placed while some rollout needs it and removed after the last one ends.

"You can use subscriptions to get access to a real-time feed of log events from CloudWatch
Logs" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Subscriptions.html); with
a Lambda destination, "CloudWatch Logs invokes your function asynchronously" (Using Lambda
with CloudWatch Logs, https://docs.aws.amazon.com/lambda/latest/dg/services-cloudwatchlogs.html).
The destination, the telemetry function, allows `logs.amazonaws.com` to invoke it for the
log groups this deployment may watch (template.yaml).

One filter per log group and deployment (settings.telemetry_filter_name), whoever uses it:
several rollouts can watch functions that share a custom group. The group's lease item
(`group#<log group>`) holds the executions using it and the log formats they read
(reports.filter_pattern: the pattern covers every format in the set):

- place: add the execution (and its formats) to the lease, then PutSubscriptionFilter with
  the pattern of the lease's formats (a put by name updates our own filter), each put
  bounded to PUT_SECONDS within Start telemetry's own time (botocore's standard mode counts
  LimitExceededException as throttling and would retry the two-filter refusal for half a
  minute: longer than the task). Refused, the group is polled: "Each log group can have
  up to two subscription filters associated with it" (LimitExceededException;
  PutSubscriptionFilter API reference), a denied or throttled call (PutSubscriptionFilter
  has a hard quota of 5 per second and account). A group that doesn't exist yet (a function
  that never logged, or whose first logs are still on their way) is created first, as
  Lambda would create it ("If the log group doesn't exist, Lambda creates it", Lambda
  developer guide, Sending Lambda function logs to CloudWatch Logs): polled instead, its
  failures could never wake a wait.
- remove: take the execution out of the lease; when nobody is left, DeleteSubscriptionFilter,
  then read the lease again: a rollout that joined meanwhile gets the filter put back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .. import clients, settings
from ..deadline import Deadline, OutOfTime
from . import table
from .reports import filter_pattern

PUT_SECONDS = 12.0  # one put: two attempts (clients.within), then the group is polled
# Placing fails for these with the group polled instead (each named in the note).
_FALLBACK = {
    "LimitExceededException": "already has 2 subscription filters",
    "ResourceNotFoundException": "does not exist and could not be created",
}


@dataclass
class Placed:
    pushed: list[str] = field(default_factory=list)
    polled: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _lease(group: str) -> dict[str, Any]:
    return table.key(f"group#{group}", "lease")


def place(
    groups: dict[str, set[str]], execution: str, ttl_seconds: int, deadline: Deadline
) -> Placed:
    """Subscribe each log group (→ its log formats) for `execution`, before `deadline`."""
    placed = Placed()
    for group, formats in sorted(groups.items()):
        try:
            pattern = filter_pattern(_join(group, execution, formats, ttl_seconds))
            _put(group, pattern, deadline)
        except (ClientError, BotoCoreError, OutOfTime) as error:
            _leave(group, execution)
            placed.polled.append(group)
            placed.notes.append(_why_polled(group, error))
            continue
        placed.pushed.append(group)
    return placed


def _join(group: str, execution: str, formats: set[str], ttl_seconds: int) -> set[str]:
    """Add `execution` to the group's lease; every format its users read."""
    found = clients.dynamodb().update_item(
        TableName=table.name(),
        Key=_lease(group),
        UpdateExpression="ADD #users :me, formats :f SET #e = :e",
        ExpressionAttributeNames={"#users": "users", "#e": table.EXPIRES},
        ExpressionAttributeValues={
            ":me": {"SS": [execution]},
            ":f": {"SS": sorted(formats)},
            ":e": table.expiry(ttl_seconds),
        },
        ReturnValues="ALL_NEW",
    )
    return set(found["Attributes"].get("formats", {}).get("SS", []))


def _leave(group: str, execution: str) -> set[str] | None:
    """Take `execution` out of the lease; the users left (None: there was no lease)."""
    try:
        found = clients.dynamodb().update_item(
            TableName=table.name(),
            Key=_lease(group),
            UpdateExpression="DELETE #users :me",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#users": "users"},
            ExpressionAttributeValues={":me": {"SS": [execution]}},
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    return set(found.get("Attributes", {}).get("users", {}).get("SS", []))


def _put(group: str, pattern: str, deadline: Deadline) -> None:
    config = settings.load()
    if not config.telemetry_function_arn:
        raise RuntimeError("TELEMETRY_FUNCTION_ARN is not set; the template sets it")
    logs = clients.within("logs", min(PUT_SECONDS, deadline.remaining()))
    put = {
        "logGroupName": group,
        "filterName": config.telemetry_filter_name,
        "filterPattern": pattern,
        "destinationArn": config.telemetry_function_arn,
    }
    try:
        logs.put_subscription_filter(**put)
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise
        _create(logs, group)
        logs.put_subscription_filter(**put)


def _create(logs: Any, group: str) -> None:
    """The group Lambda would create at the function's first log (another caller may win)."""
    try:
        logs.create_log_group(logGroupName=group)
    except ClientError as error:
        if _code(error) != "ResourceAlreadyExistsException":
            raise


def _why_polled(group: str, error: Exception) -> str:
    code = _code(error)
    why = _FALLBACK.get(code) or f"could not be subscribed (PutSubscriptionFilter: {code})"
    return (
        f"log group {group} {why}: its logs are polled with FilterLogEvents, within the "
        "account's shared budget"
    )


def _code(error: Exception) -> str:
    """The error's code (`ThrottlingException`), or its class for a client-side one."""
    if isinstance(error, ClientError):
        return str(error.response["Error"]["Code"])
    return type(error).__name__


def remove(groups: list[str], execution: str) -> list[str]:
    """Release each group for `execution`, deleting the filter when nobody uses it; notes
    on what could not be removed (a leftover filter only feeds the telemetry, which counts
    and forgets: the next rollout of the group, or its guard, removes it)."""
    notes = []
    for group in sorted(groups):
        try:
            if _leave(group, execution) == set():
                _delete_unless_rejoined(group)
        except (ClientError, BotoCoreError) as error:
            notes.append(f"the subscription filter of {group} was not removed: {_code(error)}")
    return notes


def _delete_unless_rejoined(group: str) -> None:
    name = settings.load().telemetry_filter_name
    try:
        clients.logs().delete_subscription_filter(logGroupName=group, filterName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    lease = (
        clients.dynamodb()
        .get_item(TableName=table.name(), Key=_lease(group), ConsistentRead=True)
        .get("Item", {})
    )
    if lease.get("users", {}).get("SS"):  # someone placed it meanwhile: theirs again
        formats = set(lease.get("formats", {}).get("SS", []))
        _put(group, filter_pattern(formats), Deadline(PUT_SECONDS))
