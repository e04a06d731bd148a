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
from .reading import Reading, account_wide, bounded
from .subject import Subject

MAX_SCHEDULES = 1000


def read(subjects: list[Subject], readings: list[Reading]) -> None:
    account_wide(
        subjects,
        readings,
        "EventBridge Scheduler schedules (ListSchedules)",
        _list,
        _source,
        f"Scheduler schedules: only the first {MAX_SCHEDULES} of the account's were read",
    )


def _list() -> tuple[list[dict[str, Any]], bool]:
    pages = clients.client("scheduler").get_paginator("list_schedules")
    return bounded(
        pages.paginate(PaginationConfig={"MaxItems": MAX_SCHEDULES}),
        "Schedules",
        "NextToken",
        MAX_SCHEDULES,
    )


def _source(subject: Subject, schedule: dict[str, Any]) -> TrafficSource | None:
    qualifier = subject.qualifier_in(str((schedule.get("Target") or {}).get("Arn", "")))
    if qualifier is None:
        return None
    return TrafficSource(
        kind="Scheduler schedule",
        source=f"{schedule.get('GroupName', 'default')}/{schedule.get('Name')}",
        qualifier=qualifier,
        enabled=schedule.get("State", "ENABLED") == "ENABLED",
    )
