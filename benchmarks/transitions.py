"""State transitions of a successful rollout, predicted from the plan and the ASL's shape.

A successful rollout enters the states before the first shift once (Prepare, Roll out?,
Pre-traffic check), then per weighted step Shift traffic and Next step?, per health
check Wait for next check, Check health and Step done?, and after the last step the
states from Promote to Rolled out once. A step of `w` seconds checked every `i` seconds
has ceil(w / i) checks, so scaling every wait and the check interval by the same factor
keeps the count: Linear10PercentEvery1Minute at timeScale 0.1 with 1 s checks enters
exactly the states it enters unscaled with the default 10 s checks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rollout_core.names import State

ASL = Path(__file__).resolve().parents[1] / "statemachine" / "rollout.asl.json"
LOOP_ENTRY, PROMOTE = State.SHIFT_TRAFFIC, State.PROMOTE
# The loop the count relies on, as (state, where it goes); checked against the ASL.
LOOP = {
    State.SHIFT_TRAFFIC: {State.WAIT_FOR_NEXT_CHECK},
    State.WAIT_FOR_NEXT_CHECK: {State.CHECK_HEALTH},
    State.CHECK_HEALTH: {State.STEP_DONE},
    # a hold (pause, approval gate) leaves the loop for Wait for operator, and comes back
    State.STEP_DONE: {State.WAIT_FOR_OPERATOR, State.WAIT_FOR_NEXT_CHECK, State.NEXT_STEP},
    State.NEXT_STEP: {State.SHIFT_TRAFFIC, State.PROMOTE},
}
PER_STEP = 2  # Shift traffic, Next step?
PER_CHECK = 3  # Wait for next check, Check health, Step done?


def load_states(path: Path = ASL) -> dict[str, Any]:
    return dict(json.loads(path.read_text())["States"])


def check_loop(states: dict[str, Any]) -> None:
    """Fail loudly when the ASL no longer has the loop this model counts."""
    for name, expected in LOOP.items():
        state = states[name]
        targets = {state.get("Next"), state.get("Default")}
        targets |= {choice.get("Next") for choice in state.get("Choices", [])}
        if expected != targets - {None}:
            raise ValueError(f"ASL changed: {name} leads to {targets}, not {expected}")


def _happy_path(states: dict[str, Any], start: str, stop: str) -> int:
    """States entered from `start` until `stop` (excluded) or the end, on the success path."""
    count, name = 0, start
    while name and name != stop:
        state = states[name]
        count += 1
        name = state.get("Default") if state["Type"] == "Choice" else state.get("Next")
    return count


def fixed_transitions(states: dict[str, Any], start_at: str = State.PREPARE) -> int:
    """States entered once: before the first shift, and from Promote to the end (no bake)."""
    return _happy_path(states, start_at, LOOP_ENTRY) + _happy_path(states, PROMOTE, "")


def predicted(step_waits: list[int], check_interval: int, states: dict[str, Any]) -> int:
    """Transitions of a successful rollout with these weighted steps (no bake)."""
    check_loop(states)
    # AllAtOnce has no weighted step but passes the loop once with one zero wait
    checks = [max(1, math.ceil(wait / check_interval)) for wait in step_waits] or [1]
    return fixed_transitions(states) + sum(PER_STEP + PER_CHECK * c for c in checks)


def linear_every_minute_unscaled(states: dict[str, Any], check_interval: int = 10) -> int:
    """Linear10PercentEvery1Minute (nine 60 s steps) at the default check interval."""
    return predicted([60] * 9, check_interval, states)
