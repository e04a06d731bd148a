"""The names defined once in rollout_core.names match what they name: every state of the
definition, and every named error the task code raises."""

from __future__ import annotations

from typing import Any

from rollout_core import errors
from rollout_core.names import (
    CHECK_STATES,
    HOLD_STATES,
    OPERATOR_STOPS,
    REJECTIONS,
    WAIT_STATES,
    ErrorName,
    State,
)


def test_the_state_names_are_the_definitions_states(asl: dict[str, Any]):
    assert {state.value for state in State} == set(asl["States"])


def test_the_grouped_states_have_the_type_their_group_says(asl: dict[str, Any]):
    states = asl["States"]
    assert {states[name]["Resource"] for name in WAIT_STATES} == {
        "arn:aws:states:::lambda:invoke.waitForTaskToken"
    }
    grouped = [*WAIT_STATES, *CHECK_STATES.values(), *HOLD_STATES.values()]
    assert {states[name]["Type"] for name in grouped} == {"Task"}


def _named_errors(base: type = errors.RolloutError) -> set[str]:
    """Every error class the code can raise (a private base like _OperatorStop is not)."""
    found = set()
    for cls in base.__subclasses__():
        if not cls.__name__.startswith("_"):
            found.add(cls.__name__)
        found |= _named_errors(cls)
    return found


def test_the_error_names_are_the_named_errors_classes():
    assert {error.value for error in ErrorName} == _named_errors()


def test_the_rejections_are_what_prepares_catch_matches(asl: dict[str, Any]):
    """Prepare's refusals go to Explain rejection; the views and the guard read them so."""
    (caught,) = [c for c in asl["States"]["Prepare"]["Catch"] if c["Next"] == "Explain rejection"]
    assert set(caught["ErrorEquals"]) == REJECTIONS
    # the errors whose details are the control that ended the rollout
    assert {cls.__name__ for cls in errors._OperatorStop.__subclasses__()} == OPERATOR_STOPS
