"""A pipeline's input (rollout_core.pipeline.spec, validation.validate_input), its windows
(pipeline.windows) and its history budget (pipeline.plan.history_events): no account."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.models import LockRef
from rollout_core.pipeline import windows
from rollout_core.pipeline.models import PipelinePlan, PipelineTarget, Place, Wave, Window
from rollout_core.pipeline.plan import child_name, history_events
from rollout_core.validation import ValidPipeline, ValidRequest, validate_input

from tests.conftest import EVENTS

US, EU = "us-east-1", "eu-west-1"
A, B = "123456789012", "210987654321"


def pipeline(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "functionName": "orders",
        "alias": "live",
        "strategy": "AllAtOnce",
        "waves": [
            {"name": "one-box", "targets": [{"region": US, "account": A}], "bakeSeconds": 60},
            {
                "name": "rest",
                "targets": [{"region": EU, "account": A}, {"region": US, "account": B}],
            },
        ],
    }
    return {**document, **changes}


def test_the_sample_is_a_valid_pipeline() -> None:
    document = json.loads((EVENTS / "pipeline" / "two-waves.json").read_text())
    found = validate_input(document)
    assert isinstance(found, ValidPipeline)
    assert [wave.name for wave in found.request.waves] == ["one-box", "rest"]
    assert found.request.approval is not None and found.request.approval.before == "each-wave"
    # the rest is the rollout every target runs, validated as any rollout input
    assert "waves" not in found.rollout_document and "approval" not in found.rollout_document
    assert found.rollout.request.alarms == ["orders-errors"]


def test_without_waves_it_is_a_rollout() -> None:
    document = pipeline()
    del document["waves"]
    assert isinstance(validate_input(document), ValidRequest)


def test_an_approval_before_each_step_stays_with_each_targets_rollout() -> None:
    found = validate_input(pipeline(approval={"before": "each-step"}))
    assert isinstance(found, ValidPipeline)
    assert found.request.approval is None
    assert found.rollout_document["approval"] == {"before": "each-step"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"waves": []}, "waves"),
        ({"onFailure": "ignore"}, "onFailure"),
        ({"waves": [{"name": "a", "targets": []}]}, "targets"),
        (
            {"waves": [{"name": "a", "targets": [{"region": US, "account": 123456789012}]}]},
            "a string of 12 digits",
        ),
        (
            {"waves": [{"name": "a", "targets": [{"region": "mars", "account": A}]}]},
            "region",
        ),
        (
            {
                "waves": [
                    {"name": "a", "targets": [{"region": US, "account": A}]},
                    {"name": "b", "targets": [{"region": US, "account": A}]},
                ]
            },
            "a target of an earlier wave",
        ),
        (
            {
                "waves": [
                    {"name": "a", "targets": [{"region": US, "account": A}]},
                    {"name": "a", "targets": [{"region": EU, "account": A}]},
                ]
            },
            "wave names repeat",
        ),
        ({"blockers": {"windows": [{"days": ["Mon"], "timeZone": "Mars/Olympus"}]}}, "IANA"),
        ({"blockers": {"windows": [{"days": ["Mon"], "start": "25:00"}]}}, "time of day"),
        ({"blockers": {"timeoutSeconds": 10}}, "timeoutSeconds"),
        ({"pipeline": {"executionArn": "x"}}, "set by a pipeline"),
        ({"strategy": "Sideways"}, "strategy"),  # the rollout's own keys are checked too
    ],
)
def test_invalid_pipelines_are_refused_naming_the_field(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRolloutRequest, match=message):
        validate_input(pipeline(**changes))


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


WORKDAYS = Window(
    days=["Mon", "Tue", "Wed", "Thu"], start="09:00", end="16:00", timeZone="Europe/Berlin"
)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        ("2026-12-07T09:00:00+01:00", True),  # Monday 09:00 Berlin
        ("2026-12-07T08:59:59+01:00", False),
        ("2026-12-07T16:00:00+01:00", False),  # the end is not inside
        ("2026-12-11T10:00:00+01:00", False),  # Friday
        ("2026-07-06T08:30:00+00:00", True),  # summer time: 10:30 in Berlin
    ],
)
def test_a_window_is_read_on_its_time_zones_wall_clock(moment: str, inside: bool) -> None:
    assert windows.open_at([WORKDAYS], _at(moment)) is inside


def test_a_window_past_midnight_and_a_freeze() -> None:
    night = Window(days=["Fri"], start="22:00", end="02:00", timeZone="UTC")
    assert windows.open_at([night], _at("2026-12-11T23:00:00+00:00"))
    assert windows.open_at([night], _at("2026-12-12T01:59:00+00:00"))  # Saturday, from Friday
    assert not windows.open_at([night], _at("2026-12-12T02:00:00+00:00"))
    freeze = Window(days=[], start="00:00", end="24:00", timeZone="UTC")
    assert not windows.open_at([freeze], _at("2026-12-07T12:00:00+00:00"))
    assert windows.next_opening([freeze], _at("2026-12-07T12:00:00+00:00")) is None
    assert windows.open_at([], _at("2026-12-07T12:00:00+00:00"))  # no windows: any time


def test_the_next_opening_is_the_next_start_inside_a_window() -> None:
    friday = _at("2026-12-11T10:00:00+01:00")
    assert windows.next_opening([WORKDAYS], friday) == _at("2026-12-14T09:00:00+01:00")


def _plan(targets_per_wave: list[list[bool]], bake: int = 0) -> PipelinePlan:
    arn = f"arn:aws:states:{US}:{A}:execution:pipeline:p"
    waves = [
        Wave(
            name=f"w{w}",
            bakeSeconds=bake,
            targets=[
                PipelineTarget(
                    account=A,
                    region=US if same else EU,
                    wave=w,
                    index=i,
                    roleArn="r",
                    stateMachineArn=f"arn:aws:states:{US}:{A}:stateMachine:m",
                    table="t",
                    executionName=child_name(arn, w, i),
                    sameRegion=same,
                )
                for i, same in enumerate(group)
            ],
        )
        for w, group in enumerate(targets_per_wave)
    ]
    return PipelinePlan(
        action="pipeline",
        executionId=arn,
        name="p",
        home=Place(account=A, region=US),
        waves=waves,
        rollout={},
        channel=LockRef(table="t", key="pipeline:p", owner=arn),
    )


def test_the_history_budget_does_not_grow_with_the_childrens_checks() -> None:
    """A target in the pipeline's Region costs the same however long its rollout runs (the
    nested integration waits without transitions); elsewhere one Follow target per 10 min."""
    nested = _plan([[True], [True, True]])
    assert history_events(nested, 600) == history_events(nested, 86400)
    followed = _plan([[False], [False, False]])
    assert history_events(followed, 86400) > history_events(followed, 600)
    # three waves of three other-Region targets, day-long rollouts: well inside; forty
    # two-day ones could not be followed within 25,000 events (Prepare pipeline refuses)
    assert history_events(_plan([[False] * 3] * 3), 86400) < 20000
    assert history_events(_plan([[False] * 20] * 2), 2 * 86400) > 20000


def test_child_names_fit_step_functions_80_characters_and_stay_distinct() -> None:
    arn = f"arn:aws:states:{US}:{A}:execution:pipeline:" + "x" * 80
    names = {child_name(arn, w, i) for w in range(10) for i in range(20)}
    assert len(names) == 200 and all(len(name) <= 80 for name in names)
