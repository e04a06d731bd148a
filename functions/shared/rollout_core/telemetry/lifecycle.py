"""Start telemetry (after the pre-traffic check, before any traffic moves) and its end (the
Finalize states and the guard): what a rollout sets up to be watched, and takes down.

start: the rollout's watch items, its alarms' pushed states seeded from Prepare's readings
(this execution among their watchers), and, with the logs signal, the subscription filter
on the log group of each rolled version (stable and target: LoggingConfig decides the
group and the format, plan.logDestinations). A group that can't be subscribed is polled,
and the result says why (`$.telemetry.notes`). stop undoes each part, best effort: a
rollout's end never fails on its telemetry, and every item expires anyway.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from .. import release
from ..deadline import Deadline, unread
from ..lifetime import lock_ttl
from ..models import AlarmReading, RolloutPlan
from ..results import TelemetryStart
from . import alarm_states, subscriptions, watches

START_SECONDS = 25.0  # placing the filters, when no Lambda context says (Start telemetry: 30 s)


def log_groups(plan: RolloutPlan) -> dict[str, set[str]]:
    """Every log group the rollout's versions write to → the formats they write."""
    groups: dict[str, set[str]] = {}
    for member in release.members(plan):
        for version in (member.stableVersion, member.targetVersion):
            found = member.log_destination(version)
            groups.setdefault(found.logGroup, set()).add(found.logFormat)
    return groups


def start(plan: RolloutPlan, deadline: Deadline | None = None) -> TelemetryStart:
    """Watch the rollout until it ends (its items live as long as its lock); the
    subscriptions are placed before `deadline` (Start telemetry: its Lambda's time left)."""
    ttl_seconds = lock_ttl(plan)
    logs = plan.health.logs
    watches.start(plan, ttl_seconds, logs)
    readings = plan.alarmStates or [
        AlarmReading(name=n, state="INSUFFICIENT_DATA") for n in plan.alarms
    ]
    alarm_states.seed(readings, plan.executionId)
    if not logs:
        return TelemetryStart(alarmsWatched=plan.alarms)
    reads = deadline or Deadline(START_SECONDS)
    placed = subscriptions.place(log_groups(plan), plan.executionId, ttl_seconds, reads)
    return TelemetryStart(
        pushed=placed.pushed, polled=placed.polled, alarmsWatched=plan.alarms, notes=placed.notes
    )


def stop(plan: RolloutPlan) -> list[str]:
    """Take down what start set up; notes on what could not be."""
    notes: list[str] = []
    try:
        watches.stop(plan)
        alarm_states.unwatch(plan.alarms, plan.executionId)
    except (ClientError, BotoCoreError) as error:
        notes.append(f"telemetry: {unread('watch items', 'cleanup', error)}; they expire")
    if plan.health.logs:
        notes += subscriptions.remove(list(log_groups(plan)), plan.executionId)
    return notes
