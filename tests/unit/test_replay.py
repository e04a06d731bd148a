"""`rollout analyze`'s configuration (rollout_core.health.replay.reconfigured): the run's
health policy with what the file's `health` says, validated as Prepare validates it; and
the user metrics replayed on the values each check recorded (health/metric_replay.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rollout_core import release
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.health import metric_replay, replay, user_metrics
from rollout_core.health.user_metrics import MetricVerdict
from rollout_core.models import CheckResult, Member, Plan, RolloutPlan, UserMetric


@pytest.fixture
def policy(load_event):
    return Plan.model_validate(load_event("functions/check_health.json")["plan"]).health


def test_the_files_health_replaces_only_what_it_says(policy, load_event):
    looser = replay.reconfigured(policy, load_event("analyze/looser-latency.json"))
    assert looser.latency is not None and looser.latency.maxIncreasePercent == 50
    assert looser.latency.confidence == 0.98
    assert looser.model_dump(exclude={"latency"}) == policy.model_dump(exclude={"latency"})
    off = replay.reconfigured(policy, load_event("analyze/latency-off.json"))
    assert off.latency is None
    assert replay.reconfigured(policy, {}) == policy  # no file: the run's own


def test_an_invalid_health_is_refused_with_prepares_message(policy):
    """Named by its path in the input, as `rollout plan` names it: no pydantic dump."""
    with pytest.raises(InvalidRolloutRequest, match=r"^health\.latency\.confidence: "):
        replay.reconfigured(policy, {"health": {"latency": {"confidence": 2}}})
    with pytest.raises(InvalidRolloutRequest, match=r"^health\.unknown: unknown key$"):
        replay.reconfigured(policy, {"health": {"unknown": 1}})


def test_a_check_on_no_samples_replays_as_the_run_judged_it(world, load_event):
    """The run's judge judges a version with traffic share even when it has no samples yet;
    replayed under the run's own health, that check is the same, never "pass → -"."""
    from rollout_core.health import canary
    from rollout_core.health.samples import VersionSamples

    plan = Plan.model_validate(load_event("functions/check_health.json")["plan"]).rollout_ready()
    empty = [VersionSamples(v, 0, 0, [], False) for v in (plan.targetVersion, plan.stableVersion)]
    judged = canary.judge(plan, *empty, weight=0.1, look=1)
    now = datetime.now(UTC)
    check = CheckResult.model_validate(
        {
            "at": now,
            "since": now - timedelta(seconds=30),
            "healthy": True,
            "percentage": 10,
            **{k: v.model_dump(mode="json") for k, v in judged.numbers.items()},
        }
    )
    (row,) = replay.replay(plan, [check], plan.health)
    assert row.then is not None and row.now is not None
    assert not replay.changed(row), (row.then.outcome, row.now.outcome)


# -- user metrics (rollout_core.health.metric_replay): the recorded values judged again ---

VERSIONS = ("4", "3")  # new, stable


@pytest.fixture
def tightened(policy, load_event) -> list[UserMetric]:
    """p95-duration at a threshold of 500; checkout-failures +20 %, a dry run."""
    return replay.reconfigured(policy, load_event("analyze/metric-tightened.json")).metrics


def _ran(configured: list[UserMetric], **changes: dict[str, Any]) -> list[UserMetric]:
    """The run's metrics: `configured` with what `changes` says of each name."""
    return [m.model_copy(update=changes.get(m.name.replace("-", "_"), {})) for m in configured]


def _recorded(ran: list[UserMetric], values: dict[str, tuple[float, float]]) -> list[MetricVerdict]:
    """What the run's checks kept: each metric judged on its (new, stable) values."""
    new, stable = VERSIONS
    return [
        user_metrics.judge(m, new, values[m.name][0], stable, values[m.name][1])
        for m in ran
        if m.name in values
    ]


def test_a_tightened_threshold_fails_what_passed(tightened):
    ran = _ran(tightened, p95_duration={"threshold": 800})
    recorded = _recorded(ran, {"p95-duration": (600, 550)})
    assert [v.outcome for v in recorded] == ["pass"]
    p95, _ = metric_replay.replay(ran, tightened, recorded, VERSIONS)
    assert p95.then == recorded[0] and p95.now is not None and p95.replayable
    assert (p95.now.outcome, p95.now.threshold, p95.now.new) == ("fail", 500, 600)
    assert "version 4 at 600, above the threshold 500" in p95.now.why
    assert user_metrics.acts(p95.now) and metric_replay.changed(p95)
    again, _ = metric_replay.replay(ran, ran, recorded, VERSIONS)  # the run's own: the same
    assert again.now is not None and again.now.outcome == "pass"
    assert not metric_replay.changed(again)


def test_a_dry_run_fail_is_not_acted_on(tightened):
    ran = _ran(tightened, checkout_failures={"dryRun": False})
    recorded = _recorded(ran, {"checkout-failures": (3.0, 2.0)})  # +50 %, above +20 %
    assert user_metrics.acts(recorded[0])
    _, checkout = metric_replay.replay(ran, tightened, recorded, VERSIONS)
    assert checkout.now is not None and checkout.now.outcome == "fail" and checkout.now.dryRun
    assert not user_metrics.acts(checkout.now)
    assert metric_replay.changed(checkout)  # a fail that acted no longer does


def test_a_metric_the_run_never_read_is_not_replayable(tightened):
    ran = [m for m in tightened if m.name == "p95-duration"]
    recorded = _recorded(ran, {"p95-duration": (400, 380)})
    p95, checkout = metric_replay.replay(ran, tightened, recorded, VERSIONS)
    assert not metric_replay.changed(p95)
    assert (checkout.then, checkout.now, checkout.replayable) == (None, None, False)
    assert checkout.unjudged == metric_replay.NEVER_READ
    assert metric_replay.changed(checkout)  # never a silent pass


def test_a_changed_expression_is_not_replayable(tightened):
    ran = _ran(tightened, checkout_failures={"expression": "failed / orders"})
    recorded = _recorded(ran, {"p95-duration": (400, 380), "checkout-failures": (0.02, 0.02)})
    _, checkout = metric_replay.replay(ran, tightened, recorded, VERSIONS)
    assert checkout.then == recorded[1] and checkout.now is None and not checkout.replayable
    assert checkout.unjudged == metric_replay.QUERY_CHANGED
    assert metric_replay.changed(checkout)
    dimension = tightened[0].model_dump()
    dimension["metric"]["dimensions"]["ExecutedVersion"] = "$LATEST"
    (p95, _) = metric_replay.replay(
        [UserMetric.model_validate(dimension), tightened[1]], tightened, recorded, VERSIONS
    )
    assert not p95.replayable and p95.unjudged == metric_replay.QUERY_CHANGED


def test_a_dropped_metric_is_not_judged_now_and_an_unread_one_has_nothing(tightened):
    recorded = _recorded(tightened, {"checkout-failures": (0.02, 0.02)})
    p95, checkout = metric_replay.replay(tightened, tightened[:1], recorded, VERSIONS)
    assert (p95.then, p95.now, p95.unjudged) == (None, None, metric_replay.UNRECORDED)
    assert p95.replayable and not metric_replay.changed(p95)  # the run read none: no answer
    assert (checkout.then, checkout.now) == (recorded[0], None)
    assert checkout.unjudged == metric_replay.DROPPED and metric_replay.changed(checkout)


def test_a_release_replays_each_functions_metrics_on_its_own_row(world, load_event, tightened):
    ran = _ran(tightened, p95_duration={"threshold": 800})
    plan = _release(load_event, ran)
    values = {"orders": (600.0, 550.0), "payments": (300.0, 290.0)}
    rows = [
        {
            "functionName": member.functionName,
            "alias": member.alias,
            "userMetrics": [
                user_metrics.judge(
                    ran[0],
                    member.targetVersion,
                    values[member.functionName][0],
                    member.stableVersion,
                    values[member.functionName][1],
                ).model_dump(mode="json")
            ],
        }
        for member in release.members(plan)
    ]
    now = datetime.now(UTC)
    since = now - timedelta(seconds=30)
    check = CheckResult.model_validate(
        {"at": now, "since": since, "healthy": True, "percentage": 10, "functions": rows}
    )
    first, second = replay.replay(
        plan, [check], plan.health.model_copy(update={"metrics": tightened})
    )
    assert (first.function, second.function) == ("orders", "payments")
    (orders, _), (payments, _) = first.metrics, second.metrics
    assert orders.now is not None and orders.now.outcome == "fail"
    assert "version 4 at 600, above the threshold 500" in orders.now.why
    assert payments.now is not None and payments.now.outcome == "pass"
    assert "version 8 300, version 7 290" in payments.now.why
    assert replay.changed(first) and not metric_replay.changed(payments)
    own = replay.replay(plan, [check], plan.health)  # the run's own: each metric the same
    assert not any(metric_replay.changed(m) for row in own for m in row.metrics)


def _release(load_event, metrics: list[UserMetric]) -> RolloutPlan:
    """check_health.json's plan as a release of orders (3 → 4) and payments (7 → 8), its
    health with `metrics`."""
    plan = Plan.model_validate(load_event("functions/check_health.json")["plan"]).rollout_ready()
    health = plan.health.model_copy(update={"metrics": metrics})
    members = [
        Member(
            functionName=name,
            functionArn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            alias="live",
            aliasArn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}:live",
            stableVersion=stable,
            targetVersion=target,
            lockKey=f"{name}:live",
        )
        for name, stable, target in (("orders", "3", "4"), ("payments", "7", "8"))
    ]
    return plan.model_copy(update={"functions": members, "health": health})
