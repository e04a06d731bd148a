"""Hand-made executions shaped like DescribeExecution and GetExecutionHistory responses,
following the workflow contract (docs/workflow.md): state names, $.plan, $.progress."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:rollout"
ARN = "arn:aws:states:us-east-1:123456789012:execution:rollout:run-1"

INPUT = {"functionName": "orders", "alias": "live", "strategy": "Canary10Percent5Minutes"}
PLAN = {
    "action": "rollout",
    "reason": None,
    "source": "console",
    "executionId": ARN,
    "functionName": "orders",
    "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
    "alias": "live",
    "stableVersion": "3",
    "targetVersion": "4",
    "strategy": {"name": "Canary10Percent5Minutes", "kind": "canary"},
    "timeScale": 1,
    "checkIntervalSeconds": 10,
    "steps": [{"percentage": 10, "weight": 0.1, "waitSeconds": 300}],
    "totalWaitSeconds": 300,
    "alarms": ["orders-errors"],
    "bakeSeconds": 0,
}


def check(healthy: bool = True, at: str = "2026-11-26T10:00:20Z") -> dict[str, Any]:
    return {
        "at": at,
        "healthy": healthy,
        "alarms": {"orders-errors": "OK" if healthy else "ALARM"},
        "newVersion": {
            "version": "4",
            "invocations": 120,
            "errors": 0 if healthy else 30,
            "errorRatePercent": 0.0 if healthy else 25.0,
        },
        "stableVersion": {
            "version": "3",
            "invocations": 1080,
            "errors": 3,
            "errorRatePercent": 0.28,
        },
        "notes": [],
    }


def progress(**changes: Any) -> dict[str, Any]:
    base = {
        "stepIndex": 0,
        "stepCount": 1,
        "percentage": 10,
        "weight": 0.1,
        "stepStartedAt": "2026-11-26T10:00:02Z",
        "stepWaitSeconds": 300,
        "waitedSeconds": 0,
        "nextWaitSeconds": 10,
        "stepComplete": False,
        "hasNextStep": False,
        "checks": 0,
        "lastCheck": None,
    }
    return {**base, **changes}


class History:
    """Appends events the way Step Functions records them; `describe` gives the execution."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.doc: dict[str, Any] = copy.deepcopy(document or INPUT)
        self.input = copy.deepcopy(self.doc)
        self.events: list[dict[str, Any]] = []
        self.seconds = 0.0
        self._add(
            "ExecutionStarted",
            executionStartedEventDetails={
                "input": json.dumps(self.input),
                "roleArn": "arn:aws:iam::123456789012:role/x",
            },
        )

    def _add(self, kind: str, **details: Any) -> None:
        stamp = T0 + timedelta(seconds=self.seconds)
        self.events.append(
            {
                "id": len(self.events) + 1,
                "type": kind,
                "timestamp": stamp,
                "previousEventId": len(self.events),
                **details,
            }
        )

    def enter(self, name: str, kind: str = "Task", seconds: float = 1.0) -> History:
        self._add(
            f"{kind}StateEntered",
            stateEnteredEventDetails={"name": name, "input": json.dumps(self.doc)},
        )
        self.seconds += seconds
        return self

    def exit(self, name: str, kind: str = "Task", **result: Any) -> History:
        self.doc.update(copy.deepcopy(result))
        self._add(
            f"{kind}StateExited",
            stateExitedEventDetails={"name": name, "output": json.dumps(self.doc)},
        )
        return self

    def state(self, name: str, kind: str = "Task", seconds: float = 1.0, **result: Any) -> History:
        return self.enter(name, kind, seconds).exit(name, kind, **result)

    def task_failed(self, error: str, cause: str) -> History:
        self._add(
            "LambdaFunctionFailed",
            lambdaFunctionFailedEventDetails={"error": error, "cause": cause},
        )
        self._add(
            "TaskFailed",
            taskFailedEventDetails={
                "resourceType": "lambda",
                "resource": "invoke",
                "error": error,
                "cause": cause,
            },
        )
        return self

    def describe(
        self, status: str = "RUNNING", error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "executionArn": ARN,
            "stateMachineArn": MACHINE,
            "name": "run-1",
            "status": status,
            "startDate": T0,
            "input": json.dumps(self.input),
        }
        if status != "RUNNING":
            out["stopDate"] = T0 + timedelta(seconds=self.seconds)
        if status == "SUCCEEDED":
            out["output"] = json.dumps(self.doc)
        if error:
            out.update(error=error, cause=cause)
        return out

    def finish(self, status: str, error: str | None = None, cause: str | None = None) -> History:
        if status == "SUCCEEDED":
            self._add(
                "ExecutionSucceeded",
                executionSucceededEventDetails={"output": json.dumps(self.doc)},
            )
        else:
            self._add(
                "ExecutionFailed", executionFailedEventDetails={"error": error, "cause": cause}
            )
        return self


def prepared(plan: dict[str, Any] | None = None) -> History:
    """Prepare ran and chose to roll out."""
    return (
        History()
        .state("Prepare", plan=plan or PLAN, progress=progress(weight=0, percentage=0))
        .state("Roll out?", "Choice", seconds=0)
        .state("Pre-traffic check", checks={"preTraffic": {"passed": True}})
    )


def shifted_and_waiting() -> History:
    """Running: 10 % shifted, now in the Wait between health checks."""
    return (
        prepared()
        .state("Shift traffic", progress=progress(waitedSeconds=0))
        .state("Wait for next check", "Wait", seconds=10)
        .state("Check health", progress=progress(waitedSeconds=10, checks=1, lastCheck=check()))
        .state("Step done?", "Choice", seconds=0)
        .enter("Wait for next check", "Wait", seconds=3)
    )


def succeeded() -> History:
    h = (
        prepared()
        .state("Shift traffic", progress=progress())
        .state("Wait for next check", "Wait", seconds=300)
        .state(
            "Check health",
            progress=progress(waitedSeconds=300, stepComplete=True, checks=1, lastCheck=check()),
        )
        .state("Step done?", "Choice", seconds=0)
        .state("Next step?", "Choice", seconds=0)
        .state("Promote", progress=progress(percentage=100, weight=1, lastCheck=check()))
        .state(
            "Post-traffic check",
            checks={"preTraffic": {"passed": True}, "postTraffic": {"passed": True}},
        )
        .state("Bake?", "Choice", seconds=0)
        .state("Finalize", outcome={"outcome": "succeeded"})
        .state("Rolled out", "Succeed", seconds=0)
    )
    return h.finish("SUCCEEDED")


ROLLBACK_CAUSE = 'Health check failed at 10% (step 1/1): error rate 25.0% > 1.0%\n{"details": 1}'


def rolled_back() -> History:
    h = (
        prepared()
        .state("Shift traffic", progress=progress())
        .state("Wait for next check", "Wait", seconds=10)
        .enter("Check health")
        .task_failed("HealthCheckFailed", "error rate 25.0% > 1.0%")
        .exit(
            "Check health",
            failure={"Error": "HealthCheckFailed", "Cause": "error rate 25.0% > 1.0%"},
        )
        .state(
            "Roll back",
            rollback={"error": "HealthCheckFailed", "cause": ROLLBACK_CAUSE, "restored": True},
        )
        .state("Notify rollback", outcome={"outcome": "rolled_back"})
        .enter("Rolled back", "Fail", seconds=0)
    )
    return h.finish("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE)


def rejected(error: str = "InvalidRolloutRequest") -> History:
    cause = json.dumps({"errorMessage": "alias 'live' does not exist", "errorType": error})
    h = (
        History()
        .enter("Prepare")
        .task_failed(error, cause)
        .exit("Prepare", failure={"Error": error, "Cause": cause})
        .state(
            "Explain rejection",
            "Pass",
            seconds=0,
            rejection={"error": error, "details": json.loads(cause)},
        )
        .enter("Request rejected", "Fail", seconds=0)
    )
    return h.finish("FAILED", error, "alias 'live' does not exist")


def skipped() -> History:
    plan = {**PLAN, "action": "skip", "reason": "function is not tagged rollout:alias", "steps": []}
    h = (
        History()
        .state("Prepare", plan=plan, progress=progress())
        .state("Roll out?", "Choice", seconds=0)
        .state("Skipped", "Succeed", seconds=0)
    )
    return h.finish("SUCCEEDED")
