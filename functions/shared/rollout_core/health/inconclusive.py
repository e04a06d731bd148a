"""What a step does when its last check is inconclusive: the canary judge could neither
pass nor fail the new version (health/verdict.py: a gating check, latency, inconclusive).
Inconclusive is never a silent pass, and a version is never promoted on no evidence. A
step's last check that could not confirm its alarms (health/alarms.py, `alarmsUnconfirmed`)
is extended then held the same way, whatever `health.inconclusive` says.

`health.inconclusive`:
- "extend" (the default): the step lasts one more check interval, and again, up to
  MAX_EXTENSIONS times; still inconclusive then, the rollout holds as with "pause".
- "pause": the rollout holds its weight (`hold: {kind: "inconclusive"}`, the channel's
  state `paused`); Wait for operator keeps checking (a failure still rolls back) and tells
  people once ("Rollout Held On Inconclusive Health", with the numbers). The operator
  decides: `rollout resume` (the step ends and the rollout goes on), `promote` or `abort`.
- "proceed": the step ends as planned; the check's notes say it went on inconclusive.

MAX_EXTENSIONS is 5: at the default 10 s interval, 50 s more traffic per step, about 50
more samples of a 10 % canary at 10 requests/s, where the rank test wants tens. Each
extension is in the cursor (`progress.extensions`, this step's) and in the check's notes;
the views show them per step.
"""

from __future__ import annotations

from datetime import datetime

from .. import clock, controls
from ..models import CheckResult, HealthPolicy, Inconclusive, Progress, RolloutPlan
from ..progress import WAIT_FLOOR_SECONDS
from . import verdict
from .alarms import UNCONFIRMED

MAX_EXTENSIONS = 5


def extension_checks(policy: HealthPolicy, steps: int, bake: int) -> int:
    """The most checks extensions may add to a plan (every step and the bake extended)."""
    if policy.inconclusive != "extend" or policy.latency is None:
        return 0
    return (steps + (1 if bake else 0)) * MAX_EXTENSIONS


def after_check(plan: RolloutPlan, cursor: Progress, now: datetime) -> Progress:
    """At the end of a step whose check is inconclusive: extend it, hold, or go on."""
    check = cursor.lastCheck
    if cursor.hold is not None or check is None or not cursor.stepComplete:
        return cursor
    if (check.model_extra or {}).get(UNCONFIRMED):  # never promote on unconfirmed alarms
        return _extend_or_hold(plan, cursor, check, now, "extend", "alarms not confirmed")
    if verdict.of(check) != "inconclusive":
        return cursor
    policy = plan.health.inconclusive
    if policy == "proceed":
        line = "canary: inconclusive at the end of the step; going on (inconclusive: proceed)"
        return _noted(cursor, check, line)
    return _extend_or_hold(plan, cursor, check, now, policy)


def _extend_or_hold(
    plan: RolloutPlan,
    cursor: Progress,
    check: CheckResult,
    now: datetime,
    policy: str,
    what: str = "canary: inconclusive",
) -> Progress:
    if policy == "extend" and cursor.extensions < MAX_EXTENSIONS:
        return extend(cursor, check, plan.checkIntervalSeconds, what)
    hold = Inconclusive(since=clock.iso(now), extensions=cursor.extensions, why=why(check))
    return cursor.model_copy(update={"hold": hold})  # the channel: controls.after_check


def extend(
    cursor: Progress, check: CheckResult, interval: int, what: str = "canary: inconclusive"
) -> Progress:
    seconds = max(WAIT_FLOOR_SECONDS, interval)
    number = cursor.extensions + 1
    extended = cursor.model_copy(
        update={
            "stepWaitSeconds": cursor.stepWaitSeconds + seconds,
            "stepComplete": False,
            "nextWaitSeconds": seconds,
            "extensions": number,
        }
    )
    line = (
        f"{what} at the end of the step; extended by {seconds} s "
        f"(extension {number} of {MAX_EXTENSIONS})"
    )
    return _noted(extended, check, line)


def why(check: CheckResult) -> list[str]:
    """The inconclusive checks that hold the step, each with its numbers."""
    unconfirmed = (check.model_extra or {}).get(UNCONFIRMED) or []
    alarms = [f"alarms {', '.join(unconfirmed)} not confirmed by DescribeAlarms"] * bool(
        unconfirmed
    )
    return alarms + [
        f"{name}: {v.why}" if name else v.why
        for name, found in verdict.judgements(check)
        for v in found.holding
    ]


def _noted(cursor: Progress, check: CheckResult, line: str) -> Progress:
    return cursor.model_copy(
        update={"lastCheck": check.model_copy(update={"notes": [*check.notes, line]})}
    )


def summary(plan: RolloutPlan, hold: Inconclusive, position: str) -> dict[str, object]:
    """The notification's detail: why the step held, and how to go on."""
    return {
        "outcome": "held_inconclusive",
        "executionId": plan.executionId,
        "functionName": plan.functionName,
        "alias": plan.alias,
        "stableVersion": plan.stableVersion,
        "targetVersion": plan.targetVersion,
        "position": position,
        "extensions": hold.extensions,
        "why": hold.why,
        "resumeCommand": controls.command("resume", plan.executionId),
        "abortCommand": controls.command("abort", plan.executionId),
    }
