"""`rollout demo`: a healthy and a faulty version rolled out live on the local cloud.

The story a newcomer sees: a sample function `orders` serves steady traffic through its
`live` alias. Publishing a healthy version makes EventBridge start a rollout (configured
from the function's tags, with a time-scaled CodeDeploy preset) that shifts traffic step
by step to success. Publishing a faulty version (it fails part of its real traffic) gets
caught by the health checks and rolled back. At the end, old versions nothing uses are
deleted by the clean-up rules (`rollout prune`), showing what is kept and the code storage
freed.

The local cloud runs with AWS's delays (`metric_delay`, rollout/local/metric_delay.py):
Lambda's metrics readable about two minutes after the minute they count, its logs two
seconds after each invocation. A time-scaled rollout is over long before any metric is
readable, so it is the logs signal that catches the faulty release, as it would be on AWS
in the first minutes of a real one; `caught_by` reads which signal it was, with its numbers,
from the failing check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rollout_core import versions
from rollout_core.errors import read_cause
from rollout_core.models import CheckResult, LogCounts, VersionCounts
from rollout_core.names import ErrorName

from rollout.aws import core_clients_with
from rollout.samples import code_zip, lambda_role

if TYPE_CHECKING:
    from rollout.local.cloud import LocalCloud

FUNCTION = "orders"
ALIAS = "live"
STRATEGY = "Linear10PercentEvery1Minute"


def rollout_tags(time_scale: float = 0.1, check_interval: int = 2) -> dict[str, str]:
    """Tags that opt `orders` in; at 0.1 the preset's nine one-minute steps take 54 s."""
    return {
        "rollout:alias": ALIAS,
        "rollout:strategy": STRATEGY,
        "rollout:time-scale": str(time_scale),
        "rollout:check-interval": str(check_interval),
    }


HANDLER_SOURCE = '''\
import os
import random


def handler(event, context):
    """A sample order service; FAILURE_RATE makes a share of requests fail, like a bad deploy."""
    if random.random() < float(os.environ.get("FAILURE_RATE", "0")):
        raise RuntimeError("payment provider rejected the request")
    return {"status": "accepted", "servedBy": context.function_version}
'''


@dataclass
class Outcome:
    version: str
    status: str
    error: str | None
    seconds: float
    alias_version: str
    caught_by: list[tuple[str, str]] = field(default_factory=list)  # (signal, what it saw)


def sample_code() -> bytes:
    return code_zip({"app.py": HANDLER_SOURCE})


def create_sample_function(lam: Any, iam: Any, tags: dict[str, str] | None = None) -> str:
    """`orders` v1 behind `live`, tagged for EventBridge-triggered rollouts; returns v1."""
    role = lambda_role(iam, "orders-demo-role")
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": sample_code()},
        Timeout=5,
        Tags=rollout_tags() if tags is None else tags,
        Environment={"Variables": {"FAILURE_RATE": "0", "RELEASE": "1"}},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION)
    version = str(lam.publish_version(FunctionName=FUNCTION)["Version"])
    lam.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=version)
    return version


def publish_release(lam: Any, release: int, failure_rate: float) -> str:
    """A configuration change and a new version, as a team's deploy pipeline would do."""
    lam.update_function_configuration(
        FunctionName=FUNCTION,
        Environment={"Variables": {"FAILURE_RATE": str(failure_rate), "RELEASE": str(release)}},
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION)
    return str(lam.publish_version(FunctionName=FUNCTION)["Version"])


def find_execution(sfn: Any, state_machine_arn: str, version: str, timeout: float = 30) -> str:
    """The execution EventBridge started for this published version."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for execution in sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]:
            detail = json.loads(
                sfn.describe_execution(executionArn=execution["executionArn"])["input"]
            ).get("detail", {})
            if detail.get("responseElements", {}).get("version") == version:
                return str(execution["executionArn"])
        time.sleep(0.5)
    raise TimeoutError(f"no rollout started for version {version} within {timeout:.0f} s")


def wait_for_end(sfn: Any, execution_arn: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.5)
    raise TimeoutError(f"{execution_arn} still running after {timeout:.0f} s")


def roll_out(
    clients: dict[str, Any],
    state_machine_arn: str,
    release: int,
    failure_rate: float,
    follow: Callable[[str], None],
) -> Outcome:
    """Publish a release, find the rollout EventBridge started, follow it to its end."""
    lam, sfn = clients["lambda"], clients["stepfunctions"]
    started = time.monotonic()
    version = publish_release(lam, release, failure_rate)
    execution_arn = find_execution(sfn, state_machine_arn, version)
    follow(execution_arn)
    described = wait_for_end(sfn, execution_arn)
    alias_version = lam.get_alias(FunctionName=FUNCTION, Name=ALIAS)["FunctionVersion"]
    check = failed_check(sfn, execution_arn) if described["status"] == "FAILED" else None
    return Outcome(
        version,
        described["status"],
        described.get("error"),
        time.monotonic() - started,
        str(alias_version),
        caught_by(check) if check else [],
    )


def failed_check(sfn: Any, execution_arn: str) -> CheckResult | None:
    """The failing health check: Check health's HealthCheckFailed error carries it as its
    details (rollout_core.errors.read_cause)."""
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    events = [event for page in pages for event in page["events"]]
    for event in reversed(events):
        details = event.get("taskFailedEventDetails") or {}
        if details.get("error") != ErrorName.HEALTH_CHECK_FAILED:
            continue
        _, found = read_cause(details.get("cause"))
        return found.lastCheck if found else None
    return None


def caught_by(check: CheckResult) -> list[tuple[str, str]]:
    """(signal, what it saw) for each signal that failed the check: ('logs signal',
    'version 3 failed 5/12 invocations (41.67%)'); alarms by name. Every reason starts with
    the signal that gave it (docs/workflow.md, "Checks and health")."""
    reasons = check.reasons
    found = []
    logs = check.logs.newVersion if check.logs else None
    if logs is not None and any(reason.startswith("logs:") for reason in reasons):
        found.append(("logs signal", _numbers(logs.version, logs.failures, logs)))
    metrics = check.newVersion
    if metrics is not None and any(reason.startswith("metrics:") for reason in reasons):
        found.append(("metric gate", _numbers(metrics.version, metrics.errors, metrics)))
    found += [("alarm", r.removeprefix("alarm ")) for r in reasons if r.startswith("alarm ")]
    found += [("low traffic", r) for r in reasons if r.startswith("low traffic")]
    return found


def _numbers(version: str, failed: int, counts: VersionCounts | LogCounts) -> str:
    return (
        f"version {version} failed {failed}/{counts.invocations} "
        f"invocations ({counts.errorRatePercent}%)"
    )


@dataclass
class CleanUp:
    result: versions.Result
    stored_before: int  # GetAccountSettings TotalCodeSize, bytes
    stored_after: int


def clean_up_versions(cloud: LocalCloud, keep: int) -> CleanUp:
    """What `rollout prune --function orders --keep N` does, with the account's code storage
    (GetAccountSettings) read before and after."""
    lam = cloud.client("lambda")
    before = int(lam.get_account_settings()["AccountUsage"]["TotalCodeSize"])
    with core_clients_with(cloud.client_env()):
        result = versions.clean_up(FUNCTION, keep)
    after = int(lam.get_account_settings()["AccountUsage"]["TotalCodeSize"])
    return CleanUp(result, before, after)
