"""The alarms signal: the rollout's (or release's) CloudWatch alarms, read once per check.

An alarm in ALARM fails the check. An alarm already in ALARM when the rollout started and
let through by `ignoreFiringAlarms` (plan.ignoredAlarms) is a note until it leaves ALARM;
from then on it is watched like the others (progress.rearmedAlarms). INSUFFICIENT_DATA,
or an alarm deleted during the rollout (MISSING), fails the check only with
`insufficientData: "fail"`.
"""

from __future__ import annotations

from .. import clients
from .signal import Check, Findings, Judged

MISSING = "MISSING"  # an alarm deleted during the rollout


def states(names: list[str]) -> dict[str, str]:
    """State of each named alarm (metric or composite); MISSING when it doesn't exist."""
    if not names:
        return {}
    found = clients.cloudwatch().describe_alarms(
        AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    by_name = {
        alarm["AlarmName"]: alarm["StateValue"]
        for kind in ("MetricAlarm", "CompositeAlarm")
        for alarm in found.get(f"{kind}s", [])
    }
    return {name: by_name.get(name, MISSING) for name in names}


def read(check: Check) -> Findings:
    plan, cursor = check.plan, check.cursor
    read_states = states(plan.alarms)
    judged, rearmed = Judged(numbers={"alarms": read_states}), []
    for name, state in read_states.items():
        if name in plan.ignoredAlarms and name not in cursor.rearmedAlarms:
            if state == "ALARM":
                judged.notes.append(f"alarm {name} still in ALARM (ignored since the start)")
            else:
                rearmed.append(name)
                judged.notes.append(f"alarm {name} left ALARM; watching it again")
        elif state == "ALARM":
            judged.reasons.append(f"alarm {name} is in ALARM")
        elif state in ("INSUFFICIENT_DATA", MISSING):
            line = f"alarm {name} is {state}"
            (judged.reasons if plan.insufficientData == "fail" else judged.notes).append(line)
    return Findings(rollout=judged, rearmed=rearmed)
