"""rollout_core.validation: everything Prepare checks without the account, in one entry
point that Prepare and the CLI share."""

from __future__ import annotations

from typing import Any

import pytest
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.eventbridge import is_publish_event
from rollout_core.validation import OFFLINE, Defaults, validate

from tests.reliability.test_bad_inputs import CORPUS, NON_OBJECTS

BASE = {"functionName": "orders", "alias": "live"}


def _refusal(document: Any) -> str | None:
    try:
        validate(document)
    except InvalidRolloutRequest as error:
        return str(error)
    return None


OFFLINE_CORPUS = [
    (case, document, cause)
    for case, document, cause in [*NON_OBJECTS, *CORPUS]
    if not is_publish_event(document)
]


@pytest.mark.parametrize(
    ("case", "document", "cause"), OFFLINE_CORPUS, ids=[c for c, _, _ in OFFLINE_CORPUS]
)
def test_what_it_refuses_of_the_bad_input_corpus_it_refuses_as_prepare_does(case, document, cause):
    """The corpus (tests/reliability/test_bad_inputs.py) is what the deployed Prepare
    refuses, with these Causes: whatever needs no account is refused here the same way."""
    refusal = _refusal(document)
    assert refusal is None or cause in refusal, refusal


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("alarm-missing", None),  # needs the account
        ("function-missing", None),
        ("version-missing", None),
        ("preset-sql", "strategy: unknown preset"),
        ("interval-fraction", "checkIntervalSeconds: Input should be a valid integer"),
        ("payload-100kb", "at most 32768"),
    ],
)
def test_it_refuses_no_more_and_no_less_than_needs_no_account(case, refusal):
    document = next(d for c, d, _ in OFFLINE_CORPUS if c == case)
    found = _refusal(document)
    assert (found is None) if refusal is None else (found is not None and refusal in found)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ignoreFiringAlarms": "yes"}, "ignoreFiringAlarms: Input should be a valid boolean"),
        ({"dryRun": 1}, "dryRun: Input should be a valid boolean"),
        ({"health": {"logs": "no"}}, "health.logs: Input should be a valid boolean"),
        ({"bakeSeconds": True}, "bakeSeconds: Input should be a valid integer"),
        ({"checkIntervalSeconds": "5"}, "checkIntervalSeconds: Input should be a valid integer"),
        ({"keepVersions": 5.0}, "keepVersions: Input should be a valid integer"),
        ({"timeScale": True}, "timeScale: Input should be a valid number"),
        ({"health": {"errorRatePercent": "2"}}, "health.errorRatePercent: Input should be a"),
        ({"approval": {"before": "promote", "timeoutSeconds": "60"}}, "approval.timeoutSeconds"),
    ],
)
def test_values_have_jsons_own_types(changes, message):
    refusal = _refusal({**BASE, **changes})
    assert refusal is not None and refusal.startswith(message), refusal


def test_an_integer_is_a_number():
    valid = validate({**BASE, "timeScale": 1, "health": {"errorRatePercent": 2}})
    assert valid.request.timeScale == 1.0 and valid.request.health.errorRatePercent == 2.0


def test_the_schedule_is_planned_from_the_strategy_scaled():
    valid = validate({**BASE, "strategy": "Canary10Percent5Minutes", "timeScale": 0.1})
    assert valid.schedule is not None
    assert valid.schedule.strategy.name == "Canary10Percent5Minutes"
    assert [step["waitSeconds"] for step in valid.schedule.steps] == [30]
    assert valid.schedule.approval is None and valid.schedule.gates == 0


def test_without_a_strategy_offline_there_is_no_schedule_to_check():
    """The deployment's DefaultStrategy decides; Prepare knows it, the CLI doesn't."""
    gates = {"approval": {"before": "each-step", "timeoutSeconds": 86400}}
    assert validate({**BASE, **gates}, OFFLINE).schedule is None
    with pytest.raises(InvalidRolloutRequest, match="approval: 9 gate"):
        validate({**BASE, **gates}, Defaults(strategy="Linear10PercentEvery10Minutes"))


def test_the_default_approval_gates_the_schedule():
    defaults = Defaults(strategy="Linear10PercentEvery1Minute", approval="each-step")
    valid = validate({**BASE, "bakeSeconds": 60}, defaults)
    assert valid.schedule is not None and valid.schedule.approval is not None
    assert valid.schedule.approval.before == "each-step"
    assert valid.schedule.gates == 9 + 1  # every step, and the bake


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({**BASE, "strategy": "Linear10PercentEvery1Minutes"}, "strategy: unknown preset"),
        (
            {**BASE, "strategy": {"steps": [{"percentage": 120, "waitSeconds": 60}]}},
            "strategy.steps.0.percentage: Input should be less than or equal to 99.99",
        ),
        ({**BASE, "timeScale": 0}, "timeScale: Input should be greater than 0"),
        (
            {**BASE, "strategy": {"type": "linear", "percentage": 0.5, "intervalSeconds": 60}},
            "strategy: 199 steps; at most 100",
        ),
        (
            {**BASE, "strategy": {"steps": [{"percentage": 10, "waitSeconds": 172800}]}}
            | {"bakeSeconds": 86400, "approval": {"before": "promote", "timeoutSeconds": 86400}},
            "approval: 1 gate(s) of up to 86400 s",
        ),
        (
            {"functions": [BASE, {"functionName": "billing", "alias": "live"}], "alias": "x"},
            "alias: not allowed beside functions",
        ),
        ({"functions": [BASE]}, "functions: List should have at least 2 items"),
    ],
)
def test_what_the_issue_found_and_more_is_refused(document, message):
    refusal = _refusal(document)
    assert refusal is not None and refusal.startswith(message), refusal


@pytest.mark.parametrize(
    ("health", "message"),
    [
        ({"latency": {"confidence": 1}}, "health.latency.confidence: Input should be less than"),
        ({"latency": {"confidence": 0.5}}, "health.latency.confidence: Input should be greater"),
        ({"latency": {"maxIncreasePercent": 0}}, "health.latency.maxIncreasePercent: Input"),
        ({"latency": {"maxIncreasePercent": "25"}}, "health.latency.maxIncreasePercent: Input"),
        ({"latency": {"maxIncrease": 25}}, "health.latency.maxIncrease: unknown key"),
        ({"latency": "on"}, 'health.latency: an object {"maxIncreasePercent", "confidence"}'),
        ({"inconclusive": "wait"}, "health.inconclusive: Input should be 'extend', 'pause'"),
    ],
)
def test_the_canary_judges_options_are_refused_with_their_field(health, message):
    refusal = _refusal({**BASE, "health": health})
    assert refusal is not None and refusal.startswith(message), refusal


DEFAULT_LATENCY = {"maxIncreasePercent": 25, "confidence": 0.98}


@pytest.mark.parametrize(
    ("latency", "expected"),
    [
        (True, True),  # the plan makes it the default test (tests/unit/test_plan.py)
        (False, False),
        ({"maxIncreasePercent": 50}, {**DEFAULT_LATENCY, "maxIncreasePercent": 50}),
        ({}, DEFAULT_LATENCY),
    ],
)
def test_latency_is_on_by_default_off_with_false(latency, expected):
    valid = validate({**BASE, "health": {"latency": latency, "inconclusive": "pause"}})
    found = valid.request.health.latency
    assert (found if isinstance(found, bool) else found.model_dump()) == expected
    assert valid.request.health.inconclusive == "pause"
    assert validate(BASE).request.health.latency is True
