"""`rollout analyze`'s output (rollout.commands.analyze.render): each check's canary verdict
then → now with its signals, and each user metric's then → now beside it; a changed user
metric counts as a difference, a metric the run never read says so."""

from __future__ import annotations

from datetime import timedelta

from rollout_core.health import metric_replay, user_metrics
from rollout_core.health.replay import Replayed
from rollout_core.health.verdict import Judgement
from rollout_core.models import UserMetric

from rollout.commands.analyze import render
from rollout.view.history import build_run
from tests.cli.histories import ROLLBACK_CAUSE, T0, rolled_back

P95 = UserMetric.model_validate(
    {
        "name": "p95-duration",
        "threshold": 800,
        "metric": {"namespace": "AWS/Lambda", "metricName": "Duration", "stat": "p95"},
    }
)


def _judgement(outcome: str) -> Judgement:
    why = f"errors: version 4 against version 3, {outcome}"
    return Judgement.model_validate(
        {"outcome": outcome, "checks": [{"check": "errors", "outcome": outcome, "why": why}]}
    )


def _row(canary: str, metrics: list[metric_replay.MetricReplayed]) -> Replayed:
    judged = _judgement(canary)
    return Replayed(T0 + timedelta(seconds=20), "orders", 10, judged, judged, metrics)


def test_each_user_metric_is_shown_then_and_now_and_a_change_is_a_difference():
    history = rolled_back()
    run = build_run(history.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE), history.events)
    tighter = P95.model_copy(update={"threshold": 500})
    then = user_metrics.judge(P95, "4", 600, "3", 550)
    dry = P95.model_copy(update={"threshold": 500, "dryRun": True})
    (tightened,) = metric_replay.replay([P95], [tighter], [then], ("4", "3"))
    (dry_run,) = metric_replay.replay([P95], [dry], [then], ("4", "3"))
    new = P95.model_copy(update={"name": "cost"})
    never_read = metric_replay.replay([P95], [P95, new], [then], ("4", "3"))
    rows = [_row("pass", [tightened]), _row("pass", [dry_run]), _row("pass", never_read)]

    text = render(run, rows)

    lines = text.splitlines()
    assert lines[0] == run.execution_arn
    assert "  now  ✔ errors: version 4 against version 3, pass" in text
    assert "user  ✔ pass → ✖ fail ≠  metric p95-duration: version 4 at 600, " in text
    assert "user  ✔ pass → ✖ fail (dry run) ≠  metric p95-duration: " in text
    assert "user  ✔ pass → ✔ pass    metric p95-duration: within its limits" in text
    assert f"user  - → not replayable ≠  metric cost: {metric_replay.NEVER_READ}" in text
    canary = [line for line in lines if "✔ pass → ✔ pass" in line and "orders" in line]
    assert len(canary) == 3 and all(line.endswith("≠") for line in canary)  # by its metrics
    assert lines[-1] == "3 of 3 verdicts differ"
