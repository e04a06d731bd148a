"""Token buckets every rollout of an account and Region shares, kept in the telemetry table.

Some reads have a quota per account and Region that no rollout can spend alone: AWS
throttles every caller of the account once it is reached, people and tools included.
Where a rollout still needs such a read, it first takes a token from the bucket of that
API (`budget#<API>`), refilled at a documented share of the Region's quota (SHARES); with
no token left before its deadline, the read is not made, and the check says so.

- FilterLogEvents: the logs signal's polling, only for a function whose log group can't
  be pushed (it already has two subscription filters, or placing one failed). Its quota
  is hard: 25 per second in us-east-1, 10 in most Regions, 5 in five ("FilterLogEvents
  throttle limit in transactions per second", CloudWatch Logs quotas,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html).
  The rollouts share half; the other half is left to people and their tools.
- DescribeAlarms: only to reconcile an alarm whose pushed state is older than
  alarm_states.CONFIRM_SECONDS (a lost event). Its quota is 9 per second in every Region
  ("Rate of DescribeAlarms requests", CloudWatch service quotas,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html);
  the rollouts share a third.

A bucket holds BURST_SECONDS of its rate (a polled check needs four FilterLogEvents at
once, which must fit even in a 5-per-second Region). Taking is a consistent read and a
write conditioned on what was read, so two takers never spend the same token; a taker
that loses the race reads again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .. import clients
from ..deadline import Deadline, NotCalled, OutOfTime
from . import table

# FilterLogEvents transactions per second per account (CloudWatch Logs quotas, above).
FILTER_LOG_EVENTS_TPS = {
    "us-east-1": 25.0,
    **dict.fromkeys(
        ("ap-northeast-3", "ap-southeast-3", "ca-west-1", "eu-central-1", "il-central-1"), 5.0
    ),
}
FILTER_LOG_EVENTS_ELSEWHERE = 10.0
DESCRIBE_ALARMS_TPS = 9.0
SHARES = {"FilterLogEvents": 0.5, "DescribeAlarms": 1 / 3}
BURST_SECONDS = 2.0
_ATTEMPTS = 5  # races lost before giving up this check


def rate(api: str, region: str) -> float:
    """Tokens per second the rollouts of the account share in `region`."""
    if api == "FilterLogEvents":
        quota = FILTER_LOG_EVENTS_TPS.get(region, FILTER_LOG_EVENTS_ELSEWHERE)
    else:
        quota = DESCRIBE_ALARMS_TPS
    return quota * SHARES[api]


def spend(api: str, cost: int, deadline: Deadline) -> None:
    """`take`, or NotCalled naming the budget."""
    if not take(api, cost, deadline):
        raise NotCalled(f"the account's shared {api} budget had no token in time")


def take(
    api: str,
    cost: int,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Take `cost` tokens of `api`'s bucket, waiting for the refill while the deadline
    allows; False when they can't be had in time (the caller doesn't make the call)."""
    try:
        ddb = clients.within("dynamodb", deadline.remaining())
    except OutOfTime:
        return False
    per_second = rate(api, ddb.meta.region_name)
    capacity = per_second * BURST_SECONDS
    key = table.key(f"budget#{api}", "bucket")
    for _ in range(_ATTEMPTS):
        found = ddb.get_item(TableName=table.name(), Key=key, ConsistentRead=True).get("Item")
        now = table.now_ms()
        before = int(found["at"]["N"]) if found else None
        tokens = capacity if found is None else float(found["tokens"]["N"])
        tokens = min(capacity, tokens + max(0, now - (before or now)) / 1000 * per_second)
        if tokens < cost:
            wait = (cost - tokens) / per_second
            if wait >= deadline.remaining():
                return False
            sleep(wait)
            continue
        if _spend(ddb, key, before, tokens - cost, now):
            return True
    return False


def _spend(ddb: Any, key: dict[str, Any], before: int | None, left: float, now: int) -> bool:
    condition = "attribute_not_exists(pk)" if before is None else "#at = :before"
    values = {":left": {"N": f"{left:.3f}"}, ":now": {"N": str(now)}, ":e": table.expiry()}
    if before is not None:
        values[":before"] = {"N": str(before)}
    try:
        ddb.update_item(
            TableName=table.name(),
            Key=key,
            UpdateExpression="SET tokens = :left, #at = :now, #e = :e",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#at": "at", "#e": table.EXPIRES},
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True
