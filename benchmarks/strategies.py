"""Per strategy: configured waits against wall time, transitions, invocations and AWS cost.

Rollouts run one after another (no contention between them), each on its own function,
no traffic (the error rate isn't judged; low traffic passes). The first one meets every
task Lambda cold and is reported as such; the rest run warm.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from benchmarks import cloudrun, transitions
from benchmarks.history import ExecutionFigures
from benchmarks.pricing import rollout_cost
from benchmarks.targets import ALIAS, Fleet


@dataclass(frozen=True)
class Case:
    label: str
    strategy: Any
    time_scale: float
    check_interval: int


def cases(step_seconds: int, linear_scale: float) -> list[Case]:
    explicit = {
        "steps": [{"percentage": 10 * (i + 1) - 5, "waitSeconds": step_seconds} for i in range(10)]
    }
    return [
        Case("AllAtOnce (cold task Lambdas)", "AllAtOnce", 1, 1),
        Case("AllAtOnce", "AllAtOnce", 1, 1),
        Case("Canary10Percent5Minutes x0.01", "Canary10Percent5Minutes", 0.01, 1),
        Case(
            f"Linear10PercentEvery1Minute x{linear_scale:g}",
            "Linear10PercentEvery1Minute",
            linear_scale,
            1,
        ),
        Case(f"10-step plan, {step_seconds} s steps", explicit, 1, 1),
    ]


def request(case: Case, function: str, version: str) -> dict[str, Any]:
    return {
        "functionName": function,
        "alias": ALIAS,
        "targetVersion": version,
        "strategy": case.strategy,
        "timeScale": case.time_scale,
        "checkIntervalSeconds": case.check_interval,
    }


def row(
    case: Case, run: ExecutionFigures, memory_mb: int, states: dict[str, Any], step_waits: list[int]
) -> dict[str, Any]:
    durations = [ms for _, ms in run.task_durations_ms]
    return {
        "strategy": case.label,
        "status": run.status,
        "waitsSeconds": run.waits_seconds,
        "wallSeconds": round(run.wall_seconds, 3),
        "overheadSeconds": round(run.overhead_seconds, 3),
        "ratio": round(run.waits_seconds / run.wall_seconds, 4) if run.wall_seconds else None,
        "transitions": run.transitions,
        "predictedTransitions": transitions.predicted(step_waits, case.check_interval, states),
        "taskInvocations": run.task_invocations,
        "taskMedianMs": round(statistics.median(durations), 1) if durations else None,
        "cost": rollout_cost(run.transitions, durations, memory_mb).as_dict(),
        "checkCycleOverheads": [round(v, 4) for v in run.check_cycles()],
        "stepOverheads": [round(v, 4) for v in run.step_visits()],
    }


def run(
    sfn: Any, fleet: Fleet, state_machine_arn: str, memory_mb: int, all_cases: list[Case]
) -> list[dict[str, Any]]:
    states = transitions.load_states()
    targets = fleet.create(len(all_cases))
    rows = []
    for case, target in zip(all_cases, targets, strict=True):
        figures = cloudrun.run(
            sfn, state_machine_arn, request(case, target.name, target.new), timeout=300
        )
        if figures.status != "SUCCEEDED":
            raise RuntimeError(f"{case.label} ended {figures.status}: {figures.error}")
        step_waits = [int(step["waitSeconds"]) for step in figures.plan["steps"]]
        rows.append(row(case, figures, memory_mb, states, step_waits))
    return rows


def extrapolate(
    row_: dict[str, Any], steps: int = 10, step_seconds: int = 60, check_interval: int = 10
) -> dict[str, Any]:
    """The measured overhead of a short-step run, carried to `steps` steps of `step_seconds`.

    Overhead splits into a fixed part (Prepare … Pre-traffic check, Promote … Finalize), a
    part per weighted step (Shift traffic, Next step?) and a part per health check (the
    Wait's overshoot, Check health, Step done?). Longer steps only add checks, so the
    extrapolation keeps the measured means and multiplies them by the new counts.
    """
    checks, visits = row_["checkCycleOverheads"], row_["stepOverheads"]
    fixed = row_["overheadSeconds"] - sum(checks) - sum(visits)
    per_check, per_step = statistics.mean(checks), statistics.mean(visits)
    check_count = steps * max(1, -(-step_seconds // check_interval))
    overhead = fixed + steps * per_step + check_count * per_check
    waits = steps * step_seconds
    return {
        "steps": steps,
        "stepSeconds": step_seconds,
        "checkIntervalSeconds": check_interval,
        "fixedSeconds": round(fixed, 3),
        "perStepSeconds": round(per_step, 4),
        "perCheckSeconds": round(per_check, 4),
        "checks": check_count,
        "overheadSeconds": round(overhead, 3),
        "waitsSeconds": waits,
        "ratio": round(waits / (waits + overhead), 4),
    }
