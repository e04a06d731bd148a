"""A release of ten functions next to a rollout of one: transitions and overhead.

Each task handles a release's whole list in one invocation (rollout_core.release), so the
transitions (what Step Functions bills) should not grow with the number of functions; what
grows is the work inside each task: an alias update, a metric query and a log read per
function. Same strategy, same check interval, run one after the other, no traffic.
"""

from __future__ import annotations

import os
import statistics
from datetime import UTC, datetime
from typing import Any

from benchmarks import cloudrun
from benchmarks.history import ExecutionFigures
from benchmarks.targets import ALIAS, Fleet, Target

STRATEGY = {"steps": [{"percentage": p, "waitSeconds": 1} for p in (10, 30, 60)]}
SIZES = (1, 10)


def request(targets: list[Target]) -> dict[str, Any]:
    entries = [{"functionName": t.name, "alias": ALIAS, "targetVersion": t.new} for t in targets]
    options = {"strategy": STRATEGY, "checkIntervalSeconds": 1}
    if len(entries) == 1:
        return entries[0] | options
    return {"functions": entries} | options


def row(size: int, run: ExecutionFigures) -> dict[str, Any]:
    tasks = {}
    for name, ms in run.task_durations_ms:
        tasks.setdefault(name, []).append(ms)
    return {
        "functions": size,
        "status": run.status,
        "transitions": run.transitions,
        "taskInvocations": run.task_invocations,
        "waitsSeconds": run.waits_seconds,
        "wallSeconds": round(run.wall_seconds, 3),
        "overheadSeconds": round(run.overhead_seconds, 3),
        "taskMs": {name: round(sum(values), 1) for name, values in sorted(tasks.items())},
    }


def run(sfn: Any, fleet: Fleet, state_machine_arn: str, repeat: int = 1) -> dict[str, Any]:
    """Each size `repeat` times (interleaved, so load drifts hit both alike)."""
    rows: list[dict[str, Any]] = []
    for _ in range(repeat):
        for size in SIZES:
            figures = cloudrun.run(sfn, state_machine_arn, request(fleet.create(size)), 300)
            if figures.status != "SUCCEEDED":
                raise RuntimeError(f"{size}-function release ended {figures.status}")
            rows.append(row(size, figures))
    one = [r for r in rows if r["functions"] == 1]
    ten = [r for r in rows if r["functions"] == SIZES[-1]]
    return {
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadAverage": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "rows": rows,
        "transitionRatio": round(ten[0]["transitions"] / one[0]["transitions"], 3),
        "overheadRatio": round(
            statistics.median(r["overheadSeconds"] for r in ten)
            / statistics.median(r["overheadSeconds"] for r in one),
            2,
        ),
    }
