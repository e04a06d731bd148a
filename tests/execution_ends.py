"""Wait for a Step Functions execution's end with a deadline, without polling in-process.

A `LocalCloud` in this process records each execution's end (`StepFunctionsEvents.ends`):
the wait sleeps on that, then reads the execution once with DescribeExecution, as a user
would. Any other cloud (served by another process), or a cloud without that seam, is
polled every `every` seconds. Polling at 5-10 calls a second per waiting test cost CPU on
both sides and ate DescribeExecution's quota (15 a second per account and Region).
"""

from __future__ import annotations

import time
from typing import Any

from rollout.local.cloud import LocalCloud
from rollout.local.stepfunctions import ExecutionEnds, StepFunctionsEvents


def wait_for_end(cloud: Any, sfn: Any, arn: str, timeout: float, every: float) -> dict[str, Any]:
    """DescribeExecution of `arn` once it is no longer RUNNING; TimeoutError after `timeout`."""
    deadline = time.monotonic() + timeout
    ends = _ends(cloud)
    if ends is not None:
        ends.wait(arn, timeout)
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"end of {arn} did not happen within {timeout:.0f} s")
        time.sleep(min(every, remaining))


def _ends(cloud: Any) -> ExecutionEnds | None:
    if not isinstance(cloud, LocalCloud):
        return None  # served by another process: only its API can say
    try:
        return cloud.seam(StepFunctionsEvents).ends
    except RuntimeError:  # started without that seam
        return None
