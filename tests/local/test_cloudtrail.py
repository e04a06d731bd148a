"""CloudTrail seam: Step Functions calls recorded with who made them; LookupEvents as AWS has it."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.cloudtrail.responses import CloudTrailResponse
from moto.stepfunctions.responses import StepFunctionResponse
from moto.sts.models import STSBackend

from rollout.local.cloud import LocalCloud
from rollout.local.cloudtrail import HIDDEN, CloudTrailEvents
from rollout.local.stepfunctions import StepFunctionsEvents

pytestmark = pytest.mark.cloud

ROLE = "arn:aws:iam::123456789012:role/local"
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
TRUST_EVERYONE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@pytest.fixture(scope="module")
def seam_cloud(isolated_cloud: Any) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[StepFunctionsEvents, CloudTrailEvents]) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def machine(seam_cloud: LocalCloud) -> str:
    sfn = seam_cloud.client("stepfunctions")
    created = sfn.create_state_machine(name="waits", definition=json.dumps(WAIT), roleArn=ROLE)
    return str(created["stateMachineArn"])


def _as(seam_cloud: LocalCloud, service: str, credentials: dict[str, str]) -> Any:
    return boto3.client(
        service,
        endpoint_url=seam_cloud.endpoint,
        region_name=seam_cloud.region,
        **credentials,
    )


@pytest.fixture(scope="module")
def alice(seam_cloud: LocalCloud) -> dict[str, str]:
    """Credentials of an IAM user, alice."""
    iam = seam_cloud.client("iam")
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


@pytest.fixture(scope="module")
def deployer(seam_cloud: LocalCloud) -> dict[str, str]:
    """Credentials of a role session, deployer/pipeline-42."""
    iam = seam_cloud.client("iam")
    role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=TRUST_EVERYONE)["Role"]
    session = seam_cloud.client("sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName="pipeline-42"
    )["Credentials"]
    return {
        "aws_access_key_id": session["AccessKeyId"],
        "aws_secret_access_key": session["SecretAccessKey"],
        "aws_session_token": session["SessionToken"],
    }


def cloudtrail(seam_cloud: LocalCloud, **where: Any) -> Any:
    """A CloudTrail client that waits out LookupEvents' quota (2 a second), as a script would."""
    return seam_cloud.client("cloudtrail", **where)


def _lookup(seam_cloud: LocalCloud, **request: Any) -> list[dict[str, Any]]:
    return list(cloudtrail(seam_cloud).lookup_events(**request)["Events"])


def _started_by(seam_cloud: LocalCloud, execution_arn: str) -> dict[str, Any]:
    """The StartExecution record whose response names this execution."""
    for event in _lookup(
        seam_cloud,
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "StartExecution"}],
    ):
        record = json.loads(event["CloudTrailEvent"])
        if (record.get("responseElements") or {}).get("executionArn") == execution_arn:
            return {"event": event, "record": record}
    raise AssertionError(f"no StartExecution event for {execution_arn}")


def test_who_started_an_execution_is_in_cloudtrail(seam_cloud, machine, alice):
    execution = _as(seam_cloud, "stepfunctions", alice).start_execution(
        stateMachineArn=machine, input=json.dumps({"secret": "s3cr3t"})
    )["executionArn"]
    found = _started_by(seam_cloud, execution)
    event, record = found["event"], found["record"]
    assert event["Username"] == "alice"
    assert event["AccessKeyId"] == alice["aws_access_key_id"]
    assert (event["EventSource"], event["ReadOnly"]) == ("states.amazonaws.com", "false")
    assert event["Resources"] == [
        {"ResourceType": "AWS::StepFunctions::StateMachine", "ResourceName": machine}
    ]
    assert record["userIdentity"]["type"] == "IAMUser"
    assert record["userIdentity"]["arn"] == "arn:aws:iam::123456789012:user/alice"
    assert record["userIdentity"]["userName"] == "alice"
    assert record["eventID"] == event["EventId"]
    assert record["requestParameters"] == {"stateMachineArn": machine, "input": HIDDEN}
    assert (record["eventType"], record["eventCategory"]) == ("AwsApiCall", "Management")
    assert record["recipientAccountId"] == seam_cloud.account_id


def test_a_role_session_is_named_by_its_session(seam_cloud, machine, deployer):
    execution = _as(seam_cloud, "stepfunctions", deployer).start_execution(stateMachineArn=machine)[
        "executionArn"
    ]
    found = _started_by(seam_cloud, execution)
    assert found["event"]["Username"] == "pipeline-42"
    identity = found["record"]["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"].endswith(":assumed-role/deployer/pipeline-42")
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == (
        "arn:aws:iam::123456789012:role/deployer"
    )


def test_stop_execution_and_failed_calls_are_recorded(seam_cloud, machine):
    sfn = seam_cloud.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    sfn.stop_execution(executionArn=execution, cause="changed my mind")
    stops = _lookup(
        seam_cloud, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": execution}]
    )
    assert [e["EventName"] for e in stops] == ["StopExecution"]
    assert json.loads(stops[0]["CloudTrailEvent"])["requestParameters"]["cause"] == HIDDEN

    missing = machine + "-gone"
    with pytest.raises(ClientError):
        sfn.start_execution(stateMachineArn=missing)
    failed = [
        json.loads(e["CloudTrailEvent"])
        for e in _lookup(seam_cloud, MaxResults=50)
        if json.loads(e["CloudTrailEvent"])["requestParameters"].get("stateMachineArn") == missing
    ]
    assert [record["errorCode"] for record in failed] == ["StateMachineDoesNotExist"]


def test_events_come_newest_first_in_pages_of_at_most_50(seam_cloud, machine):
    sfn = seam_cloud.client("stepfunctions")
    for _ in range(3):
        sfn.start_execution(stateMachineArn=machine)
    everything: list[dict[str, Any]] = []
    request: dict[str, Any] = {"MaxResults": 2}
    while True:
        page = cloudtrail(seam_cloud).lookup_events(**request)
        assert len(page["Events"]) <= 2
        everything += page["Events"]
        if "NextToken" not in page:
            break
        request["NextToken"] = page["NextToken"]
    times = [e["EventTime"] for e in everything]
    assert times == sorted(times, reverse=True)
    assert len({e["EventId"] for e in everything}) == len(everything) >= 3
    assert len(_lookup(seam_cloud)) == min(len(everything), 50)


def test_every_lookup_attribute_filters(seam_cloud, machine, alice):
    execution = _as(seam_cloud, "stepfunctions", alice).start_execution(stateMachineArn=machine)[
        "executionArn"
    ]
    event = _started_by(seam_cloud, execution)["event"]
    for key, value in [
        ("EventId", event["EventId"]),
        ("AccessKeyId", alice["aws_access_key_id"]),
        ("Username", "alice"),
        ("EventSource", "states.amazonaws.com"),
        ("ReadOnly", "false"),
        ("ResourceType", "AWS::StepFunctions::StateMachine"),
        ("ResourceName", machine),
        ("EventName", "StartExecution"),
    ]:
        found = _lookup(
            seam_cloud, LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}]
        )
        assert event["EventId"] in [e["EventId"] for e in found], key
        assert all(e[key] == value for e in found if key in e), key
    assert (
        _lookup(
            seam_cloud, LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "nobody"}]
        )
        == []
    )
    assert (
        _lookup(
            seam_cloud, LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "true"}]
        )
        == []
    )


def test_a_time_range_bounds_the_events(seam_cloud, machine):
    before = datetime.now(UTC) - timedelta(seconds=1)
    execution = seam_cloud.client("stepfunctions").start_execution(stateMachineArn=machine)[
        "executionArn"
    ]
    after = datetime.now(UTC) + timedelta(seconds=1)
    event = _started_by(seam_cloud, execution)["event"]
    inside = _lookup(seam_cloud, StartTime=before, EndTime=after)
    assert event["EventId"] in [e["EventId"] for e in inside]
    assert event["EventId"] not in [e["EventId"] for e in _lookup(seam_cloud, StartTime=after)]
    assert event["EventId"] not in [e["EventId"] for e in _lookup(seam_cloud, EndTime=before)]


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
        ({"StartTime": 20, "EndTime": 10}, "InvalidTimeRangeException"),
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "StartExecution"},
                    {"AttributeKey": "Username", "AttributeValue": "alice"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "Colour", "AttributeValue": "blue"}]},
            "InvalidLookupAttributesException",
        ),
    ],
)
def test_a_lookup_cloudtrail_refuses_is_refused_with_its_error(seam_cloud, request_, code):
    with pytest.raises(ClientError) as refused:
        cloudtrail(seam_cloud).lookup_events(**request_)
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_readmes_aws_cli_form_answers(seam_cloud, machine):
    """README, console table, "who started it": the AWS CLI's own command works."""
    execution = seam_cloud.client("stepfunctions").start_execution(stateMachineArn=machine)[
        "executionArn"
    ]
    aws = Path(sys.executable).with_name("aws")
    command = [
        str(aws),
        "cloudtrail",
        "lookup-events",
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=StartExecution",
        "--endpoint-url",
        seam_cloud.endpoint,
        "--output",
        "json",
    ]
    env = {**os.environ, **seam_cloud.client_env()}
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    records = [json.loads(e["CloudTrailEvent"]) for e in json.loads(out.stdout)["Events"]]
    assert execution in [(r["responseElements"] or {}).get("executionArn") for r in records]


def test_events_are_kept_per_account_and_region(seam_cloud, machine):
    seam_cloud.client("stepfunctions").start_execution(stateMachineArn=machine)
    assert _lookup(seam_cloud)
    other_region = cloudtrail(seam_cloud, region="eu-west-1")
    assert other_region.lookup_events()["Events"] == []


# -- contract with moto -------------------------------------------------------------------------


def moto_original(owner: Any, name: str) -> Any:
    """moto's own attribute, even while a running cloud's seam has replaced it."""
    running = LocalCloud._running
    for seam in running._seams if running is not None else []:
        for patched_owner, patched, original in getattr(
            getattr(seam, "_patches", None), "_saved", []
        ):
            if (patched_owner, patched) == (owner, name) and callable(original):
                return original
    return getattr(owner, name)


def test_moto_internals_the_seam_relies_on():
    for name in ("start_execution", "stop_execution"):
        method = moto_original(StepFunctionResponse, name)
        assert list(inspect.signature(method).parameters) == ["self"], name
        assert "return ActionResult(response)" in inspect.getsource(method), name
    identity = inspect.signature(STSBackend.get_caller_identity)
    assert list(identity.parameters) == ["self", "access_key_id", "region"]
    assert callable(StepFunctionResponse.get_access_key)


def test_moto_alone_has_no_lookup_events(seam_cloud):
    """When moto gains LookupEvents, read it against CloudTrail's reference: install() will
    refuse to add the seam's (Patches.add)."""
    seam = seam_cloud.seam(CloudTrailEvents)
    seam.uninstall()
    seam_cloud.quotas.enforced = False  # moto's answer, not a throttle of the calls before
    try:
        assert not hasattr(CloudTrailResponse, "lookup_events")
        with pytest.raises(ClientError) as failed:
            seam_cloud.client("cloudtrail", retries={"max_attempts": 1}).lookup_events()
    finally:
        seam_cloud.quotas.enforced = True
        seam.install(seam_cloud)
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_uninstall_restores_moto(seam_cloud):
    seam = seam_cloud.seam(CloudTrailEvents)
    seam.uninstall()
    try:
        assert not hasattr(CloudTrailResponse, "lookup_events")
        for name in ("start_execution", "stop_execution"):
            assert not hasattr(getattr(StepFunctionResponse, name), "__wrapped__"), name
    finally:
        seam.install(seam_cloud)
    assert hasattr(StepFunctionResponse.start_execution, "__wrapped__")
