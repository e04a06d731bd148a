"""statemachine/pipeline.asl.json against the names defined once in
rollout_core.pipeline.names: every state (Map processors included), and the errors its
tasks raise by name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rollout_core.pipeline.names import HOLD_STATES, PipelineState

PIPELINE_ASL = Path(__file__).resolve().parents[2] / "statemachine" / "pipeline.asl.json"
# Not views' business: the restore Map's failure branch is named in the definition only.
UNNAMED = {"Restore failed"}


def states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in machine["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from states(state["ItemProcessor"])


def test_the_pipeline_state_names_are_the_definitions_states() -> None:
    definition = json.loads(PIPELINE_ASL.read_text(encoding="utf-8"))
    found = {name for name, _ in states(definition)}
    assert {state.value for state in PipelineState} == found - UNNAMED


def test_the_holds_are_one_task_each_with_room_for_ten_minutes() -> None:
    definition = dict(states(json.loads(PIPELINE_ASL.read_text(encoding="utf-8"))))
    for state in HOLD_STATES.values():
        assert definition[state]["Type"] == "Task"
        assert definition[state]["TimeoutSeconds"] >= 660, state


def test_run_target_is_the_nested_integration_with_the_target_role() -> None:
    definition = dict(states(json.loads(PIPELINE_ASL.read_text(encoding="utf-8"))))
    run = definition[PipelineState.RUN_TARGET]
    assert run["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert run["Credentials"] == {"RoleArn.$": "$.target.roleArn"}
    # every failure of a target is recorded, never lost: the Map always closes its wave
    assert {c["Next"] for c in run["Catch"]} == {PipelineState.RECORD_TARGET}
