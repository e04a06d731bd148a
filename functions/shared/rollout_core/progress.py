"""The progress cursor: which step, how long it has waited, what the Choices read next.

Waited time advances by the planned waits (a wait that times out lasted at least that
long), so the number of health checks per step is fixed by the plan; a wait that evidence
ended early (its `$.wake`) advances by the time it lasted, and the check it brought is one
more. A wait's timeout is at least WAIT_FLOOR_SECONDS: the wait's TimeoutSecondsPath "must
select fields whose values are positive integers" (Task state, Step Functions developer
guide). A step of 0 s still waits nothing: the wait ends itself (`to_wait`, waiting.arm).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .clock import iso, parse
from .models import Plan, Progress, WaitEnd

WAIT_FLOOR_SECONDS = 1


def initial(plan: Plan) -> Progress:
    return Progress(stepCount=len(plan.steps), hasNextStep=bool(plan.steps))


def start_step(plan: Plan, progress: Progress, index: int, now: datetime) -> Progress:
    step = plan.steps[index]
    return _start(
        progress,
        now,
        phase="step",
        stepIndex=index,
        percentage=step.percentage,
        weight=step.weight,
        wait=step.waitSeconds,
        interval=plan.checkIntervalSeconds,
        hasNextStep=index + 1 < len(plan.steps),
    )


def start_bake(plan: Plan, progress: Progress, now: datetime) -> Progress:
    return _start(
        progress,
        now,
        phase="bake",
        stepIndex=len(plan.steps),
        percentage=100,
        weight=1.0,
        wait=plan.bakeSeconds,
        interval=plan.checkIntervalSeconds,
        hasNextStep=False,
    )


def nothing_to_shift(progress: Progress) -> Progress:
    """AllAtOnce: no weighted step, so the next check comes at once and leads to Promote."""
    return progress.model_copy(
        update={
            "phase": "step",
            "stepComplete": True,
            "hasNextStep": False,
            "nextWaitSeconds": WAIT_FLOOR_SECONDS,
        }
    )


def _start(
    progress: Progress, now: datetime, *, wait: int, interval: int, **fields: Any
) -> Progress:
    return progress.model_copy(
        update={
            **fields,
            "stepStartedAt": iso(now),
            "stepWaitSeconds": wait,
            "waitedSeconds": 0,
            "extensions": 0,
            "nextWaitSeconds": max(WAIT_FLOOR_SECONDS, min(interval, wait)),
            "stepComplete": wait == 0 and fields["phase"] == "bake",
        }
    )


def after_wait(progress: Progress, interval: int, wake: WaitEnd | None = None) -> Progress:
    """The cursor once the wait that preceded this check is over: it lasted its planned
    time, or (woken by evidence) the time it did."""
    lasted = progress.nextWaitSeconds
    if wake is not None and wake.how == "evidence" and wake.waitedSeconds is not None:
        lasted = min(lasted, wake.waitedSeconds)
    waited = min(progress.waitedSeconds + lasted, progress.stepWaitSeconds)
    remaining = max(progress.stepWaitSeconds - waited, 0)
    return progress.model_copy(
        update={
            "waitedSeconds": waited,
            "stepComplete": remaining == 0,
            "nextWaitSeconds": min(interval, remaining),
            "checks": progress.checks + 1,
        }
    )


def to_wait(progress: Progress) -> int:
    """Seconds the next wait is asked to last: nextWaitSeconds, but 0 when the step has
    nothing left to wait (a step of 0 s, AllAtOnce's check), whatever the timeout's floor."""
    if progress.stepComplete:
        return 0
    return min(progress.nextWaitSeconds, max(progress.stepWaitSeconds - progress.waitedSeconds, 0))


def window_start(progress: Progress, now: datetime, interval: int) -> datetime:
    """Where every health check's window starts: the first traffic shift, for the whole
    rollout (bake included).

    Both signals read data that arrives late: Lambda's metrics a minute or more after the
    invocation, its logs seconds after. A window that starts with each step would leave a
    gap at every step boundary: a failure in the last moments of a step, not yet readable
    by that step's last check, falls before the next step's window and is never judged.
    Reading from the first shift closes the gap whatever the delay (none is documented as
    an upper bound), so each check judges the new version over all the traffic it has had.

    The first check records its start in `lastCheck.since`; every later check reads it
    there. Without one (the first check), the step's start; before any shift (AllAtOnce's
    check at weight 0), one interval back."""
    if progress.lastCheck is not None and progress.lastCheck.since is not None:
        return progress.lastCheck.since
    if progress.stepStartedAt:
        return parse(progress.stepStartedAt)
    return now - timedelta(seconds=interval)


def where(progress: Progress) -> str:
    """'step 3/9 at 30%' — the position people read in a Cause."""
    if progress.phase == "bake":
        return f"bake at 100% ({progress.waitedSeconds}/{progress.stepWaitSeconds} s)"
    if progress.phase == "pending" or progress.stepIndex < 0:
        return "before any traffic shift"
    return f"step {progress.stepIndex + 1}/{progress.stepCount} at {progress.percentage:g}%"
