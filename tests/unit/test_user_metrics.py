"""The user's CloudWatch metrics (rollout_core.health.user_metrics): the input's rules,
each metric's verdict, a dry run recorded without acting, and the queries a check sends
(metric math per version, placeholders filled)."""

from __future__ import annotations

from typing import Any

import pytest
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.health import user_metrics
from rollout_core.models import MetricStat, Plan, UserMetric
from rollout_core.validation import validate

BASE = {"functionName": "orders", "alias": "live"}
DURATION = {
    "namespace": "AWS/Lambda",
    "metricName": "Duration",
    "dimensions": {"FunctionName": "${function}", "ExecutedVersion": "${version}"},
    "stat": "p95",
}


def refusal(metrics: Any) -> str:
    with pytest.raises(InvalidRolloutRequest) as refused:
        validate({**BASE, "health": {"metrics": metrics}})
    return str(refused.value)


def test_a_metric_needs_one_source_and_a_rule_and_its_errors_name_it():
    assert "metric p95: give a threshold or maxIncreasePercent" in refusal(
        [{"name": "p95", "metric": DURATION}]
    )
    assert "metric p95: give either metric or expression" in refusal(
        [{"name": "p95", "threshold": 1}]
    )
    assert "metric ratio: an expression needs its metrics" in refusal(
        [{"name": "ratio", "expression": "a / b", "threshold": 1}]
    )
    assert "metric names must be unique: p95" in refusal(
        [{"name": "p95", "metric": DURATION, "threshold": 1}] * 2
    )


def test_the_console_sample_with_metrics_is_valid_and_planned_as_given(load_event):
    sample = load_event("console/with-metrics.json")
    metrics = validate(sample).request.health.metrics
    assert [(m.name, m.dryRun) for m in metrics] == [
        ("p95-duration", False),
        ("error-share", True),
    ]
    assert metrics[1].expression == "100 * errors / calls"


def metric(**rule: Any) -> UserMetric:
    return UserMetric(name="p95", metric=MetricStat.model_validate(DURATION), **rule)


def test_a_threshold_fails_the_new_version_above_it_naming_the_metric():
    found = user_metrics.judge(metric(threshold=500), "4", 612.0, "3", 300.0)
    assert found.outcome == "fail"
    assert found.why.startswith("metric p95: version 4 at 612, above the threshold 500")
    assert user_metrics.judge(metric(threshold=500), "4", 499.0, "3", 300.0).outcome == "pass"


def test_a_comparison_with_the_stable_version():
    rule = metric(maxIncreasePercent=20)
    assert user_metrics.judge(rule, "4", 130.0, "3", 100.0).outcome == "fail"
    assert "more than 20% above version 3 (100)" in user_metrics.judge(rule, "4", 130, "3", 100).why
    assert user_metrics.judge(rule, "4", 119.0, "3", 100.0).outcome == "pass"
    assert user_metrics.judge(rule, "4", 119.0, "3", None).outcome == "inconclusive"
    assert user_metrics.judge(rule, "4", None, "3", 100.0).outcome == "inconclusive"


@pytest.fixture
def member(load_event):
    def make(*metrics: UserMetric) -> Any:
        event = load_event("functions/check_health.json")
        event["plan"]["health"]["metrics"] = [m.model_dump() for m in metrics]
        return Plan.model_validate(event["plan"]).rollout_ready()

    return make


def test_a_dry_run_failure_is_a_note_and_a_real_one_a_reason(member):
    values = {"u0_0_0": 900.0, "u0_0_1": 100.0, "u0_1_0": 900.0, "u0_1_1": 100.0}
    plan = member(
        metric(threshold=500, dryRun=True),
        metric(threshold=500).model_copy(update={"name": "p95-acting"}),
    )
    judged = user_metrics._judged(0, plan, values)
    assert judged.reasons == [
        "metric p95-acting: version 4 at 900, above the threshold 500 "
        "(version 4 900, version 3 100)"
    ]
    assert judged.notes[0].startswith("metric p95: version 4 at 900")
    assert judged.notes[0].endswith("(dry run: would fail, not acted on)")
    recorded = judged.numbers["userMetrics"]
    assert [(m.name, m.outcome, m.dryRun) for m in recorded] == [
        ("p95", "fail", True),
        ("p95-acting", "fail", False),
    ]


def test_an_expressions_metrics_are_queried_per_version_with_placeholders_filled(member):
    errors = {**DURATION, "metricName": "Errors", "stat": "Sum"}
    calls = {**DURATION, "metricName": "Invocations", "stat": "Sum"}
    ratio = UserMetric.model_validate(
        {
            "name": "error-share",
            "expression": "100 * errors / calls",
            "metrics": {"errors": errors, "calls": calls},
            "threshold": 1,
        }
    )
    plan = member(ratio)
    queries = user_metrics._queries("u0_0_1", ratio, plan, plan.stableVersion, 120)
    by_id = {q["Id"]: q for q in queries}
    assert by_id["u0_0_1"] == {
        "Id": "u0_0_1",
        "Expression": "100 * u0_0_1_errors / u0_0_1_calls",
        "ReturnData": True,
    }
    stat = by_id["u0_0_1_errors"]["MetricStat"]
    assert stat["Period"] == 120 and stat["Stat"] == "Sum"
    assert stat["Metric"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": "orders"},
        {"Name": "ExecutedVersion", "Value": "3"},
    ]
    assert by_id["u0_0_1_errors"]["ReturnData"] is False
