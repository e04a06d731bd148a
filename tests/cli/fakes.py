"""A small in-memory Step Functions client serving hand-made executions (tests/cli/histories).
Only for the CLI's own logic; the real workflow is exercised in test_local_e2e.py."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tests.cli.histories import MACHINE, History

PAGE_SIZE = 3  # small pages, so pagination is exercised


class FakeStepFunctions:
    def __init__(self, *, describes_move_on: bool = True) -> None:
        # arn -> successive (describe, history) snapshots; each describe call moves one on,
        # unless `describes_move_on` is False: then the test moves it on (`move_on`), and
        # ListExecutions lists each execution as it is now rather than as it ends
        self.stages: dict[str, list[tuple[dict[str, Any], list[dict[str, Any]]]]] = {}
        self.position: dict[str, int] = {}
        self.describes_move_on = describes_move_on

    def add(self, arn: str, *stages: tuple[History, dict[str, Any]]) -> None:
        snapshots = []
        for history, describe in stages:
            snapshots.append(
                (
                    {**describe, "executionArn": arn, "name": arn.rsplit(":", 1)[-1]},
                    list(history.events),
                )
            )
        self.stages[arn] = snapshots
        self.position[arn] = 0

    def _stage(self, arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if arn not in self.stages:
            raise ClientError(
                {
                    "Error": {
                        "Code": "ExecutionDoesNotExist",
                        "Message": f"Execution Does Not Exist: '{arn}'",
                    }
                },
                "DescribeExecution",
            )
        return self.stages[arn][self.position[arn]]

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        describe = self._stage(executionArn)[0]
        if self.describes_move_on:
            self.move_on(executionArn)
        return describe

    def move_on(self, arn: str) -> None:
        """The execution's next snapshot (it stays on its last)."""
        self.position[arn] = min(self.position[arn] + 1, len(self.stages[arn]) - 1)

    def describe_state_machine_for_execution(self, executionArn: str) -> dict[str, Any]:
        self._stage(executionArn)
        return {"stateMachineArn": MACHINE, "name": "rollout", "definition": "{}"}

    def _listed(self, arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return self.stages[arn][-1] if self.describes_move_on else self._stage(arn)

    def get_paginator(self, operation: str) -> FakePaginator:
        return FakePaginator(self, operation)

    def list_executions_pages(self, machine: str, status: str | None) -> list[dict[str, Any]]:
        listed = [(arn, self._listed(arn)[0]) for arn in self.stages]
        summaries = [
            {
                "executionArn": arn,
                "stateMachineArn": machine,
                "name": arn.rsplit(":", 1)[-1],
                "status": shown["status"],
                "startDate": shown["startDate"],
            }
            for arn, shown in listed
            if status in (None, shown["status"])
        ]
        return [
            {"executions": summaries[i : i + PAGE_SIZE]}
            for i in range(0, len(summaries), PAGE_SIZE)
        ]


class FakePaginator:
    def __init__(self, client: FakeStepFunctions, operation: str) -> None:
        self.client, self.operation = client, operation

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        if self.operation == "list_executions":
            machine, status = kwargs["stateMachineArn"], kwargs.get("statusFilter")
            return self.client.list_executions_pages(machine, status)
        assert self.operation == "get_execution_history"
        events = self.client._stage(kwargs["executionArn"])[1]
        return [{"events": events[i : i + PAGE_SIZE]} for i in range(0, len(events), PAGE_SIZE)]


class FakeAws:
    """Stands in for rollout.aws.AwsContext."""

    region = "us-east-1"

    def __init__(self, sfn: FakeStepFunctions) -> None:
        self.sfn = sfn

    def client(self, service: str) -> Any:
        assert service == "stepfunctions", service
        return self.sfn
