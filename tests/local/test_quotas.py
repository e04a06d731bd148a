"""The quotas seam's behaviour (rollout/local/quotas.py): token buckets per account, Region
and quota; requests identified as moto identifies them; counters in process and over HTTP;
moto's Step Functions interpreter is counted too."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from werkzeug.test import EnvironBuilder

from rollout.local.cloud import ACCOUNT_ID, LOCAL_ENV, LocalCloud
from rollout.local.quotas import Call, Quotas, TokenBucket, identify
from rollout.local.throttling import Protocol

OTHER_ACCOUNT = "222222222222"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def call(operation: str, service: str = "logs", region: str = "us-east-1", **kw: Any) -> Call:
    return Call(kw.get("account", ACCOUNT_ID), region, service, operation, Protocol.JSON)


def admitted(quotas: Quotas, request: Call, attempts: int) -> int:
    return sum(quotas.admit(request) for _ in range(attempts))


# -- buckets -----------------------------------------------------------------------------


def test_a_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(per_second=2, burst=5, now=0.0)
    assert [bucket.take(1, 0.0) for _ in range(6)] == [True] * 5 + [False]
    assert bucket.take(1, 0.4) is False  # 0.8 of a token
    assert bucket.take(1, 0.5) is True
    assert [bucket.take(1, 100.0) for _ in range(6)] == [True] * 5 + [False]  # never above 5


def test_each_region_gets_its_own_documented_value() -> None:
    for region, rate in (("us-east-1", 25), ("eu-west-1", 10), ("eu-central-1", 5)):
        quotas = Quotas(clock=Clock())
        assert admitted(quotas, call("FilterLogEvents", region=region), 100) == rate, region


def test_step_functions_buckets_are_the_published_size_and_refill() -> None:
    clock = Clock()
    quotas = Quotas(clock=clock)
    start = call("StartExecution", "stepfunctions")
    assert admitted(quotas, start, 2000) == 1300
    clock.now += 1
    assert admitted(quotas, start, 2000) == 300
    elsewhere = call("StartExecution", "stepfunctions", region="ap-south-1")
    assert admitted(quotas, elsewhere, 2000) == 800


def test_lambda_control_plane_apis_share_one_bucket_but_get_function_has_its_own() -> None:
    quotas = Quotas(clock=Clock())
    assert admitted(quotas, call("GetAlias", "lambda"), 10) == 10
    assert admitted(quotas, call("UpdateAlias", "lambda"), 10) == 5  # 15 across all
    assert admitted(quotas, call("GetFunction", "lambda"), 200) == 100
    assert admitted(quotas, call("Invoke", "lambda"), 200) == 200  # concurrency only


def test_accounts_and_regions_have_separate_buckets() -> None:
    quotas = Quotas(clock=Clock())
    assert admitted(quotas, call("DescribeAlarms", "cloudwatch"), 20) == 9
    assert admitted(quotas, call("DescribeAlarms", "cloudwatch", account=OTHER_ACCOUNT), 20) == 9
    assert admitted(quotas, call("DescribeAlarms", "cloudwatch", region="eu-west-1"), 20) == 9


def test_quotas_off_counts_every_call_and_throttles_none() -> None:
    quotas = Quotas(enforced=False, clock=Clock())
    assert admitted(quotas, call("FilterLogEvents"), 100) == 100
    (row,) = quotas.stats()["buckets"]
    assert (row["allowed"], row["throttled"], row["rate"]) == (100, 0, 25)


def test_stats_count_per_operation_and_per_bucket() -> None:
    quotas = Quotas(clock=Clock())
    admitted(quotas, call("GetAlias", "lambda"), 10)
    admitted(quotas, call("UpdateAlias", "lambda"), 10)
    admitted(quotas, call("DeleteTable", "dynamodb"), 3)
    stats = quotas.stats()
    assert stats["enforced"] is True
    by_operation = {row["operation"]: row for row in stats["operations"]}
    assert (by_operation["UpdateAlias"]["allowed"], by_operation["UpdateAlias"]["throttled"]) == (
        5,
        5,
    )
    assert by_operation["DeleteTable"]["bucket"] is None  # counted, never throttled
    (bucket,) = stats["buckets"]
    assert (bucket["bucket"], bucket["allowed"], bucket["throttled"]) == ("control plane", 15, 5)


# -- identifying requests ----------------------------------------------------------------


def signed_environ(service: str, body: dict[str, str], region: str = "us-east-1") -> dict:
    request = AWSRequest(
        "POST",
        "http://127.0.0.1:4566/",
        data=urlencode(body),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials("testing", "testing"), service, region).add_auth(request)
    builder = EnvironBuilder(
        path="/", method="POST", headers=dict(request.headers.items()), data=request.body
    )
    return builder.get_environ()


def test_a_query_request_is_identified_and_its_body_left_for_moto() -> None:
    form = {"Action": "PublishBatch", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:t"}
    for n in (1, 2, 3):
        form[f"PublishBatchRequestEntries.member.{n}.Id"] = str(n)
        form[f"PublishBatchRequestEntries.member.{n}.Message"] = "hello"
    environ = signed_environ("sns", form, region="eu-west-1")
    found = identify(environ)
    assert found == Call(ACCOUNT_ID, "eu-west-1", "sns", "PublishBatch", Protocol.QUERY, cost=3)
    assert environ["wsgi.input"].read().decode() == urlencode(form)


def test_signing_names_are_mapped_to_services() -> None:
    environ = signed_environ("monitoring", {"Action": "DescribeAlarms"})
    expected = Call(ACCOUNT_ID, "us-east-1", "cloudwatch", "DescribeAlarms", Protocol.QUERY)
    assert identify(environ) == expected


def test_unsigned_requests_are_not_identified() -> None:
    environ = EnvironBuilder(path="/bucket/key", method="GET").get_environ()
    environ["wsgi.input"] = io.BytesIO(b"")
    assert identify(environ) is None


# -- through the cloud -------------------------------------------------------------------


@pytest.fixture(scope="module")
def stopped(isolated_cloud: Any) -> Any:
    """A cloud with the core seams, its quota clock stopped: nothing refills."""
    with isolated_cloud(seams=[]) as cloud:
        cloud.quotas.clock = Clock()
        yield cloud


def no_retries(cloud: LocalCloud, service: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        service,
        endpoint_url=cloud.endpoint,
        region_name=region,
        aws_access_key_id=LOCAL_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def until_throttled(method: Any, limit: int = 200, **kwargs: Any) -> int:
    """How many calls went through before the first throttle."""
    for done in range(limit):
        try:
            method(**kwargs)
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 429) and (
                error.response["Error"]["Code"] in ("ThrottlingException", "Throttling")
            ):
                return done
    raise AssertionError("never throttled")


def test_the_account_is_the_one_moto_serves_the_request_from(
    stopped: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key STS issued, the x-moto-account-id header, and MOTO_ACCOUNT_ID each move the
    request to another account's buckets, as they move it to that account's data."""
    logs = no_retries(stopped, "logs")
    logs.create_log_group(logGroupName="mine")
    assert until_throttled(logs.describe_log_groups) == 10
    credentials = no_retries(stopped, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer", RoleSessionName="session"
    )["Credentials"]
    theirs = boto3.client(
        "logs",
        endpoint_url=stopped.endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert theirs.describe_log_groups()["logGroups"] == []  # their data, their bucket
    header = no_retries(stopped, "logs")
    header.meta.events.register(
        "before-sign.logs.*",
        lambda request, **_: request.headers.add_header("x-moto-account-id", "333333333333"),
    )
    header.describe_log_groups()
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "444444444444")
    logs.describe_log_groups()
    counted = {
        row["account"]: row["allowed"]
        for row in stopped.quotas.stats()["operations"]
        if row["operation"] == "DescribeLogGroups"
    }
    assert counted == {ACCOUNT_ID: 10, OTHER_ACCOUNT: 1, "333333333333": 1, "444444444444": 1}


def test_the_region_is_the_one_the_request_is_signed_for(stopped: LocalCloud) -> None:
    logs = no_retries(stopped, "logs", region="eu-west-1")
    assert until_throttled(logs.get_log_events, logGroupName="g", logStreamName="s") == 10
    rows = [row for row in stopped.quotas.stats()["buckets"] if row["bucket"] == "GetLogEvents"]
    assert [(row["region"], row["rate"], row["throttled"]) for row in rows] == [
        ("eu-west-1", 10, 1)
    ]


def test_the_counters_are_served_over_http(stopped: LocalCloud) -> None:
    no_retries(stopped, "sns").list_topics()
    with urllib.request.urlopen(stopped.quotas_url, timeout=10) as response:
        served = json.load(response)
    assert served == stopped.quotas.stats()
    assert any(row["operation"] == "ListTopics" for row in served["operations"])


def test_the_step_functions_interpreter_is_counted(stopped: LocalCloud) -> None:
    """moto's interpreter invokes Lambda over HTTP (key "ak"): the middleware sees it, in the
    default account; the test itself never calls Invoke."""
    sfn = stopped.client("stepfunctions")
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "no-such-function"},
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name="counted",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/machine",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="one")["executionArn"]
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.5)
    invokes = [
        row
        for row in stopped.quotas.stats()["operations"]
        if (row["service"], row["operation"]) == ("lambda", "Invoke")
    ]
    assert [(row["account"], row["allowed"]) for row in invokes] == [(ACCOUNT_ID, 1)]


def test_local_env_is_what_the_seam_sees_as_the_default_account() -> None:
    """The cloud's test credentials are no key IAM issued: moto's default account."""
    environ = signed_environ("sns", {"Action": "ListTopics"})
    assert LOCAL_ENV["AWS_ACCESS_KEY_ID"] == "testing"
    assert identify(environ).account == ACCOUNT_ID
