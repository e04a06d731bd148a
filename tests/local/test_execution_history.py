"""Execution history seam: GetExecutionHistory pages, orders and refuses tokens as AWS does."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.stepfunctions.responses import StepFunctionResponse

from rollout.local.cloud import LocalCloud
from rollout.local.execution_history import (
    TOKEN_LIFETIME_SECONDS,
    ExecutionHistoryPages,
    PageTokens,
)
from rollout.local.stepfunctions import StepFunctionsEvents
from rollout.view.fetch import fetch_history

pytestmark = pytest.mark.cloud

ROLE = "arn:aws:iam::123456789012:role/local"
PASSES = 60  # each Pass state gives two events: 122 events with start and end


def _passes(count: int) -> dict[str, Any]:
    states: dict[str, Any] = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(count)}
    states[f"P{count - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "P0", "States": states}


@pytest.fixture(scope="module")
def seam_cloud(isolated_cloud: Any) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[StepFunctionsEvents, ExecutionHistoryPages]) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def sfn(seam_cloud: LocalCloud) -> Any:
    return seam_cloud.client("stepfunctions")


@pytest.fixture(scope="module")
def machine(sfn: Any) -> str:
    definition = json.dumps(_passes(PASSES))
    return str(
        sfn.create_state_machine(name="passes", definition=definition, roleArn=ROLE)[
            "stateMachineArn"
        ]
    )


@pytest.fixture(scope="module")
def ended(seam_cloud: LocalCloud, sfn: Any, machine: str) -> str:
    arn = str(sfn.start_execution(stateMachineArn=machine)["executionArn"])
    assert seam_cloud.seam(StepFunctionsEvents).ends.wait(arn, timeout=60)
    return arn


def _all_events(seam_cloud: LocalCloud, arn: str) -> list[dict[str, Any]]:
    """moto's whole history, read past the seam."""
    backend = stepfunctions_parser_backends[seam_cloud.account_id][seam_cloud.region]
    return list(backend.get_execution_history(arn)["events"])


def test_max_results_and_reverse_order_give_the_newest_events_first(sfn, ended, seam_cloud):
    everything = _all_events(seam_cloud, ended)
    assert len(everything) == 2 * PASSES + 2
    page = sfn.get_execution_history(executionArn=ended, maxResults=3, reverseOrder=True)
    assert [e["id"] for e in page["events"]] == [
        len(everything),
        len(everything) - 1,
        len(everything) - 2,
    ]
    assert page["events"][0]["type"] == "ExecutionSucceeded"
    assert page["nextToken"]


def test_the_default_page_is_100_events_oldest_first(sfn, ended):
    page = sfn.get_execution_history(executionArn=ended)
    assert [e["id"] for e in page["events"]] == list(range(1, 101))
    assert page["nextToken"]
    assert len(sfn.get_execution_history(executionArn=ended, maxResults=0)["events"]) == 100


def test_pages_follow_each_other_to_the_last_which_has_no_token(sfn, ended, seam_cloud):
    total = len(_all_events(seam_cloud, ended))
    for reverse in (False, True):
        seen: list[int] = []
        request: dict[str, Any] = {"executionArn": ended, "maxResults": 50, "reverseOrder": reverse}
        while True:
            page = sfn.get_execution_history(**request)
            seen += [e["id"] for e in page["events"]]
            if "nextToken" not in page:
                break
            request["nextToken"] = page["nextToken"]
        assert seen == sorted(range(1, total + 1), reverse=reverse)


def test_the_paginator_reads_every_event(sfn, ended, seam_cloud):
    read = fetch_history(sfn, ended)
    assert [e["id"] for e in read] == [e["id"] for e in _all_events(seam_cloud, ended)]
    assert read[-1]["type"] == "ExecutionSucceeded"


def test_without_execution_data_the_events_have_no_input_or_output(sfn, machine, seam_cloud):
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"secret": 1}))[
        "executionArn"
    ]
    assert seam_cloud.seam(StepFunctionsEvents).ends.wait(arn, timeout=60)
    full = sfn.get_execution_history(executionArn=arn, maxResults=3)
    bare = sfn.get_execution_history(executionArn=arn, maxResults=3, includeExecutionData=False)
    assert json.loads(full["events"][0]["executionStartedEventDetails"]["input"]) == {"secret": 1}
    assert "input" in full["events"][1]["stateEnteredEventDetails"]
    started, entered = (bare["events"][0], bare["events"][1])
    assert started["executionStartedEventDetails"] == {"roleArn": ROLE}
    assert entered["stateEnteredEventDetails"] == {"name": "P0"}
    last = sfn.get_execution_history(
        executionArn=arn, maxResults=1, reverseOrder=True, includeExecutionData=False
    )["events"][0]
    assert last["type"] == "ExecutionSucceeded" and last["executionSucceededEventDetails"] == {}
    again = sfn.get_execution_history(executionArn=arn, maxResults=3)  # moto's events unharmed
    assert again["events"] == full["events"]


def test_a_page_over_1000_is_refused(sfn, ended, machine):
    for call in (
        lambda: sfn.get_execution_history(executionArn=ended, maxResults=1001),
        lambda: sfn.list_executions(stateMachineArn=machine, maxResults=1001),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert sfn.get_execution_history(executionArn=ended, maxResults=1000).get("nextToken") is None


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda token, _: token[:-2] + "xx", id="altered"),
        pytest.param(lambda _, __: "not-a-token", id="garbage"),
        pytest.param(lambda token, _: token, id="other-order"),
        pytest.param(
            lambda _, arn: PageTokens(b"another cloud's key").issue(arn, False, 3),
            id="from-another-cloud",
        ),
    ],
)
def test_a_token_that_is_not_this_requests_is_invalid(sfn, ended, change):
    token = sfn.get_execution_history(executionArn=ended, maxResults=3)["nextToken"]
    with pytest.raises(ClientError) as refused:
        sfn.get_execution_history(
            executionArn=ended, maxResults=3, reverseOrder=True, nextToken=change(token, ended)
        )
    assert refused.value.response["Error"]["Code"] == "InvalidToken"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_token_expires_after_24_hours():
    now = [1_000_000.0]
    tokens = PageTokens(b"key", clock=lambda: now[0])
    token = tokens.issue("arn:execution", False, 7)
    now[0] += TOKEN_LIFETIME_SECONDS
    assert tokens.last_id(token, "arn:execution", False) == 7
    now[0] += 1
    with pytest.raises(Exception) as expired:
        tokens.last_id(token, "arn:execution", False)
    assert type(expired.value).__name__ == "InvalidToken"


def test_a_page_of_a_running_execution_stays_put_as_events_are_added(sfn, machine, seam_cloud):
    """Events only ever get appended with higher ids: a token taken mid-run still pages."""
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    arn = sfn.create_state_machine(name="short-wait", definition=json.dumps(wait), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    first = sfn.get_execution_history(executionArn=execution, maxResults=1)
    assert seam_cloud.seam(StepFunctionsEvents).ends.wait(execution, timeout=30)
    rest = sfn.get_execution_history(
        executionArn=execution, maxResults=1000, nextToken=first["nextToken"]
    )
    ids = [e["id"] for e in first["events"] + rest["events"]]
    assert ids == list(range(1, len(ids) + 1))
    assert rest["events"][-1]["type"] == "ExecutionSucceeded"


# -- contract with moto ---------------------------------------------------------------------------


def moto_original(name: str) -> Any:
    """moto's own response method, even while a running cloud's seam has replaced it."""
    running = LocalCloud._running
    for seam in running._seams if running is not None else []:
        for owner, patched, original in getattr(getattr(seam, "_patches", None), "_saved", []):
            if (owner, patched) == (StepFunctionResponse, name) and callable(original):
                return original
    return getattr(StepFunctionResponse, name)


def test_moto_internals_the_seam_relies_on():
    for name in ("get_execution_history", "list_executions"):
        assert list(inspect.signature(moto_original(name)).parameters) == ["self"], name
    assert callable(StepFunctionResponse._get_param)
    assert callable(StepFunctionResponse._get_int_param)
    details = {"input": "{}", "inputDetails": {}, "output": "{}", "outputDetails": {}, "name": "P"}
    EventManager._remove_data_from_history_log(details_body=details)
    assert details == {"name": "P"}
    assert isinstance(vars(StepFunctionResponse)["stepfunction_backend"], property)


def test_moto_still_reads_only_the_execution_arn():
    """When moto pages the history itself, check it against AWS and retire the seam."""
    source = inspect.getsource(moto_original("get_execution_history"))
    for parameter in ("maxResults", "reverseOrder", "nextToken"):
        assert parameter not in source


def test_moto_alone_returns_every_event_oldest_first(seam_cloud, sfn, ended):
    seam = seam_cloud.seam(ExecutionHistoryPages)
    seam.uninstall()
    try:
        page = sfn.get_execution_history(executionArn=ended, maxResults=3, reverseOrder=True)
        big = sfn.list_executions(
            stateMachineArn=sfn.describe_execution(executionArn=ended)["stateMachineArn"],
            maxResults=1001,
        )
    finally:
        seam.install(seam_cloud)
    assert len(page["events"]) == 2 * PASSES + 2
    assert page["events"][0]["id"] == 1
    assert "nextToken" not in page
    assert big["executions"]  # moto accepts a page size AWS refuses


def test_uninstall_restores_moto(seam_cloud):
    before = (StepFunctionResponse.get_execution_history, StepFunctionResponse.list_executions)
    seam = ExecutionHistoryPages()
    seam.install(seam_cloud)
    assert StepFunctionResponse.get_execution_history is not before[0]
    seam.uninstall()
    assert (
        StepFunctionResponse.get_execution_history,
        StepFunctionResponse.list_executions,
    ) == before
