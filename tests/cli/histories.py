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

    def __init__(self, document: dict[str, Any] | None = None, arn: str = ARN) -> None:
        self.arn = arn
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

    def timed_out(self, error: str = "States.Timeout") -> History:
        """A task's timeout, as a wait for the next check ends when no evidence came."""
        self._add(
            "TaskTimedOut",
            taskTimedOutEventDetails={
                "resourceType": "lambda",
                "resource": "invoke.waitForTaskToken",
                "error": error,
            },
        )
        return self

    def describe(
        self, status: str = "RUNNING", error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": MACHINE,
            "name": self.arn.rsplit(":", 1)[-1],
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


def moved_without_rollout() -> History:
    """The PublishVersion rollout of new code a template's AutoPublishAlias already moved
    the alias to: a noop that says no rollout moved it (traffic/moved.py)."""
    moved = {"version": "4", "previousVersion": "3", "stack": "orders-app"}
    reason = (
        "orders:live already serves version 4, new code since version 3, but no rollout moved it"
    )
    plan = {**PLAN, "action": "noop", "reason": reason, "steps": [], "movedWithoutRollout": moved}
    h = (
        History()
        .state("Prepare", plan=plan, progress=progress())
        .state("Roll out?", "Choice", seconds=0)
        .state("Already live", "Succeed", seconds=0)
    )
    return h.finish("SUCCEEDED")


PRIOR_ROLLBACK = {
    "functionName": "orders",
    "alias": "live",
    "version": "4",
    "executionId": "arn:aws:states:us-east-1:123456789012:execution:rollout:8e66df4b",
    "at": "2026-11-26T09:00:00Z",
    "error": "RolloutAborted",
    "cause": "Rolled back orders:live to version 3: Aborted by alice: bad release",
}


def previously_rolled_back() -> History:
    """A PublishVersion that handed back version 4, which an abort had rolled back on the
    alias: Prepare plans it as previouslyRolledBack (rollout_core.rolled_back)."""
    reason = (
        "version 4 was rolled back on orders:live by "
        f"{PRIOR_ROLLBACK['executionId']} at {PRIOR_ROLLBACK['at']} (RolloutAborted: …); "
        "not rolled out again"
    )
    plan = {
        **PLAN,
        "action": "previouslyRolledBack",
        "reason": reason,
        "steps": [],
        "rolledBackBefore": [PRIOR_ROLLBACK],
    }
    h = (
        History()
        .state("Prepare", plan=plan, progress=progress())
        .state("Roll out?", "Choice", seconds=0)
        .state("Previously rolled back", "Succeed", seconds=0)
    )
    return h.finish("SUCCEEDED")


# -- a release of several functions (issue 15) -------------------------------------------
# Shaped as the workflow writes them: $.plan.functions, progress.lastCheck.functions, the
# failed check's data, $.rollback.aliases; $.checks.<phase> and $.outcome are wrapped by
# their states' ResultSelector ({"result": ...}; Finalize's {"outcome", "summary"}).

RELEASE_ARN = ARN.replace("run-1", "release-1")
MEMBERS = [("orders-api", "3", "4"), ("orders-worker", "7", "8"), ("orders-cron", "1", "2")]
RELEASE_INPUT = {
    "functions": [{"functionName": name, "alias": "live"} for name, _, _ in MEMBERS],
    "strategy": {
        "steps": [{"percentage": 10, "waitSeconds": 60}, {"percentage": 50, "waitSeconds": 60}]
    },
    "alarms": ["orders-errors"],
}
LOCK_TABLE = "rollout-locks"


def member(name: str, stable: str, target: str) -> dict[str, Any]:
    """One entry of plan.functions, as Prepare resolves it."""
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    return {
        "functionName": name,
        "functionArn": arn,
        "alias": "live",
        "aliasArn": f"{arn}:live",
        "stableVersion": stable,
        "targetVersion": target,
        "preTraffic": {"readiness": True},
        "postTraffic": None,
        "lockKey": f"{name}:live",
    }


RELEASE_MEMBERS = [member(*m) for m in MEMBERS]
RELEASE_PLAN = {
    **PLAN,
    "executionId": RELEASE_ARN,
    **{k: v for k, v in RELEASE_MEMBERS[0].items() if k != "lockKey"},
    "strategy": {"name": "custom", "kind": "steps"},
    "steps": [
        {"percentage": 10, "weight": 0.1, "waitSeconds": 60},
        {"percentage": 50, "weight": 0.5, "waitSeconds": 60},
    ],
    "totalWaitSeconds": 120,
    "lock": {"table": LOCK_TABLE, "key": "orders-api:live", "owner": RELEASE_ARN},
    "notes": [],
    "functions": RELEASE_MEMBERS,
}
WORKER_REASON = (
    "orders-worker: metrics: version 8 error rate 30.00% (30/100 invocations failed) above 1% "
    "and above stable version 7 (0.44%)"
)


def member_check(name: str, stable: str, target: str, failing: bool = False) -> dict[str, Any]:
    """One function's row of lastCheck.functions: its own metrics and logs signal."""
    errors = 30 if failing else 0
    return {
        "functionName": name,
        "alias": "live",
        "healthy": not failing,
        "reasons": [WORKER_REASON.split(": ", 1)[1]] if failing else [],
        "newVersion": {
            "version": target,
            "invocations": 100,
            "errors": errors,
            "errorRatePercent": float(errors),
        },
        "stableVersion": {
            "version": stable,
            "invocations": 900,
            "errors": 4,
            "errorRatePercent": 0.44,
        },
        "logs": {
            "enabled": True,
            "newVersion": {
                "version": target,
                "invocations": 98,
                "failures": errors,
                "errorRatePercent": round(100 * errors / 98, 2),
                "eventsRead": 300,
                "capped": False,
            },
        },
    }


def release_check(at: str, failing: str | None = None) -> dict[str, Any]:
    """progress.lastCheck of a release: the primary's keys at the top, every member's row
    in `functions`; a failing one names its function in each reason."""
    rows = [member_check(n, s, t, failing=n == failing) for n, s, t in MEMBERS]
    primary = {
        k: v for k, v in rows[0].items() if k not in ("functionName", "alias", "healthy", "reasons")
    }
    return {
        "at": at,
        "healthy": failing is None,
        "alarms": {"orders-errors": "OK"},
        **primary,
        "notes": [],
        "functions": rows,
    }


def release_progress(step: int, **changes: Any) -> dict[str, Any]:
    """$.progress of the release at step `step` (0-based): every alias at the same weight."""
    percentage = (10, 50)[step]
    at_step = {
        "stepIndex": step,
        "stepCount": 2,
        "percentage": percentage,
        "weight": percentage / 100,
        "stepStartedAt": f"2026-11-26T10:0{step}:02Z",
        "stepWaitSeconds": 60,
        "hasNextStep": step == 0,
    }
    return progress(**{**at_step, **changes})


def release_traffic_check(phase: str) -> dict[str, Any]:
    """$.checks.<phase> of a release: each member's own result."""
    results = [
        {
            "functionName": name,
            "alias": "live",
            "phase": phase,
            "version": target,
            "results": [{"name": "readiness", "passed": True, "detail": "version is Active"}],
            "passed": True,
            "skipped": False,
        }
        for name, _, target in MEMBERS
    ]
    return {"phase": phase, "passed": True, "skipped": False, "functions": results}


def release_prepared() -> History:
    """A release's Prepare and pre-traffic checks: every member's check passed."""
    h = History(RELEASE_INPUT, RELEASE_ARN)
    return (
        h.state(
            "Prepare",
            plan=RELEASE_PLAN,
            progress=progress(weight=0, percentage=0, stepIndex=-1, stepCount=2),
        )
        .state("Roll out?", "Choice", seconds=0)
        .state(
            "Pre-traffic check",
            checks={"preTraffic": {"result": release_traffic_check("preTraffic")}},
        )
    )


def release_step(h: History, step: int, at: str) -> History:
    """Shift every alias to step `step`'s weight, wait, and pass a health check."""
    checked = release_progress(step, waitedSeconds=60, stepComplete=True, checks=step + 1)
    return (
        h.state("Shift traffic", progress=release_progress(step))
        .state("Wait for next check", "Wait", seconds=60)
        .state("Check health", progress={**checked, "lastCheck": release_check(at)})
        .state("Step done?", "Choice", seconds=0)
        .state("Next step?", "Choice", seconds=0)
    )


def release_running() -> History:
    """Running: every alias at 10 %, one healthy check, waiting for the next."""
    h = release_prepared()
    h = (
        h.state("Shift traffic", progress=release_progress(0))
        .state("Wait for next check", "Wait", seconds=10)
        .state(
            "Check health",
            progress=release_progress(
                0, waitedSeconds=10, checks=1, lastCheck=release_check("2026-11-26T10:00:13Z")
            ),
        )
        .state("Step done?", "Choice", seconds=0)
        .enter("Wait for next check", "Wait", seconds=3)
    )
    return h


def release_outcome(outcome: str, **more: Any) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "executionId": RELEASE_ARN,
        "functionName": "orders-api",
        "alias": "live",
        "stableVersion": "3",
        "targetVersion": "4",
        "strategy": "custom",
        "lockReleased": True,
        "functions": [
            {"functionName": n, "alias": "live", "stableVersion": s, "targetVersion": t}
            for n, s, t in MEMBERS
        ],
        **more,
    }


def release_succeeded() -> History:
    """Both steps healthy, every alias promoted; Finalize names every member."""
    h = release_step(release_prepared(), 0, "2026-11-26T10:01:03Z")
    h = release_step(h, 1, "2026-11-26T10:02:05Z")
    promoted = release_progress(1, percentage=100, weight=1, phase="bake")
    h = (
        h.state(
            "Promote", progress={**promoted, "lastCheck": release_check("2026-11-26T10:02:05Z")}
        )
        .state(
            "Post-traffic check",
            checks={
                "preTraffic": {"result": release_traffic_check("preTraffic")},
                "postTraffic": {"result": release_traffic_check("postTraffic")},
            },
        )
        .state("Bake?", "Choice", seconds=0)
        .state(
            "Finalize",
            outcome={
                "outcome": "succeeded",
                "summary": release_outcome(
                    "succeeded",
                    detail="; ".join(f"{n}:live now runs version {t}" for n, _, t in MEMBERS),
                ),
            },
        )
        .state("Clean up old versions", cleanup={"deleted": []})
        .state("Rolled out", "Succeed", seconds=0)
    )
    return h.finish("SUCCEEDED")


RELEASE_LABEL = ", ".join(f"{name}:live" for name, _, _ in MEMBERS)
RELEASE_FAILURE = f"Check health, step 2/2 at 50%: {WORKER_REASON}"
RELEASE_CAUSE = (
    f"Rolled back every alias of the release ({RELEASE_LABEL}) to its stable version: "
    f"{RELEASE_FAILURE} — state: Check health; step 2/2 at 50%; weight 50% on version 4; "
    "strategy custom"
)


def release_rolled_back() -> History:
    """orders-worker fails its health check at step 2; every alias is restored."""
    h = release_step(release_prepared(), 0, "2026-11-26T10:01:03Z")
    failed = {
        **release_check("2026-11-26T10:02:05Z", failing="orders-worker"),
        "reasons": [WORKER_REASON],
        "phase": "step",
        "percentage": 50,
    }
    message = f"{RELEASE_FAILURE}\n{json.dumps({'lastCheck': failed})}"
    cause = json.dumps({"errorMessage": message, "errorType": "HealthCheckFailed"})
    aliases = [
        {
            "functionName": name,
            "alias": "live",
            "restored": True,
            "detail": f"restored from {stable} 50% → {target} to version {stable}",
        }
        for name, stable, target in MEMBERS
    ]
    h = (
        h.state("Shift traffic", progress=release_progress(1))
        .state("Wait for next check", "Wait", seconds=60)
        .enter("Check health")
        .task_failed("HealthCheckFailed", cause)
        .exit("Check health", failure={"Error": "HealthCheckFailed", "Cause": cause})
        .state(
            "Roll back",
            rollback={
                "error": "HealthCheckFailed",
                "cause": RELEASE_CAUSE,
                "restored": True,
                "alias": {"version": "3", "routing": {}},
                "stableVersion": "3",
                "targetVersion": "4",
                "aliases": aliases,
            },
        )
        .state(
            "Notify rollback",
            outcome={
                "outcome": "rolled_back",
                "error": "HealthCheckFailed",
                "cause": RELEASE_CAUSE,
            },
        )
        .enter("Rolled back", "Fail", seconds=0)
    )
    return h.finish("FAILED", "HealthCheckFailed", RELEASE_CAUSE)


ROLLBACK_FAILED_CAUSE = (  # rollout_core.outcome: which aliases failed, why, which were restored
    f"Could not roll back orders-cron:live after HealthCheckFailed ({RELEASE_FAILURE}): alias "
    "orders-cron:live is on version 9, not where this rollout left it; restored "
    "orders-api:live, orders-worker:live — state: Check health; step 2/2 at 50%"
)


def release_rollback_failed() -> History:
    """orders-worker fails at step 2 and orders-cron can't be restored (someone moved it):
    Roll back raises RollbackFailed after restoring the others; its Catch goes on with
    $.failure, so $.rollback is never written."""
    h = release_step(release_prepared(), 0, "2026-11-26T10:01:03Z")
    cause = json.dumps({"errorMessage": ROLLBACK_FAILED_CAUSE, "errorType": "RollbackFailed"})
    failure = json.dumps({"errorMessage": RELEASE_FAILURE, "errorType": "HealthCheckFailed"})
    h = (
        h.state("Shift traffic", progress=release_progress(1))
        .state("Wait for next check", "Wait", seconds=60)
        .enter("Check health")
        .task_failed("HealthCheckFailed", failure)
        .exit("Check health", failure={"Error": "HealthCheckFailed", "Cause": failure})
        .enter("Roll back")
        .task_failed("RollbackFailed", cause)
        .exit("Roll back", failure={"Error": "RollbackFailed", "Cause": cause})
        .state(
            "Notify rollback failure",
            outcome={"outcome": "rollback_failed", "error": "RollbackFailed", "cause": cause},
        )
        .enter("Rollback failed", "Fail", seconds=0)
    )
    return h.finish("FAILED", "RollbackFailed", cause)
