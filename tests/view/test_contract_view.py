"""The views read the workflow's typed contract (rollout_core.models): the hold (a pause or
an approval gate), each control and the one that ended a run (abort, reject or an approval
timeout, told apart by the error's details, never by its words), and each health check,
passed or failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from rollout_core.errors import ApprovalTimedOut, HealthCheckFailed, RolloutAborted
from rollout_core.models import ApprovalGate, CheckResult, ControlRecord, Pause

from rollout.view.history import build_run
from rollout.view.report import build_report
from rollout.view.run import Outcome, Run
from rollout.view.watch import LinePrinter, render
from tests.cli.histories import T0, History, check, prepared, progress

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
GATE = {
    "kind": "approval",
    "before": "promote",
    "since": "2026-11-26T10:01:00Z",
    "deadline": "2026-11-26T11:01:00Z",
    "onTimeout": "rollback",
    "approve": 'rollout approve run-1 --reason "…"',
    "reject": 'rollout reject run-1 --reason "…"',
    "notified": {"sns": None, "eventBridge": True},
}
PAUSE = {"kind": "pause", "since": "2026-11-26T10:00:40Z", "by": ALICE}


def text(renderable: Any) -> str:
    console = Console(width=220, record=True)
    console.print(renderable)
    return console.export_text()


def held(hold: dict[str, Any], **more: Any) -> Run:
    h = (
        prepared()
        .state("Shift traffic", progress=progress())
        .state("Wait for next check", "Wait", seconds=10)
        .state("Check health", progress=progress(checks=1, lastCheck=check(), hold=hold, **more))
        .state("Step done?", "Choice", seconds=0)
        .enter("Wait for operator")
    )
    return build_run(h.describe("RUNNING"), h.events)


def test_an_approval_gate_is_read_as_the_contracts_gate():
    run = held(GATE)

    assert isinstance(run.hold, ApprovalGate) and run.held == "awaiting approval"
    assert run.hold.deadline == datetime(2026, 11, 26, 11, 1, tzinfo=UTC)
    assert run.hold.notified == {"sns": None, "eventBridge": True}
    now = datetime(2026, 11, 26, 10, 31, tzinfo=UTC)
    assert run.hold_line(now) == (
        f"awaiting approval before promote (approve with: {GATE['approve']}; "
        f"reject with: {GATE['reject']}) — 30m00s left, then rollback"
    )


def test_a_pause_is_read_as_the_contracts_pause_with_the_control_that_made_it():
    pause = {
        "action": "pause",
        "reason": "look at logs",
        "by": ALICE,
        "at": "2026-11-26T10:00:39.120Z",
        "appliedAt": "2026-11-26T10:00:40Z",
        "state": "Check health",
        "result": "applied",
    }
    run = held(PAUSE, lastControl=pause)

    assert isinstance(run.hold, Pause) and (run.hold.by, run.held) == (ALICE, "paused")
    assert run.operator_actions == [ControlRecord.model_validate(pause)]
    assert "Paused" in text(render(run, datetime(2026, 11, 26, 10, 2, tzinfo=UTC)))


def test_an_inconclusive_hold_says_why_it_holds():
    why = [
        "orders: latency: can't tell yet whether version 4 is within the tolerance "
        "(+25% and +10 ms at 98% confidence): median 9.65 vs 10.75 ms, n 9 vs 94",
        "alarms orders-errors not confirmed by DescribeAlarms",
    ]
    hold = {"kind": "inconclusive", "since": "2026-11-26T10:00:40Z", "extensions": 5, "why": why}
    run = held(hold)

    line = run.hold_line(datetime(2026, 11, 26, 10, 2, tzinfo=UTC))
    assert line == (
        f"held: inconclusive after 5 extension(s): {why[0]}; {why[1]} (resume, promote or abort it)"
    )
    assert run.reason == line  # what `watch` prints and its timeout names
    printed = LinePrinter(Console(width=400, record=True))
    printed.update(run)
    assert f"⏸ Paused {line}" in printed.console.export_text()


def _ended_by(error: Exception, state: str = "Wait for operator") -> Run:
    """A rollout the error (raised by `state`'s task) ended: rolled back, as the workflow's
    Fail state records it, with only the human line in its Cause."""
    cause = json.dumps({"errorMessage": str(error), "errorType": type(error).__name__})
    line = str(error).partition("\n")[0]
    fail_cause = f"Rolled back orders:live to version 3: {line} — state: {state}"
    h = (
        prepared()
        .state("Shift traffic", progress=progress())
        .enter(state)
        .task_failed(type(error).__name__, cause)
        .exit(state, failure={"Error": type(error).__name__, "Cause": cause})
        .state("Roll back", rollback={"error": type(error).__name__, "cause": fail_cause})
        .state("Notify rollback", outcome={"outcome": "rolled_back"})
        .enter("Rolled back", "Fail", seconds=0)
        .finish("FAILED", type(error).__name__, fail_cause)
    )
    return build_run(h.describe("FAILED", type(error).__name__, fail_cause), h.events)


def _control(action: str, by: str, result: str, state: str = "Wait for operator") -> ControlRecord:
    return ControlRecord(
        action=action,
        reason="the numbers look wrong",
        by=by,
        at="2026-11-26T10:00:05.000Z",
        appliedAt="2026-11-26T10:00:06Z",
        state=state,
        result=result,
    )


@pytest.mark.parametrize(
    ("error", "action", "by"),
    [
        (
            RolloutAborted(
                f"Aborted by {ALICE}: the numbers look wrong (during Check health, step 1/1)",
                _control("abort", ALICE, "RolloutAborted", "Check health"),
            ),
            "abort",
            ALICE,
        ),
        (
            # The words say "Aborted" by someone else: only the details are read.
            RolloutAborted(
                "Aborted by mallory: a message a view must not read",
                _control("reject", BOB, "RolloutAborted"),
            ),
            "reject",
            BOB,
        ),
        (
            ApprovalTimedOut(
                "Nobody approved orders:live version 4 before promote by 2026-11-26T10:00:06Z",
                _control("approval-timeout", "the workflow", "ApprovalTimedOut"),
            ),
            "approval-timeout",
            "the workflow",
        ),
    ],
)
def test_the_control_that_ended_a_run_comes_from_the_errors_details(error, action, by):
    state = "Check health" if action == "abort" else "Wait for operator"
    run = _ended_by(error, state)

    assert run.outcome is Outcome.ROLLED_BACK
    (ended,) = run.operator_actions
    assert ended == error.control
    assert (ended.action, ended.by, ended.state) == (action, by, state)
    assert ended.result == type(error).__name__
    page = build_report(run, T0 + timedelta(minutes=1))
    assert f"Operator: {action}" in page and "the numbers look wrong" in page
    printer = LinePrinter(Console(width=300, record=True))
    assert any(f"operator {action} by {by}" in line.plain for line in printer.new_lines(run))


def test_an_older_runs_ending_control_is_shown_without_reading_its_words():
    """Before errors carried the control, the message was all there was: the view says what
    the error tells (abort or reject) and shows the message, but learns nothing from it."""
    run = _ended_by(RolloutAborted(f"Rejected at the approval gate by {BOB}: no (during x)"))

    (ended,) = run.operator_actions
    assert (ended.action, ended.by, ended.result) == ("abort or reject", "?", "RolloutAborted")
    assert ended.reason == f"Rejected at the approval gate by {BOB}: no (during x)"
    assert ended.appliedAt is not None and ended.state == "Wait for operator"


def test_checks_are_read_as_the_contracts_check_results():
    """A passed check is progress.lastCheck; a later state repeating it (Promote, with the
    rollout at 100 %) is the same check; an older run's check, without where the rollout
    stood, takes the position of the progress it came with."""
    current = {**check(), "reasons": [], "phase": "step", "percentage": 10}
    older = check(at="2026-11-26T10:00:30Z")  # no phase, percentage, reasons: an older run
    h = (
        prepared()
        .state("Shift traffic", progress=progress(phase="step"))
        .state("Check health", progress=progress(phase="step", checks=1, lastCheck=current))
        .state("Check health", progress=progress(phase="step", checks=2, lastCheck=older))
        .state("Promote", progress=progress(phase="bake", percentage=100, lastCheck=older))
    )
    run = build_run(h.describe("RUNNING"), h.events)

    assert run.checks == [
        CheckResult.model_validate(current),
        CheckResult.model_validate({**older, "phase": "step", "percentage": 10}),
    ]
    assert all(isinstance(c, CheckResult) for c in run.checks)
    assert run.last_check is not None and run.last_check.newVersion is not None
    assert run.last_check.newVersion.version == "4"


def test_a_failed_check_is_its_errors_details():
    failing = CheckResult.model_validate(
        {**check(healthy=False), "reasons": ["alarm orders-errors is in ALARM"]}
        | {"phase": "step", "percentage": 10}
    )
    error = HealthCheckFailed("Check health, step 1/1 at 10%: alarm orders-errors is in ALARM")
    error = HealthCheckFailed(error.message, failing)
    run = _ended_by(error, "Check health")

    assert run.checks == [] and run.failed_checks == [failing]
    (visit,) = run.failed_check_visits
    assert visit.check == failing
    shown = text(render(run))
    assert "alarm orders-errors is in ALARM" in shown and "checks ✔ 0, ✖ 1" in shown


def test_a_document_no_model_reads_is_left_out_not_guessed():
    h = History().state("Prepare", plan={"action": "rollout"}, progress={"phase": "sideways"})
    run = build_run(h.describe("RUNNING"), h.events)

    assert run.plan is None and run.progress is None and run.function == "orders"
