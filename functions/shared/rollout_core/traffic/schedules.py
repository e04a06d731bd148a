"""EventBridge Scheduler schedules: each invokes the ARN its target names, with a role
rather than a permission, so no policy statement points at it.

ListSchedules has no filter by target: its summaries carry each schedule's target ARN, so
the account's schedules are listed once (every group, paginated) for every function of a
release, up to MAX_SCHEDULES, and a longer list is a note.
"""

from __future__ import annotations

from typing import Any

from .. import clients
from ..models import TrafficSource
from .reading import Reading, attempt
from .subject import Subject

MAX_SCHEDULES = 1000


def read(subjects: list[Subject], readings: list[Reading]) -> None:
    notes: list[str] = []
    found = attempt(notes, "EventBridge Scheduler schedules (ListSchedules)", _list)
    for reading in readings:
        reading.unread += notes
    if found is None:
        return
    schedules, truncated = found
    for subject, reading in zip(subjects, readings, strict=True):
        for schedule in schedules:
            qualifier = subject.qualifier_in(str((schedule.get("Target") or {}).get("Arn", "")))
            if qualifier is None:
                continue
            name = f"{schedule.get('GroupName', 'default')}/{schedule.get('Name')}"
            reading.add(
                TrafficSource(
                    kind="Scheduler schedule",
                    source=name,
                    qualifier=qualifier,
                    enabled=schedule.get("State", "ENABLED") == "ENABLED",
                )
            )
        if truncated:
            reading.unread.append(
                f"Scheduler schedules: only the first {MAX_SCHEDULES} of the account's were read"
            )


def _list() -> tuple[list[dict[str, Any]], bool]:
    pages = clients.client("scheduler").get_paginator("list_schedules")
    schedules: list[dict[str, Any]] = []
    truncated = False
    for page in pages.paginate(PaginationConfig={"MaxItems": MAX_SCHEDULES}):
        schedules += page.get("Schedules", [])
        truncated = bool(page.get("NextToken")) and len(schedules) >= MAX_SCHEDULES
    return schedules, truncated
