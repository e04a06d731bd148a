"""Each strategy kind rolls a healthy version out with the weights its plan promises.

All seven rollouts run at once (one sample function each). The weights are checked
twice: as the workflow reports them (Shift traffic / Promote outputs in the history)
and as the alias actually had them (every UpdateAlias the local cloud applied).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tests.workflow.conftest import (
    Finished,
    SampleFunction,
    Workflow,
    weights_of,
)

pytestmark = pytest.mark.cloud

# name → (strategy, timeScale, the percentages the alias must go through before 100 %)
STRATEGIES: dict[str, tuple[Any, float, list[float]]] = {
    "preset canary": ("Canary10Percent5Minutes", 0.01, [10]),  # 3 s at 10 %
    "preset linear": ("Linear10PercentEvery1Minute", 0.01, [10, 20, 30, 40, 50, 60, 70, 80, 90]),
    "all at once": ("AllAtOnce", 1, []),
    "custom canary": ({"type": "canary", "percentage": 25, "intervalSeconds": 2}, 1, [25]),
    "custom linear": ({"type": "linear", "percentage": 30, "intervalSeconds": 1}, 1, [30, 60, 90]),
    "exponential": (
        {"type": "exponential", "startPercentage": 10, "factor": 3, "intervalSeconds": 1},
        1,
        [10, 30, 90],
    ),
    "explicit steps": (
        {
            "steps": [
                {"percentage": 1, "waitSeconds": 1},
                {"percentage": 5, "waitSeconds": 0},
                {"percentage": 25.5, "waitSeconds": 1},
            ]
        },
        1,
        [1, 5, 25.5],
    ),
}
KINDS = {
    "preset canary": "canary",
    "preset linear": "linear",
    "all at once": "all_at_once",
    "custom canary": "canary",
    "custom linear": "linear",
    "exponential": "exponential",
    "explicit steps": "steps",
}


def roll_out(cloud: Any, workflow: Workflow, name: str) -> tuple[SampleFunction, str, Finished]:
    strategy, time_scale, _ = STRATEGIES[name]
    function = SampleFunction(cloud, "wf-strategy")
    target = function.publish()
    document = function.rollout(
        target, strategy=strategy, timeScale=time_scale, checkIntervalSeconds=1
    )
    return function, target, workflow.run(document)


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {name: partial(roll_out, cloud, workflow, name) for name in STRATEGIES}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_strategy_succeeds_through_its_planned_weights(name, runs, alias_log, workflow):
    function, target, run = runs[name]
    expected = [p / 100 for p in STRATEGIES[name][2]]

    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert run.task_errors() == []
    assert function.alias() == (target, {})
    assert run.plan.strategy is not None and run.plan.strategy.kind == KINDS[name]
    assert [step.weight for step in run.plan.steps] == expected
    assert run.alias_weights() == [*expected, 1.0]
    assert alias_log.of(function.name) == weights_of(function.stable, target, STRATEGIES[name][2])
    assert run.states_entered()[-3:] == ["Finalize", "Clean up old versions", "Rolled out"]
    assert run.summary().lockReleased is True
    assert workflow.lock(function.name) is None
