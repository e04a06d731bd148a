"""Operator controls in the run model, the watch view, `rollout status` and the report:
held rollouts shown as such, every operator action with its reason and caller."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rollout_core.errors import RolloutAborted
from rollout_core.models import ControlRecord

from rollout.commands.status import status_table
from rollout.view.history import build_run
from rollout.view.report import build_report
from rollout.view.run import Outcome
from rollout.view.watch import render

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:123456789012:execution:rollout:held-1"
ALICE = "arn:aws:iam::123456789012:user/alice"
PLAN = {
    "action": "rollout",
    "executionId": ARN,
    "functionName": "orders",
    "alias": "live",
    "stableVersion": "3",
    "targetVersion": "4",
    "strategy": {"name": "Steps", "kind": "steps"},
    "checkIntervalSeconds": 10,
    "steps": [{"percentage": 10, "weight": 0.1, "waitSeconds": 60}],
}


def progress(**more: Any) -> dict[str, Any]:
    return {
        "phase": "step",
        "stepIndex": 0,
        "stepCount": 1,
        "percentage": 10,
        "weight": 0.1,
        "stepStartedAt": "2026-11-30T10:00:01Z",
        "stepWaitSeconds": 60,
        "waitedSeconds": 60,
        "nextWaitSeconds": 0,
        "stepComplete": True,
        "hasNextStep": False,
        "checks": 6,
        "lastCheck": None,
        "rearmedAlarms": [],
        "hold": None,
        "lastControl": None,
        **more,
    }


def events(*states: tuple[str, str, dict[str, Any] | None]) -> list[dict[str, Any]]:
    """(type prefix, state name, output document or None for an entered event)."""
    result = []
    for number, (kind, name, output) in enumerate(states, start=1):
        if output is None:
            details = {"stateEnteredEventDetails": {"name": name, "input": "{}"}}
            event_type = f"{kind}StateEntered"
        else:
            details = {"stateExitedEventDetails": {"name": name, "output": json.dumps(output)}}
            event_type = f"{kind}StateExited"
        at = T0 + timedelta(seconds=number)
        result.append({"id": number, "type": event_type, "timestamp": at, **details})
    return result


APPROVAL = {
    "kind": "approval",
    "before": "promote",
    "since": "2026-11-30T10:01:00Z",
    "deadline": "2026-11-30T11:01:00Z",
    "onTimeout": "rollback",
    "approve": f'rollout approve {ARN} --reason "…"',
    "reject": f'rollout reject {ARN} --reason "…"',
}
PAUSE_CONTROL = {
    "action": "pause",
    "reason": "look at logs",
    "by": ALICE,
    "at": "2026-11-30T10:00:30.000Z",
    "appliedAt": "2026-11-30T10:00:31Z",
    "state": "Check health",
    "result": "applied",
}


def held_run(hold: dict[str, Any], control: dict[str, Any] | None = None) -> Any:
    doc = {"plan": PLAN, "progress": progress(hold=hold, lastControl=control)}
    history = events(
        ("Task", "Shift traffic", None),
        ("Task", "Shift traffic", {"plan": PLAN, "progress": progress(stepComplete=False)}),
        ("Task", "Check health", None),
        ("Task", "Check health", doc),
        ("Choice", "Step done?", None),
        ("Choice", "Step done?", doc),
        ("Task", "Wait for operator", None),
    )
    described = {"executionArn": ARN, "status": "RUNNING", "startDate": T0, "input": "{}"}
    return build_run(described, history)


def text(renderable: Any) -> str:
    console = Console(width=220, record=True)
    console.print(renderable)
    return console.export_text()


def test_awaiting_approval_says_how_to_answer_and_how_long_is_left():
    run = held_run(APPROVAL)
    now = datetime(2026, 11, 30, 10, 31, tzinfo=UTC)
    assert run.outcome is Outcome.RUNNING and run.held == "awaiting approval"
    shown = text(render(run, now))
    assert "Awaiting approval" in shown
    assert f'approve with: rollout approve {ARN} --reason "…"' in shown
    assert "30m00s left, then rollback" in shown
    assert "Awaiting approval" in text(status_table([run], now))


def test_paused_shows_who_paused_and_the_action_is_recorded():
    run = held_run({"kind": "pause", "since": "2026-11-30T10:00:31Z", "by": ALICE}, PAUSE_CONTROL)
    now = datetime(2026, 11, 30, 10, 2, tzinfo=UTC)
    assert run.held == "paused"
    assert "Paused" in text(render(run, now)) and f"paused by {ALICE}" in text(render(run, now))
    assert "Paused" in text(status_table([run], now))
    (action,) = run.operator_actions
    assert (action.action, action.reason, action.by) == ("pause", "look at logs", ALICE)
    page = build_report(run, now)
    assert "Operator: pause" in page and "look at logs" in page and ALICE in page


def test_an_abort_that_ended_the_run_is_on_the_timeline_with_its_caller():
    cause = f"Rolled back orders:live to version 3: Aborted by {ALICE}: error spike (during …)"
    control = ControlRecord(
        action="abort",
        reason="error spike",
        by=ALICE,
        at="2026-11-30T10:00:01.500Z",
        appliedAt="2026-11-30T10:00:02Z",
        state="Check health",
        result="RolloutAborted",
    )
    error = RolloutAborted(f"Aborted by {ALICE}: error spike (x)", control)  # as the task raises
    history = [
        *events(("Task", "Check health", None)),
        {
            "id": 2,
            "type": "TaskFailed",
            "timestamp": T0 + timedelta(seconds=2),
            "taskFailedEventDetails": {
                "error": "RolloutAborted",
                "cause": json.dumps({"errorMessage": str(error), "errorType": "RolloutAborted"}),
            },
        },
    ]
    described = {
        "executionArn": ARN,
        "status": "FAILED",
        "startDate": T0,
        "stopDate": T0 + timedelta(seconds=5),
        "input": "{}",
        "error": "RolloutAborted",
        "cause": cause,
    }
    run = build_run(described, history)
    (action,) = run.operator_actions
    assert (action.action, action.by, action.result) == ("abort", ALICE, "RolloutAborted")
    assert "error spike" in action.reason
    assert run.held is None
