"""The alarms signal: the rollout's (or release's) CloudWatch alarms, as their state change
events pushed them (rollout_core.telemetry.alarm_states): one BatchGetItem per check, no
DescribeAlarms. A state not confirmed for CONFIRM_SECONDS (a lost event, or an alarm never
seeded) is read again with DescribeAlarms within the account's shared budget; without a
token the pushed state is used and a note says how old it is.

The decisive check (the one whose pass promotes, or finalizes after the bake) reads every
alarm with DescribeAlarms, whatever its pushed state's age: no event tells of an alarm
deleted, or of permission to read it lost, so pushed states alone would promote on
evidence nobody confirmed. That is one call per rollout and phase, in the same budget.
Without a token, or throttled, the check records the alarms it could not confirm
(`alarmsUnconfirmed`) and the step is extended by one interval, then held
(health/inconclusive.py): neither promoted on them nor rolled back for the throttling.

An alarm in ALARM fails the check. An alarm already in ALARM when the rollout started and
let through by `ignoreFiringAlarms` (plan.ignoredAlarms) is a note until it leaves ALARM;
from then on it is watched like the others (progress.rearmedAlarms). INSUFFICIENT_DATA,
or an alarm deleted during the rollout (MISSING), fails the check only with
`insufficientData: "fail"`.
"""

from __future__ import annotations

from .. import clients
from ..deadline import READ_ERRORS, missed, unread
from ..models import Plan, Progress
from ..telemetry import alarm_states, table
from ..telemetry.alarm_states import MISSING, AlarmState
from .signal import Check, Findings, Judged

UNCONFIRMED = "alarmsUnconfirmed"  # the decisive check's alarms DescribeAlarms didn't confirm


def readings(names: list[str]) -> dict[str, dict[str, object]]:
    """Prepare's one DescribeAlarms: each named alarm's {state, updatedAt} (metric or
    composite; state MISSING when it doesn't exist), the seed of the states pushed from
    then on."""
    if not names:
        return {}
    found = clients.cloudwatch().describe_alarms(
        AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    by_name = {
        alarm["AlarmName"]: {
            "state": alarm["StateValue"],
            "updatedAt": alarm.get("StateUpdatedTimestamp"),
        }
        for kind in ("MetricAlarm", "CompositeAlarm")
        for alarm in found.get(f"{kind}s", [])
    }
    return {name: by_name.get(name, {"state": MISSING, "updatedAt": None}) for name in names}


def watched(plan: Plan, cursor: Progress) -> list[str]:
    """The alarms whose ALARM fails the check now (an ignored one only once rearmed)."""
    return [n for n in plan.alarms if n not in plan.ignoredAlarms or n in cursor.rearmedAlarms]


def read(check: Check) -> Findings:
    names = check.plan.alarms
    if not names:
        return Findings(read=None)
    try:
        pushed = alarm_states.read(names, check.deadline)
    except READ_ERRORS as error:
        if not missed(error):
            raise
        return Findings(unread=[unread("alarms", "DynamoDB BatchGetItem", error)], read=False)
    found, notes = _confirmed(names, pushed, check)
    findings = _judge(check, {n: found[n].value for n in names if n in found})
    findings.rollout.notes += notes
    if check.decisive and notes:  # not confirmed: the step can't end on them (inconclusive.py)
        findings.rollout.numbers[UNCONFIRMED] = sorted(pushed)
    missing = [n for n in names if n not in found]
    if missing:
        findings.unread.append(f"alarms: state of {', '.join(missing)} unknown")
        findings.read = len(missing) < len(names)
    return findings


def _confirmed(
    names: list[str], pushed: dict[str, AlarmState], check: Check
) -> tuple[dict[str, AlarmState], list[str]]:
    """The pushed states, the stale ones read again within the shared budget."""
    stale = names if check.decisive else alarm_states.stale(names, pushed)
    if not stale:
        return pushed, []
    try:
        fresh = alarm_states.reconcile(stale, check.deadline)
    except READ_ERRORS as error:
        if not missed(error):
            raise
        fresh, why = None, unread("alarms", "DescribeAlarms", error)
    else:
        why = "alarms: the account's DescribeAlarms budget had no token in time"
    if fresh is not None:
        return pushed | fresh, []
    now = table.now_ms()
    notes = [
        f"{why}; alarm {n} as pushed {pushed[n].age_seconds(now):.0f} s ago"
        for n in stale
        if n in pushed
    ]
    return pushed, notes


def _judge(check: Check, read_states: dict[str, str]) -> Findings:
    plan, cursor = check.plan, check.cursor
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
