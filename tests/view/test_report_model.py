"""The report's pieces without a cloud: state visits from history events (AWS and moto
shapes), the graph layout of the real ASL, and escaping of everything from the execution."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from rollout.graph import load_definition
from rollout.view.history import build_run
from rollout.view.report import build_report
from rollout.view.report_graph import (
    NODE_H,
    NODE_W,
    _Layout,
    columns,
    edges,
    loop_edges,
    marks,
    rows,
    taken_edges,
)
from rollout.view.run import VisitStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:123456789012:execution:rollout:run-1"


def history(*events: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Numbered history events one second apart; details keyed as Step Functions does."""
    result = []
    for number, (kind, details) in enumerate(events, start=1):
        key = kind[0].lower() + kind[1:] + "EventDetails"
        if kind.endswith("StateEntered"):
            key = "stateEnteredEventDetails"
        elif kind.endswith("StateExited"):
            key = "stateExitedEventDetails"
        result.append(
            {"id": number, "type": kind, "timestamp": T0 + timedelta(seconds=number), key: details}
        )
    return result


def run_of(
    status: str,
    events: list[dict[str, Any]],
    definition: dict[str, Any] | None = None,
    **describe: Any,
) -> Any:
    described = {"executionArn": ARN, "status": status, "startDate": T0, "input": "{}", **describe}
    machine = {"name": "rollout", "definition": json.dumps(definition)} if definition else None
    return build_run(described, events, machine)


def test_a_caught_error_without_state_exited_is_caught():
    """AWS moves on to the Catch target without a TaskStateExited for the failed state."""
    run = run_of(
        "FAILED",
        history(
            ("TaskStateEntered", {"name": "Prepare", "input": "{}"}),
            ("TaskFailed", {"error": "InvalidRolloutRequest", "cause": "bad input"}),
            ("PassStateEntered", {"name": "Explain rejection", "input": "{}"}),
            ("PassStateExited", {"name": "Explain rejection", "output": "{}"}),
            ("FailStateEntered", {"name": "Request rejected", "input": "{}"}),
            ("ExecutionFailed", {"error": "InvalidRolloutRequest", "cause": "bad input"}),
        ),
    )

    assert [(v.name, v.status) for v in run.visits] == [
        ("Prepare", VisitStatus.CAUGHT),
        ("Explain rejection", VisitStatus.SUCCEEDED),
        ("Request rejected", VisitStatus.FAILED),
    ]
    assert run.visits[0].error == "InvalidRolloutRequest"
    assert taken_edges(run.visits) == {
        ("Prepare", "Explain rejection", True),
        ("Explain rejection", "Request rejected", False),
    }


def test_a_retried_task_that_then_succeeds_succeeded():
    run = run_of(
        "RUNNING",
        history(
            ("TaskStateEntered", {"name": "Shift traffic", "input": "{}"}),
            ("TaskScheduled", {}),
            ("TaskFailed", {"error": "Lambda.TooManyRequestsException", "cause": "slow down"}),
            ("TaskScheduled", {}),
            ("TaskSucceeded", {"output": "{}"}),
            ("TaskStateExited", {"name": "Shift traffic", "output": '{"progress": {}}'}),
            ("WaitStateEntered", {"name": "Wait for next check", "input": '{"progress": {}}'}),
        ),
    )

    shift, wait = run.visits
    assert (shift.status, shift.retries, shift.error) == (VisitStatus.SUCCEEDED, 1, None)
    assert shift.output == '{"progress": {}}'
    assert wait.status is VisitStatus.RUNNING
    assert marks(run.visits)["Wait for next check"].status == "running"


def test_the_next_check_is_read_from_a_wait_that_waits_for_its_task_token():
    """Wait for next check is a Task (`.waitForTaskToken`, up to `nextWaitSeconds`); older
    definitions made it a Wait state. Either way the view knows when the next check is due."""
    progress = json.dumps({"progress": {"nextWaitSeconds": 10, "stepWaitSeconds": 60}})
    for kind in ("TaskStateEntered", "WaitStateEntered"):
        run = run_of("RUNNING", history((kind, {"name": "Wait for next check", "input": progress})))
        assert run.next_check_at == T0 + timedelta(seconds=1 + 10), kind
        assert run.next_step_at == T0 + timedelta(seconds=1 + 60), kind


def test_an_aborted_run_fails_the_state_it_was_in():
    run = run_of(
        "ABORTED",
        history(
            ("WaitStateEntered", {"name": "Wait for next check", "input": "{}"}),
            ("ExecutionAborted", {}),
        ),
    )

    assert (run.visits[0].status, run.visits[0].error) == (VisitStatus.FAILED, "Aborted")


def test_marks_count_runs_and_keep_the_most_telling_status():
    run = run_of(
        "FAILED",
        history(
            ("TaskStateEntered", {"name": "Check health"}),
            ("TaskStateExited", {"name": "Check health"}),
            ("TaskStateEntered", {"name": "Check health"}),
            ("TaskFailed", {"error": "HealthCheckFailed"}),
            ("TaskStateExited", {"name": "Check health"}),
            ("TaskStateEntered", {"name": "Roll back"}),
        ),
    )

    mark = marks(run.visits)["Check health"]
    assert (mark.status, mark.count, mark.error) == ("caught", 2, "HealthCheckFailed")


def test_the_real_workflow_is_laid_out_downwards_with_its_five_loops():
    definition = load_definition()
    names, all_edges = list(definition["States"]), edges(definition)
    loops = loop_edges(definition["StartAt"], names, all_edges)
    forward = [e for e in all_edges if e not in loops]
    row = rows(definition["StartAt"], names, forward)

    assert {(e.source, e.target) for e in loops} == {
        ("Step done?", "Wait for next check"),
        ("Next step?", "Shift traffic"),
        ("Check bake health", "Bake?"),
        ("Wait for operator", "Step done?"),  # a pause or an approval gate, held
        ("Wait for operator during bake", "Bake?"),
    }
    assert all(row[e.target] > row[e.source] for e in forward)
    assert row["Roll back"] > row["Check bake health"]  # failures flow down to the rollback

    layout = _Layout(row, columns(names, row, forward), all_edges, loops)
    boxes = list(layout.boxes.values())
    for i, a in enumerate(boxes):  # no two states overlap
        for b in boxes[i + 1 :]:
            assert abs(a.x - b.x) >= NODE_W or abs(a.y - b.y) >= NODE_H
    for edge, x in layout.lane_x.items():  # lanes pass beside the states of their rows
        low, high = sorted((row[edge.source], row[edge.target]))
        spanned = [layout.boxes[n] for n in names if low <= row[n] <= high]
        assert all(x > b.right or x < b.left for b in spanned), edge


def test_everything_from_the_execution_is_escaped():
    hostile = '<img src=x onerror="alert(1)">'
    definition = {"StartAt": hostile, "States": {hostile: {"Type": "Fail", "Error": "E"}}}
    run = run_of(
        "FAILED",
        history(
            ("FailStateEntered", {"name": hostile, "input": json.dumps({"x": hostile})}),
            ("ExecutionFailed", {"error": hostile, "cause": hostile}),
        ),
        definition,
        input=json.dumps({"functionName": hostile, "alias": hostile}),
    )

    page = build_report(run, now=T0 + timedelta(seconds=5))

    assert "<img" not in page
    assert html.escape(hostile) in page


def _first_check_failed(last_check: dict[str, Any], reason: str) -> Any:
    """A run whose only health check failed with `last_check` carried in its error (the
    JSON after the human line), then rolled back."""
    from tests.cli.histories import ROLLBACK_CAUSE, prepared, progress

    line = f"Check health, step 1/1 at 10%: {reason}"
    message = f"{line}\n{json.dumps({'lastCheck': last_check | {'reasons': [reason]}})}"
    cause = json.dumps({"errorMessage": message, "errorType": "HealthCheckFailed"})
    h = (
        prepared()
        .state("Shift traffic", progress=progress())
        .state("Wait for next check", "Wait", seconds=10)
        .enter("Check health")
        .task_failed("HealthCheckFailed", cause)
        .exit("Check health", failure={"Error": "HealthCheckFailed", "Cause": cause})
        .state("Roll back", rollback={"error": "HealthCheckFailed", "cause": ROLLBACK_CAUSE})
        .state("Notify rollback", outcome={"outcome": "rolled_back"})
        .enter("Rolled back", "Fail", seconds=0)
        .finish("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE)
    )
    return build_run(h.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE), h.events)


def test_the_error_rate_chart_shows_a_first_check_that_failed():
    """The only health check failed: its numbers reach the report as data in its error,
    not by parsing the message."""
    from tests.cli.histories import check

    reason = "metrics: version 4 error rate 25.00% (30/120 invocations failed) above 1%"
    run = _first_check_failed(check(healthy=False), reason)

    assert run.checks == []  # no check passed
    (measured,) = run.failed_checks
    new = measured.newVersion
    assert measured.healthy is False and new is not None and measured.stableVersion
    assert (new.errors, new.invocations) == (30, 120)
    assert new.errorRatePercent == 25.0
    page = build_report(run, now=T0 + timedelta(minutes=5))
    rates = page[page.index('<section class="rates">') :]
    rates = rates[: rates.index("</section>")]
    assert "No measurements" not in rates
    assert 'aria-label="error rate chart"' in rates and '<g class="series new">' in rates
    assert "30/120 errors" in page  # the failed check's row in the table


def test_a_check_failed_by_the_logs_signal_shows_what_the_logs_counted():
    """Under AWS's metric delay the metrics read 0 when the logs signal fails a check: the
    checks table shows the logs' counts under the metrics, as `rollout watch` does."""
    from tests.cli.histories import check

    last = check(healthy=False)
    last["newVersion"] |= {"invocations": 0, "errors": 0, "errorRatePercent": 0.0}
    logs = {"version": "4", "invocations": 3, "failures": 2, "errorRatePercent": 66.67}
    last["logs"] = {"enabled": True, "newVersion": logs}
    reason = "logs: version 4 error rate 66.67% (2/3 invocations failed) above 1%"
    page = build_report(_first_check_failed(last, reason), now=T0 + timedelta(minutes=5))
    table = page[page.index('<tr class="failed">') :]
    row = table[: table.index("</tr>")]
    assert "0/0 errors" in row and "logs: 2/3 failed (66.67%)" in row
