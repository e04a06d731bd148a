"""Blockers: what holds the next wave (README, "Blockers").

An alarm of `blockers.alarms` in ALARM holds it, and so does one that no longer exists (a
blocker that can't be read is never taken as clear). Outside every `blockers.windows`
window it waits for the next opening. Each alarm is read where it is: the pipeline's own
account and Region with its own role, any other through the target role there
(rollout_core.remote).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from .. import clients, clock, remote
from .models import BlockerAlarm, Blockers
from .windows import describe, next_opening, open_at

KINDS = ("MetricAlarm", "CompositeAlarm")
BLOCKING = ("ALARM", "MISSING")  # INSUFFICIENT_DATA (no data yet) does not hold a wave


def reasons(blockers: Blockers, moment: datetime) -> list[str]:
    """Why the next wave can't start now; [] when nothing blocks it."""
    found = [
        f"alarm {alarm.alarmName} ({alarm.region} in {alarm.account}) is {state}"
        for alarm, state in alarm_states(blockers.alarms)
        if state in BLOCKING
    ]
    if not open_at(blockers.windows, moment):
        opening = next_opening(blockers.windows, moment)
        when = f"; next opens {clock.iso(opening)}" if opening else "; none opens (a freeze)"
        found.append(f"outside every window ({describe(blockers.windows)}){when}")
    return found


def alarm_states(alarms: list[BlockerAlarm]) -> list[tuple[BlockerAlarm, str]]:
    """Each alarm and its state, read in its own account and Region; MISSING: gone."""
    by_place: dict[tuple[str, str, str | None], list[BlockerAlarm]] = defaultdict(list)
    for alarm in alarms:
        by_place[(alarm.account, alarm.region, alarm.roleArn)].append(alarm)
    states: list[tuple[BlockerAlarm, str]] = []
    for (account, region, role), group in by_place.items():
        names = [alarm.alarmName for alarm in group]
        if role is None:
            answer = clients.cloudwatch().describe_alarms(AlarmNames=names, AlarmTypes=list(KINDS))
        else:
            there = remote.Target(account, region, role)
            answer = remote.cloudwatch(there).describe_alarms(
                AlarmNames=names, AlarmTypes=list(KINDS)
            )
        read = {
            found["AlarmName"]: found["StateValue"]
            for kind in KINDS
            for found in answer.get(f"{kind}s", [])
        }
        states += [(alarm, read.get(alarm.alarmName, "MISSING")) for alarm in group]
    return states
