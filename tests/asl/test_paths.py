"""Every path through the rollout workflow, on moto's ASL interpreter with stub tasks.

moto executes the real ASL in-process; `LambdaBackend.invoke` (and the no-Docker
`LambdaSimpleBackend.invoke` that overrides it) is replaced so every
`arn:aws:states:::lambda:invoke` reaches a Python stub chosen by function name. A stub
returns a contract-shaped result (docs/workflow.md), raises `TaskError` (a Lambda
function error: FunctionError "Unhandled" and an {"errorMessage", "errorType"} payload,
so the ASL catches it by `errorType`), or raises `LambdaThrottled` (a Lambda service
error the engine reports as `Lambda.TooManyRequestsException`).

The stubs follow the contract: Prepare writes `{plan, progress}`, Shift traffic /
Check health / Promote return the whole new progress, Roll back returns
`{error, cause, restored}`, Finalize returns `{outcome, error, cause}` when the rollout
failed and its summary when it succeeded. Every wait (a task token, up to the cursor's
`nextWaitSeconds`) is ended at once by its stub sending the token back, as the telemetry
does on evidence, so the module is fast; `clock_waits` leaves waits to their timeout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaBackend
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError

from rollout.view.fetch import fetch_history

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
EXECUTION_DEADLINE_SECONDS = 20.0

Json = dict[str, Any]
Stub = Callable[[Json], Json]


def stub_arn(task: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rollout-{task}"


class TaskError(Exception):
    """A named error raised by a task Lambda (the class name is the Step Functions Error)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class LambdaThrottled(JsonRESTError):
    """The Lambda service refusing an Invoke with 429, as AWS does under throttling."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate exceeded")


@dataclass
class StubLambdas:
    """Python stand-ins for the task Lambdas, with a record of every invocation."""

    stubs: dict[str, Stub] = field(default_factory=dict)
    calls: list[tuple[str, Json]] = field(default_factory=list)

    def calls_to(self, task: str) -> list[Json]:
        return [payload for name, payload in self.calls if name == task]

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        task = function_name.rsplit(":", 1)[-1].removeprefix("rollout-")
        payload: Json = json.loads(body) if body else {}
        self.calls.append((task, payload))
        try:
            result: Any = self.stubs[task](payload)
        except TaskError as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            result = {"errorMessage": error.message, "errorType": error.error_type}
        encoded = json.dumps(result).encode("utf-8")
        response_headers["Content-Length"] = str(len(encoded))
        return encoded


@dataclass
class Execution:
    """A finished execution: status, Error/Cause, output and the states it entered."""

    status: str
    error: str | None
    cause: str | None
    output: Json | None
    history: list[Json]

    @property
    def states_entered(self) -> list[str]:
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if "stateEnteredEventDetails" in event
        ]

    def events_of_type(self, event_type: str) -> list[Json]:
        return [event for event in self.history if event["type"] == event_type]


class Workflow:
    """The real rollout ASL deployed on moto, started with `run(input)`."""

    def __init__(self, stubs: StubLambdas, definition: str) -> None:
        self.stubs = stubs
        self._sfn = boto3.client("stepfunctions", region_name=REGION)
        self._arn = self._sfn.create_state_machine(
            name="rollout",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/rollout-state-machine",
            type="STANDARD",
        )["stateMachineArn"]
        self._started = 0

    def run(self, execution_input: Json) -> Execution:
        self._started += 1
        arn = self._sfn.start_execution(
            stateMachineArn=self._arn,
            name=f"run-{self._started}",  # moto names nameless executions "None"
            input=json.dumps(execution_input),
        )["executionArn"]
        deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
        while True:
            described = self._sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"execution still RUNNING after {EXECUTION_DEADLINE_SECONDS}s")
            time.sleep(0.02)
        output = described.get("output")
        return Execution(
            status=described["status"],
            error=described.get("error"),
            cause=described.get("cause"),
            output=json.loads(output) if output else None,
            history=self._history(arn),
        )

    def _history(self, arn: str) -> list[Json]:
        return fetch_history(self._sfn, arn)


@pytest.fixture(scope="module")
def deployed(
    cloud_manager: Any, substituted_asl: Callable[[Callable[[str], str]], str]
) -> Iterator[Workflow]:
    """One moto account for the module, with the state machine created once (fast)."""
    cloud_manager.without_cloud()  # moto in-process: no LocalCloud alongside
    stubs = StubLambdas()

    def invoke(
        self: LambdaBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        return stubs.invoke(function_name, body, response_headers)

    config: Any = {
        "stepfunctions": {"execute_state_machine": True},
        "lambda": {"use_docker": False},
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        # `"lambda": {"use_docker": False}` selects LambdaSimpleBackend, which overrides invoke.
        patch.setattr(LambdaBackend, "invoke", invoke)
        patch.setattr(LambdaSimpleBackend, "invoke", invoke)
        with mock_aws(config=config):
            yield Workflow(stubs, substituted_asl(stub_arn))


@pytest.fixture
def workflow(deployed: Workflow) -> Workflow:
    """The deployed workflow with no stubs installed and an empty call record."""
    deployed.stubs.stubs.clear()
    deployed.stubs.calls.clear()
    return deployed


# --- the scenarios -------------------------------------------------------------

STABLE, TARGET = "3", "4"
CONSOLE_INPUT: Json = {"functionName": "orders", "alias": "live"}
PREPARED = ["Prepare", "Roll out?", "Pre-traffic check"]
START = [*PREPARED, "Start telemetry"]
FINISH = [
    "Promote", "Post-traffic check", "Bake?", "Finalize", "Clean up old versions", "Rolled out"
]  # fmt: skip
ROLLED_BACK = ["Roll back", "Notify rollback", "Rolled back"]


def make_plan(
    steps: list[tuple[int, int]], *, action: str = "rollout", bake_seconds: int = 0
) -> Json:
    """A plan as Prepare writes it: `steps` are (percentage, waitSeconds) pairs."""
    return {
        "action": action,
        "reason": None if action == "rollout" else f"{action} for the test",
        "source": "console",
        "executionId": "arn:aws:states:us-east-1:123456789012:execution:rollout:x",
        "functionName": "orders",
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
        "alias": "live",
        "aliasArn": "arn:aws:lambda:us-east-1:123456789012:function:orders:live",
        "stableVersion": STABLE,
        "targetVersion": TARGET,
        "strategy": {"name": "custom", "kind": "steps"},
        "timeScale": 1,
        "checkIntervalSeconds": 10,
        "steps": [
            {"percentage": pct, "weight": pct / 100, "waitSeconds": wait} for pct, wait in steps
        ],
        "totalWaitSeconds": sum(wait for _, wait in steps),
        "alarms": [],
        "ignoredAlarms": [],
        "insufficientData": "ignore",
        "health": {
            "errorRatePercent": 1.0,
            "minInvocations": 10,
            "compareToStable": True,
            "lowTraffic": "pass",
        },
        "preTraffic": {"payload": {}, "expect": None, "hookFunction": None},
        "postTraffic": None,
        "bakeSeconds": bake_seconds,
        "lock": {"table": "rollout", "key": "orders:live", "owner": "x"},
    }


def progress(plan: Json, index: int, percentage: int, wait: int, waited: int, checks: int) -> Json:
    """Progress with every key of the contract; a wait is 1 s at most (the shortest a
    TimeoutSecondsPath allows), and its stub ends it at once."""
    return {
        "phase": "bake" if percentage == 100 else "step",
        "stepIndex": index,
        "stepCount": len(plan["steps"]),
        "percentage": percentage,
        "weight": percentage / 100,
        "stepStartedAt": "2026-11-26T10:00:00Z",
        "stepWaitSeconds": wait,
        "waitedSeconds": waited,
        "nextWaitSeconds": 1,
        "stepComplete": waited >= wait,
        "hasNextStep": index + 1 < len(plan["steps"]),
        "checks": checks,
        "extensions": 0,
        "lastCheck": {"healthy": True} if checks else None,
        "rearmedAlarms": [],
        "hold": None,
        "lastControl": None,
    }


def error_message(failure: Json) -> str:
    return str(json.loads(failure["Cause"])["errorMessage"])


@dataclass
class Rollout:
    """Stub task Lambdas for one scenario; the fields say where it goes wrong."""

    plan: Json
    reject: TaskError | None = None
    prepare_throttles: int = 0
    fail_pre_traffic: bool = False
    fail_post_traffic: bool = False
    fail_health_at: tuple[str, int, int] | None = None  # (phase, step index, check number)
    shift_error: tuple[int, TaskError] | None = None  # (step index, error)
    promote_error: TaskError | None = None
    rollback_fails: bool = False
    notify_rollback_fails: bool = False
    clean_up_fails: bool = False
    telemetry_fails: bool = False
    clock_waits: bool = False  # no wake: each wait ends at its timeout
    seen: dict[str, int] = field(default_factory=dict)

    def install(self, stubs: StubLambdas) -> None:
        stubs.stubs.update(
            prepare=self.prepare,
            traffic_check=self.traffic_check,
            shift_traffic=self.shift_traffic,
            check_health=self.check_health,
            promote=self.promote,
            rollback=self.rollback,
            finalize=self.finalize,
            clean_up=self.clean_up,
            start_telemetry=self.start_telemetry,
            wait_for_check=self.wait_for_check,
        )

    def start_telemetry(self, event: Json) -> Json:
        if self.telemetry_fails:
            raise TaskError("ClientError", "PutSubscriptionFilter: AccessDeniedException")
        return {"pushed": ["/aws/lambda/orders"], "polled": [], "alarmsWatched": [], "notes": []}

    def wait_for_check(self, event: Json) -> Json:
        """The wait's Lambda stores its token; here evidence comes at once (unless the
        scenario leaves the wait to the clock)."""
        if not self.clock_waits:
            boto3.client("stepfunctions", region_name=REGION).send_task_success(
                taskToken=event["token"],
                output=json.dumps({"how": "evidence", "reason": "test", "waitedSeconds": 0}),
            )
        return {"how": "armed"}

    def prepare(self, event: Json) -> Json:
        self.seen["prepare"] = self.seen.get("prepare", 0) + 1
        if self.seen["prepare"] <= self.prepare_throttles:
            raise LambdaThrottled()
        if self.reject is not None:
            raise self.reject
        if self.plan["action"] != "rollout":
            return {"plan": self.plan, "progress": None}
        return {"plan": self.plan, "progress": progress(self.plan, 0, 0, 0, 0, 0)}

    def traffic_check(self, event: Json) -> Json:
        phase = event["phase"]
        if phase == "preTraffic" and self.fail_pre_traffic:
            raise TaskError("PreTrafficCheckFailed", "Version 4 returned a FunctionError")
        if phase == "postTraffic" and self.fail_post_traffic:
            raise TaskError("PostTrafficCheckFailed", "Hook orders-smoke said passed=false")
        return {"phase": phase, "passed": True}

    def shift_traffic(self, event: Json) -> Json:
        plan, current = event["plan"], event["progress"]
        index = current["stepIndex"] + (1 if current["percentage"] else 0)
        if self.shift_error is not None and self.shift_error[0] == index:
            raise self.shift_error[1]
        step = plan["steps"][index]
        return progress(plan, index, step["percentage"], step["waitSeconds"], 0, 0)

    def check_health(self, event: Json) -> Json:
        plan, current, phase = event["plan"], event["progress"], event["phase"]
        checks = current["checks"] + 1
        if self.fail_health_at == (phase, current["stepIndex"], checks):
            raise TaskError(
                "HealthCheckFailed", f"Alarm orders-errors in ALARM at {current['percentage']} %"
            )
        waited = min(
            current["waitedSeconds"] + plan["checkIntervalSeconds"], current["stepWaitSeconds"]
        )
        return progress(
            plan,
            current["stepIndex"],
            current["percentage"],
            current["stepWaitSeconds"],
            waited,
            checks,
        )

    def promote(self, event: Json) -> Json:
        if self.promote_error is not None:
            raise self.promote_error
        plan = event["plan"]
        return progress(plan, len(plan["steps"]), 100, plan["bakeSeconds"], 0, 0)

    def rollback(self, event: Json) -> Json:
        if self.rollback_fails:
            raise TaskError("RollbackFailed", "Alias live could not be restored to version 3")
        failure = event["failure"]
        return {
            "error": failure["Error"],
            "cause": f"Rolled back to version {STABLE}: {error_message(failure)}",
            "restored": True,
            "aliases": [{"functionName": "orders", "alias": "live", "restored": True}],
        }

    def clean_up(self, event: Json) -> Json:
        if self.clean_up_fails:
            raise TaskError("ClientError", "ListAliases: AccessDeniedException")
        return dict(CLEANED_UP)

    def finalize(self, event: Json) -> Json:
        outcome = event["outcome"]
        if outcome == "rolled_back" and self.notify_rollback_fails:
            raise TaskError("NotificationFailed", "SNS topic is gone")
        error: Any = None
        cause: Any = None
        if outcome == "succeeded":
            return {"outcome": outcome, "detail": "orders:live now runs version 4"}
        if outcome == "prepare_failed":
            held = ["orders:live"]
            return {"outcome": outcome, "lockReleased": True, "released": held}
        if outcome == "rolled_back":
            error, cause = event["rollback"]["error"], event["rollback"]["cause"]
        elif outcome in ("check_failed", "drifted", "rollback_failed"):
            error, cause = event["failure"]["Error"], error_message(event["failure"])
        return {"outcome": outcome, "error": error, "cause": cause}


CLEANED_UP: Json = {
    "keepVersions": 2,
    "deleted": [{"version": "1", "codeSize": 100, "lastModified": "", "reason": "old"}],
    "kept": [],
    "bytesFreed": 100,
    "notes": [],
    "notified": {"sns": None, "eventBridge": True},
}


def run(workflow: Workflow, rollout: Rollout, execution_input: Json = CONSOLE_INPUT) -> Execution:
    rollout.install(workflow.stubs)
    return workflow.run(execution_input)


def step_states(checks: int) -> list[str]:
    return [
        "Shift traffic",
        *["Wait for next check", "Check health", "Step done?"] * checks,
        "Next step?",
    ]


THREE_STEPS = [(1, 20), (5, 20), (25, 20)]  # two checks of 10 s each per step


@pytest.mark.parametrize(
    ("action", "end"),
    [
        ("skip", "Skipped"),
        ("noop", "Already live"),
        ("previouslyRolledBack", "Previously rolled back"),
    ],
)
def test_skip_noop_and_previously_rolled_back_succeed_without_touching_anything(
    workflow: Workflow, action: str, end: str
) -> None:
    execution = run(workflow, Rollout(make_plan([(10, 60)], action=action)))

    assert (execution.status, execution.error, execution.cause) == ("SUCCEEDED", None, None)
    assert execution.states_entered == ["Prepare", "Roll out?", end]
    assert [task for task, _ in workflow.stubs.calls] == ["prepare"]


def test_three_step_rollout_succeeds(workflow: Workflow) -> None:
    execution = run(workflow, Rollout(make_plan(THREE_STEPS)))

    assert (execution.status, execution.error, execution.cause) == ("SUCCEEDED", None, None)
    assert execution.states_entered == START + step_states(2) * 3 + FINISH
    assert [p["progress"]["stepIndex"] for p in workflow.stubs.calls_to("shift_traffic")] == [
        0,
        0,
        1,
    ]  # the progress each shift started from: Prepare's, then steps 0 and 1
    assert execution.output is not None
    assert execution.output["progress"]["percentage"] == 100
    assert execution.output["outcome"] == {
        "outcome": "succeeded",
        "summary": {"outcome": "succeeded", "detail": "orders:live now runs version 4"},
    }
    assert execution.output["checks"]["preTraffic"] == {
        "result": {"phase": "preTraffic", "passed": True}
    }


def test_a_wait_nothing_wakes_ends_at_its_timeout_and_checks(workflow: Workflow) -> None:
    """No evidence: each wait ends by the clock (TimeoutSecondsPath), caught as
    States.Timeout, and its check runs; the rollout succeeds as before evidence existed."""
    execution = run(workflow, Rollout(make_plan([(10, 10)]), clock_waits=True))

    assert (execution.status, execution.error) == ("SUCCEEDED", None)
    assert execution.states_entered == START + step_states(1) + FINISH
    wakes = [call["wake"] for call in workflow.stubs.calls_to("check_health")]
    assert wakes and all(wake["Error"] == "States.Timeout" for wake in wakes)


def test_every_task_gets_the_execution_id_and_the_plan(workflow: Workflow) -> None:
    run(workflow, Rollout(make_plan(THREE_STEPS)))

    calls = workflow.stubs.calls
    assert {task for task, _ in calls} == {
        "prepare",
        "traffic_check",
        "shift_traffic",
        "check_health",
        "promote",
        "finalize",
        "clean_up",
        "start_telemetry",
        "wait_for_check",
    }
    execution_ids = {payload["executionId"] for _, payload in calls}
    assert len(execution_ids) == 1
    assert next(iter(execution_ids)).startswith("arn:aws:states:us-east-1:")
    assert calls[0][1]["input"] == CONSOLE_INPUT
    assert all(payload["plan"]["targetVersion"] == TARGET for _, payload in calls[1:])


def test_health_failure_at_step_two_rolls_back(workflow: Workflow) -> None:
    rollout = Rollout(make_plan(THREE_STEPS), fail_health_at=("step", 1, 1))
    execution = run(workflow, rollout)

    assert execution.status == "FAILED"
    assert execution.error == "HealthCheckFailed"
    assert execution.cause == "Rolled back to version 3: Alarm orders-errors in ALARM at 5 %"
    assert execution.states_entered == (
        START
        + step_states(2)
        + ["Shift traffic", "Wait for next check", "Check health"]
        + ROLLED_BACK
    )
    (rollback_call,) = workflow.stubs.calls_to("rollback")
    assert rollback_call["progress"]["stepIndex"] == 1
    assert rollback_call["failure"]["Error"] == "HealthCheckFailed"


def test_pre_traffic_failure_releases_the_lock_and_never_shifts(workflow: Workflow) -> None:
    execution = run(workflow, Rollout(make_plan(THREE_STEPS), fail_pre_traffic=True))

    assert execution.status == "FAILED"
    assert execution.error == "PreTrafficCheckFailed"
    assert execution.cause == "Version 4 returned a FunctionError"
    assert execution.states_entered == [*PREPARED, "Release lock", "Pre-traffic check failed"]
    (finalize_call,) = workflow.stubs.calls_to("finalize")
    assert finalize_call["outcome"] == "check_failed"
    assert workflow.stubs.calls_to("shift_traffic") == []


def test_post_traffic_failure_rolls_back(workflow: Workflow) -> None:
    execution = run(workflow, Rollout(make_plan([(10, 10)]), fail_post_traffic=True))

    assert execution.status == "FAILED"
    assert execution.error == "PostTrafficCheckFailed"
    assert execution.cause == "Rolled back to version 3: Hook orders-smoke said passed=false"
    assert execution.states_entered == (
        START + step_states(1) + ["Promote", "Post-traffic check"] + ROLLED_BACK
    )


def test_unexpected_shift_failure_rolls_back(workflow: Workflow) -> None:
    error = TaskError("ResourceConflictException", "The operation cannot be performed now")
    execution = run(workflow, Rollout(make_plan(THREE_STEPS), shift_error=(2, error)))

    assert execution.status == "FAILED"
    assert execution.error == "ResourceConflictException"
    assert execution.cause == "Rolled back to version 3: The operation cannot be performed now"
    assert execution.states_entered[-4:] == ["Shift traffic", *ROLLED_BACK]


@pytest.mark.parametrize("where", ["Shift traffic", "Promote"])
def test_alias_drift_is_reported_and_left_alone(workflow: Workflow, where: str) -> None:
    drift = TaskError("AliasDrift", "Alias live points at version 7, expected 3 + 4 @ 1 %")
    rollout = Rollout(make_plan([(1, 10)]))
    if where == "Shift traffic":
        rollout.shift_error = (0, drift)
    else:
        rollout.promote_error = drift
    execution = run(workflow, rollout)

    assert execution.status == "FAILED"
    assert execution.error == "AliasDrift"
    assert execution.cause == "Alias live points at version 7, expected 3 + 4 @ 1 %"
    assert execution.states_entered[-3:] == [where, "Notify drift", "Alias changed elsewhere"]
    assert workflow.stubs.calls_to("rollback") == []


def test_rollback_failure_ends_in_rollback_failed(workflow: Workflow) -> None:
    rollout = Rollout(make_plan(THREE_STEPS), fail_health_at=("step", 0, 2), rollback_fails=True)
    execution = run(workflow, rollout)

    assert execution.status == "FAILED"
    assert execution.error == "RollbackFailed"
    assert execution.cause == "Alias live could not be restored to version 3"
    assert execution.states_entered[-4:] == [
        "Check health",
        "Roll back",
        "Notify rollback failure",
        "Rollback failed",
    ]
    (rollback_call,) = workflow.stubs.calls_to("rollback")
    assert rollback_call["failure"]["Error"] == "HealthCheckFailed"
    (finalize_call,) = workflow.stubs.calls_to("finalize")
    assert (finalize_call["outcome"], finalize_call["failure"]["Error"]) == (
        "rollback_failed",
        "RollbackFailed",
    )


def test_rollback_stands_when_its_notification_fails(workflow: Workflow) -> None:
    rollout = Rollout(
        make_plan(THREE_STEPS), fail_health_at=("step", 0, 1), notify_rollback_fails=True
    )
    execution = run(workflow, rollout)

    assert execution.status == "FAILED"
    assert execution.error == "HealthCheckFailed"
    assert execution.cause == "Rolled back to version 3: Alarm orders-errors in ALARM at 1 %"
    assert execution.states_entered[-3:] == ROLLED_BACK


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("InvalidRolloutRequest", "timeScale: must be greater than 0 and at most 10"),
        ("RolloutInProgress", "orders:live is locked by execution run-7"),
        ("AlarmsAlreadyFiring", "Alarms already in ALARM: orders-errors"),
    ],
)
def test_request_rejected(workflow: Workflow, error: str, message: str) -> None:
    rollout = Rollout(make_plan([(10, 60)]), reject=TaskError(error, message))
    execution = run(workflow, rollout, {"functionName": "orders", "timeScale": 0})

    assert (execution.status, execution.error, execution.cause) == ("FAILED", error, message)
    assert execution.states_entered == ["Prepare", "Explain rejection", "Request rejected"]


def test_unexpected_prepare_error_fails_with_the_raw_error(workflow: Workflow) -> None:
    rollout = Rollout(make_plan([(10, 60)]), reject=TaskError("KeyError", "'plan'"))
    execution = run(workflow, rollout)

    assert execution.status == "FAILED"
    assert execution.error == "KeyError"
    assert execution.cause is not None
    assert json.loads(execution.cause) == {"errorMessage": "'plan'", "errorType": "KeyError"}
    # Prepare may have taken the lock before it failed: its own lock is released
    assert execution.states_entered == ["Prepare", "Release Prepare's lock", "Prepare failed"]
    (release,) = workflow.stubs.calls_to("finalize")
    assert (release["outcome"], release["failure"]["Error"]) == ("prepare_failed", "KeyError")
    assert ":execution:" in release["executionId"]  # the lock owner


def test_bake_keeps_checking_health_at_full_traffic(workflow: Workflow) -> None:
    execution = run(workflow, Rollout(make_plan([(10, 10)], bake_seconds=30)))

    assert (execution.status, execution.error, execution.cause) == ("SUCCEEDED", None, None)
    bake = ["Wait during bake", "Check bake health", "Bake?"] * 3
    assert execution.states_entered == (
        START
        + step_states(1)
        + ["Promote", "Post-traffic check", "Bake?", *bake, "Finalize"]
        + ["Clean up old versions", "Rolled out"]
    )
    phases = [call["phase"] for call in workflow.stubs.calls_to("check_health")]
    assert phases == ["step", "bake", "bake", "bake"]


def test_bake_health_failure_rolls_back(workflow: Workflow) -> None:
    rollout = Rollout(make_plan([(10, 10)], bake_seconds=30), fail_health_at=("bake", 1, 2))
    execution = run(workflow, rollout)

    assert execution.status == "FAILED"
    assert execution.error == "HealthCheckFailed"
    assert execution.cause == "Rolled back to version 3: Alarm orders-errors in ALARM at 100 %"
    assert execution.states_entered[-4:] == ["Check bake health", *ROLLED_BACK]


def test_throttled_invoke_is_retried(workflow: Workflow) -> None:
    execution = run(workflow, Rollout(make_plan([(10, 10)]), prepare_throttles=1))

    assert (execution.status, execution.error, execution.cause) == ("SUCCEEDED", None, None)
    assert len(workflow.stubs.calls_to("prepare")) == 2
    failed = execution.events_of_type("TaskFailed")
    assert [event["taskFailedEventDetails"]["error"] for event in failed] == [
        "Lambda.TooManyRequestsException"
    ]
    assert execution.states_entered.count("Prepare") == 1


def test_linear_10_percent_every_minute_stays_under_250_transitions(workflow: Workflow) -> None:
    linear = [(10 * step, 60) for step in range(1, 10)]  # Linear10PercentEvery1Minute
    execution = run(workflow, Rollout(make_plan(linear)))  # checks every 10 s: 6 per step

    assert (execution.status, execution.error, execution.cause) == ("SUCCEEDED", None, None)
    assert len(workflow.stubs.calls_to("shift_traffic")) == 9
    assert len(workflow.stubs.calls_to("check_health")) == 54
    assert len(execution.states_entered) < 250


SAMPLES = sorted(
    f"{path.parent.name}/{path.name}"
    for folder in ("console", "eventbridge")
    for path in (REPO / "events" / folder).glob("*.json")
)
INPUT_KEYS = {
    "functionName", "alias", "targetVersion", "strategy", "alarms", "ignoreFiringAlarms",
    "insufficientData", "timeScale", "checkIntervalSeconds", "health", "preTraffic",
    "postTraffic", "bakeSeconds", "approval", "dryRun", "functions",
}  # fmt: skip


def test_there_is_a_sample_per_kind() -> None:
    assert len([s for s in SAMPLES if s.startswith("console/")]) >= 8
    assert {
        "eventbridge/publish-version-tagged.json",
        "eventbridge/publish-version-untagged.json",
    } <= set(SAMPLES)


@pytest.mark.parametrize("sample", SAMPLES)
def test_samples_reach_prepare_whole(
    workflow: Workflow, load_event: Callable[[str], Any], sample: str
) -> None:
    event = load_event(sample)
    if sample.startswith("console/"):
        assert set(event) <= INPUT_KEYS
        named = event.get("functions", [event])
        assert all({"functionName", "alias"} <= set(entry) for entry in named)
    execution = run(workflow, Rollout(make_plan([(10, 60)], action="skip")), event)

    assert (execution.status, execution.error, execution.cause) == ("SUCCEEDED", None, None)
    (prepare_call,) = workflow.stubs.calls_to("prepare")
    assert prepare_call["input"] == event


def test_clean_up_records_what_it_deleted_after_finalize(workflow: Workflow) -> None:
    execution = run(workflow, Rollout(make_plan([(10, 10)])))

    assert (execution.status, execution.error, execution.cause) == ("SUCCEEDED", None, None)
    assert execution.output is not None
    assert execution.output["cleanup"] == CLEANED_UP
    (finalize_call,) = workflow.stubs.calls_to("finalize")
    assert finalize_call["announce"] is False  # the clean-up announces, with its record
    (clean_up_call,) = workflow.stubs.calls_to("clean_up")
    assert clean_up_call["summary"]["outcome"] == "succeeded"


def test_a_clean_up_failure_is_a_note_not_a_failed_rollout(workflow: Workflow) -> None:
    execution = run(workflow, Rollout(make_plan([(10, 10)]), clean_up_fails=True))

    assert (execution.status, execution.error, execution.cause) == ("SUCCEEDED", None, None)
    assert execution.states_entered[-3:] == ["Finalize", "Clean up old versions", "Rolled out"]
    assert "Roll back" not in execution.states_entered
    assert execution.output is not None
    assert execution.output["cleanup"]["Error"] == "ClientError"
    assert "AccessDeniedException" in execution.output["cleanup"]["Cause"]


def test_a_rollback_cleans_nothing_up(workflow: Workflow) -> None:
    rollout = Rollout(make_plan(THREE_STEPS), fail_health_at=("step", 1, 1))
    execution = run(workflow, rollout)

    assert execution.status == "FAILED"
    assert "Clean up old versions" not in execution.states_entered
    assert workflow.stubs.calls_to("clean_up") == []
