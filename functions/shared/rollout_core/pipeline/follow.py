"""One target of a wave, from the pipeline's side: start and follow its rollout where Step
Functions' own integration can't (another Region), record what it did, restore it.

A target in the pipeline's own Region is run by Run target: Step Functions'
`startExecution.sync:2`, with `Credentials` for the target role (the history shows the
nested execution; Step Functions waits for it without a state transition). A Task can't
start an execution in another Region, so there Start target starts it through that
Region's endpoint, and Follow target waits for it, reading it every POLL_SECONDS for up to
HOLD_SECONDS per task (two transitions per ten minutes of the target's rollout).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .. import clock
from ..channel import Control
from . import targets
from .models import Moved, PipelineTarget, Restored, TargetOutcome
from .plan import HOLD_SECONDS

POLL_SECONDS = 5.0


def start(target: PipelineTarget, rollout: dict[str, Any]) -> dict[str, Any]:
    return {"executionArn": targets.start(target, rollout), "done": False}


def follow(
    target: PipelineTarget,
    *,
    seconds: float = HOLD_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Wait up to `seconds` for the target's rollout to end; `done` says whether it did."""
    end = monotonic() + seconds
    while True:
        status = str(targets.describe(target)["status"])
        if status != "RUNNING" or monotonic() >= end:
            return {
                "executionArn": target.executionArn,
                "status": status,
                "done": status != "RUNNING",
            }
        sleep(POLL_SECONDS)


def record(target: PipelineTarget, run: dict[str, Any] | None) -> TargetOutcome:
    """What the target's rollout did. One still running (it could not be followed) is sent
    an abort, so it rolls itself back, and counts as failed."""
    try:
        described = targets.describe(target)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
            raise
        return targets.not_started(target, run or {})
    if described.get("status") == "RUNNING":
        reason = f"the pipeline could not follow it: {(run or {}).get('Error', 'unknown error')}"
        targets.abort(target, Control.new("abort", reason, "the pipeline"))
        running = targets.not_started(target, {"Error": "NotFollowed", "Cause": reason})
        return running.model_copy(
            update={"childStatus": "RUNNING", "startedAt": clock.iso(described["startDate"])}
        )
    return targets.outcome(target, described)


def restore(target: PipelineTarget, moved: list[Moved]) -> Restored:
    return targets.restore(target, moved)
