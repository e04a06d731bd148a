"""Concurrent rollouts: N functions rolled out at once, each with the same short plan.

Wall time and overhead are per rollout (from its own history) and for the batch (first
start to last stop). New task Lambda execution environments (cold starts) are counted
from the log streams the runtime opens, one per environment.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks import cloudrun
from benchmarks.targets import ALIAS, Fleet

TASK_LOG_PREFIX = "/aws/lambda/rollout-"  # the stack's task functions


def request(function: str, version: str, steps: int) -> dict[str, Any]:
    plan = [{"percentage": 10 * (i + 1), "waitSeconds": 1} for i in range(steps)]
    return {
        "functionName": function,
        "alias": ALIAS,
        "targetVersion": version,
        "strategy": {"steps": plan},
        "checkIntervalSeconds": 1,
    }


def environments(logs: Any) -> int:
    """Task Lambda execution environments started so far (one log stream each)."""
    count = 0
    groups = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=TASK_LOG_PREFIX)
    for page in groups:
        for group in page["logGroups"]:
            streams = logs.get_paginator("describe_log_streams").paginate(
                logGroupName=group["logGroupName"]
            )
            count += sum(len(p["logStreams"]) for p in streams)
    return count


def level(
    clients: dict[str, Any], fleet: Fleet, arn: str, concurrency: int, steps: int
) -> dict[str, Any]:
    sfn = clients["stepfunctions"]
    targets = fleet.create(concurrency)
    before = environments(clients["logs"])
    executions = [cloudrun.start(sfn, arn, request(t.name, t.new, steps)) for t in targets]
    runs = [cloudrun.finish(sfn, e, timeout=120 + 2 * concurrency) for e in executions]
    failed = [r.error for r in runs if r.status != "SUCCEEDED"]
    if failed:
        raise RuntimeError(f"{len(failed)} of {concurrency} rollouts failed: {failed[:3]}")
    walls = [r.wall_seconds for r in runs]
    waits = runs[0].waits_seconds
    makespan = _makespan(sfn, executions)
    return {
        "concurrency": concurrency,
        "waitsSeconds": waits,
        "medianWallSeconds": round(statistics.median(walls), 3),
        "maxWallSeconds": round(max(walls), 3),
        "medianOverheadSeconds": round(statistics.median(walls) - waits, 3),
        "maxOverheadSeconds": round(max(walls) - waits, 3),
        "ratio": round(waits / statistics.median(walls), 4),
        "batchSeconds": round(makespan, 3),
        "newEnvironments": environments(clients["logs"]) - before,
    }


def _makespan(sfn: Any, executions: list[str]) -> float:
    described = [sfn.describe_execution(executionArn=e) for e in executions]
    first = min(d["startDate"] for d in described)
    last = max(d["stopDate"] for d in described)
    return float((last - first).total_seconds())


def run(
    clients: dict[str, Any], fleet: Fleet, arn: str, levels: list[int], steps: int = 3
) -> list[dict[str, Any]]:
    return [level(clients, fleet, arn, n, steps) for n in levels]
