"""Deploy seam: SAM template → packaged code in S3 → CloudFormation stack in moto."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import stat
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from moto.awslambda.models import lambda_backends
from moto.stepfunctions.models import stepfunctions_backends

from rollout.local.cloud import LocalCloud
from rollout.local.cloudformation import CloudFormationSeam
from rollout.local.dependencies import closure, entries
from rollout.local.deploy import DeployError, deploy_template, stack_outputs
from rollout.local.package import (
    ARTIFACT_BUCKET,
    TemplateError,
    build_zip,
    package_template,
    transform_template,
    zip_folder,
)
from rollout.local.stack_updates import dependency_order, references
from rollout.local.templates import substitute

pytestmark = pytest.mark.cloud

FIXTURE = Path(__file__).parent / "fixtures" / "deploy_app"
ALL_OUTPUTS = {
    "RolloutStateMachineArn",
    "PrepareFunctionArn",
    "PrepareVersionNumber",
    "ShiftFunctionArn",
    "ShiftAliasArn",
    "SharedLayerArn",
    "AlarmName",
    "AlarmArn",
    "TopicArn",
    "TableName",
}


def copy_app(destination: Path) -> Path:
    """A private copy of the fixture app, so a test can edit it; returns its template."""
    shutil.copytree(FIXTURE, destination / "app")
    return destination / "app" / "template.yaml"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def layer_version(lambda_: Any, arn: str) -> dict[str, Any]:
    """GetLayerVersion by ARN (moto doesn't implement GetLayerVersionByArn)."""
    name, number = arn.rsplit(":", 2)[-2:]
    return dict(lambda_.get_layer_version(LayerName=name, VersionNumber=int(number)))


def code_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


@pytest.fixture(scope="module")
def deploy_cloud(isolated_cloud: Any) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[]) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def outputs(deploy_cloud: LocalCloud) -> dict[str, str]:
    return deploy_template(deploy_cloud, FIXTURE / "template.yaml", unique("deploy"))


# -- a first deploy ------------------------------------------------------------------


def test_every_output_resolves_to_a_live_resource(
    deploy_cloud: LocalCloud, outputs: dict[str, str]
):
    assert set(outputs) == ALL_OUTPUTS  # the conditional subscription is off by default
    lambda_ = deploy_cloud.client("lambda")
    sfn = deploy_cloud.client("stepfunctions")
    assert sfn.describe_state_machine(stateMachineArn=outputs["RolloutStateMachineArn"])
    for key in ("PrepareFunctionArn", "ShiftFunctionArn"):
        assert lambda_.get_function(FunctionName=outputs[key])["Configuration"]["State"] == "Active"
    alias = lambda_.get_alias(FunctionName=outputs["ShiftFunctionArn"], Name="live")
    assert alias["AliasArn"] == outputs["ShiftAliasArn"]
    assert alias["FunctionVersion"] == "1"
    assert outputs["PrepareVersionNumber"] == "1"
    alarms = deploy_cloud.client("cloudwatch").describe_alarms(AlarmNames=[outputs["AlarmName"]])
    assert alarms["MetricAlarms"][0]["AlarmArn"] == outputs["AlarmArn"]
    assert deploy_cloud.client("sns").get_topic_attributes(TopicArn=outputs["TopicArn"])
    table = deploy_cloud.client("dynamodb").describe_table(TableName=outputs["TableName"])
    assert table["Table"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    layer = layer_version(lambda_, outputs["SharedLayerArn"])
    assert layer["LayerVersionArn"] == outputs["SharedLayerArn"]


def test_alarm_properties_reach_cloudwatch(deploy_cloud: LocalCloud, outputs: dict[str, str]):
    cloudwatch = deploy_cloud.client("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=[outputs["AlarmName"]])["MetricAlarms"][0]
    function_name = outputs["ShiftFunctionArn"].rsplit(":", 1)[-1]
    assert alarm["Dimensions"] == [
        {"Name": "FunctionName", "Value": function_name},
        {"Name": "Resource", "Value": f"{function_name}:live"},
    ]
    assert (alarm["Threshold"], alarm["Period"]) == (1.0, 60)
    assert alarm["AlarmActions"] == [outputs["TopicArn"]]


def test_state_machine_definition_has_substitutions_filled_in(
    deploy_cloud: LocalCloud, outputs: dict[str, str]
):
    sfn = deploy_cloud.client("stepfunctions")
    text = sfn.describe_state_machine(stateMachineArn=outputs["RolloutStateMachineArn"])[
        "definition"
    ]
    assert "${" not in text
    states = json.loads(text)["States"]
    assert states["Prepare"]["Parameters"]["FunctionName"] == outputs["PrepareFunctionArn"]
    assert states["Shift traffic"]["Parameters"]["FunctionName"] == outputs["ShiftFunctionArn"]
    assert states["Record"]["Parameters"]["TableName"] == outputs["TableName"]
    assert states["Notify"]["Parameters"]["TopicArn"] == outputs["TopicArn"]
    # The context-object path survives (moto's Fn::Sub would make it "$.Execution.Id").
    assert states["Prepare"]["Parameters"]["Payload"]["executionId.$"] == "$$.Execution.Id"


def test_state_machine_configuration_reaches_step_functions(
    deploy_cloud: LocalCloud, outputs: dict[str, str]
):
    sfn = deploy_cloud.client("stepfunctions")
    machine = sfn.describe_state_machine(stateMachineArn=outputs["RolloutStateMachineArn"])
    assert (machine["type"], machine["tracingConfiguration"]) == ("STANDARD", {"enabled": True})
    assert machine["loggingConfiguration"]["level"] == "ERROR"
    assert machine["roleArn"].startswith("arn:aws:iam::")


def test_function_code_is_the_packaged_zip(deploy_cloud: LocalCloud, outputs: dict[str, str]):
    expected = build_zip(FIXTURE / "functions" / "prepare")
    lambda_ = deploy_cloud.client("lambda")
    function = lambda_.get_function(FunctionName=outputs["PrepareFunctionArn"])
    configuration = function["Configuration"]
    assert configuration["CodeSha256"] == code_sha256(expected)
    name = configuration["FunctionName"]
    backend = lambda_backends[deploy_cloud.account_id][deploy_cloud.region]
    assert backend.get_function(name).code_bytes == expected
    assert [layer["Arn"] for layer in configuration["Layers"]] == [outputs["SharedLayerArn"]]
    assert configuration["TracingConfig"] == {"Mode": "Active"}
    assert configuration["Environment"]["Variables"]["TABLE_NAME"] == outputs["TableName"]
    assert function["Tags"]["rollout:component"] == "prepare"


def test_layer_is_zipped_under_python_for_a_python_build_method(
    deploy_cloud: LocalCloud, outputs: dict[str, str]
):
    backend = lambda_backends[deploy_cloud.account_id][deploy_cloud.region]
    layer = backend.layers_versions_by_arn(outputs["SharedLayerArn"])
    assert layer is not None
    names = zipfile.ZipFile(io.BytesIO(layer.code_bytes)).namelist()
    assert names == ["python/rollout_core/__init__.py"]


# -- redeploys -----------------------------------------------------------------------


def test_redeploy_of_unchanged_template_changes_nothing(deploy_cloud: LocalCloud, tmp_path: Path):
    template = copy_app(tmp_path)
    stack = unique("same")
    first = deploy_template(deploy_cloud, template, stack)
    assert deploy_template(deploy_cloud, template, stack) == first


def test_redeploy_after_handler_change_publishes_new_code(deploy_cloud: LocalCloud, tmp_path: Path):
    template = copy_app(tmp_path)
    stack = unique("redeploy")
    first = deploy_template(deploy_cloud, template, stack)
    lambda_ = deploy_cloud.client("lambda")
    before = lambda_.get_function(FunctionName=first["ShiftFunctionArn"])["Configuration"]

    handler = template.parent / "functions" / "shift" / "app.py"
    handler.write_text(handler.read_text().replace('"shift"', '"shift v2"'))
    second = deploy_template(deploy_cloud, template, stack)

    after = lambda_.get_function(FunctionName=second["ShiftFunctionArn"])["Configuration"]
    assert second["ShiftFunctionArn"] == first["ShiftFunctionArn"]
    assert after["CodeSha256"] != before["CodeSha256"]
    assert after["CodeSha256"] == code_sha256(zip_folder(handler.parent))
    # SAM's new AWS::Lambda::Version was published after the code changed, not before.
    alias = lambda_.get_alias(FunctionName=second["ShiftFunctionArn"], Name="live")
    assert alias["FunctionVersion"] == "2"
    version = lambda_.get_function(FunctionName=second["ShiftFunctionArn"], Qualifier="2")
    assert version["Configuration"]["CodeSha256"] == after["CodeSha256"]
    old = lambda_.get_function(FunctionName=second["ShiftFunctionArn"], Qualifier="1")
    assert old["Configuration"]["CodeSha256"] == before["CodeSha256"]


def test_redeploy_after_layer_change_points_functions_at_the_new_layer(
    deploy_cloud: LocalCloud, tmp_path: Path
):
    template = copy_app(tmp_path)
    stack = unique("layer")
    first = deploy_template(deploy_cloud, template, stack)
    shared = template.parent / "functions" / "shared" / "rollout_core" / "__init__.py"
    shared.write_text(shared.read_text() + "\nVERSION = 2\n")
    second = deploy_template(deploy_cloud, template, stack)

    assert second["SharedLayerArn"] != first["SharedLayerArn"]
    lambda_ = deploy_cloud.client("lambda")
    for key in ("PrepareFunctionArn", "ShiftFunctionArn"):
        layers = lambda_.get_function(FunctionName=second[key])["Configuration"]["Layers"]
        assert [layer["Arn"] for layer in layers] == [second["SharedLayerArn"]]
    # The old layer version is retained, as SAM's DeletionPolicy says.
    old = layer_version(lambda_, first["SharedLayerArn"])
    assert old["LayerVersionArn"] == first["SharedLayerArn"]


def test_parameters_override_defaults_and_switch_conditional_resources(
    deploy_cloud: LocalCloud, tmp_path: Path
):
    template = copy_app(tmp_path)
    stack = unique("params")
    email = {"NotificationEmail": "team@example.com", "ErrorThreshold": "3"}
    with_email = deploy_template(deploy_cloud, template, stack, email)
    sns = deploy_cloud.client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=with_email["TopicArn"])
    assert [s["SubscriptionArn"] for s in subscriptions["Subscriptions"]] == [
        with_email["EmailSubscriptionArn"]
    ]
    assert subscriptions["Subscriptions"][0]["Endpoint"] == "team@example.com"
    cloudwatch = deploy_cloud.client("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=[with_email["AlarmName"]])["MetricAlarms"][0]
    assert alarm["Threshold"] == 3.0

    without = deploy_template(deploy_cloud, template, stack)
    assert "EmailSubscriptionArn" not in without
    assert sns.list_subscriptions_by_topic(TopicArn=without["TopicArn"])["Subscriptions"] == []
    alarm = cloudwatch.describe_alarms(AlarmNames=[without["AlarmName"]])["MetricAlarms"][0]
    assert alarm["Threshold"] == 1.0


def test_stack_outputs_reads_a_deployed_stack(deploy_cloud: LocalCloud, tmp_path: Path):
    template = copy_app(tmp_path)
    stack = unique("read")
    deployed = deploy_template(deploy_cloud, template, stack)
    assert stack_outputs(deploy_cloud.client("cloudformation"), stack) == deployed


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_a_resource_type_the_cloud_cant_create_fails_the_deploy_by_name(
    deploy_cloud: LocalCloud, tmp_path: Path
):
    """moto would skip it and report success, losing the output that names it."""
    template = copy_app(tmp_path)
    text = template.read_text()
    # Neither moto nor the seam handles AWS::Logs::MetricFilter.
    template.write_text(
        text.replace(
            "Outputs:\n",
            "  ErrorsFilter:\n    Type: AWS::Logs::MetricFilter\n    Properties:\n"
            "      LogGroupName: /aws/lambda/any\n      FilterPattern: ERROR\n"
            "      MetricTransformations:\n"
            "        - {MetricName: Errors, MetricNamespace: Fixture, MetricValue: '1'}\n\n"
            "Outputs:\n  ErrorsFilterName:\n    Value: !Ref ErrorsFilter\n",
        )
    )
    stack = unique("broken")
    with pytest.raises(DeployError, match="can't create these resource types: AWS::Logs::Metric"):
        deploy_template(deploy_cloud, template, stack)
    names = [
        s["StackName"]
        for s in deploy_cloud.client("cloudformation").list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert stack not in names


def test_failed_create_names_the_resource_and_a_retry_starts_clean(
    deploy_cloud: LocalCloud, tmp_path: Path
):
    template = copy_app(tmp_path)
    good = template.read_text()
    missing_layer = "arn:aws:lambda:us-east-1:123456789012:layer:missing:1"
    template.write_text(good.replace("Layers: [!Ref SharedLayer]", f"Layers: [{missing_layer}]"))
    stack = unique("retry")
    with pytest.raises(DeployError, match=r"PrepareFunction: .*ResourceNotFoundException"):
        deploy_template(deploy_cloud, template, stack)

    template.write_text(good)
    assert set(deploy_template(deploy_cloud, template, stack)) == ALL_OUTPUTS


# -- packaging and transform (no cloud) ----------------------------------------------


def test_packaging_is_deterministic(tmp_path: Path):
    template = copy_app(tmp_path)
    first = package_template(template)
    handler = template.parent / "functions" / "prepare" / "app.py"
    os.utime(handler, (1_000_000, 1_000_000))
    cache = handler.parent / "__pycache__"
    cache.mkdir()
    (cache / "app.cpython-311.pyc").write_bytes(b"compiled")
    (handler.parent / "stale.pyc").write_bytes(b"compiled")
    again = package_template(template)
    assert set(again.artifacts) == set(first.artifacts)
    assert again.template == first.template

    handler.write_text(handler.read_text() + "\n# changed\n")
    changed = package_template(template)
    assert len(set(changed.artifacts) - set(first.artifacts)) == 1


def test_package_rewrites_local_paths_to_content_addressed_s3_uris():
    package = package_template(FIXTURE / "template.yaml")
    resources = package.template["Resources"]
    for logical_id, prop in [
        ("PrepareFunction", "CodeUri"),
        ("SharedLayer", "ContentUri"),
        ("RolloutStateMachine", "DefinitionUri"),
    ]:
        uri = resources[logical_id]["Properties"][prop]
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        assert bucket == ARTIFACT_BUCKET
        assert key.split(".")[0] == hashlib.sha256(package.artifacts[key]).hexdigest()
    prepare_key = resources["PrepareFunction"]["Properties"]["CodeUri"].rsplit("/", 1)[1]
    archive = zipfile.ZipFile(io.BytesIO(package.artifacts[prepare_key]))
    # requirements.txt's closure is installed beside the code, as `sam build` installs it:
    # links to this interpreter's copies of exactly those distributions
    wanted = entries(closure(["aws-lambda-powertools"]))
    assert archive.namelist() == ["app.py", "requirements.txt", *(e.name for e in wanted)]
    links = {info.filename: archive.read(info).decode() for info in archive.infolist()[2:]}
    assert all(stat.S_ISLNK(info.external_attr >> 16) for info in archive.infolist()[2:])
    assert links == {e.name: str(e.path) for e in wanted}
    assert "pydantic" not in links  # powertools without the parser extra doesn't need it


def test_transformed_template_passes_cfn_lint():
    transformed = transform_template(FIXTURE / "template.yaml")
    assert "Transform" not in transformed
    assert [str(match) for match in lint(json.dumps(transformed))] == []


def test_transform_reports_a_missing_code_folder(tmp_path: Path):
    template = copy_app(tmp_path)
    shutil.rmtree(template.parent / "functions" / "shift")
    with pytest.raises(TemplateError, match="functions/shift"):
        transform_template(template)


# -- pure helpers --------------------------------------------------------------------


def test_substitute_keeps_unknown_placeholders_and_builds_a_join():
    body = '{"A": "${Fn}", "B": "${Other}", "C": "$$.Execution.Id", "D": ${Count}}'
    result = substitute(body, {"Fn": {"Fn::GetAtt": ["F", "Arn"]}, "Count": 3})
    assert result == {
        "Fn::Join": [
            "",
            [
                '{"A": "',
                {"Fn::GetAtt": ["F", "Arn"]},
                '", "B": "${Other}", "C": "$$.Execution.Id", "D": 3}',
            ],
        ]
    }
    assert substitute("plain ${Name}", {"Name": "value"}) == "plain value"


def test_references_follow_ref_getatt_and_sub():
    fragment = {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": ["Function", "Arn"]},
        "C": {"Fn::Sub": "${Topic}-${Role.Arn}-${AWS::Region}-${!Literal}"},
        "D": {"Fn::Sub": ["${x}", {"x": {"Ref": "Queue"}}]},
    }
    assert references(fragment) == {"Table", "Function", "Topic", "Role", "AWS::Region", "Queue"}


def test_dependency_order_puts_referenced_resources_first():
    resources = {
        "Alias": {"Properties": {"V": {"Fn::GetAtt": ["Version", "Version"]}}},
        "Version": {"Properties": {"F": {"Ref": "Function"}}},
        "Function": {"Properties": {"L": [{"Ref": "Layer"}]}},
        "Layer": {"Properties": {}},
        "Rule": {"DependsOn": "Alias"},
    }
    assert dependency_order(resources) == ["Layer", "Function", "Version", "Alias", "Rule"]


# -- contract: the moto gaps this seam closes are still there ------------------------

PLAIN_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {"S3Bucket": "contract-code", "S3Key": "code.zip"},
                "Handler": "app.lambda_handler",
                "Runtime": "python3.12",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
        "Version": {
            "Type": "AWS::Lambda::Version",
            "Properties": {"FunctionName": {"Ref": "Function"}},
        },
        "Alias": {
            "Type": "AWS::Lambda::Alias",
            "Properties": {
                "FunctionName": {"Ref": "Function"},
                "Name": "live",
                "FunctionVersion": "1",
            },
        },
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "email",
                "Endpoint": "a@example.com",
            },
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "contract-alarm",
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            },
        },
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "DefinitionString": {
                    "Fn::Sub": [
                        '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": '
                        '{"id.$": "$$.Execution.Id", "f": "${Fn}"}, "End": true}}}',
                        {"Fn": {"Fn::GetAtt": ["Function", "Arn"]}},
                    ]
                },
            },
        },
    },
    "Outputs": {
        "AliasArn": {"Value": {"Ref": "Alias"}},
        "SubscriptionArn": {"Value": {"Ref": "Subscription"}},
        "AlarmName": {"Value": {"Ref": "Alarm"}},
        "MachineArn": {"Value": {"Ref": "Machine"}},
    },
}


@contextmanager
def moto_alone(cloud: LocalCloud) -> Iterator[None]:
    """moto's CloudFormation without the seam, as contract tests need to see it."""
    seam = cloud.seam(CloudFormationSeam)
    seam.uninstall()
    try:
        yield
    finally:
        seam.install(cloud)


def create_plain_stack(cloud: LocalCloud, template: dict[str, Any]) -> dict[str, str]:
    """A stack created by moto alone, with none of the deploy seam's handlers."""
    with moto_alone(cloud):
        return _create_plain_stack(cloud, template)


def _create_plain_stack(cloud: LocalCloud, template: dict[str, Any]) -> dict[str, str]:
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="contract-code")
    s3.put_object(Bucket="contract-code", Key="code.zip", Body=zip_folder(FIXTURE / "functions"))
    cloudformation = cloud.client("cloudformation")
    stack = unique("contract")
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    return stack_outputs(cloudformation, stack)


@pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")
def test_contract_moto_alone_still_has_the_gaps_deploy_closes(deploy_cloud: LocalCloud):
    """Fails when a moto upgrade fixes a gap: then the matching workaround can go."""
    outputs = create_plain_stack(deploy_cloud, PLAIN_TEMPLATE)

    # Alias, Subscription and Alarm are skipped, and so are the Outputs that name them.
    assert set(outputs) == {"MachineArn"}
    assert (
        deploy_cloud.client("cloudwatch").describe_alarms(AlarmNames=["contract-alarm"])[
            "MetricAlarms"
        ]
        == []
    )
    # The state machine lands in the backend the API doesn't use when execution is on...
    listed = deploy_cloud.client("stepfunctions").list_state_machines()["stateMachines"]
    assert outputs["MachineArn"] not in [machine["stateMachineArn"] for machine in listed]
    # ...and moto's Fn::Sub list form mangles the ASL context path "$$".
    backend = stepfunctions_backends[deploy_cloud.account_id][deploy_cloud.region]
    definition = json.loads(backend.describe_state_machine(outputs["MachineArn"]).definition)
    assert definition["States"]["P"]["Parameters"]["id.$"] == "$.Execution.Id"


def test_contract_moto_alone_has_no_version_attribute(deploy_cloud: LocalCloud):
    """Worse than a missing output: a `GetAtt Version` output makes moto drop them all."""
    resources = {k: PLAIN_TEMPLATE["Resources"][k] for k in ("Role", "Function", "Version")}
    outputs = {
        "FunctionName": {"Value": {"Ref": "Function"}},
        "VersionNumber": {"Value": {"Fn::GetAtt": ["Version", "Version"]}},
    }
    assert create_plain_stack(deploy_cloud, {"Resources": resources, "Outputs": outputs}) == {}
