"""Traffic sources and evidence through `rollout local up` (a subprocess), as a user meets
them: a function invoked by every kind of source on another alias than the one rolled is
refused by `rollout plan` and `rollout start` naming each source (`bypass: "warn"` lists
them instead); a new version starved of traffic while the stable version serves a bypass
fails with a Cause that says so; a rollout nobody sends traffic to ends "no evidence",
never "healthy". The app is deployed with the AWS CLI from a template with inline code.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollout.samples import code_zip, lambda_role
from tests.local.served import ServedCloud, aws, served_cloud

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

CODE = """import json
def handler(event, context):
    print(json.dumps({"version": context.function_version}))
    return {"statusCode": 200, "body": "ok"}
"""


def template(name: str) -> dict[str, Any]:
    """A function with versions behind `live`, `released` on the same version, and a source
    of each kind on `released` (plus a function URL on `live`)."""
    released = {"Ref": "Released"}
    resources: dict[str, Any] = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        },
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": name,
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": CODE},
            },
        },
        "V1": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Live": _alias("live"),
        "Released": _alias("released"),
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Mapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "FunctionName": released,
                "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
            },
        },
        "Nightly": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "rate(1 day)",
                "Targets": [{"Id": "released", "Arn": released}],
            },
        },
        "NightlyPermission": _permission(
            "events.amazonaws.com", {"Fn::GetAtt": ["Nightly", "Arn"]}
        ),
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "lambda",
                "Endpoint": released,
            },
        },
        "TopicPermission": _permission("sns.amazonaws.com", {"Ref": "Topic"}),
        "Api": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Body": {
                    "openapi": "3.0.1",
                    "info": {"title": f"{name}-api", "version": "1"},
                    "paths": {
                        "/hello": {
                            "get": {
                                "x-amazon-apigateway-integration": {
                                    "type": "aws_proxy",
                                    "httpMethod": "POST",
                                    "payloadFormatVersion": "2.0",
                                    "uri": {
                                        "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/"
                                        "2015-03-31/functions/${Released}/invocations"
                                    },
                                }
                            }
                        }
                    },
                }
            },
        },
        "ApiPermission": _permission(
            "apigateway.amazonaws.com",
            {"Fn::Sub": "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/*/hello"},
        ),
        "Url": {
            "Type": "AWS::Lambda::Url",
            "Properties": {"TargetFunctionArn": {"Ref": "Live"}, "AuthType": "NONE"},
        },
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


def _alias(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Alias",
        "Properties": {
            "FunctionName": {"Ref": "Fn"},
            "Name": name,
            "FunctionVersion": {"Fn::GetAtt": ["V1", "Version"]},
        },
    }


def _permission(principal: str, source: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Ref": "Released"},
            "Action": "lambda:InvokeFunction",
            "Principal": principal,
            "SourceArn": source,
        },
    }


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedCloud]:
    with served_cloud() as env:
        yield ServedCloud(env)


def deploy(cloud: ServedCloud, name: str, folder: Path) -> None:
    """`aws cloudformation deploy` of the template, then version 2 published, as a user
    changing the code would."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(template(name)))
    aws(cloud.env, "cloudformation", "deploy", "--stack-name", name, "--template-file", str(path))
    lam = cloud.client("lambda")
    lam.update_function_configuration(FunctionName=name, Description="release 2")
    lam.get_waiter("function_updated").wait(FunctionName=name)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"


def rollout(
    cloud: ServedCloud, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollout.cli", *args],
        env=cloud.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_every_source_on_another_alias_is_a_bypass_that_plan_and_start_refuse(
    cloud: ServedCloud, tmp_path: Path
) -> None:
    deploy(cloud, "bypassed", tmp_path)
    cloud.client("scheduler").create_schedule(
        Name="bypassed-hourly",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": cloud.client("lambda").get_alias(FunctionName="bypassed", Name="released")[
                "AliasArn"
            ],
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
        },
    )
    planned = rollout(cloud, "plan", "--function", "bypassed", "--alias", "live")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    refusal = planned.stderr
    assert (
        "InvalidRolloutRequest: bypass: traffic reaches bypassed:live around the alias" in refusal
    )
    for kind in (
        "event source mapping",
        "EventBridge rule",
        "SNS subscription",
        "API Gateway",
        "Scheduler schedule",
    ):
        assert f"{kind} " in refusal, kind
    assert refusal.count("invokes bypassed:released") == 5
    assert "function URL" not in refusal  # on live: through the alias

    sfn, machine = cloud.client("stepfunctions"), cloud.stack_outputs["RolloutStateMachineArn"]
    before = len(sfn.list_executions(stateMachineArn=machine)["executions"])
    started = rollout(cloud, "start", "--function", "bypassed", "--alias", "live")
    assert started.returncode == 2 and "bypass: traffic reaches" in started.stderr
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == before

    warned = rollout(cloud, "plan", "--function", "bypassed", "--alias", "live", "--bypass", "warn")
    assert warned.returncode == 0, warned.stdout + warned.stderr
    table = warned.stdout
    assert "5 bypasses the alias (bypass: warn)" in table
    assert table.count("✖ bypass") == 5 and "function URL" in table
    assert "released" in table and "GET /hello" in table
    assert table.count("note: traffic:") >= 5


def test_a_new_version_starved_by_a_bypass_fails_with_a_cause_that_says_so(
    cloud: ServedCloud, tmp_path: Path
) -> None:
    deploy(cloud, "starved", tmp_path)
    lam, sqs = cloud.client("lambda"), cloud.client("sqs")
    (mapping,) = lam.list_event_source_mappings(FunctionName="starved")["EventSourceMappings"]
    queue = sqs.get_queue_url(QueueName=mapping["EventSourceArn"].split(":")[-1])["QueueUrl"]
    sending = threading.Event()

    def send() -> None:  # all on `released`, version 1: nothing through `live`
        while not sending.wait(0.3):
            sqs.send_message(QueueUrl=queue, MessageBody="order")

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    strategy = json.dumps({"steps": [{"percentage": 50, "waitSeconds": 40}]})
    try:
        started = rollout(
            cloud, "start", "--function", "starved", "--alias", "live", "--bypass", "warn",
            "--strategy", strategy, "--check-interval", "2", "--watch", "--interval", "0.5",
        )  # fmt: skip
    finally:
        sending.set()
        sender.join(timeout=10)
    assert started.returncode == 1, started.stdout + started.stderr
    assert "HealthCheckFailed" in started.stdout
    assert "evidence: version 2 received no invocation while stable version 1 served" in (
        started.stdout
    )
    assert lam.get_alias(FunctionName="starved", Name="live")["FunctionVersion"] == "1"
    # bypass "warn": the watch and the report list the source the rollout went on beside.
    bypass = "event source mapping " + mapping["EventSourceArn"]
    assert f"⚠ traffic: {bypass} (batch size 10) invokes starved:released, not live" in (
        started.stdout
    )
    report = tmp_path / "report.html"
    written = rollout(cloud, "report", started.stdout.splitlines()[0], "--output", str(report))
    assert written.returncode == 0, written.stdout + written.stderr
    sources = report.read_text().split('<section class="sources">', 1)[1].split("</section>")[0]
    assert (
        mapping["EventSourceArn"] in sources and '<span class="pill bad">bypass</span>' in sources
    )


def test_a_rollout_nobody_sends_traffic_to_shows_no_evidence_never_healthy(
    cloud: ServedCloud, tmp_path: Path
) -> None:
    deploy(cloud, "quiet", tmp_path)
    strategy = json.dumps({"steps": [{"percentage": 50, "waitSeconds": 4}]})
    started = rollout(
        cloud, "start", "--function", "quiet", "--alias", "live", "--bypass", "warn",
        "--strategy", strategy, "--check-interval", "2", "--watch", "--interval", "0.5",
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    assert "no evidence" in started.stdout and "✔ healthy" not in started.stdout
    status = rollout(cloud, "status", "--function", "quiet")
    assert "no evidence: v2 served no invocation" in status.stdout, status.stdout


def test_one_publish_starts_one_rollout_the_one_release_s_flags_describe(
    cloud: ServedCloud,
) -> None:
    """On a tagged function, `rollout release --function` publishes with the release marker:
    the EventBridge trigger skips that version, so the tags' 30-minute canary never races
    the release's own AllAtOnce."""
    lam = cloud.client("lambda")
    arn = lam.create_function(
        FunctionName="tagged",
        Runtime="python3.12",
        Role=lambda_role(cloud.client("iam"), "traffic-acceptance"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": "def handler(e, c):\n    return 1\n"})},
        Publish=True,
    )["FunctionArn"]
    lam.create_alias(FunctionName="tagged", Name="live", FunctionVersion="1")
    tags = {"rollout:alias": "live", "rollout:strategy": "Canary10Percent30Minutes"}
    lam.tag_resource(Resource=arn, Tags=tags)
    lam.update_function_code(
        FunctionName="tagged", ZipFile=code_zip({"app.py": "def handler(e, c):\n    return 2\n"})
    )
    lam.get_waiter("function_updated").wait(FunctionName="tagged")
    released = rollout(
        cloud, "release", "--function", "tagged", "--alias", "live", "--strategy", "AllAtOnce",
        "--watch", "--interval", "0.5", "--timeout", "120",
    )  # fmt: skip
    assert released.returncode == 0, released.stdout + released.stderr
    assert "Succeeded" in released.stdout and "following it" not in released.stderr
    assert lam.get_alias(FunctionName="tagged", Name="live")["FunctionVersion"] == "2"
    description = lam.get_function_configuration(FunctionName="tagged", Qualifier="2")
    assert description["Description"] == "rollout:release by rollout release --function"
    sfn, machine = cloud.client("stepfunctions"), cloud.stack_outputs["RolloutStateMachineArn"]
    plans = [
        json.loads(sfn.describe_execution(executionArn=e["executionArn"]).get("output") or "{}")
        for e in sfn.list_executions(stateMachineArn=machine)["executions"]
    ]
    skipped = [p["plan"] for p in plans if p.get("plan", {}).get("action") == "skip"]
    assert any("rollout release --function" in plan["reason"] for plan in skipped)


def test_aliases_executions_and_cloud_control_answer_as_aws_does(cloud: ServedCloud) -> None:
    """The local cloud's fidelity a rollout relies on, through `rollout local up`: a stale
    RevisionId is refused, input that isn't JSON too, and Cloud Control reads a URL."""
    lam = cloud.client("lambda")
    lam.create_function(
        FunctionName="faithful",
        Runtime="python3.12",
        Role=lambda_role(cloud.client("iam"), "traffic-acceptance"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": "def handler(e, c):\n    return 1\n"})},
        Publish=True,
    )
    lam.create_alias(FunctionName="faithful", Name="live", FunctionVersion="1")
    read = lam.get_alias(FunctionName="faithful", Name="live")["RevisionId"]
    lam.update_alias(FunctionName="faithful", Name="live", Description="moved elsewhere")
    with pytest.raises(ClientError) as stale:
        lam.update_alias(FunctionName="faithful", Name="live", RevisionId=read, Description="x")
    assert stale.value.response["Error"]["Code"] == "PreconditionFailedException"

    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    with pytest.raises(ClientError) as not_json:
        cloud.client("stepfunctions").start_execution(stateMachineArn=machine, input="{oops")
    assert not_json.value.response["Error"]["Code"] == "InvalidExecutionInput"

    url = lam.create_function_url_config(FunctionName="faithful", Qualifier="live", AuthType="NONE")
    described = cloud.client("cloudcontrol").get_resource(
        TypeName="AWS::Lambda::Url", Identifier=url["FunctionArn"]
    )
    assert url["FunctionUrl"] in described["ResourceDescription"]["Properties"]
