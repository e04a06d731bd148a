"""A deployment whose TargetFunctionNamePattern is a plain prefix: its PublishVersion rule
starts a rollout only for functions in scope (issue 10). The template is deployed on a
local cloud of its own with `TargetFunctionNamePattern=app-*`, so CloudFormation's
conditions (Fn::Select, Fn::Split, Fn::If, AWS::NoValue) are evaluated by the local
cloud as they would be on AWS, and the rule's pattern by the EventBridge seam."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from rollout.local import eventbridge
from rollout.local.cloud import LocalCloud
from rollout.local.deploy import deploy_template
from rollout.samples import code_zip, lambda_role
from tests.conftest import REPO

pytestmark = pytest.mark.cloud

STACK = "rollout"


@pytest.fixture(scope="module")
def scoped_cloud(isolated_cloud: Any) -> Iterator[LocalCloud]:
    with isolated_cloud() as cloud:
        deploy_template(
            cloud, REPO / "template.yaml", STACK, {"TargetFunctionNamePattern": "app-*"}
        )
        yield cloud


def test_only_publishes_in_scope_start_a_rollout(scoped_cloud, monkeypatch):
    outputs = scoped_cloud.client("cloudformation").describe_stacks(StackName=STACK)
    output = {o["OutputKey"]: o["OutputValue"] for o in outputs["Stacks"][0]["Outputs"]}
    machine = output["RolloutStateMachineArn"]
    rule = scoped_cloud.client("events").describe_rule(Name=output["PublishVersionRuleName"])
    assert json.loads(rule["EventPattern"])["detail"]["requestParameters"] == {
        "functionName": [{"prefix": "app-"}, {"wildcard": "*:function:app-*"}]
    }
    # Record what EventBridge starts (the seam's own StartExecution), whatever lists it.
    started: list[tuple[str, str, str]] = []
    lock = threading.Lock()
    original = eventbridge.start_execution

    def recording(state_machine_arn: str, execution_input: str) -> str:
        arn = original(state_machine_arn, execution_input)
        name = json.loads(execution_input)["detail"]["requestParameters"]["functionName"]
        with lock:
            started.append((state_machine_arn, name, arn))
        return arn

    monkeypatch.setattr(eventbridge, "start_execution", recording)
    lam = scoped_cloud.client("lambda")
    role = lambda_role(scoped_cloud.client("iam"), "trigger-scope-function")
    arns = {
        name: lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code_zip({"app.py": "def handler(e, c):\n    return 1\n"})},
        )["FunctionArn"]
        for name in ("orders", "app-orders")
    }

    lam.publish_version(FunctionName="orders")
    lam.publish_version(FunctionName=arns["orders"])
    lam.publish_version(FunctionName="app-orders")
    lam.publish_version(FunctionName=arns["app-orders"])

    with lock:
        ours = [(name, arn) for machine_arn, name, arn in started if machine_arn == machine]
    assert [name for name, _ in ours] == ["app-orders", arns["app-orders"]]
    sfn = scoped_cloud.client("stepfunctions")
    for _, arn in ours:  # real executions of the stack's state machine
        assert sfn.describe_execution(executionArn=arn)["stateMachineArn"] == machine
