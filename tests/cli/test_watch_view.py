"""The terminal view: snapshots rendered to text, plain lines, and the polling loop."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from rich.console import Console
from rollout_core.models import CheckResult, LogCounts, LogsSummary, VersionCounts

from rollout.console import views
from rollout.view.history import build_run
from rollout.view.report import build_report
from rollout.view.run import Run
from rollout.view.watch import (
    LinePrinter,
    WatchTimeout,
    describe_check,
    follow,
    render,
    weight_bar,
)
from tests.cli.histories import (
    ROLLBACK_CAUSE,
    T0,
    check,
    prepared,
    progress,
    rejected,
    rolled_back,
    shifted_and_waiting,
    succeeded,
)


def text_of(renderable: object) -> str:
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def running_run() -> Run:
    h = shifted_and_waiting()
    return build_run(h.describe("RUNNING"), h.events)


def test_running_snapshot_shows_where_the_rollout_is():
    run = running_run()
    now = run.events[-1].at + timedelta(seconds=4)
    out = text_of(render(run, now))

    assert "◌ Progressing" in out and "in Wait for next check" in out
    assert "orders  alias live" in out
    assert "3 (stable) → 4 (new)" in out
    assert "Canary10Percent5Minutes" in out
    assert "1/1" in out
    assert "10% new" in out and "██░" in out
    assert "in 4:46" in out and "next check in 0:06" in out  # 290 s - 4 s; 10 s - 4 s
    assert "✔ healthy" in out and "orders-errors OK" in out
    assert "new v4 120 inv, 0 err (0.00%)" in out and "stable v3 1080 inv, 3 err (0.28%)" in out
    assert "→ Shift traffic" in out


def test_a_wait_ended_by_its_clock_is_no_failure():
    """Wait for next check is a task whose timeout is the check interval: its
    States.Timeout is how it ends without evidence, not a red line every interval."""
    h = prepared().state("Shift traffic", progress=progress())
    for checks in (1, 2):
        h.enter("Wait for next check", seconds=10).timed_out()
        h.exit("Wait for next check", wake={"Error": "States.Timeout", "Cause": "timed out"})
        h.state("Check health", progress=progress(checks=checks, lastCheck=check()))
        h.state("Step done?", "Choice", seconds=0)
    h.enter("Wait for next check", seconds=3)
    run = build_run(h.describe("RUNNING"), h.events)
    out = text_of(render(run, run.events[-1].at))

    assert "States.Timeout" not in out and "✖ 0" in out  # no failed check, no failure line
    waits = [v for v in run.visits if v.name == "Wait for next check"]
    assert [v.error for v in waits] == [None, None, None]


def test_rolled_back_snapshot_says_why_and_shows_the_failure_event():
    h = rolled_back()
    run = build_run(h.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE), h.events)
    out = text_of(render(run, T0 + timedelta(hours=1)))

    assert "✖ Rolled back" in out
    assert "HealthCheckFailed: Health check failed at 10%" in out
    assert "0% new" in out
    assert "✖ HealthCheckFailed: error rate 25.0% > 1.0%" in out
    assert "Next step" not in out  # only while running
    assert "1:00:00" not in out  # elapsed is the run's own duration, not "now"


def test_succeeded_snapshot_outlines_promotion():
    h = succeeded()
    out = text_of(render(build_run(h.describe("SUCCEEDED"), h.events)))

    assert "✔ Succeeded" in out and "version 4 is live on orders:live" in out
    assert "10% → 100%" in out
    assert "100% new" in out


def test_rejected_snapshot_without_a_plan():
    h = rejected()
    run = build_run(
        h.describe("FAILED", "InvalidRolloutRequest", "alias 'live' does not exist"), h.events
    )
    out = text_of(render(run))

    assert "✖ Rejected" in out
    assert "InvalidRolloutRequest: alias 'live' does not exist" in out
    assert "no check yet" in out and "? (stable) → ? (new)" in out


@pytest.mark.parametrize(("weight", "bar"), [(0.0, "░" * 4), (0.5, "██░░"), (1.0, "████")])
def test_weight_bar(weight, bar):
    assert weight_bar(weight, width=4).plain.startswith(bar)


def test_plain_lines_print_each_change_once():
    h = rolled_back()
    run = build_run(h.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE), h.events)
    out = io.StringIO()
    printer = LinePrinter(Console(file=out, width=100))

    printer.update(run)
    first = out.getvalue()
    printer.update(run)

    assert out.getvalue() == first
    assert "→ Prepare" in first and "→ Roll back" in first
    assert "weight" in first and "10% new (step" in first
    assert "✖ HealthCheckFailed" in first
    assert first.index("→ Shift traffic") < first.index("→ Roll back")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_follow_polls_until_the_run_ends():
    h = succeeded()
    runs = iter([running_run(), running_run(), build_run(h.describe("SUCCEEDED"), h.events)])
    clock, out = FakeClock(), io.StringIO()

    final = follow(
        lambda: next(runs),
        Console(file=out, width=100),
        interval=1.0,
        timeout=30,
        clock=clock,
        sleep=clock.sleep,
    )

    assert final.outcome.good
    assert clock.sleeps == [1.0, 1.0]
    assert out.getvalue().rstrip().endswith("version 4 is live on orders:live")


def test_follow_stops_at_the_deadline():
    clock = FakeClock()

    with pytest.raises(WatchTimeout, match="still running after the timeout"):
        follow(
            running_run,
            Console(file=io.StringIO()),
            interval=2.0,
            timeout=5,
            clock=clock,
            sleep=clock.sleep,
        )

    assert clock.sleeps == [2.0, 2.0, 1.0]  # the last sleep is cut to the deadline


def test_a_long_cause_stays_on_one_line_of_the_event_list():
    h = rolled_back()
    h.events[-1]["executionFailedEventDetails"]["cause"] = "x" * 500
    run = build_run(h.describe("FAILED", "HealthCheckFailed", "x" * 500), h.events)
    out = text_of(render(run))

    assert "✖ HealthCheckFailed: xxx" in out and "x…" in out
    assert "x" * 100 not in out


def test_one_failed_check_counts_once_though_the_history_repeats_its_error():
    """TaskFailed and ExecutionFailed both carry HealthCheckFailed: one check failed."""
    h = rolled_back()
    run = build_run(h.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE), h.events)

    assert "checks ✔ 0, ✖ 1" in text_of(render(run))


def test_a_check_shows_the_logs_signal_beside_the_metrics():
    """Under AWS's metric delay the metrics read 0 for a minute; the logs signal doesn't."""
    check = CheckResult(
        healthy=False,
        newVersion=VersionCounts(version="3", errorRatePercent=0.0),
        stableVersion=VersionCounts(version="2", errorRatePercent=0.0),
        logs=LogsSummary(
            newVersion=LogCounts(version="3", invocations=16, failures=4, errorRatePercent=25.0)
        ),
    )
    text = describe_check(check).plain
    assert "new v3 0 inv, 0 err (0.00%)" in text
    assert "new logs 16 inv, 4 failed (25.00%)" in text


def test_the_console_words_a_check_on_no_evidence_as_watch_does():
    """A check that passed while the new version served nothing: the console's row and its
    checks table say "no evidence", never "healthy" (view/run.py check_verdict)."""
    quiet = check() | {"evidence": "none"}
    h = prepared().state("Shift traffic", progress=progress())
    h.state("Check health", progress=progress(checks=1, lastCheck=quiet))
    run = build_run(h.describe("RUNNING"), h.events)

    assert views.row(run)["health"].startswith("· no evidence")
    assert views.row(run)["healthTone"] is None
    assert [c["verdict"] for c in views.detail(run)["checks"]] == ["no evidence"]


def test_the_report_counts_checks_on_no_evidence_apart_from_those_passed():
    """The report's summary never counts a check on no evidence as passed."""
    quiet = check(at="2026-11-26T10:00:30Z") | {"evidence": "none"}
    h = prepared().state("Shift traffic", progress=progress())
    h.state("Check health", progress=progress(checks=1, lastCheck=check()))
    h.state("Check health", progress=progress(checks=2, lastCheck=quiet))
    run = build_run(h.describe("RUNNING"), h.events)

    summary = build_report(run)
    assert "<dt>Health checks</dt><dd>1 passed, 1 with no evidence, 0 failed</dd>" in summary
    assert "<dt>Started by</dt><dd>StartExecution (console, CLI or CI)</dd>" in summary


def test_a_check_is_printed_after_the_state_that_ran_it_within_the_same_second():
    h = prepared().state("Shift traffic", progress=progress())
    h.seconds += 0.4  # Check health entered at 0:03.4, the check ran at 0:03.5
    h.state(
        "Check health", progress=progress(checks=1, lastCheck=check(at="2026-11-26T10:00:03.500Z"))
    )
    run = build_run(h.describe("RUNNING"), h.events)

    out = io.StringIO()
    LinePrinter(Console(file=out, width=200)).update(run)
    lines = out.getvalue().splitlines()
    entered = next(i for i, line in enumerate(lines) if "→ Check health" in line)
    checked = next(i for i, line in enumerate(lines) if "  health ✔" in line)
    assert entered < checked, out.getvalue()
