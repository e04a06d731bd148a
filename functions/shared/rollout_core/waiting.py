"""Wait for next check and Wait during bake: wait for the check interval, or less.

Each is a Task `lambda:invoke.waitForTaskToken` (statemachine/rollout.asl.json): Step
Functions invokes this with the task's token and waits for SendTaskSuccess, or for the
cursor's `nextWaitSeconds` (TimeoutSecondsPath), whichever comes first. `arm` stores the
token on the rollout's watch item (rollout_core.telemetry.watches) with what can wake it:
the new versions' failures the telemetry records, judged by the logs signal's rule, and
the alarms whose ALARM fails the check. Evidence that came since the last check wakes the
wait at once. The wait's own failure is never the rollout's: a token that can't be stored
leaves the wait to its timeout (the clock), as it was before evidence could end it. A wait
asked to last 0 s (progress.to_wait) ends itself at once: its timeout can't be below 1 s.
"""

from __future__ import annotations

import logging
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from .health.alarms import watched
from .models import Progress, RolloutPlan
from .progress import to_wait
from .telemetry import watches

log = logging.getLogger(__name__)


def arm(plan: RolloutPlan, cursor: Progress, token: str, now: datetime) -> str:
    """`armed` (evidence or the clock ends the wait), `woken` (evidence had already come),
    `none` (nothing to wait: ended at once), or `clock` (nothing can wake it: only the
    timeout ends it)."""
    try:
        if to_wait(cursor) == 0:
            watches.end_now(token)
            return "none"
        evidence = watches.arm(plan, cursor, token, now, watched(plan, cursor))
        if evidence is None:
            return "armed"
        if watches.claim(plan.executionId, token):
            watches.send(token, evidence, 0)
        return "woken"
    except (ClientError, BotoCoreError) as error:
        log.warning("wait left to the clock", extra={"error": repr(error)})
        return "clock"
