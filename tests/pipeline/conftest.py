"""Pipeline tests: the real pipeline and rollout state machines and their task Lambdas on a
local cloud with two accounts and two Regions, the rollout stack deployed in each
(`rollout local up --regions us-east-1,eu-west-1 --accounts …`).

Helpers:
- `Places`: the cloud's four account/Region places, and clients as each one's admin;
- `Fleet`: one sample function per place (same name everywhere, version 1 live behind
  `live`) and a new version 2 in each, healthy or failing per place;
- `Gate`: a blocker alarm put in ALARM and cleared on demand;
- `Pipelines`: start a pipeline (through the rollout state machine, as users do), wait
  for it with a deadline, read its history, plan and cursor.

Each works on the in-process LocalCloud and on a served one (`PlaceClients`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from rollout_core.pipeline.models import Blocked, PipelineCursor, PipelinePlan
from rollout_core.pipeline.names import PipelineState as S

from rollout.local.accounts import HOME_ACCOUNT
from rollout.local.cloud import DEFAULT_TEMPLATE, LocalCloud
from rollout.samples import code_zip, lambda_role
from rollout.view.fetch import fetch_history
from tests.conftest import CloudManager

MEMBER_ACCOUNT = "210987654321"
REGIONS = ["us-east-1", "eu-west-1"]
ACCOUNTS = [HOME_ACCOUNT, MEMBER_ACCOUNT]
ALIAS = "live"
DEADLINE = 900.0  # seconds a pipeline may take on a loaded, shared 2-core machine
POLL = 0.5
HANDLER = '''\
import os


def handler(event, context):
    """MODE ok, or fail: every request raises."""
    if os.environ.get("MODE") == "fail":
        raise RuntimeError(f"release {os.environ.get('RELEASE')} failed")
    return {"ok": True, "version": context.function_version}
'''

Json = dict[str, Any]
Place = tuple[str, str]  # (account, region)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def deadline_poll(what: str, check: Callable[[], Any], timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(POLL)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


def target(place: Place) -> Json:
    return {"account": place[0], "region": place[1]}


def waves(*groups: list[Place], bake: int = 1) -> list[Json]:
    """Input `waves`: wave-1, wave-2, … each with its places and the same bake."""
    return [
        {"name": f"wave-{i + 1}", "targets": [target(p) for p in group], "bakeSeconds": bake}
        for i, group in enumerate(groups)
    ]


class PlaceClients(Protocol):
    """A cloud that gives clients acting in any of its accounts and Regions, with the home
    stack's outputs: LocalCloud in-process, or a served one (test_acceptance.py)."""

    stack_outputs: dict[str, str]

    def client(
        self, service: str, *, region: str | None = None, account: str | None = None
    ) -> Any: ...


class Fleet:
    """Function `name` in every place: version 1 live, version 2 published (`failing`
    places' version 2 fails every request)."""

    def __init__(self, cloud: PlaceClients, prefix: str, failing: tuple[Place, ...] = ()) -> None:
        self.cloud = cloud
        self.name = unique(prefix)
        for place in PLACES:
            lam = self.lam(place)
            role = lambda_role(cloud.client("iam", account=place[0]), "pipeline-tests-function")
            lam.create_function(
                FunctionName=self.name,
                Runtime="python3.12",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": code_zip({"app.py": HANDLER})},
                Timeout=60,
                Environment={"Variables": {"MODE": "ok", "RELEASE": "1"}},
            )
            lam.publish_version(FunctionName=self.name)
            lam.create_alias(FunctionName=self.name, Name=ALIAS, FunctionVersion="1")
            mode = "fail" if place in failing else "ok"
            lam.update_function_configuration(
                FunctionName=self.name, Environment={"Variables": {"MODE": mode, "RELEASE": "2"}}
            )
            lam.publish_version(FunctionName=self.name)

    def lam(self, place: Place) -> Any:
        return self.cloud.client("lambda", account=place[0], region=place[1])

    def live(self, place: Place) -> tuple[str, Json]:
        found = self.lam(place).get_alias(FunctionName=self.name, Name=ALIAS)
        return str(found["FunctionVersion"]), (found.get("RoutingConfig") or {}).get(
            "AdditionalVersionWeights"
        ) or {}

    def rollout(self, **options: Any) -> Json:
        """The rollout every target runs: version 2, all at once, its pre-traffic check
        invoking the new version (so a failing version fails there)."""
        return {
            "functionName": self.name,
            "alias": ALIAS,
            "targetVersion": "2",
            "strategy": "AllAtOnce",
            "preTraffic": {"payload": {}},
            **options,
        }


class Gate:
    """A blocker alarm in the home account and Region: in ALARM while `hold()` puts a
    breaching datapoint every 2 s (high resolution: evaluated every 10 s), OK once it
    stops (missing data is not breaching)."""

    def __init__(self, cloud: PlaceClients) -> None:
        self.name = unique("pipeline-gate")
        self.cw = cloud.client("cloudwatch")
        self._stop = threading.Event()
        self.cw.put_metric_alarm(
            AlarmName=self.name,
            Namespace="PipelineTests",
            MetricName="Gate",
            Dimensions=[{"Name": "Gate", "Value": self.name}],
            Statistic="Maximum",
            Period=10,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )

    def hold(self) -> None:
        def put() -> None:
            while not self._stop.is_set():
                self.cw.put_metric_data(
                    Namespace="PipelineTests",
                    MetricData=[
                        {
                            "MetricName": "Gate",
                            "Dimensions": [{"Name": "Gate", "Value": self.name}],
                            "Value": 1,
                        }
                    ],
                )
                self._stop.wait(2)

        threading.Thread(target=put, daemon=True).start()
        deadline_poll(f"{self.name} in ALARM", lambda: self.state() == "ALARM", 60)

    def clear(self) -> None:
        self._stop.set()

    def state(self) -> str:
        alarms = self.cw.describe_alarms(AlarmNames=[self.name])["MetricAlarms"]
        return str(alarms[0]["StateValue"])


PLACES: list[Place] = [(account, region) for account in ACCOUNTS for region in REGIONS]
HOME, HOME_EU, MEMBER_US, MEMBER_EU = PLACES


@dataclass
class Ended:
    arn: str
    status: str
    error: str | None
    cause: str | None
    history: list[Json]

    def outputs_of(self, state: str) -> list[Json]:
        return [
            json.loads(e["stateExitedEventDetails"]["output"])
            for e in self.history
            if e.get("stateExitedEventDetails", {}).get("name") == state
        ]

    def states_entered(self) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history
            if "stateEnteredEventDetails" in e
        ]

    @property
    def plan(self) -> PipelinePlan:
        return PipelinePlan.model_validate(self.outputs_of("Prepare pipeline")[0]["plan"])

    def cursors(self, state: str) -> list[PipelineCursor]:
        return [PipelineCursor.model_validate(doc["cursor"]) for doc in self.outputs_of(state)]


class Pipelines:
    def __init__(self, cloud: PlaceClients) -> None:
        self.cloud = cloud
        self.sfn = cloud.client("stepfunctions")
        self.rollouts = cloud.stack_outputs["RolloutStateMachineArn"]
        self.machine = cloud.stack_outputs["PipelineStateMachineArn"]

    def start(self, document: Json, name: str | None = None) -> str:
        """Through the rollout state machine, as `rollout start --input` and the console
        do; the pipeline's execution ARN (same name, on the pipeline state machine)."""
        name = name or unique("pipeline")
        self.sfn.start_execution(
            stateMachineArn=self.rollouts, name=name, input=json.dumps(document)
        )
        return self.arn_of(name)

    def arn_of(self, name: str) -> str:
        """The pipeline a rollout execution named `name` hands its waves to."""
        return self.machine.replace(":stateMachine:", ":execution:") + f":{name}"

    def described(self, arn: str) -> Json | None:
        try:
            return dict(self.sfn.describe_execution(executionArn=arn))
        except self.sfn.exceptions.ExecutionDoesNotExist:
            return None

    def wait(self, arn: str, timeout: float = DEADLINE) -> Ended:
        def ended() -> Json | None:
            found = self.described(arn)
            return found if found and found["status"] != "RUNNING" else None

        try:
            found = deadline_poll(f"end of {arn}", ended, timeout)
        except TimeoutError:
            self.sfn.stop_execution(executionArn=arn, cause="pipeline test deadline")
            raise
        return Ended(
            arn, found["status"], found.get("error"), found.get("cause"), self.history(arn)
        )

    def history(self, arn: str) -> list[Json]:
        return fetch_history(self.sfn, arn)

    def entered(self, arn: str, state: str) -> bool:
        if self.described(arn) is None:  # not handed over by the rollout state machine yet
            return False
        return state in [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(arn)
            if "stateEnteredEventDetails" in e
        ]

    def cursors_so_far(self, arn: str, state: str) -> list[PipelineCursor]:
        """The cursors `state` has left in a running pipeline's history ([] before the
        rollout state machine has handed it over)."""
        if self.described(arn) is None:
            return []
        return Ended(arn, "", None, None, self.history(arn)).cursors(state)

    def blocked(self, arn: str) -> Blocked | None:
        """The first Blocked hold Before wave has left, if any yet: why it waits."""
        cursors = self.cursors_so_far(arn, S.BEFORE_WAVE)
        holds = [c.hold for c in cursors if isinstance(c.hold, Blocked)]
        return holds[0] if holds else None

    def control(self, arn: str, action: str, reason: str) -> Json:
        """`rollout <action>` on the pipeline: its control function, as the CLI invokes it."""
        lam = self.cloud.client("lambda")
        answer = lam.invoke(
            FunctionName=self.cloud.stack_outputs["PipelineControlFunctionName"],
            Payload=json.dumps(
                {"executionArn": arn, "action": action, "reason": reason, "by": "tests"}
            ),
        )
        result: Json = json.loads(answer["Payload"].read())
        return result


@pytest.fixture(scope="module")
def pipeline_cloud(cloud_manager: CloudManager) -> Iterator[LocalCloud]:
    """Two accounts and two Regions, the stack in each (about 40 s to start)."""
    cloud_manager.own_cloud()
    with LocalCloud(template=DEFAULT_TEMPLATE, regions=REGIONS, accounts=ACCOUNTS) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def pipelines(pipeline_cloud: LocalCloud) -> Pipelines:
    return Pipelines(pipeline_cloud)
