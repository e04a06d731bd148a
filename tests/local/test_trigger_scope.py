"""A deployment whose TargetFunctionNamePattern is a plain prefix: its PublishVersion rule
starts a rollout only for functions in scope (issue 10). The template is deployed on a
local cloud of its own with `TargetFunctionNamePattern=app-*`, so CloudFormation's
conditions (Fn::Select, Fn::Split, Fn::If, AWS::NoValue) are evaluated by the local
cloud as they would be on AWS, and the rule's pattern by the EventBridge seam."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rollout.local.cloud import LocalCloud
from rollout.local.deploy import deploy_template, stack_outputs
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


def test_only_publishes_in_scope_start_a_rollout(scoped_cloud):
    output = stack_outputs(scoped_cloud.client("cloudformation"), STACK)
    machine = output["RolloutStateMachineArn"]
    rule = scoped_cloud.client("events").describe_rule(Name=output["PublishVersionRuleName"])
    assert json.loads(rule["EventPattern"])["detail"]["requestParameters"] == {
        "functionName": [{"prefix": "app-"}, {"wildcard": "*:function:app-*"}]
    }
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

    # Every execution is listed, whoever started it (issue 16): read them as a user would.
    sfn = scoped_cloud.client("stepfunctions")

    def started() -> list[str]:
        listed = sfn.list_executions(stateMachineArn=machine)["executions"]
        inputs = [sfn.describe_execution(executionArn=e["executionArn"])["input"] for e in listed]
        return sorted(json.loads(i)["detail"]["requestParameters"]["functionName"] for i in inputs)

    deadline = time.monotonic() + 30
    while len(started()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # an out-of-scope execution would have started by now
    assert started() == sorted(["app-orders", arns["app-orders"]])
