"""Event source mappings: Lambda's pollers (SQS, Kinesis, DynamoDB, Kafka, MQ, DocumentDB)
invoke the FunctionArn each mapping was created with, a qualified ARN included.

ListEventSourceMappings is read once for the whole account, not by function name: its
FunctionName filter takes a version or alias ARN, and the API reference is silent on
whether an unqualified name also returns the mappings on the function's aliases and
versions, which are the ones that matter here. At most 100 mappings come per page; the read
stops after MAX_MAPPINGS and says so. One call in most accounts, shared by every function
of a release. Lambda quotas: the control plane's 15 requests per second.
"""

from __future__ import annotations

from typing import Any

from .. import clients
from ..models import TrafficSource
from .reading import Reading, account_wide, bounded
from .subject import Subject

MAX_MAPPINGS = 1000  # ten pages
# A mapping in these states polls (or will): the others invoke nothing (API reference,
# EventSourceMappingConfiguration.State).
POLLING = {"Creating", "Enabling", "Enabled", "Updating"}


def read(subjects: list[Subject], readings: list[Reading]) -> None:
    account_wide(
        subjects,
        readings,
        "event source mappings (ListEventSourceMappings)",
        _list,
        _source,
        f"event source mappings: only the first {MAX_MAPPINGS} of the account's were read",
    )


def _list() -> tuple[list[dict[str, Any]], bool]:
    pages = (
        clients.lambda_()
        .get_paginator("list_event_source_mappings")
        .paginate(PaginationConfig={"MaxItems": MAX_MAPPINGS})
    )
    return bounded(pages, "EventSourceMappings", "NextMarker", MAX_MAPPINGS)


def _source(subject: Subject, mapping: dict[str, Any]) -> TrafficSource | None:
    qualifier = subject.qualifier_in(str(mapping.get("FunctionArn", "")))
    if qualifier is None:
        return None
    batch = mapping.get("BatchSize")
    return TrafficSource(
        kind="event source mapping",
        source=str(mapping.get("EventSourceArn") or mapping.get("UUID")),
        qualifier=qualifier,
        enabled=str(mapping.get("State", "Enabled")) in POLLING,
        detail=f"batch size {batch}" if batch else None,
    )
