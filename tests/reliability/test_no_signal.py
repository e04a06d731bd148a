"""Throttling never rolls a healthy version back (rollout_core.deadline, rollout_core.blind):
every health read of one rollout is throttled, the checks note each API not read, and
after BLIND_CHECKS checks that read nothing the rollout holds its weight (a no-signal
hold) until an operator decides; it is never rolled back for it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from rollout_core.blind import BLIND_CHECKS
from rollout_core.channel import Control

from rollout.commands.control import caller, send
from rollout.local.faults import throttle
from tests.reliability.rollouts import (
    ALIAS,
    alias_of,
    history,
    lock_holder,
    rollout_input,
    sample_function,
    start,
    wait_for_end,
    wait_until,
)

pytestmark = [pytest.mark.cloud, pytest.mark.slow]


def held_progress(cloud: Any, arn: str) -> dict[str, Any] | None:
    """`$.progress` as Wait for operator was entered, once it was."""
    for event in history(cloud, arn):
        entered = event.get("stateEnteredEventDetails", {})
        if entered.get("name") == "Wait for operator":
            progress: dict[str, Any] = json.loads(entered["input"])["progress"]
            return progress
    return None


def test_a_rollout_that_reads_no_signal_holds_and_is_never_rolled_back(cloud, faults):
    name = f"fault-no-signal-{uuid.uuid4().hex[:6]}"
    stable, target = sample_function(cloud, name)
    inside = {"body_contains": name, "from_lambda": True}
    faults.add(
        throttle("cloudwatch", "GetMetricData", None, **inside),
        throttle("dynamodb", "Query", None, **inside),  # pushed counts
        throttle("logs", "FilterLogEvents", None, **inside),  # a group polled
    )
    arn = start(cloud, rollout_input(name, target, waits=(600,)))

    progress = wait_until(lambda: held_progress(cloud, arn), 120, f"the hold of {arn}", every=0.5)
    hold = progress["hold"]
    assert (hold["kind"], hold["checks"]) == ("no-signal", BLIND_CHECKS)
    assert any("metrics: GetMetricData throttled" in line for line in hold["unread"]), hold
    assert any(line.startswith("logs: ") and "throttled" in line for line in hold["unread"])
    assert progress["lastCheck"]["blindChecks"] == BLIND_CHECKS
    assert alias_of(cloud, name) == (stable, {target: 0.1})  # held, not rolled back
    events = history(cloud, arn)
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    assert "Roll back" not in entered

    faults.clear()  # the account's reads come back; the operator promotes
    control = Control.new("promote", "signals back", caller(cloud.client("sts")))
    table = cloud.stack_outputs["RolloutTableName"]
    send(cloud.client("dynamodb"), table, f"{name}:{ALIAS}", arn, control)
    ended = wait_for_end(cloud, arn, timeout=120)
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    assert alias_of(cloud, name) == (target, {})
    assert lock_holder(cloud, name) is None
