"""A rollout that can't read its health holds its weight: it is never rolled back for it.

A check judges what it could read (rollout_core.deadline): a throttled GetMetricData is a
note, and the alarms and the logs still judge. When no signal at all is read for
BLIND_CHECKS checks in a row (`lastCheck.blindChecks`: every read throttled, too slow, or
without budget), going on would move traffic unwatched, and rolling back would punish a
version for the account's throttling. So the rollout holds: `hold: {kind: "no-signal"}`,
the channel's state `paused`; Wait for operator keeps the weight, keeps checking (a failure
it can read still rolls back), and tells people once ("Rollout Held Without Health
Signal", naming the APIs that were not read). The operator decides: `rollout resume` (the
step goes on), `promote`, or `abort`.

BLIND_CHECKS is 3: at the default 10 s interval, half a minute without any signal.
"""

from __future__ import annotations

from datetime import datetime

from . import clock, controls
from .models import NoSignal, Progress, RolloutPlan

BLIND_CHECKS = 3


def after_check(plan: RolloutPlan, cursor: Progress, now: datetime) -> Progress:
    """Hold the weight once BLIND_CHECKS checks in a row have read nothing."""
    check = cursor.lastCheck
    blind = check.blindChecks if check else None
    if cursor.hold is not None or not blind or blind % BLIND_CHECKS:
        return cursor  # after a resume, BLIND_CHECKS more blind checks hold it again
    assert check is not None
    hold = NoSignal(since=clock.iso(now), checks=blind, unread=check.unread)
    return cursor.model_copy(update={"hold": hold})  # the channel: controls.after_check


def summary(plan: RolloutPlan, hold: NoSignal, position: str) -> dict[str, object]:
    """The notification's detail: what was not read, and how to go on."""
    return {
        "outcome": "held_no_signal",
        "executionId": plan.executionId,
        "functionName": plan.functionName,
        "alias": plan.alias,
        "stableVersion": plan.stableVersion,
        "targetVersion": plan.targetVersion,
        "position": position,
        "checks": hold.checks,
        "unread": hold.unread,
        "resumeCommand": controls.command("resume", plan.executionId),
        "abortCommand": controls.command("abort", plan.executionId),
    }
