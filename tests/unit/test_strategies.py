"""Presets with CodeDeploy's semantics; custom strategies; scaled waits."""

import pytest
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.request import parse_request
from rollout_core.strategies import plan_steps, scale


def steps_of(strategy, time_scale=1.0):
    spec = parse_request({"functionName": "f", "alias": "live", "strategy": strategy}).strategy
    return plan_steps(spec, time_scale)


def test_canary_preset_is_ten_percent_then_wait_then_promotion():
    name, kind, steps = steps_of("Canary10Percent5Minutes")
    assert (name, kind) == ("Canary10Percent5Minutes", "canary")
    assert steps == [{"percentage": 10, "weight": 0.1, "waitSeconds": 300}]


def test_linear_preset_adds_ten_percent_every_interval_until_ninety():
    _, kind, steps = steps_of("Linear10PercentEvery2Minutes")
    assert kind == "linear"
    assert [s["percentage"] for s in steps] == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert {s["waitSeconds"] for s in steps} == {120}


def test_all_at_once_has_no_weighted_step():
    assert steps_of("AllAtOnce") == ("AllAtOnce", "all_at_once", [])


@pytest.mark.parametrize(
    ("strategy", "percentages", "waits"),
    [
        ({"type": "canary", "percentage": 25, "intervalSeconds": 90}, [25], [90]),
        ({"type": "linear", "percentage": 30, "intervalSeconds": 60}, [30, 60, 90], [60] * 3),
        (
            {"type": "exponential", "startPercentage": 1, "factor": 2, "intervalSeconds": 60},
            [1, 2, 4, 8, 16, 32, 64],
            [60] * 7,
        ),
        (
            {"steps": [{"percentage": 1, "waitSeconds": 60}, {"percentage": 25, "waitSeconds": 0}]},
            [1, 25],
            [60, 0],
        ),
    ],
)
def test_custom_strategies(strategy, percentages, waits):
    _, _, steps = steps_of(strategy)
    assert [s["percentage"] for s in steps] == percentages
    assert [s["waitSeconds"] for s in steps] == waits
    assert [s["weight"] for s in steps] == [p / 100 for p in percentages]


def test_waits_scale_on_the_cumulative_schedule():
    # 9 x 60 s at 0.01 = 5.4 s: each wait alone would round to 1 s (9 s in all)
    assert scale([60] * 9, 0.01) == [1, 0, 1, 0, 1, 1, 0, 1, 0]  # 0.6, 1.2, 1.8 … 5.4
    assert sum(scale([60] * 9, 0.01)) == 5


def test_half_seconds_round_up():
    assert scale([5], 0.1) == [1]  # 0.5 s exactly, as the user wrote 0.1


def test_unknown_preset_lists_the_presets():
    with pytest.raises(InvalidRolloutRequest, match=r"unknown preset 'Canary5'.*AllAtOnce"):
        steps_of("Canary5")


def test_total_wait_is_limited_like_codedeploy():
    with pytest.raises(InvalidRolloutRequest, match="at most 172800 s"):
        steps_of({"type": "linear", "percentage": 10, "intervalSeconds": 20000})


def test_too_many_steps_is_refused():
    with pytest.raises(InvalidRolloutRequest, match="at most 100"):
        steps_of({"type": "linear", "percentage": 0.5, "intervalSeconds": 1})
