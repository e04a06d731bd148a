"""Driving rollouts on the local cloud: start one, wait for its end, read its history."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from benchmarks.history import ExecutionFigures, figures

POLL_SECONDS = 0.05


class Deadline:
    """Every wait in the benchmark ends, one way or the other."""

    def __init__(self, seconds: float, what: str) -> None:
        self._end = time.monotonic() + seconds
        self._what = what
        self._seconds = seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise TimeoutError(f"{self._what}: not done within {self._seconds:.0f} s")


def start(sfn: Any, state_machine_arn: str, request: dict[str, Any]) -> str:
    name = f"bench-{uuid.uuid4().hex[:12]}"
    response = sfn.start_execution(
        stateMachineArn=state_machine_arn, name=name, input=json.dumps(request)
    )
    return str(response["executionArn"])


def wait_for_end(sfn: Any, execution_arn: str, timeout: float) -> dict[str, Any]:
    deadline = Deadline(timeout, execution_arn)
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        deadline.check()
        time.sleep(POLL_SECONDS)


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return [event for page in pages for event in page["events"]]


def run(
    sfn: Any, state_machine_arn: str, request: dict[str, Any], timeout: float
) -> ExecutionFigures:
    """One rollout from start to end, and what its history says about it."""
    execution_arn = start(sfn, state_machine_arn, request)
    return finish(sfn, execution_arn, timeout)


def finish(sfn: Any, execution_arn: str, timeout: float) -> ExecutionFigures:
    described = wait_for_end(sfn, execution_arn, timeout)
    return figures(described, history(sfn, execution_arn))
