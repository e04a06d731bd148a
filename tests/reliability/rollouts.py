"""Helpers for rollouts on the shared local cloud: sample functions, starts, waits, reads.

Every wait has a deadline; names are unique per test so tests can share the cloud.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from rollout_core.channel import AWAITING, STATE, Control

from rollout import samples
from rollout.commands.control import caller, send
from rollout.samples import lambda_role
from rollout.view.fetch import fetch_history
from tests.clients import shared_client
from tests.execution_ends import wait_for_end as execution_end

ALIAS = "live"
ROLE = "reliability-fn-role"
HANDLER = 'def handler(event, context):\n    return {{"ok": True, "build": "{label}"}}\n'


def code_zip(label: str) -> bytes:
    return samples.code_zip({"app.py": HANDLER.format(label=label)})


def role_arn(cloud: Any) -> str:
    return lambda_role(shared_client(cloud, "iam"), ROLE)


def sample_function(cloud: Any, name: str) -> tuple[str, str]:
    """`name` with version 1 live behind `live` and version 2 published; returns (1, 2).
    Tests create many at once, on Lambda's one control-plane quota (15 requests a second):
    throttled calls are retried as a careful script retries them."""
    lam = shared_client(cloud, "lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn(cloud),
        Handler="app.handler",
        Code={"ZipFile": code_zip("v1")},
        Timeout=5,
    )
    stable = str(lam.publish_version(FunctionName=name)["Version"])
    lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=stable)
    lam.update_function_code(FunctionName=name, ZipFile=code_zip("v2"))
    return stable, str(lam.publish_version(FunctionName=name)["Version"])


def rollout_input(name: str, target: str, waits: tuple[int, ...] = (1,), **extra: Any) -> dict:
    """A small explicit plan: one step per wait (10 %, 20 % ...), checked every second."""
    steps = [{"percentage": 10 * (i + 1), "waitSeconds": w} for i, w in enumerate(waits)]
    return {
        "functionName": name,
        "alias": ALIAS,
        "targetVersion": target,
        "strategy": {"steps": steps},
        "checkIntervalSeconds": 1,
        **extra,
    }


def start(cloud: Any, document: dict[str, Any]) -> str:
    sfn = shared_client(cloud, "stepfunctions")
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    return str(
        sfn.start_execution(stateMachineArn=machine, input=json.dumps(document))["executionArn"]
    )


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:g} s")


def wait_for_end(cloud: Any, arn: str, timeout: float = 60) -> dict[str, Any]:
    return execution_end(cloud, shared_client(cloud, "stepfunctions"), arn, timeout, every=0.2)


def history(cloud: Any, arn: str) -> list[dict[str, Any]]:
    sfn = shared_client(cloud, "stepfunctions")
    return fetch_history(sfn, arn)


def exited_states(cloud: Any, arn: str) -> list[str]:
    return [
        e["stateExitedEventDetails"]["name"]
        for e in history(cloud, arn)
        if "stateExitedEventDetails" in e
    ]


def wait_for_state(cloud: Any, arn: str, state: str, timeout: float = 30) -> None:
    """Until `state` has exited at least once."""
    wait_until(lambda: state in exited_states(cloud, arn), timeout, f"{state} in {arn}")


def alias_of(cloud: Any, name: str) -> tuple[str, dict[str, float]]:
    found = shared_client(cloud, "lambda").get_alias(FunctionName=name, Name=ALIAS)
    weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return str(found["FunctionVersion"]), {k: float(v) for k, v in weights.items()}


def lock_item(cloud: Any, name: str) -> dict[str, Any] | None:
    table = cloud.stack_outputs["RolloutTableName"]
    return (
        shared_client(cloud, "dynamodb")
        .get_item(TableName=table, Key={"lockKey": {"S": f"{name}:{ALIAS}"}}, ConsistentRead=True)
        .get("Item")
    )


def lock_holder(cloud: Any, name: str) -> str | None:
    item = lock_item(cloud, name)
    return item["owner"]["S"] if item else None


def approve(cloud: Any, name: str, arn: str, timeout: float = 120) -> None:
    """Approve the rollout `arn` once it waits at its approval gate, as `rollout approve`."""

    def awaiting() -> bool:
        item = lock_item(cloud, name) or {}
        return item.get(STATE, {}).get("S") == AWAITING

    wait_until(awaiting, timeout, f"{name} awaiting approval", every=0.5)
    control = Control.new("approve", "test", caller(shared_client(cloud, "sts")))
    table = cloud.stack_outputs["RolloutTableName"]
    send(shared_client(cloud, "dynamodb"), table, f"{name}:{ALIAS}", arn, control)


def guard_result(cloud: Any, arn: str, timeout: float = 30) -> dict[str, Any]:
    """What the guard did for execution `arn`, read from its "Guard finished" log line."""
    logs = shared_client(cloud, "logs")
    group = f"/aws/lambda/{cloud.stack_outputs['GuardFunctionName']}"

    def finished() -> dict[str, Any] | None:
        try:
            events = logs.filter_log_events(logGroupName=group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        for event in events:
            if arn not in event["message"] or "Guard finished" not in event["message"]:
                continue
            return dict(json.loads(event["message"])["result"])
        return None

    return dict(wait_until(finished, timeout, f"the guard's result for {arn}", every=0.2))


def task_function(cloud: Any, logical_id: str) -> str:
    """The deployed name of one of the stack's functions (e.g. "RollbackFunction")."""
    cfn = shared_client(cloud, "cloudformation")
    summaries = cfn.list_stack_resources(StackName=cloud.stack_name)["StackResourceSummaries"]
    (found,) = [s for s in summaries if s["LogicalResourceId"] == logical_id]
    return str(found["PhysicalResourceId"])
