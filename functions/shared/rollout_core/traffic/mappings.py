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
from .reading import Reading, attempt
from .subject import Subject

MAX_MAPPINGS = 1000  # ten pages
# A mapping in these states polls (or will): the others invoke nothing (API reference,
# EventSourceMappingConfiguration.State).
POLLING = {"Creating", "Enabling", "Enabled", "Updating"}


def read(subjects: list[Subject], readings: list[Reading]) -> None:
    notes: list[str] = []
    found = attempt(notes, "event source mappings (ListEventSourceMappings)", _list)
    for reading in readings:
        reading.unread += notes
    if found is None:
        return
    mappings, truncated = found
    for subject, reading in zip(subjects, readings, strict=True):
        for mapping in mappings:
            qualifier = subject.qualifier_in(str(mapping.get("FunctionArn", "")))
            if qualifier is not None:
                reading.add(_source(mapping, qualifier))
        if truncated:
            reading.unread.append(
                f"event source mappings: only the first {MAX_MAPPINGS} of the account's were read"
            )


def _list() -> tuple[list[dict[str, Any]], bool]:
    pages = (
        clients.lambda_()
        .get_paginator("list_event_source_mappings")
        .paginate(PaginationConfig={"MaxItems": MAX_MAPPINGS})
    )
    mappings: list[dict[str, Any]] = []
    truncated = False
    for page in pages:
        mappings += page.get("EventSourceMappings", [])
        truncated = bool(page.get("NextMarker")) and len(mappings) >= MAX_MAPPINGS
    return mappings, truncated


def _source(mapping: dict[str, Any], qualifier: str) -> TrafficSource:
    batch = mapping.get("BatchSize")
    return TrafficSource(
        kind="event source mapping",
        source=str(mapping.get("EventSourceArn") or mapping.get("UUID")),
        qualifier=qualifier,
        enabled=str(mapping.get("State", "Enabled")) in POLLING,
        detail=f"batch size {batch}" if batch else None,
    )
