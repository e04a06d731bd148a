"""Shift traffic and Promote move the alias only from where this rollout left it."""

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from rollout_core import actions, aliases, clients
from rollout_core.aliases import Position
from rollout_core.errors import AliasDrift
from rollout_core.models import Plan, Progress
from rollout_core.progress import WAIT_FLOOR_SECONDS

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def linear(load_event):
    event = load_event("functions/shift_traffic.json")
    event["plan"]["steps"] = [
        {"percentage": p, "weight": p / 100, "waitSeconds": 20} for p in (10, 20, 30)
    ]
    return Plan.model_validate(event["plan"]).rollout_ready(), Progress(**event["progress"])


def test_steps_then_promotion(world, linear):
    plan, progress = linear
    seen = []
    for _ in plan.steps:
        progress = actions.shift(plan, progress, NOW)
        seen.append(world.alias_state())
    assert seen == [("3", {"4": 0.1}), ("3", {"4": 0.2}), ("3", {"4": 0.3})]
    assert progress.hasNextStep is False and progress.stepIndex == 2
    progress = actions.promote(plan, progress, NOW)
    assert world.alias_state() == ("4", {})
    assert progress.phase == "bake"


def test_retried_shift_is_idempotent(world, linear):
    plan, progress = linear
    actions.shift(plan, progress, NOW)
    again = actions.shift(plan, progress, NOW)  # the same task retried
    assert again.stepIndex == 0 and world.alias_state() == ("3", {"4": 0.1})


def test_weights_compare_with_a_tolerance(world, linear):
    plan, progress = linear
    world.route("3", {"4": 0.1 + 1e-9})  # as Lambda may hand a double back
    progress = progress.model_copy(update={"phase": "step", "stepIndex": 0, "weight": 0.1})
    actions.shift(plan, progress, NOW)
    assert world.alias_state() == ("3", {"4": 0.2})


@pytest.mark.parametrize("elsewhere", [("3", {"4": 0.5}), ("2", {}), ("3", {"2": 0.1})])
def test_drift_is_refused_and_left_alone(world, linear, elsewhere):
    plan, progress = linear
    progress = actions.shift(plan, progress, NOW)
    world.route(*elsewhere)
    with pytest.raises(AliasDrift, match="someone else changed it"):
        actions.shift(plan, progress, NOW)
    with pytest.raises(AliasDrift):
        actions.promote(plan, progress, NOW)
    assert world.alias_state() == elsewhere


def test_update_carries_the_revision_id(world, monkeypatch):
    sent = []
    lam = clients.lambda_()
    record = lambda params, **_: sent.append(params.get("RevisionId"))  # noqa: E731
    lam.meta.events.register("provide-client-params.lambda.UpdateAlias", record)
    try:
        revision = aliases.read("orders", "live").revision_id
        aliases.move("orders", "live", [Position("3")], Position("3", {"4": 0.1}))
    finally:
        lam.meta.events.unregister("provide-client-params.lambda.UpdateAlias", record)
    assert sent == [revision] and revision


def test_a_concurrent_change_rejected_by_lambda_is_drift(world, monkeypatch):
    def conflict(**_):
        raise ClientError(
            {"Error": {"Code": "PreconditionFailedException", "Message": "revision"}}, "UpdateAlias"
        )

    monkeypatch.setattr(clients.lambda_(), "update_alias", conflict)
    with pytest.raises(AliasDrift, match="changed while this rollout was updating it"):
        aliases.move("orders", "live", [Position("3")], Position("3", {"4": 0.1}))


def test_all_at_once_has_nothing_to_shift(world, load_event):
    event = load_event("functions/shift_traffic.json")
    event["plan"]["steps"] = []
    plan = Plan.model_validate(event["plan"]).rollout_ready()
    progress = actions.shift(plan, Progress(**event["progress"]), NOW)
    # the one check still comes after a wait: the shortest TimeoutSecondsPath allows
    assert (progress.stepComplete, progress.hasNextStep, progress.nextWaitSeconds) == (
        True,
        False,
        WAIT_FLOOR_SECONDS,
    )
    assert world.alias_state() == ("3", {})
