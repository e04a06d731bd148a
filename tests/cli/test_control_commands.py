"""The operator commands' parsing, the conditions they send, and `rollout plan`'s numbers."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rollout_core import channel

from benchmarks import transitions
from rollout.cli import build_parser
from rollout.commands import plan

PLAN = {
    "checkIntervalSeconds": 10,
    "steps": [{"percentage": 10, "waitSeconds": 60}, {"percentage": 50, "waitSeconds": 25}],
    "bakeSeconds": 30,
    "approval": {"before": "each-step", "timeoutSeconds": 3600, "onTimeout": "rollback"},
}


@pytest.mark.parametrize("command", ["abort", "promote", "pause", "resume", "approve", "reject"])
def test_every_control_needs_a_reason(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "some-execution"])
    assert "--reason" in capsys.readouterr().err
    args = build_parser().parse_args([command, "x", "--reason", "why"])
    assert args.control == command and args.reason == "why"


def test_promote_full_is_its_own_action():
    args = build_parser().parse_args(["promote", "x", "--full", "--reason", "go"])
    assert args.full is True


def test_conditions_name_the_execution_and_the_states_it_applies_to():
    text, names, values = channel.condition("abort")
    assert text == "#owner = :exec AND #state IN (:s0, :s1, :s2)"
    assert [v["S"] for v in values.values()] == ["running", "paused", "awaiting-approval"]
    text, names, values = channel.condition("promote")
    assert text.endswith("AND #phase <> :bake AND attribute_not_exists(#control)")
    assert names["#phase"] == "phase"
    text, _, values = channel.condition("approve")
    assert text == "#owner = :exec AND #state IN (:s0) AND attribute_not_exists(#control)"
    assert values == {":s0": {"S": "awaiting-approval"}}


def test_the_plan_counts_checks_transitions_and_the_worst_case():
    numbers = plan.estimate(PLAN)
    assert numbers["checks"] == 6 + 3 + 3
    assert numbers["approvalGates"] == 3  # two steps and the bake
    # 4 before the steps, 2 + 3 per check a step, 6 after, 3 per bake check, 2 per gate
    assert numbers["transitions"] == 4 + (2 + 18) + (2 + 9) + 6 + 9 + 3 * 2
    assert numbers["worstCaseTransitions"] == 4 + 20 + 11 + 6 + 9 + 3 * 2 * 6
    assert numbers["worstCaseSeconds"] == 85 + 30 + 3 * 3600
    assert numbers["costUsd"] == pytest.approx(numbers["transitions"] * 0.000025)


def test_the_plans_states_entered_once_are_the_workflows():
    states = transitions.load_states()

    assert transitions.fixed_transitions(states) == plan.BEFORE_STEPS + plan.AFTER_STEPS


def test_the_plan_prints_alarm_names_and_notes_as_text():
    out = io.StringIO()
    console = Console(file=out, width=200)
    plan._notes({"notes": ["alarm [/x] is odd"]}, console)

    assert out.getvalue() == "note: alarm [/x] is odd\n"
