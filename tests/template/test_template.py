"""template.yaml: lints clean, transforms offline, wires the ASL and keeps IAM tight."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint, lint_file
from moto.events.models import EventPattern
from samtranslator.yaml_helper import yaml_parse

from rollout.local.package import transform_template
from tests.template.intrinsics import Intrinsics

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
ASL = REPO / "statemachine" / "rollout.asl.json"
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
TASKS = {
    "PrepareFunction": "prepare",
    "TrafficCheckFunction": "traffic_check",
    "ShiftTrafficFunction": "shift_traffic",
    "CheckHealthFunction": "check_health",
    "PromoteFunction": "promote",
    "RollbackFunction": "rollback",
    "FinalizeFunction": "finalize",
    "CleanUpFunction": "clean_up",
    "WaitForOperatorFunction": "wait_for_operator",
    "StartTelemetryFunction": "start_telemetry",
    "WaitForCheckFunction": "wait_for_check",
}
# The pipeline state machine's tasks (statemachine/pipeline.asl.json).
PIPELINE_TASKS = {
    "PipelinePrepareFunction": "pipeline_prepare",
    "PipelineHoldFunction": "pipeline_hold",
    "PipelineTargetFunction": "pipeline_target",
    "PipelineWaveFunction": "pipeline_wave",
    "PipelineFinishFunction": "pipeline_finish",
}
PIPELINE_ASL = REPO / "statemachine" / "pipeline.asl.json"
# Functions no state machine invokes: the guard runs from an EventBridge rule, the
# telemetry from log subscriptions and an EventBridge rule, a pipeline's controls from
# `rollout abort|pause|…` (the operator policy).
NOT_TASKS = {
    "GuardFunction": "guard",
    "TelemetryFunction": "telemetry",
    "PipelineControlFunction": "pipeline_control",
}
TARGET_FUNCTIONS = (
    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
    "${TargetFunctionNamePattern}"
)
# Actions IAM only accepts with Resource "*" (no resource-level permissions).
UNSCOPABLE_ACTIONS = {
    "cloudwatch:GetMetricData",
    "cloudwatch:DescribeAlarms",  # scoped to alarm ARNs it hides composite alarms
    "lambda:ListEventSourceMappings",
    "scheduler:ListSchedules",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    # no resource-level permissions (Service Authorization Reference: no resource type);
    # a task token names the one task it completes
    "states:SendTaskSuccess",
}

Json = dict[str, Any]


@pytest.fixture(scope="module")
def template() -> Json:
    parsed: Json = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return parsed


@pytest.fixture(scope="module")
def resources(template: Json) -> Json:
    found: Json = template["Resources"]
    return found


@pytest.fixture(scope="module")
def transformed() -> Json:
    return transform_template(TEMPLATE)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def inline_statements(properties: Json) -> Iterator[Json]:
    """Every inline IAM statement of a SAM function or state machine."""
    for policy in as_list(properties.get("Policies", [])):
        if isinstance(policy, dict) and "Statement" in policy:
            yield from policy["Statement"]


def resource_texts(statement: Json) -> list[str]:
    """The statement's resources as text (`!Sub` strings, or the JSON of other intrinsics)."""
    texts = []
    for resource in as_list(statement["Resource"]):
        if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), str):
            texts.append(resource["Fn::Sub"])
        else:
            texts.append(resource if isinstance(resource, str) else json.dumps(resource))
    return texts


def test_cfn_lint_passes() -> None:
    # The same rules as `cfn-lint template.yaml` in `make test`, errors and warnings alike.
    matches = lint_file(TEMPLATE)
    assert [str(match) for match in matches] == []


def test_cfn_lint_passes_on_the_transformed_template(transformed: Json) -> None:
    matches = lint(json.dumps(transformed))
    assert [str(match) for match in matches] == []


def test_transforms_offline(transformed: Json) -> None:
    resources = transformed["Resources"]
    types = {name: body["Type"] for name, body in resources.items()}
    assert types["RolloutStateMachine"] == "AWS::StepFunctions::StateMachine"
    for function in TASKS:
        assert types[function] == "AWS::Lambda::Function"
        assert types[f"{function}Role"] == "AWS::IAM::Role"
    assert not any(t.startswith("AWS::Serverless::") for t in types.values())


def test_the_state_machine_may_invoke_each_task_and_nothing_else(transformed: Json) -> None:
    role = transformed["Resources"]["RolloutStateMachineRole"]["Properties"]
    invoked = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Action"] == ["lambda:InvokeFunction"]:
                invoked.add(statement["Resource"]["Fn::Sub"][1]["functionName"]["Ref"])
            elif statement["Action"] == "states:StartExecution":  # Start pipeline
                assert statement["Resource"] == {"Ref": "PipelineStateMachine"}
            else:
                assert set(statement["Action"]) <= UNSCOPABLE_ACTIONS
    assert invoked == set(TASKS)


def test_the_pipeline_state_machine_may_invoke_its_tasks_and_assume_target_roles(
    transformed: Json,
) -> None:
    role = transformed["Resources"]["PipelineStateMachineRole"]["Properties"]
    invoked = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Action"] == ["lambda:InvokeFunction"]:
                invoked.add(statement["Resource"]["Fn::Sub"][1]["functionName"]["Ref"])
            elif statement["Action"] == "sts:AssumeRole":  # Run target's Credentials
                assert statement["Resource"] == {
                    "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${AWS::StackName}-target-*"
                }
            else:
                assert set(statement["Action"]) <= UNSCOPABLE_ACTIONS
    assert invoked == set(PIPELINE_TASKS)


def test_definition_substitutions_match_the_asl(resources: Json) -> None:
    machine = resources["RolloutStateMachine"]["Properties"]
    assert machine["DefinitionUri"] == "statemachine/rollout.asl.json"
    substitutions = machine["DefinitionSubstitutions"]
    assert set(substitutions) == set(PLACEHOLDER.findall(ASL.read_text(encoding="utf-8")))
    for key, value in substitutions.items():
        if key == "PipelineStateMachineArn":  # Start pipeline hands `waves` over
            assert value == {"Ref": "PipelineStateMachine"}
            continue
        function = key.removesuffix("Arn")
        assert value == {"Fn::GetAtt": [function, "Arn"]}, key
        assert function in TASKS, key


def test_pipeline_definition_substitutions_match_its_asl(resources: Json) -> None:
    machine = resources["PipelineStateMachine"]["Properties"]
    assert machine["DefinitionUri"] == "statemachine/pipeline.asl.json"
    substitutions = machine["DefinitionSubstitutions"]
    assert set(substitutions) == set(PLACEHOLDER.findall(PIPELINE_ASL.read_text(encoding="utf-8")))
    for key, value in substitutions.items():
        function = key.removesuffix("Arn")
        assert value == {"Fn::GetAtt": [function, "Arn"]}, key
        assert function in PIPELINE_TASKS, key


def test_state_machine_settings(resources: Json) -> None:
    machine = resources["RolloutStateMachine"]["Properties"]
    assert machine["Type"] == "STANDARD"
    assert machine["Tracing"] == {"Enabled": True}
    (destination,) = machine["Logging"]["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert resources[log_group]["Type"] == "AWS::Logs::LogGroup"


def test_outputs(template: Json) -> None:
    outputs = template["Outputs"]
    assert outputs["RolloutStateMachineArn"]["Value"] == {"Ref": "RolloutStateMachine"}
    assert outputs["RolloutTableName"]["Value"] == {"Ref": "RolloutTable"}
    assert outputs["NotificationTopicArn"]["Value"] == {"Ref": "NotificationTopic"}
    assert outputs["PublishVersionRuleName"]["Value"] == {"Ref": "PublishVersionRule"}


def test_globals(template: Json) -> None:
    function = template["Globals"]["Function"]
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    assert function["LoggingConfig"] == {"LogFormat": "JSON"}
    assert (function["MemorySize"], function["Timeout"]) == (256, 30)
    assert function["Handler"] == "app.lambda_handler"
    assert function["Layers"] == [{"Ref": "CoreLayer"}]
    variables = function["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "lambda-rollout"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "LambdaRollout"
    assert variables["LOCK_TABLE"] == {"Ref": "RolloutTable"}
    assert variables["TOPIC_ARN"] == {"Ref": "NotificationTopic"}
    assert variables["EVENT_BUS_NAME"] == "default"
    assert variables["DEFAULT_STRATEGY"] == {"Ref": "DefaultStrategy"}
    assert variables["DEFAULT_CHECK_INTERVAL_SECONDS"] == {"Ref": "DefaultCheckIntervalSeconds"}
    assert variables["DEFAULT_ERROR_RATE_PERCENT"] == {"Ref": "DefaultErrorRatePercent"}
    assert variables["DEFAULT_MIN_INVOCATIONS"] == {"Ref": "DefaultMinInvocations"}


def test_parameter_defaults(template: Json) -> None:
    defaults = {name: body.get("Default") for name, body in template["Parameters"].items()}
    assert defaults["DefaultStrategy"] == "Canary10Percent5Minutes"
    assert defaults["DefaultCheckIntervalSeconds"] == 10
    assert defaults["DefaultErrorRatePercent"] == 1
    assert defaults["DefaultMinInvocations"] == 10
    assert defaults["NotificationEmail"] == ""
    assert defaults["TargetFunctionNamePattern"] == "*"
    assert all(default is not None for default in defaults.values()), defaults


def test_one_function_per_task_with_its_code(resources: Json) -> None:
    functions = {
        name for name, body in resources.items() if body["Type"] == "AWS::Serverless::Function"
    }
    assert functions == set(TASKS) | set(PIPELINE_TASKS) | set(NOT_TASKS)
    for name, task in (TASKS | PIPELINE_TASKS | NOT_TASKS).items():
        code_uri = resources[name]["Properties"]["CodeUri"]
        assert code_uri == f"functions/{task}/"
        assert (REPO / code_uri / "app.py").is_file(), code_uri


def test_core_layer(resources: Json) -> None:
    layer = resources["CoreLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "functions/shared/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    # Built by functions/Makefile for the functions' platform (tests/sam_build checks the build).
    assert layer["Metadata"] == {
        "BuildMethod": "makefile",
        "BuildArchitecture": "arm64",
        "ContextPath": "functions",
    }


def test_rollout_table(resources: Json) -> None:
    table = resources["RolloutTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "lockKey", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "lockKey", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_email_subscription_only_when_an_address_is_given(template: Json) -> None:
    subscription = template["Resources"]["NotificationEmailSubscription"]
    assert subscription["Condition"] == "HasNotificationEmail"
    assert template["Conditions"]["HasNotificationEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotificationEmail"}, ""]}]
    }


def test_publish_version_rule_starts_the_state_machine(resources: Json) -> None:
    rule = resources["PublishVersionRule"]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.lambda"]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert pattern["detail"]["eventSource"] == ["lambda.amazonaws.com"]
    assert pattern["detail"]["eventName"] == ["PublishVersion20150331"]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": "RolloutStateMachine"}
    assert not {"Input", "InputPath", "InputTransformer"} & set(target)  # the whole event
    role = resources[target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    (policy,) = role["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": {"Ref": "RolloutStateMachine"},
        }
    ]


def test_no_wildcard_actions_or_full_access(template: Json) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "FullAccess" not in text
    for name, resource in template["Resources"].items():
        for statement in inline_statements(resource.get("Properties", {})):
            actions = as_list(statement["Action"])
            assert all(action != "*" and not action.endswith(":*") for action in actions), name


def test_only_unscopable_actions_use_resource_star(template: Json) -> None:
    for name, resource in template["Resources"].items():
        for statement in inline_statements(resource.get("Properties", {})):
            if "*" in as_list(statement["Resource"]):
                assert set(as_list(statement["Action"])) <= UNSCOPABLE_ACTIONS, name


@pytest.mark.parametrize(
    "action", ["lambda:UpdateAlias", "lambda:GetAlias", "lambda:InvokeFunction"]
)
def test_target_function_actions_are_scoped_to_the_pattern(template: Json, action: str) -> None:
    granted = 0
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for statement in inline_statements(resource["Properties"]):
            if action in as_list(statement["Action"]):
                granted += 1
                assert sorted(resource_texts(statement)) == [
                    TARGET_FUNCTIONS,
                    f"{TARGET_FUNCTIONS}:*",
                ], name
    assert granted > 0


def test_least_privilege_per_function(template: Json) -> None:
    def actions(function: str) -> set[str]:
        properties = template["Resources"][function]["Properties"]
        return {a for s in inline_statements(properties) for a in as_list(s["Action"])}

    movers = {"lambda:GetAlias", "lambda:UpdateAlias"}
    assert actions("ShiftTrafficFunction") == movers
    assert actions("PromoteFunction") == movers
    assert actions("RollbackFunction") == movers
    controls = {"dynamodb:GetItem", "dynamodb:UpdateItem"}  # the lock item's control
    pushed = {"dynamodb:BatchGetItem", "dynamodb:Query"}  # pushed alarm states, counts
    assert actions("CheckHealthFunction") == {
        "cloudwatch:DescribeAlarms",  # a stale alarm state only, within a shared budget
        "cloudwatch:GetMetricData",
        "logs:FilterLogEvents",  # a log group that can't be pushed only, within a budget
        *controls,
        *pushed,
    }
    assert actions("WaitForOperatorFunction") == {
        "cloudwatch:DescribeAlarms",
        "cloudwatch:GetMetricData",
        "logs:FilterLogEvents",  # health is judged while it holds, by every signal
        "sns:Publish",
        "events:PutEvents",
        *controls,
        *pushed,
    }
    assert actions("WaitForCheckFunction") == {"dynamodb:UpdateItem", "states:SendTaskSuccess"}
    assert actions("TelemetryFunction") == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "states:SendTaskSuccess",
    }
    assert actions("StartTelemetryFunction") == {
        "dynamodb:BatchWriteItem",
        "dynamodb:UpdateItem",
        "logs:CreateLogGroup",  # a group the function hasn't logged to yet, as Lambda would
        "logs:PutSubscriptionFilter",
    }
    stop_telemetry = {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "logs:DeleteSubscriptionFilter",
        "logs:PutSubscriptionFilter",  # put back for a rollout that joined meanwhile
        "logs:CreateLogGroup",  # ... into a group deleted meanwhile
    }
    assert actions("TrafficCheckFunction") == {
        "lambda:InvokeFunction",
        "lambda:GetFunctionConfiguration",
    }
    assert actions("FinalizeFunction") == {
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",  # records a version it rolled back (rollout_core.rolled_back)
        "dynamodb:Scan",  # finds a failed Prepare's lock by its owner
        "sns:Publish",
        "events:PutEvents",
        *stop_telemetry,
    }
    assert actions("CleanUpFunction") == {
        "lambda:ListVersionsByFunction",
        "lambda:ListAliases",
        "lambda:ListProvisionedConcurrencyConfigs",
        "lambda:ListEventSourceMappings",
        "lambda:DeleteFunction",
        "sns:Publish",
        "events:PutEvents",
    }
    prepare = actions("PrepareFunction")
    assert {"lambda:ListTags", "cloudwatch:DescribeAlarms", "dynamodb:PutItem"} <= prepare
    assert not {"lambda:UpdateAlias", "lambda:InvokeFunction", "dynamodb:DeleteItem"} & prepare


def load_sample(name: str) -> Json:
    event: Json = json.loads((REPO / "events" / "eventbridge" / name).read_text(encoding="utf-8"))
    return event


def rule_pattern(template: Json, target_pattern: str | None = None) -> Json:
    """The PublishVersion rule's EventPattern as CloudFormation creates it for a stack
    whose TargetFunctionNamePattern is `target_pattern` (None: the default)."""
    parameters = {} if target_pattern is None else {"TargetFunctionNamePattern": target_pattern}
    resolved: Json = Intrinsics(template, parameters).resolve(
        template["Resources"]["PublishVersionRule"]["Properties"]["EventPattern"]
    )
    return resolved


def matches(pattern: Json, event: Json) -> bool:
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))


@pytest.mark.parametrize("sample", ["publish-version-tagged.json", "publish-version-untagged.json"])
def test_the_rule_matches_publish_version_events(template: Json, sample: str) -> None:
    # Tags aren't in the event: the rule starts both, Prepare skips the untagged function.
    assert matches(rule_pattern(template), load_sample(sample))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("eventName", "UpdateFunctionCode20150331v2"),
        ("eventSource", "s3.amazonaws.com"),
        ("errorCode", "ResourceConflictException"),
    ],
)
def test_the_rule_ignores_other_and_failed_calls(template: Json, field: str, value: str) -> None:
    event = load_sample("publish-version-tagged.json")
    event["detail"][field] = value
    assert not matches(rule_pattern(template), event)
    assert not matches(rule_pattern(template, "orders*"), event)


ARN_OF = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.mark.parametrize(
    ("target_pattern", "prefix"),
    [
        ("orders-*", "orders-"),
        ("o*", "o"),
        ("app_2-*", "app_2-"),
        ("*", None),  # everything: no filter
        ("orders", None),  # one name, no wildcard
        ("*-api", None),
        ("a*b", None),
        ("a*b*", None),
        ("orders-**", None),
        ("**", None),
        ("ord?rs-*", None),
        ("orders-?*", None),
    ],
)
def test_the_rule_is_narrowed_only_to_a_plain_prefix(
    template: Json, target_pattern: str, prefix: str | None
) -> None:
    """Issue 10: with a plain-prefix pattern, publishing another function starts nothing."""
    detail = rule_pattern(template, target_pattern)["detail"]
    if prefix is None:
        assert "requestParameters" not in detail  # the rule as it always was
        return
    assert detail["requestParameters"] == {
        "functionName": [{"prefix": prefix}, {"wildcard": f"*:function:{prefix}*"}]
    }


@pytest.mark.parametrize(
    ("function_name", "in_scope"),
    [
        ("orders-api", True),
        ("orders-", True),
        (ARN_OF + "orders-api", True),  # the caller may name the function by ARN
        ("123456789012:function:orders-api", True),  # or by partial ARN
        ("orders", False),
        ("billing", False),
        ("Orders-api", False),  # names are case-sensitive, and so is the match
        ("x-orders-api", False),
        (ARN_OF + "billing", False),
        (ARN_OF + "billing-orders-api", False),
        ("123456789012:function:billing", False),
    ],
)
def test_a_prefix_rule_matches_names_and_arns_in_scope_only(
    template: Json, function_name: str, in_scope: bool
) -> None:
    event = load_sample("publish-version-tagged.json")
    event["detail"]["requestParameters"]["functionName"] = function_name
    assert matches(rule_pattern(template, "orders-*"), event) is in_scope
    assert matches(rule_pattern(template, "*"), event)  # the default rule: everything


def test_the_operator_policy_sends_controls_plans_and_reads_runs_and_nothing_else(template):
    policy = template["Resources"]["RolloutOperatorPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    grants = {
        statement["Sid"]: (set(as_list(statement["Action"])), statement["Resource"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert grants["SendControls"] == (
        {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        {"Fn::GetAtt": ["RolloutTable", "Arn"]},
    )
    assert grants["PlanWithPrepare"] == (
        {"lambda:InvokeFunction"},
        {"Fn::GetAtt": ["PrepareFunction", "Arn"]},
    )
    assert grants["ReplayTheJudge"] == (  # `rollout analyze` reads the telemetry's samples
        {"dynamodb:Query"},
        {"Fn::GetAtt": ["TelemetryTable", "Arn"]},
    )
    actions = set().union(*(actions for actions, _ in grants.values()))
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "cloudformation:DescribeStacks",
        "states:ListExecutions",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "lambda:InvokeFunction",
    }
    assert all(resource != "*" for _, resource in grants.values())
    outputs = template["Outputs"]
    assert outputs["RolloutOperatorPolicyArn"]["Value"] == {"Ref": "RolloutOperatorPolicy"}
