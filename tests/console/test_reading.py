"""The console's reads of Step Functions: incremental, shared by every page, within its
budget. A fake Step Functions that pages and orders GetExecutionHistory as AWS does
(`maxResults`, `reverseOrder`, `nextToken`) counts every call."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollout.console.budget import Budget, OutOfBudget, Rate
from rollout.console.executions import TrackedExecution
from rollout.console.live import LIST, Live
from rollout.view.pipeline import is_pipeline
from tests.view.test_pipeline_view import PIPELINE, running_second_wave

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:rollout"
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def arn(name: str) -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:rollout:{name}"


class FakeStepFunctions:
    """Executions whose histories grow when told; every call counted by API."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.status: dict[str, str] = {}

    def add(self, name: str) -> str:
        execution = arn(name)
        self.histories[execution] = []
        self.status[execution] = "RUNNING"
        self.event(execution, "ExecutionStarted", {"executionStartedEventDetails": {"input": "{}"}})
        return execution

    def event(self, execution: str, kind: str, details: dict[str, Any] | None = None) -> None:
        history = self.histories[execution]
        number = len(history) + 1
        at = START + timedelta(seconds=number)
        history.append({"id": number, "type": kind, "timestamp": at, **(details or {})})

    def enter(self, execution: str, state: str) -> None:
        self.event(
            execution,
            "TaskStateEntered",
            {"stateEnteredEventDetails": {"name": state, "input": "{}"}},
        )
        self.event(
            execution,
            "TaskStateExited",
            {"stateExitedEventDetails": {"name": state, "output": "{}"}},
        )

    def end(self, execution: str) -> None:
        self.event(
            execution, "ExecutionSucceeded", {"executionSucceededEventDetails": {"output": "{}"}}
        )
        self.status[execution] = "SUCCEEDED"

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self.calls["DescribeExecution"] += 1
        described = {
            "executionArn": executionArn,
            "name": executionArn.rsplit(":", 1)[-1],
            "stateMachineArn": MACHINE,
            "status": self.status[executionArn],
            "startDate": START,
            "input": json.dumps({"functionName": "orders", "alias": "live"}),
        }
        if self.status[executionArn] != "RUNNING":
            described |= {"stopDate": START + timedelta(minutes=5), "output": "{}"}
        return described

    def describe_state_machine_for_execution(self, executionArn: str) -> dict[str, Any]:
        self.calls["DescribeStateMachineForExecution"] += 1
        definition = {"StartAt": "Prepare", "States": {"Prepare": {"Type": "Succeed"}}}
        return {"name": "rollout", "definition": json.dumps(definition)}

    def get_execution_history(
        self,
        executionArn: str,
        maxResults: int = 100,
        reverseOrder: bool = False,
        nextToken: str | None = None,
        includeExecutionData: bool = True,
    ) -> dict[str, Any]:
        self.calls["GetExecutionHistory"] += 1
        events = list(self.histories[executionArn])
        if reverseOrder:
            events.reverse()
        start = int(nextToken or 0)
        page = {"events": events[start : start + maxResults]}
        if start + maxResults < len(events):
            page["nextToken"] = str(start + maxResults)
        return page

    def list_executions(self, stateMachineArn: str, maxResults: int) -> dict[str, Any]:
        self.calls["ListExecutions"] += 1
        return {
            "executions": [
                {
                    "executionArn": execution,
                    "name": execution.rsplit(":", 1)[-1],
                    "status": status,
                    "startDate": START,
                }
                for execution, status in self.status.items()
            ]
        }


APIS = (
    "ListExecutions",
    "DescribeExecution",
    "GetExecutionHistory",
    "DescribeStateMachineForExecution",
)


def plenty() -> Budget:
    return Budget({api: Rate(burst=1000, per_second=1000) for api in APIS})


def test_a_long_history_is_read_whole_once_then_one_call_per_refresh():
    sfn = FakeStepFunctions()
    execution = sfn.add("long")
    for _ in range(150):
        sfn.enter(execution, "Check health")  # 301 events: four pages of 100
    tracker = TrackedExecution(execution)

    assert tracker.refresh(sfn, plenty())
    assert len(tracker.run.events) == 301
    assert sfn.calls == {"DescribeExecution": 1, "GetExecutionHistory": 4}

    sfn.enter(execution, "Shift traffic")
    assert tracker.refresh(sfn, plenty())
    assert sfn.calls["GetExecutionHistory"] == 5  # only the newest page
    assert tracker.run.current_state == "Shift traffic"
    assert [e.state for e in tracker.run.events[-2:]] == ["Shift traffic", "Shift traffic"]

    assert not tracker.refresh(sfn, plenty())  # nothing new: nothing rebuilt
    assert sfn.calls["GetExecutionHistory"] == 6


def test_an_ended_execution_is_described_again_once_then_never_read():
    sfn = FakeStepFunctions()
    execution = sfn.add("ends")
    tracker = TrackedExecution(execution)
    tracker.refresh(sfn, plenty())
    sfn.end(execution)

    assert tracker.refresh(sfn, plenty())
    assert tracker.ended and tracker.run.status == "SUCCEEDED"
    calls = sum(sfn.calls.values())
    assert not tracker.refresh(sfn, plenty()) and not tracker.needs_reading
    assert sum(sfn.calls.values()) == calls


def test_a_read_beyond_the_budget_is_not_sent_but_waits_for_the_next_round():
    sfn = FakeStepFunctions()
    execution = sfn.add("thrifty")
    now = [0.0]
    budget = Budget({api: Rate(burst=1, per_second=0.1) for api in APIS}, clock=lambda: now[0])
    tracker = TrackedExecution(execution)
    tracker.refresh(sfn, budget)
    sfn.enter(execution, "Shift traffic")

    with pytest.raises(OutOfBudget):
        tracker.refresh(sfn, budget)
    assert sfn.calls["GetExecutionHistory"] == 1  # refused by the console: never sent

    now[0] = 10.0  # a token more
    assert tracker.refresh(sfn, budget)
    assert tracker.run.current_state == "Shift traffic"


def test_every_page_open_on_one_rollout_shares_one_read_per_round():
    sfn = FakeStepFunctions()
    execution = sfn.add("watched")
    moments = [0.0]
    live = Live(sfn, MACHINE, plenty(), clock=lambda: moments[0])
    with live.watching(execution), live.watching(execution), live.watching(LIST):
        live.read_due()
        first = live.wait(execution, 0, 0)
        assert first is not None and json.loads(first.body)["run"]["name"] == "watched"
        assert sfn.calls == {
            "ListExecutions": 1,
            "DescribeExecution": 1,
            "DescribeStateMachineForExecution": 1,
            "GetExecutionHistory": 1,
        }
        live.read_due()  # the same moment: nothing is due again
        assert sum(sfn.calls.values()) == 4

        sfn.enter(execution, "Shift traffic")
        moments[0] = 1.0
        live.read_due()
        assert sfn.calls["GetExecutionHistory"] == 2
        newer = live.wait(execution, first.version, 0)
        assert (
            newer is not None and json.loads(newer.body)["run"]["currentState"] == "Shift traffic"
        )
        assert json.loads(live.wait(LIST, 0, 0).body)["rows"][0]["name"] == "watched"

    sfn.enter(execution, "Check health")
    moments[0] = 10.0
    live.read_due()  # no page open: nothing read
    assert sfn.calls["GetExecutionHistory"] == 2


class PipelinesFake(FakeStepFunctions):
    """The rollout state machine's executions are listed; one handed its waves over to a
    pipeline (on the pipeline state machine: never listed), whose history is given."""

    def __init__(self) -> None:
        super().__init__()
        self.outputs: dict[str, str] = {}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        described = super().describe_execution(executionArn)
        if executionArn in self.outputs:
            described["output"] = self.outputs[executionArn]
        return described

    def list_executions(self, stateMachineArn: str, maxResults: int) -> dict[str, Any]:
        listed = super().list_executions(stateMachineArn, maxResults)
        executions = listed["executions"]
        listed["executions"] = [e for e in executions if not is_pipeline(e["executionArn"])]
        return listed


def test_a_rollout_that_handed_over_its_waves_is_listed_as_its_pipeline():
    sfn = PipelinesFake()
    handed = sfn.add("p1")
    sfn.end(handed)
    sfn.outputs[handed] = json.dumps(
        {"plan": {"action": "pipeline"}, "pipeline": {"executionArn": PIPELINE}}
    )
    sfn.histories[PIPELINE] = running_second_wave().events
    sfn.status[PIPELINE] = "RUNNING"
    live = Live(sfn, MACHINE, plenty())
    with live.watching(LIST):
        live.read_due()  # the list and the rollout: it handed over
        live.read_due()  # the pipeline it names
        snapshot = live.wait(LIST, 0, 0)
        assert snapshot is not None
        (row,) = json.loads(snapshot.body)["rows"]
    assert (row["arn"], row["pipeline"], row["label"]) == (PIPELINE, True, "Wave 2/2")
    assert [m["verdict"] for m in row["members"]] == ["succeeded", "failed", "running"]
    with live.watching(PIPELINE):
        live.read_due()
        page = live.wait(PIPELINE, 0, 0)
        assert page is not None
        assert json.loads(page.body)["pipeline"]["lines"][0].startswith("pipeline p1: 2 waves")
