"""`rollout analyze`'s configuration (rollout_core.health.replay.reconfigured): the run's
health policy with what the file's `health` says, validated as Prepare validates it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from rollout_core.health import replay
from rollout_core.models import Plan


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


def test_an_invalid_health_is_refused(policy):
    with pytest.raises(ValidationError):
        replay.reconfigured(policy, {"health": {"latency": {"confidence": 2}}})
    with pytest.raises(ValidationError):
        replay.reconfigured(policy, {"health": {"unknown": 1}})


def test_a_check_on_no_samples_replays_as_the_run_judged_it(world, load_event):
    """The run's judge judges a version with traffic share even when it has no samples yet;
    replayed under the run's own health, that check is the same, never "pass → -"."""
    from datetime import UTC, datetime, timedelta

    from rollout_core.health import canary
    from rollout_core.health.samples import VersionSamples
    from rollout_core.models import CheckResult

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
