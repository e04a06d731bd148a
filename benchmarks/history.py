"""Figures of one execution, read from its GetExecutionHistory events.

Every interval between two consecutive `*StateEntered` events is charged to the state
entered first (its residence time), so the wall time splits exactly into the waits that
were asked for and the overhead of each state; nothing is timed on the client side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rollout_core import progress
from rollout_core.models import Progress
from rollout_core.names import WAIT_STATES, State

# entered after every Wait for next check
CHECK_CYCLE: tuple[str, ...] = (State.CHECK_HEALTH, State.STEP_DONE)
STEP_STATES: tuple[str, ...] = (State.SHIFT_TRAFFIC, State.NEXT_STEP)  # once per weighted step
_TASK_ENDS = ("TaskSucceeded", "TaskFailed", "TaskTimedOut")


@dataclass(frozen=True)
class Residence:
    name: str
    kind: str  # Task, Choice, Wait, Succeed, Fail, Pass
    seconds: float
    waited: float  # what a wait (Wait state or wait task) was asked to wait; else 0


@dataclass
class ExecutionFigures:
    status: str
    error: str | None
    wall_seconds: float
    residences: list[Residence]
    task_durations_ms: list[tuple[str, float]] = field(default_factory=list)
    task_invocations: int = 0  # TaskScheduled events: Lambda invokes asked for
    plan: dict[str, Any] = field(default_factory=dict)  # what Prepare decided

    @property
    def transitions(self) -> int:
        """What Step Functions bills: one per state entered."""
        return len(self.residences)

    @property
    def waits_seconds(self) -> float:
        return sum(r.waited for r in self.residences)

    @property
    def overhead_seconds(self) -> float:
        return self.wall_seconds - self.waits_seconds

    def overhead_of(self, names: tuple[str, ...]) -> list[float]:
        """Time spent in these states beyond what they were asked to wait, per visit."""
        return [r.seconds - r.waited for r in self.residences if r.name in names]

    def check_cycles(self) -> list[float]:
        """Overhead of each health check cycle: Wait overshoot + Check health + Step done?."""
        waits = self.overhead_of(WAIT_STATES[:1])
        rest = self.overhead_of(CHECK_CYCLE)
        return [w + rest[2 * i] + rest[2 * i + 1] for i, w in enumerate(waits)]

    def step_visits(self) -> list[float]:
        """Overhead of each weighted step outside its checks: Shift traffic + Next step?."""
        values = self.overhead_of(STEP_STATES)
        return [values[2 * i] + values[2 * i + 1] for i in range(len(values) // 2)]


def figures(described: dict[str, Any], events: list[dict[str, Any]]) -> ExecutionFigures:
    entered = [e for e in events if e["type"].endswith("StateEntered")]
    end = _as_time(events[-1]["timestamp"])
    residences = []
    for index, event in enumerate(entered):
        until = _as_time(entered[index + 1]["timestamp"]) if index + 1 < len(entered) else end
        details = event["stateEnteredEventDetails"]
        kind = event["type"].removesuffix("StateEntered")
        seconds = (until - _as_time(event["timestamp"])).total_seconds()
        # the waits for the next check are tasks evidence may end early (a token sent):
        # what they were asked to wait, at most what they did
        asked = kind == "Wait" or details["name"] in WAIT_STATES
        waited = min(_asked_wait(details), seconds) if asked else 0.0
        residences.append(Residence(details["name"], kind, seconds, waited))
    start = _as_time(events[0]["timestamp"])
    return ExecutionFigures(
        status=described["status"],
        error=described.get("error"),
        wall_seconds=(end - start).total_seconds(),
        residences=residences,
        task_durations_ms=_task_durations(events),
        task_invocations=sum(e["type"] == "TaskScheduled" for e in events),
        plan=_plan(events),
    )


def _plan(events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in events:
        details = event.get("stateExitedEventDetails", {})
        if details.get("name") == State.PREPARE:
            return dict(json.loads(details["output"]).get("plan", {}))
    return {}


def _asked_wait(details: dict[str, Any]) -> float:
    # the waits read $.progress (a wait with nothing to wait ends itself at once)
    document = json.loads(details.get("input") or "{}")
    return float(progress.to_wait(Progress.model_validate(document.get("progress", {}))))


def _task_durations(events: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """(state name, ms from TaskStarted to its end) per Lambda invocation."""
    by_id = {e["id"]: e for e in events}
    state, started, durations = "", {}, []
    for event in events:
        if event["type"] == "TaskStateEntered":
            state = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskStarted":
            started[event["id"]] = (state, _as_time(event["timestamp"]))
        elif event["type"] in _TASK_ENDS:
            origin = by_id.get(event.get("previousEventId", -1), {})
            name, at = started.get(origin.get("id", -1), (state, _as_time(event["timestamp"])))
            durations.append((name, (_as_time(event["timestamp"]) - at).total_seconds() * 1000))
    return durations


def _as_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
