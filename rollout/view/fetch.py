"""Reading one execution from Step Functions (AWS or the local cloud) into a Run."""

from __future__ import annotations

from typing import Any

from rollout.view.history import TERMINAL_EVENTS, build_run
from rollout.view.run import Run


def fetch_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn, includeExecutionData=True
    )
    return [event for page in pages for event in page["events"]]


def fetch_run(sfn: Any, execution_arn: str, machine: dict[str, Any] | None = None) -> Run:
    """Read one execution; `machine` (DescribeStateMachineForExecution) is fetched if not given."""
    history = fetch_history(sfn, execution_arn)
    describe = sfn.describe_execution(executionArn=execution_arn)
    if describe["status"] != "RUNNING" and not any(e["type"] in TERMINAL_EVENTS for e in history):
        history = fetch_history(sfn, execution_arn)  # it ended between the two calls
    if machine is None:
        machine = sfn.describe_state_machine_for_execution(executionArn=execution_arn)
    return build_run(describe, history, machine)
