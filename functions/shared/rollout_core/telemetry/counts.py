"""Each version's invocations, failures and samples, as the telemetry records them from the
log events its subscription filters push, and as a health check reads them back.

Counts are kept per version in time buckets of BUCKET_SECONDS, each split in SHARDS items
by log stream, so concurrent deliveries (one per stream and batch) rarely write the same
item: `c#<bucket start>#<shard>` with `invocations` and `failures` (UpdateItem ADD). A
check reads every bucket from its window's start (the first traffic shift) with one
consistent Query per version: the window is whole buckets, so it may start up to
BUCKET_SECONDS before the shift (the new version has no alias traffic before it; direct
invocations, the pre-traffic check's, count, as they do in the logs signal).

Samples, one per invocation (outcome, duration, billed duration, max memory, init
duration), go to `s#<bucket start>#<shard>` items, at most SAMPLES_PER_ITEM each, so an
item stays far below DynamoDB's 400 KB: the first ones of each bucket are kept, the others
only counted (`samplesDropped` on the count item). The canary judge reads them back
(`samples`, bounded: health/samples.py), newest first; no check carries them through the
state machine, only their summaries.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from .. import clients
from ..deadline import Deadline
from . import table
from .reports import Sample, Tally

BUCKET_SECONDS = 10
SHARDS = 2
SAMPLES_PER_ITEM = 100
_LAST = "c#9999999999#9"


def version_key(function: str, version: str) -> str:
    return f"v#{function}#{version}"


def shard(stream: str) -> int:
    return zlib.crc32(stream.encode()) % SHARDS


def _sort_key(kind: str, bucket: int, part: int) -> str:
    return f"{kind}#{bucket:010d}#{part}"


def record(function: str, version: str, bucket: int, stream: str, tally: Tally) -> None:
    """Add one delivery's tally of a version in a bucket: the samples that fit, then the
    counts (two writes; a batch is never written twice: telemetry.receive never raises)."""
    ddb = clients.dynamodb()
    name, part = table.name(), shard(stream)
    pk = version_key(function, version)
    dropped = len(tally.samples) - _append_samples(ddb, name, pk, bucket, part, tally)
    ddb.update_item(
        TableName=name,
        Key=table.key(pk, _sort_key("c", bucket, part)),
        UpdateExpression="ADD invocations :i, failures :f, samplesDropped :d SET #e = :e",
        ExpressionAttributeNames={"#e": table.EXPIRES},
        ExpressionAttributeValues={
            ":i": {"N": str(tally.invocations)},
            ":f": {"N": str(tally.failures)},
            ":d": {"N": str(dropped)},
            ":e": table.expiry(),
        },
    )


def _append_samples(ddb: Any, name: str, pk: str, bucket: int, part: int, tally: Tally) -> int:
    """Append the samples if the item has room for all of them; how many were kept."""
    new = tally.samples[:SAMPLES_PER_ITEM]
    if not new:
        return 0
    try:
        ddb.update_item(
            TableName=name,
            Key=table.key(pk, _sort_key("s", bucket, part)),
            UpdateExpression="SET samples = list_append(if_not_exists(samples, :none), :new), "
            "#e = :e",
            ConditionExpression="attribute_not_exists(samples) OR size(samples) <= :room",
            ExpressionAttributeNames={"#e": table.EXPIRES},
            ExpressionAttributeValues={
                ":none": {"L": []},
                ":new": {"L": [{"S": sample.encode()} for sample in new]},
                ":room": {"N": str(SAMPLES_PER_ITEM - len(new))},
                ":e": table.expiry(),
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return 0
    return len(new)


@dataclass(frozen=True)
class Totals:
    version: str
    invocations: int
    failures: int

    @property
    def rate(self) -> float | None:
        return 100 * self.failures / self.invocations if self.invocations else None


def totals(
    function: str, version: str, since: datetime, deadline: Deadline, *, after: bool = False
) -> Totals:
    """The version's counts from the bucket holding `since` to now (`after`: from the first
    bucket that starts at or after `since`, none of it earlier): one consistent Query (more
    pages only past 1 MB, days of buckets), each page within the deadline."""
    first = since.timestamp() / BUCKET_SECONDS
    start = (math.ceil(first) if after else math.floor(first)) * BUCKET_SECONDS
    invocations = failures = 0
    args: dict[str, Any] = {
        "TableName": table.name(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
        "ExpressionAttributeValues": {
            ":pk": {"S": version_key(function, version)},
            ":from": {"S": _sort_key("c", start, 0)},
            ":to": {"S": _LAST},
        },
        "ProjectionExpression": "invocations, failures",
        "ConsistentRead": True,
    }
    while True:
        page = clients.within("dynamodb", deadline.remaining()).query(**args)
        for item in page.get("Items", []):
            invocations += int(item.get("invocations", {}).get("N", "0"))
            failures += int(item.get("failures", {}).get("N", "0"))
        if "LastEvaluatedKey" not in page:
            return Totals(version, invocations, failures)
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


_LAST_SAMPLES = "s#9999999999#9"


def samples(
    function: str,
    version: str,
    since: datetime,
    deadline: Deadline,
    limit: int,
    until: datetime | None = None,
) -> tuple[list[Sample], bool]:
    """The version's samples from the bucket holding `since` to now (or to the bucket
    holding `until`), newest first, at most `limit` (whole items: each holds at most
    SAMPLES_PER_ITEM): one consistent Query, more pages only past 1 MB, each within the
    deadline. Also whether the limit cut the read."""
    start = int(since.timestamp()) // BUCKET_SECONDS * BUCKET_SECONDS
    last = (
        _LAST_SAMPLES
        if until is None
        else _sort_key("s", int(until.timestamp()) // BUCKET_SECONDS * BUCKET_SECONDS, SHARDS)
    )
    found: list[Sample] = []
    args: dict[str, Any] = {
        "TableName": table.name(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
        "ExpressionAttributeValues": {
            ":pk": {"S": version_key(function, version)},
            ":from": {"S": _sort_key("s", start, 0)},
            ":to": {"S": last},
        },
        "ProjectionExpression": "samples",
        "ScanIndexForward": False,
        "ConsistentRead": True,
    }
    while True:
        page = clients.within("dynamodb", deadline.remaining()).query(**args)
        for item in page.get("Items", []):
            if len(found) >= limit:
                return found[:limit], True
            found += [Sample.decode(s["S"]) for s in item.get("samples", {}).get("L", [])]
        if "LastEvaluatedKey" not in page:
            return found[:limit], len(found) > limit
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
