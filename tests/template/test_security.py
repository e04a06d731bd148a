"""IAM of the deployed application, read from the transformed template (what CloudFormation
gets after the SAM transform, including the roles SAM generates).

Scoping (docs/security.md): every Lambda action on a rollout target is granted only on
function ARNs matching the TargetFunctionNamePattern parameter; the state machine may
invoke only its own task functions; `Resource: "*"` only where IAM accepts nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from rollout.local.package import transform_template
from tests.conftest import REPO

Json = dict[str, Any]

# Resource "*" is allowed only for these actions, each for the reason given.
STAR_ALLOWED = {
    "cloudwatch:GetMetricData": "no resource-level permissions",
    "cloudwatch:DescribeAlarms": "returns composite alarms only when granted on *",
    "lambda:ListEventSourceMappings": "no resource-level permissions (read-only list)",
    "states:SendTaskSuccess": "no resource-level permissions; a task token names its task",
    "scheduler:ListSchedules": "no resource-level permissions (read-only list)",
    **{
        f"logs:{action}": "vended log delivery has no resource-level permissions"
        for action in (
            "CreateLogDelivery",
            "GetLogDelivery",
            "UpdateLogDelivery",
            "DeleteLogDelivery",
            "ListLogDeliveries",
            "PutResourcePolicy",
            "DescribeResourcePolicies",
            "DescribeLogGroups",
        )
    },
}
# AWS managed policies SAM attaches, and why each is acceptable.
MANAGED_ALLOWED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": "own log group",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": "Tracing: Active (xray:Put* only)",
}
TARGETS = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
PATTERN = TARGETS + "${TargetFunctionNamePattern}"
TARGET_RESOURCES = {PATTERN, PATTERN + ":*"}
TARGET_ACTIONS = {
    "lambda:UpdateAlias",
    "lambda:GetAlias",
    "lambda:InvokeFunction",
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:ListVersionsByFunction",
    "lambda:ListAliases",
    "lambda:ListTags",
    "lambda:ListProvisionedConcurrencyConfigs",
}
SERVICES = {"lambda.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com"}


@pytest.fixture(scope="module")
def resources() -> Json:
    found: Json = transform_template(REPO / "template.yaml")["Resources"]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(resources: Json) -> Iterator[tuple[str, Json]]:
    """(role or policy name, statement) for every identity policy in the template."""
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                for statement in as_list(policy["PolicyDocument"]["Statement"]):
                    yield name, statement
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for statement in as_list(properties["PolicyDocument"]["Statement"]):
                yield name, statement


def resource_text(resource: Any) -> str:
    """A Resource as text: the `Fn::Sub` body with its variables resolved to `${Ref}`s."""
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        body = resource["Fn::Sub"]
        if isinstance(body, str):
            return body
        text, variables = body
        for key, value in variables.items():
            text = text.replace("${" + key + "}", "${" + json.dumps(value, sort_keys=True) + "}")
        return str(text)
    return resource if isinstance(resource, str) else json.dumps(resource, sort_keys=True)


def test_the_template_has_roles_to_check(resources: Json) -> None:
    roles = [n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    assert "RolloutStateMachineRole" in roles and "ShiftTrafficFunctionRole" in roles
    assert sum(1 for _ in statements(resources)) >= 10


def test_no_wildcard_actions(resources: Json) -> None:
    for name, statement in statements(resources):
        for action in as_list(statement.get("Action", [])):
            assert action != "*" and not action.endswith(":*"), (name, action)
        assert "NotAction" not in statement and "NotResource" not in statement, name


def test_resource_star_only_where_iam_accepts_nothing_else(resources: Json) -> None:
    for name, statement in statements(resources):
        if "*" in as_list(statement["Resource"]):
            extra = set(as_list(statement["Action"])) - set(STAR_ALLOWED)
            assert not extra, f"{name}: {sorted(extra)} on Resource '*' but can be scoped"


def test_no_full_access_or_unknown_managed_policies(resources: Json) -> None:
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        managed = resource["Properties"].get("ManagedPolicyArns", [])
        assert not [arn for arn in managed if "FullAccess" in str(arn)], name
        assert set(managed) <= set(MANAGED_ALLOWED), (name, managed)


def test_roles_are_assumable_only_by_the_services_that_run_them(resources: Json) -> None:
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            services = set(as_list(statement["Principal"]["Service"]))
            assert set(statement["Principal"]) == {"Service"}, name
            assert services <= SERVICES and len(services) == 1, (name, services)


def test_target_function_actions_are_scoped_to_the_opted_in_pattern(resources: Json) -> None:
    """Alias changes, reads and invokes of targets: only ARNs matching the pattern."""
    granted: dict[str, set[str]] = {}
    for name, statement in statements(resources):
        actions = set(as_list(statement["Action"])) & TARGET_ACTIONS
        if not actions or name == "RolloutStateMachineRole":
            continue
        if name == "RolloutOperatorPolicy":  # `rollout plan` invokes Prepare, no target
            assert statement["Action"] == "lambda:InvokeFunction", statement
            assert statement["Resource"] == {"Fn::GetAtt": ["PrepareFunction", "Arn"]}
            continue
        assert statement["Effect"] == "Allow"
        texts = {resource_text(r) for r in as_list(statement["Resource"])}
        assert texts == TARGET_RESOURCES, (name, texts)
        assert "Condition" not in statement, name  # a condition could only narrow; none used
        for action in actions:
            granted.setdefault(action, set()).add(name)
    assert {"lambda:UpdateAlias", "lambda:InvokeFunction", "lambda:GetAlias"} <= set(granted)
    movers = granted["lambda:UpdateAlias"]
    assert {"ShiftTrafficFunctionRole", "PromoteFunctionRole", "RollbackFunctionRole"} <= movers
    assert (
        not {
            "PrepareFunctionRole",
            "CheckHealthFunctionRole",
            "FinalizeFunctionRole",
            "TrafficCheckFunctionRole",
        }
        & movers
    )


def test_the_state_machine_invokes_only_its_own_task_functions(resources: Json) -> None:
    functions = {n for n, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    for name, statement in statements(resources):
        if name != "RolloutStateMachineRole" or "lambda:InvokeFunction" not in as_list(
            statement["Action"]
        ):
            continue
        for resource in as_list(statement["Resource"]):
            text = resource_text(resource)
            reference = json.loads(text.removeprefix(TARGETS + "${").removesuffix("}*"))
            assert reference["Ref"] in functions, text
            assert text.startswith(TARGETS) and "TargetFunctionNamePattern" not in text


def test_the_task_code_gets_the_same_pattern_and_the_stack_id(resources: Json) -> None:
    """The code refuses what IAM refuses (rollout_core.scope) even if a role is widened."""
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        variables = properties["Environment"]["Variables"]
        assert variables["TARGET_FUNCTION_NAME_PATTERN"] == {"Ref": "TargetFunctionNamePattern"}
        assert variables["ROLLOUT_STACK_ID"] == {"Ref": "AWS::StackId"}
        tags = {tag["Key"]: tag["Value"] for tag in properties.get("Tags", [])}
        assert tags["lambda-rollout:stack-id"] == {"Ref": "AWS::StackId"}, name


def test_versions_are_deleted_only_by_qualified_arn(resources: Json) -> None:
    """lambda:DeleteFunction on `function:NAME:*` only: a version, never a whole function."""
    granted = []
    for name, statement in statements(resources):
        if "lambda:DeleteFunction" not in as_list(statement["Action"]):
            continue
        granted.append(name)
        assert as_list(statement["Action"]) == ["lambda:DeleteFunction"], name
        assert {resource_text(r) for r in as_list(statement["Resource"])} == {PATTERN + ":*"}
        assert "Condition" not in statement, name
    assert granted == ["CleanUpFunctionRole"]
