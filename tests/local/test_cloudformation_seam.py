"""The CloudFormation seam (rollout/local/cloudformation.py): SAM templates transformed
server-side, change sets executed like stacks, path-style TemplateURLs, per-resource
events, failures as CloudFormation reports them; and the moto gaps it closes."""

from __future__ import annotations

import inspect
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.cloudformation import models, parsing, responses
from moto.s3.models import FakeBucket

from rollout.local.cloud import LocalCloud
from rollout.local.cloudformation import CloudFormationSeam
from rollout.local.deploy import stack_outputs
from rollout.local.s3_policies import BucketPolicyConditions, applicable
from rollout.local.stacks import StackConsistency

pytestmark = pytest.mark.cloud

HANDLER = "def handler(event, context):\n    return {'version': context.function_version}\n"


def sam_template(code_key: str, description: str = "v1") -> dict[str, Any]:
    """A function behind alias `live` (AutoPublishAlias), an alarm, an output of each."""
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": f"s3://seam-code/{code_key}",
                    "Handler": "app.handler",
                    "Runtime": "python3.12",
                    "AutoPublishAlias": "live",
                    "Description": description,
                },
            },
            "Errors": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Errors",
                    "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "Fn"}}],
                    "Statistic": "Sum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                },
            },
        },
        "Outputs": {
            "FunctionName": {"Value": {"Ref": "Fn"}},
            "AliasArn": {"Value": {"Ref": "FnAliaslive"}},
            "AlarmName": {"Value": {"Ref": "Errors"}},
        },
    }


@pytest.fixture(scope="module")
def cfn_cloud(isolated_cloud: Any) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[]) as cloud:
        s3 = cloud.client("s3")
        s3.create_bucket(Bucket="seam-code")
        from rollout.samples import code_zip

        for label in ("v1", "v2"):
            body = code_zip({"app.py": HANDLER + f"# {label}\n"})
            s3.put_object(Bucket="seam-code", Key=f"{label}.zip", Body=body)
        yield cloud


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def change_set(cloud: LocalCloud, stack: str, template: dict[str, Any], kind: str) -> str:
    """CreateChangeSet → (CREATE_COMPLETE) → ExecuteChangeSet, as `sam deploy` does."""
    cfn = cloud.client("cloudformation")
    created = cfn.create_change_set(
        StackName=stack,
        ChangeSetName=unique("cs"),
        TemplateBody=json.dumps(template),
        ChangeSetType=kind,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    described = cfn.describe_change_set(ChangeSetName=created["Id"], StackName=stack)
    assert described["Status"] == "CREATE_COMPLETE", described.get("StatusReason")
    cfn.execute_change_set(ChangeSetName=created["Id"], StackName=stack)
    return str(created["Id"])


def outputs(cloud: LocalCloud, stack: str) -> dict[str, str]:
    return stack_outputs(cloud.client("cloudformation"), stack)


def test_a_sam_template_through_change_sets_is_transformed_and_gets_outputs(cfn_cloud):
    stack = unique("sam")
    change_set(cfn_cloud, stack, sam_template("v1.zip"), "CREATE")
    cfn = cfn_cloud.client("cloudformation")
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    found = outputs(cfn_cloud, stack)
    assert set(found) == {"FunctionName", "AliasArn", "AlarmName"}
    alias = cfn_cloud.client("lambda").get_alias(FunctionName=found["FunctionName"], Name="live")
    assert alias["FunctionVersion"] == "1"
    assert cfn_cloud.client("cloudwatch").describe_alarms(AlarmNames=[found["AlarmName"]])[
        "MetricAlarms"
    ]
    original = cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    processed = cfn.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    assert original["Transform"] == "AWS::Serverless-2016-10-31"
    assert "Transform" not in processed
    assert processed["Resources"]["Fn"]["Type"] == "AWS::Lambda::Function"


def test_an_update_change_set_publishes_new_code_before_moving_the_alias(cfn_cloud):
    stack = unique("update")
    change_set(cfn_cloud, stack, sam_template("v1.zip"), "CREATE")
    change_set(cfn_cloud, stack, sam_template("v2.zip", "v2"), "UPDATE")
    name = outputs(cfn_cloud, stack)["FunctionName"]
    lam = cfn_cloud.client("lambda")
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
    assert lam.get_function_configuration(FunctionName=name, Qualifier="2")["Description"] == "v2"


def test_an_unchanged_template_makes_a_change_set_with_no_changes(cfn_cloud):
    stack = unique("same")
    change_set(cfn_cloud, stack, sam_template("v1.zip"), "CREATE")
    cfn = cfn_cloud.client("cloudformation")
    created = cfn.create_change_set(
        StackName=stack,
        ChangeSetName="again",
        TemplateBody=json.dumps(sam_template("v1.zip")),
        ChangeSetType="UPDATE",
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    described = cfn.describe_change_set(ChangeSetName=created["Id"])
    assert described["Status"] == "FAILED"
    assert "didn't contain changes" in described["StatusReason"]


def test_each_resource_gets_its_own_stack_events(cfn_cloud):
    stack = unique("events")
    change_set(cfn_cloud, stack, sam_template("v1.zip"), "CREATE")
    events = cfn_cloud.client("cloudformation").describe_stack_events(StackName=stack)[
        "StackEvents"
    ]
    by_resource = {(e["LogicalResourceId"], e["ResourceStatus"]) for e in events}
    for logical in ("Fn", "FnRole", "FnAliaslive", "Errors"):
        assert (logical, "CREATE_IN_PROGRESS") in by_resource, logical
        assert (logical, "CREATE_COMPLETE") in by_resource, logical
    assert (stack, "CREATE_COMPLETE") in by_resource


def test_a_template_url_on_the_local_endpoint_is_read_path_style(cfn_cloud):
    s3 = cfn_cloud.client("s3")
    s3.put_object(Bucket="seam-code", Key="t.json", Body=json.dumps(sam_template("v1.zip")))
    stack = unique("url")
    cfn_cloud.client("cloudformation").create_stack(
        StackName=stack,
        TemplateURL=f"{cfn_cloud.endpoint}/seam-code/t.json",
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    assert set(outputs(cfn_cloud, stack)) == {"FunctionName", "AliasArn", "AlarmName"}


def test_a_resource_type_the_cloud_cant_create_is_refused_by_name(cfn_cloud):
    template = sam_template("v1.zip")
    template["Resources"]["Queue"] = {"Type": "AWS::Pipes::Pipe", "Properties": {}}
    with pytest.raises(ClientError, match="can't create these resource types: AWS::Pipes::Pipe"):
        cfn_cloud.client("cloudformation").create_stack(
            StackName=unique("refused"),
            TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )


def test_deployment_preference_is_refused_by_name_with_the_migration(cfn_cloud):
    template = sam_template("v1.zip")
    template["Resources"]["Fn"]["Properties"]["DeploymentPreference"] = {"Type": "AllAtOnce"}
    with pytest.raises(ClientError) as refused:
        cfn_cloud.client("cloudformation").create_stack(
            StackName=unique("codedeploy"),
            TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    message = str(refused.value)
    assert "DeploymentPreference on Fn" in message
    assert "From DeploymentPreference to lambda-rollout" in message
    assert "CodeDeploy::Application" not in message  # named before the transform adds it


INLINE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        },
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return 'inline'\n"},
            },
        },
        "V1": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Live": {
            "Type": "AWS::Lambda::Alias",
            "Properties": {
                "FunctionName": {"Ref": "Fn"},
                "Name": "live",
                "FunctionVersion": {"Fn::GetAtt": ["V1", "Version"]},
            },
        },
        "Mapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "FunctionName": {"Ref": "Live"},
                "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                "Enabled": False,
            },
        },
    },
    "Outputs": {"Function": {"Value": {"Ref": "Fn"}}},
}


def wait_for_stack(cloud: LocalCloud, stack: str) -> str:
    cfn = cloud.client("cloudformation")
    for _ in range(100):
        summaries = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == stack]
        status = summaries[0]["StackStatus"] if summaries else "MISSING"
        if not status.endswith("IN_PROGRESS"):
            return str(status)
        time.sleep(0.2)
    raise AssertionError(f"{stack} still in progress")


def test_inline_python_code_and_a_stack_with_a_mapping_on_an_alias_deletes_completely(cfn_cloud):
    stack = unique("inline")
    cfn = cfn_cloud.client("cloudformation")
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(INLINE))
    assert wait_for_stack(cfn_cloud, stack) == "CREATE_COMPLETE"
    function = outputs(cfn_cloud, stack)["Function"]
    lam = cfn_cloud.client("lambda")
    code = lam.get_function(FunctionName=function)
    assert code["Configuration"]["Handler"] == "index.handler"
    tags = code["Tags"]
    assert tags["aws:cloudformation:stack-name"] == stack
    assert tags["aws:cloudformation:logical-id"] == "Fn"
    cfn.delete_stack(StackName=stack)
    assert wait_for_stack(cfn_cloud, stack) == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.get_function(FunctionName=function)


def test_a_failed_create_rolls_back_and_says_why(cfn_cloud):
    stack = unique("failing")
    template = sam_template("v1.zip")
    missing_layer = "arn:aws:lambda:us-east-1:123456789012:layer:missing:1"
    template["Resources"]["Fn"]["Properties"]["Layers"] = [missing_layer]  # CreateFunction fails
    cfn = cfn_cloud.client("cloudformation")
    cfn.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Fn" in described["StackStatusReason"]
    assert "Outputs" not in described
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Fn"]
    roles = cfn_cloud.client("iam").list_roles()["Roles"]
    assert not [r for r in roles if r["RoleName"].startswith(f"{stack}-FnRole")]


def test_a_bucket_policy_that_denies_plain_http_allows_sdk_uploads(cfn_cloud):
    """The policy `sam deploy --resolve-s3` puts on its bucket, through CloudFormation."""
    stack = unique("bucket")
    cfn_cloud.client("cloudformation").create_stack(
        StackName=stack,
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Bucket": {"Type": "AWS::S3::Bucket"},
                    "Policy": {
                        "Type": "AWS::S3::BucketPolicy",
                        "Properties": {
                            "Bucket": {"Ref": "Bucket"},
                            "PolicyDocument": {
                                "Statement": [
                                    {
                                        "Effect": "Deny",
                                        "Action": "s3:*",
                                        "Principal": "*",
                                        "Resource": {"Fn::Sub": "arn:aws:s3:::${Bucket}/*"},
                                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                    }
                                ]
                            },
                        },
                    },
                },
                "Outputs": {"Bucket": {"Value": {"Ref": "Bucket"}}},
            }
        ),
    )
    bucket = outputs(cfn_cloud, stack)["Bucket"]
    s3 = cfn_cloud.client("s3")
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    s3.put_object(Bucket=bucket, Key="artifact.zip", Body=b"code")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": "s3:*",
                        "Principal": "*",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                        "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                    }
                ]
            }
        ),
    )
    with pytest.raises(ClientError, match=r"403|Forbidden|AccessDenied"):
        s3.put_object(Bucket=bucket, Key="denied.zip", Body=b"code")


def test_conditions_are_resolved_against_the_request_context():
    deny_plain = {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    deny_tls = {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    allow_vpc = {"Effect": "Allow", "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}
    deny_odd = {"Effect": "Deny", "Condition": {"DateGreaterThan": {"aws:SecureTransport": "x"}}}
    kept = applicable({"Statement": [deny_plain, deny_tls, allow_vpc, deny_odd]})["Statement"]
    assert kept == [{"Effect": "Deny"}, {"Effect": "Deny"}]


@contextmanager
def moto_alone(cloud: LocalCloud) -> Iterator[None]:
    seams = [cloud.seam(CloudFormationSeam), cloud.seam(BucketPolicyConditions)]
    for seam in seams:
        seam.uninstall()
    try:
        yield
    finally:
        for seam in seams:
            seam.install(cloud)


def test_moto_alone_skips_sam_resources_and_reports_success(cfn_cloud):
    """When this fails, moto transforms SAM templates itself and the seam can shrink."""
    stack = unique("alone")
    with moto_alone(cfn_cloud):
        cfn = cfn_cloud.client("cloudformation")
        change_set(cfn_cloud, stack, sam_template("v1.zip"), "CREATE")
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert [r for r in resources if r["ResourceType"].startswith("AWS::Lambda::")] == []


def test_moto_alone_computes_no_outputs_for_an_executed_change_set(cfn_cloud):
    stack = unique("alonecs")
    plain = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
    }
    with moto_alone(cfn_cloud):
        change_set(cfn_cloud, stack, plain, "CREATE")
        found = outputs(cfn_cloud, stack)
    assert found == {}


def test_moto_alone_reads_a_local_template_url_as_bucket_127(cfn_cloud):
    s3 = cfn_cloud.client("s3")
    s3.put_object(
        Bucket="seam-code",
        Key="plain.json",
        Body=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    with moto_alone(cfn_cloud), pytest.raises(ClientError):
        cfn_cloud.client("cloudformation").create_stack(
            StackName=unique("url127"), TemplateURL=f"{cfn_cloud.endpoint}/seam-code/plain.json"
        )


def test_every_cloud_has_the_core_seams(cfn_cloud):
    for kind in (StackConsistency, CloudFormationSeam, BucketPolicyConditions):
        assert isinstance(cfn_cloud.seam(kind), kind)


# The moto internals the CloudFormation and bucket-policy seams replace or call, with the
# parameters they rely on (a moto upgrade that changes one fails here, by name).
MOTO_SIGNATURES = {
    (models.CloudFormationBackend, "create_stack"): ["self", "name", "template", "parameters"],
    (models.CloudFormationBackend, "update_stack"): [
        "self", "name", "template", "role_arn", "parameters", "tags",
    ],
    (models.CloudFormationBackend, "create_change_set"): [
        "self", "stack_name", "change_set_name", "template", "parameters",
    ],
    (models.CloudFormationBackend, "execute_change_set"): [
        "self", "change_set_name", "stack_name",
    ],
    (models.CloudFormationBackend, "delete_stack"): ["self", "name_or_stack_id"],
    (models.Stack, "create_resources"): ["self"],
    (models.Stack, "update"): ["self", "template", "role_arn", "parameters", "tags"],
    (models.ChangeSet, "apply"): ["self"],
    (parsing.ResourceMap, "update"): ["self", "template", "parameters"],
    (parsing.ResourceMap, "delete"): ["self"],
    (parsing.ResourceMap, "_delete_resource"): ["self", "parsed_resource", "resource_json"],
    (parsing, "parse_and_create_resource"): [
        "logical_id", "resource_json", "resources_map", "account_id", "region_name",
    ],
    (parsing, "parse_and_update_resource"): [
        "logical_id", "resource_json", "resources_map", "account_id", "region_name",
    ],
    (responses, "get_stack_from_s3_url"): ["template_url", "account_id", "partition"],
    (FakeBucket, "get_permission"): ["self", "action", "resource"],
}  # fmt: skip


def moto_original(owner: Any, name: str) -> Any:
    """moto's own attribute, even while a running cloud's seam has replaced it."""
    running = LocalCloud._running
    for seam in running._seams if running is not None else []:
        patches = getattr(seam, "_patches", None)
        for patched_owner, patched_name, original in getattr(patches, "_saved", []):
            if (patched_owner, patched_name) == (owner, name) and callable(original):
                return original
    return getattr(owner, name)


@pytest.mark.parametrize(("owner", "name"), list(MOTO_SIGNATURES), ids=lambda v: str(v))
def test_moto_internals_the_seams_replace_keep_their_signatures(owner, name):
    found = list(inspect.signature(moto_original(owner, name)).parameters)
    expected = MOTO_SIGNATURES[(owner, name)]
    assert found[: len(expected)] == expected, (name, found)


def test_moto_alone_denies_every_upload_under_a_deny_unless_tls_policy(cfn_cloud):
    """When this fails, moto evaluates policy conditions itself and the seam can go."""
    s3 = cfn_cloud.client("s3")
    bucket = unique("tls-only")
    s3.create_bucket(Bucket=bucket)
    statement = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Principal": "*",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [statement]}))
    s3.put_object(Bucket=bucket, Key="with-the-seam.zip", Body=b"code")
    with moto_alone(cfn_cloud), pytest.raises(ClientError, match=r"403|Forbidden|AccessDenied"):
        s3.put_object(Bucket=bucket, Key="moto-alone.zip", Body=b"code")
