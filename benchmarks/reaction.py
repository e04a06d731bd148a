"""Reaction time: from a failure injected mid-step to the alias back on the stable version.

Each trial rolls a fresh function out with one 50 % step long enough never to end on its
own, checked every `check_interval` seconds. Once the alias carries the new version's
weight, the trial waits a random 0.3 … 2 x interval seconds (so injections fall at every
phase of the check cycle) and injects the failure:
- alarm: SetAlarmState ALARM on an alarm the rollout watches (its metric never gets
  data and it treats missing data as `ignore`, so the alarm seam leaves the state be);
- errors: the flag item that makes the new version raise, under steady traffic.
It then polls GetAlias every `poll` seconds until the alias is on the stable version
with no routing. Trials run in concurrent batches, each on its own function.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rollout_core.names import ErrorName

from benchmarks import cloudrun
from benchmarks.cloudrun import Deadline
from benchmarks.stats import summary
from benchmarks.targets import ALIAS, Fleet, Target, Traffic, alias_state, set_failing, warm

STEP_SECONDS = 300  # the step never ends during a trial: only the failure ends it


@dataclass(frozen=True)
class Settings:
    check_interval: int
    poll: float
    batch: int
    traffic_per_second: float


def request(target: Target, check_interval: int, alarms: list[str]) -> dict[str, Any]:
    return {
        "functionName": target.name,
        "alias": ALIAS,
        "targetVersion": target.new,
        "strategy": {"steps": [{"percentage": 50, "waitSeconds": STEP_SECONDS}]},
        "checkIntervalSeconds": check_interval,
        "alarms": alarms,
        "health": {"minInvocations": 1, "errorRatePercent": 1.0},
    }


def alarm_name(target: Target) -> str:
    return f"{target.name}-bench-alarm"


def put_alarm(cloudwatch: Any, target: Target) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=alarm_name(target),
        Namespace="Bench",
        MetricName="NeverEmitted",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="ignore",
    )
    cloudwatch.set_alarm_state(
        AlarmName=alarm_name(target), StateValue="OK", StateReason="benchmark: healthy at the start"
    )


def wait_until(probe: Callable[[], bool], poll: float, deadline: Deadline) -> None:
    while not probe():
        deadline.check()
        time.sleep(poll)


def trial(
    clients: dict[str, Any], arn: str, target: Target, kind: str, settings: Settings
) -> dict[str, Any]:
    lam, sfn = clients["lambda"], clients["stepfunctions"]
    alarms = [alarm_name(target)] if kind == "alarm" else []
    execution = cloudrun.start(sfn, arn, request(target, settings.check_interval, alarms))
    deadline = Deadline(60, f"{kind} trial on {target.name}")
    wait_until(lambda: bool(alias_state(lam, target)[1]), 0.05, deadline)
    time.sleep(random.uniform(0.3, 2 * settings.check_interval))
    if kind == "alarm":
        clients["cloudwatch"].set_alarm_state(
            AlarmName=alarm_name(target), StateValue="ALARM", StateReason="benchmark: injected"
        )
    else:
        set_failing(clients["dynamodb"], target, True)
    injected = time.monotonic()
    wait_until(lambda: alias_state(lam, target) == (target.stable, {}), settings.poll, deadline)
    reaction = time.monotonic() - injected
    described = cloudrun.wait_for_end(sfn, execution, timeout=30)
    return {
        "function": target.name,
        "seconds": round(reaction, 3),
        "status": described["status"],
        "error": described.get("error"),
    }


def batch(
    clients: dict[str, Any], arn: str, targets: list[Target], kind: str, settings: Settings
) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        futures = [pool.submit(trial, clients, arn, t, kind, settings) for t in targets]
        return [future.result() for future in futures]


def run(
    clients: dict[str, Any], fleet: Fleet, arn: str, trials: int, settings: Settings
) -> dict[str, Any]:
    """Both kinds of trial; clients are shared by the threads (boto3 clients are thread-safe,
    creating them concurrently is not)."""
    results: dict[str, Any] = {
        "checkIntervalSeconds": settings.check_interval,
        "pollSeconds": settings.poll,
        "batch": settings.batch,
    }
    cloudwatch = clients["cloudwatch"]
    for kind in ("alarm", "errors"):
        targets = fleet.create(trials)
        if kind == "alarm":
            for target in targets:
                put_alarm(cloudwatch, target)
        outcomes = []
        for start in range(0, trials, settings.batch):
            group = targets[start : start + settings.batch]
            per_second = settings.traffic_per_second if kind == "errors" else 0
            if per_second:
                warm(clients["lambda"], group)
            traffic = Traffic(clients["lambda"], group if per_second else [], per_second or 1)
            with traffic.running():
                outcomes += batch(clients, arn, group, kind, settings)
        seconds = [o["seconds"] for o in outcomes]
        results[kind] = {
            "trials": outcomes,
            "summary": summary(seconds),
            "rolledBack": sum(o["error"] == ErrorName.HEALTH_CHECK_FAILED for o in outcomes),
        }
    return results
