"""Fixtures for the domain core and handler tests: a moto account with a function
`orders` (versions 1-4), alias `live` on version 3, an alarm, the lock table, a topic."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.client import BaseClient
from moto import mock_aws
from rollout_core import clients
from rollout_core.telemetry import receive

from rollout.local.function_urls import FunctionUrls
from rollout.local.lambda_policies import LambdaPolicies
from rollout.samples import code_zip

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
TABLE = "rollout-locks"
TELEMETRY_TABLE = "rollout-telemetry"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:rollout:unit-test"


@pytest.fixture(scope="module", autouse=True)
def _no_shared_cloud(cloud_manager: Any) -> Iterator[None]:
    """mock_aws resets moto's process-global backends, so the shared cloud must be down.

    boto3 clients are cached for the module (moto intercepts clients made at any time;
    building one costs ~0.1 s) and forgotten after it, so no other test inherits them.
    """
    cloud_manager.without_cloud()
    clients.reset()
    yield
    clients.reset()


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # every client is created after this, so they all see the fake account and region
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "TOPIC_ARN", "DEFAULT_STRATEGY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("LOCK_TABLE", TABLE)
    monkeypatch.setenv("TELEMETRY_TABLE", TELEMETRY_TABLE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "lambda-rollout")  # as template.yaml
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Rollout")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    yield


def zipped(source: str) -> bytes:
    return code_zip({"app.py": source})


@dataclass
class World:
    """Handles on the moto account the tests act on."""

    lam: Any
    cw: Any
    ddb: Any
    role: str
    function: str = "orders"
    alias: str = "live"
    alarm: str = "orders-errors"
    account: str = ACCOUNT
    region: str = REGION
    table: str = TABLE

    def alias_state(self) -> tuple[str, dict[str, float]]:
        found = self.lam.get_alias(FunctionName=self.function, Name=self.alias)
        weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return found["FunctionVersion"], weights

    def route(self, version: str, weights: dict[str, float] | None = None) -> None:
        self.lam.update_alias(
            FunctionName=self.function,
            Name=self.alias,
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": weights or {}},
        )

    def set_alarm(self, state: str, name: str | None = None) -> None:
        """SetAlarmState, and its "CloudWatch Alarm State Change" event delivered to the
        telemetry as EventBridge would (moto alone puts no event)."""
        alarm = name or self.alarm
        self.cw.set_alarm_state(AlarmName=alarm, StateValue=state, StateReason="t")
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        detail = {"alarmName": alarm, "state": {"value": state, "timestamp": stamp}}
        receive.alarm(detail)

    def add_alarm(self, name: str) -> None:
        self.cw.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        self.set_alarm("OK", name)

    def put_calls(
        self, version: str, invocations: int, errors: int, at: datetime | None = None
    ) -> None:
        """Lambda's own metrics for one version behind the alias."""
        dimensions = [
            {"Name": "FunctionName", "Value": self.function},
            {"Name": "Resource", "Value": f"{self.function}:{self.alias}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        moment = at or datetime.now(UTC)
        self.cw.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {"MetricName": name, "Dimensions": dimensions, "Value": value, "Timestamp": moment}
                for name, value in (("Invocations", invocations), ("Errors", errors))
            ],
        )

    def lock_owner(self) -> str | None:
        key = {"lockKey": {"S": f"{self.function}:{self.alias}"}}
        item = self.ddb.get_item(TableName=TABLE, Key=key).get("Item")
        return item["owner"]["S"] if item else None


@pytest.fixture
def aws() -> Iterator[None]:
    """moto, with the local cloud's seams for what Prepare's traffic discovery reads: a
    resource policy per qualifier and ListFunctionUrlConfigs (rollout/local/README.md)."""
    with mock_aws(config={"lambda": {"use_docker": False}}):
        seams = [LambdaPolicies(), FunctionUrls()]
        for seam in seams:
            seam.install(None)  # type: ignore[arg-type]  # neither uses the cloud
        try:
            yield
        finally:
            for seam in reversed(seams):
                seam.uninstall()


@pytest.fixture
def world(aws: None) -> World:
    iam = clients.client("iam")
    role = iam.create_role(RoleName="orders-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = clients.lambda_()
    lam.create_function(
        FunctionName="orders",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return 0\n")},
    )
    for release in range(1, 5):
        source = f"def handler(event, context):\n    return {release}\n"
        lam.update_function_code(FunctionName="orders", ZipFile=zipped(source))
        lam.publish_version(FunctionName="orders")
    lam.create_alias(FunctionName="orders", Name="live", FunctionVersion="3")
    ddb = clients.dynamodb()
    ddb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "lockKey", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "lockKey", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName=TELEMETRY_TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    created = World(lam=lam, cw=clients.cloudwatch(), ddb=ddb, role=role)
    created.add_alarm(created.alarm)
    return created


@pytest.fixture
def execution() -> str:
    """The execution id the rollout under test runs as (its lock owner)."""
    return EXECUTION


@pytest.fixture
def load_handler() -> Callable[[str], ModuleType]:
    """functions/<task>/app.py by path: every handler module is named app."""

    def load(task: str) -> ModuleType:
        path = REPO / "functions" / task / "app.py"
        spec = importlib.util.spec_from_file_location(f"handler_{task}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@dataclass
class FakeContext:
    function_name: str = "rollout-task"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rollout-task"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/rollout-task"
    log_stream_name: str = "unit"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """Every AWS API call any client makes from here on: (service, operation, parameters)."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def recording(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        calls.append((client.meta.service_model.service_name, operation, params))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return calls
