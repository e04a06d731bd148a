"""EventBridge seam: Step Functions and Lambda targets, input shaping, PublishVersion events."""

from __future__ import annotations

import inspect
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto.awslambda.models import LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.events.models import Rule

from rollout.local.cloud import LocalCloud
from rollout.local.eventbridge import (
    MISSING,
    EventBridgeDelivery,
    json_path,
    render_template,
)
from rollout.samples import code_zip

pytestmark = pytest.mark.cloud

PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
ROLE = "arn:aws:iam::123456789012:role/local"


@pytest.fixture(scope="module")
def seam_cloud(isolated_cloud: Any) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[EventBridgeDelivery]) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def events(seam_cloud: LocalCloud) -> Any:
    return seam_cloud.client("events")


@pytest.fixture(scope="module")
def sfn(seam_cloud: LocalCloud) -> Any:
    return seam_cloud.client("stepfunctions")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pass_machine(sfn: Any) -> str:
    return sfn.create_state_machine(name=unique("pass"), definition=PASS_MACHINE, roleArn=ROLE)[
        "stateMachineArn"
    ]


def rule_to(events: Any, pattern: dict[str, Any], target: dict[str, Any]) -> str:
    name = unique("rule")
    arn = events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "t", **target}])
    return arn


def execution_inputs(sfn: Any, machine_arn: str, count: int = 1) -> list[Any]:
    """Inputs of the machine's executions once `count` exist (deadline 5 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        executions = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
        if len(executions) >= count:
            return [
                json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
                for e in executions
            ]
        time.sleep(0.02)
    raise AssertionError(f"expected {count} execution(s) of {machine_arn}")


def put_event(events: Any, source: str, detail: dict[str, Any]) -> None:
    response = events.put_events(
        Entries=[{"Source": source, "DetailType": "Test Event", "Detail": json.dumps(detail)}]
    )
    assert response["FailedEntryCount"] == 0


# -- Step Functions targets ---------------------------------------------------------------


def test_states_target_receives_the_event_as_aws_delivers_it(events, sfn, seam_cloud):
    machine = pass_machine(sfn)
    source = unique("test.plain")
    rule_to(events, {"source": [source]}, {"Arn": machine, "RoleArn": ROLE})

    put_event(events, source, {"answer": 42})

    [received] = execution_inputs(sfn, machine)
    assert received["source"] == source
    assert received["detail-type"] == "Test Event"
    assert received["detail"] == {"answer": 42}
    assert received["account"] == seam_cloud.account_id
    assert received["region"] == seam_cloud.region
    assert time.strptime(received["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert "ingestion-time" not in received


def test_input_path_selects_part_of_the_event(events, sfn):
    machine = pass_machine(sfn)
    source = unique("test.path")
    rule_to(events, {"source": [source]}, {"Arn": machine, "InputPath": "$.detail.inner"})

    put_event(events, source, {"inner": {"x": [1, 2]}, "other": True})

    assert execution_inputs(sfn, machine) == [{"x": [1, 2]}]


def test_constant_input_replaces_the_event(events, sfn):
    machine = pass_machine(sfn)
    source = unique("test.constant")
    rule_to(events, {"source": [source]}, {"Arn": machine, "Input": '{"fixed": "yes"}'})

    put_event(events, source, {"ignored": 1})

    assert execution_inputs(sfn, machine) == [{"fixed": "yes"}]


def test_input_transformer_fills_variables_as_aws_does(events, sfn):
    machine = pass_machine(sfn)
    source = unique("test.transform")
    template = (
        '{"fn": <fn>, "count": <count>, "text": "fn <fn> x<count>", "missing": <nope>,'
        ' "rule": <aws.events.rule-arn>, "original": <aws.events.event.json>}'
    )
    rule_arn = rule_to(
        events,
        {"source": [source]},
        {
            "Arn": machine,
            "InputTransformer": {
                "InputPathsMap": {
                    "fn": "$.detail.name",
                    "count": "$.detail.n",
                    "nope": "$.detail.absent",
                },
                "InputTemplate": template,
            },
        },
    )

    put_event(events, source, {"name": "checkout", "n": 3})

    [received] = execution_inputs(sfn, machine)
    assert received["fn"] == "checkout"
    assert received["count"] == 3
    assert received["text"] == "fn checkout x3"
    assert received["missing"] is None
    assert received["rule"] == rule_arn
    assert received["original"]["detail"] == {"name": "checkout", "n": 3}


def test_a_failing_target_does_not_stop_the_others(events, seam_cloud):
    sqs = seam_cloud.client("sqs")
    queue_url = sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    source = unique("test.partial")
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    gone = f"arn:aws:states:{seam_cloud.region}:{seam_cloud.account_id}:stateMachine:gone"
    events.put_targets(
        Rule=name, Targets=[{"Id": "gone", "Arn": gone}, {"Id": "queue", "Arn": queue_arn}]
    )

    put_event(events, source, {"k": "v"})

    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(messages[0]["Body"])["detail"] == {"k": "v"}


def test_lambda_target_is_invoked_asynchronously(events, seam_cloud, monkeypatch):
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(LambdaBackend, "invoke", lambda _self, *args: calls.append(args) or b"")
    source = unique("test.lambda")
    arn = f"arn:aws:lambda:{seam_cloud.region}:{seam_cloud.account_id}:function:worker:live"
    rule_to(events, {"source": [source]}, {"Arn": arn, "InputPath": "$.detail"})

    put_event(events, source, {"job": 7})

    [(name, qualifier, body, headers, _)] = calls
    assert (name, qualifier, json.loads(body)) == ("worker", "live", {"job": 7})
    assert headers == {"x-amz-invocation-type": "Event"}


# -- PublishVersion → CloudTrail event ----------------------------------------------------


def python_zip(body: str) -> bytes:
    return code_zip({"app.py": body})


def create_function(seam_cloud: LocalCloud, publish: bool = False) -> str:
    iam = seam_cloud.client("iam")
    role_name = unique("role")
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    name = unique("fn")
    seam_cloud.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": python_zip("def handler(e, c):\n    return 1\n")},
        Publish=publish,
    )
    return name


def test_publish_version_puts_a_cloudtrail_event_a_rule_can_route(events, sfn, seam_cloud):
    machine = pass_machine(sfn)
    function = create_function(seam_cloud)
    rule_to(
        events,
        {
            "source": ["aws.lambda"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventName": ["PublishVersion20150331"],
                "requestParameters": {"functionName": [function]},
            },
        },
        {"Arn": machine},
    )

    published = seam_cloud.client("lambda").publish_version(
        FunctionName=function, Description="rollout:release of stack app"
    )

    [event] = execution_inputs(sfn, machine)
    detail = event["detail"]
    assert detail["eventSource"] == "lambda.amazonaws.com"
    assert detail["awsRegion"] == seam_cloud.region
    # what the caller sent, as CloudTrail records it
    assert detail["requestParameters"] == {
        "functionName": function,
        "description": "rollout:release of stack app",
    }
    assert detail["userAgent"].startswith("Boto3/")
    response = detail["responseElements"]
    assert response["functionName"] == function
    assert response["version"] == published["Version"] == "1"
    assert response["functionArn"] == published["FunctionArn"]
    assert response["functionArn"].endswith(f":{function}:1")
    assert response["codeSha256"] == published["CodeSha256"]
    assert detail["eventID"] and detail["eventTime"]


def test_every_successful_publish_is_recorded(events, sfn, seam_cloud):
    machine = pass_machine(sfn)
    function = create_function(seam_cloud)
    rule_to(
        events,
        {"source": ["aws.lambda"], "detail": {"requestParameters": {"functionName": [function]}}},
        {"Arn": machine, "InputPath": "$.detail.responseElements.version"},
    )
    client = seam_cloud.client("lambda")

    client.publish_version(FunctionName=function)
    client.publish_version(FunctionName=function)  # unchanged: returns version 1 again

    assert execution_inputs(sfn, machine, count=2) == ["1", "1"]


def test_publishing_through_create_or_update_is_not_a_publish_version_call(events, sfn, seam_cloud):
    """CloudTrail records those as CreateFunction / UpdateFunctionCode: no rollout starts."""
    machine = pass_machine(sfn)
    rule_to(events, {"detail": {"eventName": ["PublishVersion20150331"]}}, {"Arn": machine})
    function = create_function(seam_cloud, publish=True)
    seam_cloud.client("lambda").update_function_code(
        FunctionName=function,
        ZipFile=python_zip("def handler(e, c):\n    return 2\n"),
        Publish=True,
    )
    assert (
        seam_cloud.client("lambda").list_versions_by_function(FunctionName=function)["Versions"][
            -1
        ]["Version"]
        == "2"
    )
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []


# -- pure helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", {"a": {"b-c": [10, 20]}}),
        ("$.a.b-c[1]", 20),
        ("$['a']['b-c'][0]", 10),
        ("$.a.b-c[*]", [10, 20]),
        ("$.a.zzz", MISSING),
        ("$.a.b-c[5]", MISSING),
    ],
)
def test_json_path_subset(path, expected):
    assert json_path({"a": {"b-c": [10, 20]}}, path) == expected


def test_template_quotes_strings_outside_json_strings_only():
    variables = {"s": 'say "hi"', "n": 1.5, "o": {"k": [True]}}
    rendered = render_template('{"a": <s>, "b": "<s>!", "c": <n>, "d": <o>, "e": "<o>"}', variables)
    assert json.loads(rendered) == {
        "a": 'say "hi"',
        "b": 'say "hi"!',
        "c": 1.5,
        "d": {"k": [True]},
        "e": '{"k": [true]}',
    }


def test_template_leaves_unknown_placeholders_alone():
    assert render_template('"<a> and <unknown>"', {"a": "x"}) == '"x and <unknown>"'


# -- contract with moto ---------------------------------------------------------------------


def moto_original(owner: Any, name: str) -> Any:
    """The moto function under the seam's wrapper (functools.wraps sets __wrapped__)."""
    current = getattr(owner, name)
    return getattr(current, "__wrapped__", current)


def test_moto_internals_the_seam_replaces_keep_their_signatures():
    assert list(inspect.signature(moto_original(Rule, "send_to_targets")).parameters) == [
        "self",
        "original_event",
        "transform_input",
    ]
    assert list(inspect.signature(moto_original(LambdaResponse, "publish_version")).parameters) == [
        "self"
    ]
    assert list(inspect.signature(LambdaBackend.invoke).parameters) == [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ]


def test_moto_still_lacks_states_targets():
    """When moto delivers to Step Functions itself, this seam can shrink."""
    source = inspect.getsource(moto_original(Rule, "send_to_targets"))
    assert 'arn.service == "states"' not in source
    assert "raise NotImplementedError" in source


def test_uninstall_restores_moto(seam_cloud):
    before = (Rule.send_to_targets, LambdaResponse.publish_version)
    seam = EventBridgeDelivery()
    seam.install(seam_cloud)
    assert (Rule.send_to_targets, LambdaResponse.publish_version) != before
    seam.uninstall()
    assert (Rule.send_to_targets, LambdaResponse.publish_version) == before


def test_a_prefix_rule_starts_only_publishes_in_scope_by_name_or_arn(events, sfn, seam_cloud):
    """The shape template.yaml gives PublishVersionRule for a plain-prefix
    TargetFunctionNamePattern: matched by moto's own EventPattern, as AWS documents
    prefix and wildcard matching (case-sensitive; `*` any run of characters)."""
    machine = pass_machine(sfn)
    prefix = unique("app") + "-"
    rule_to(
        events,
        {
            "source": ["aws.lambda"],
            "detail": {
                "eventName": ["PublishVersion20150331"],
                "requestParameters": {
                    "functionName": [{"prefix": prefix}, {"wildcard": f"*:function:{prefix}*"}]
                },
            },
        },
        {"Arn": machine, "InputPath": "$.detail.requestParameters.functionName"},
    )
    client = seam_cloud.client("lambda")
    role = seam_cloud.client("iam").create_role(
        RoleName=unique("role"), AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    arns = {}
    for name in (prefix + "orders", "x" + prefix + "orders", prefix.upper() + "orders"):
        arns[name] = client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": python_zip("def handler(e, c):\n    return 1\n")},
        )["FunctionArn"]

    client.publish_version(FunctionName="x" + prefix + "orders")  # out of scope
    client.publish_version(FunctionName=prefix.upper() + "orders")  # case differs
    client.publish_version(FunctionName=arns["x" + prefix + "orders"])  # out of scope, by ARN
    client.publish_version(FunctionName=prefix + "orders")
    client.publish_version(FunctionName=arns[prefix + "orders"])

    started = execution_inputs(sfn, machine, count=2)
    assert sorted(started) == sorted([prefix + "orders", arns[prefix + "orders"]])
