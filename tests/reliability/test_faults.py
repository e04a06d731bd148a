"""The fault-injection seam: AWS-shaped errors per protocol, counts, matching, crashes."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.responses import BaseResponse

from rollout.local.faults import ENV_RULES, FaultInjection, FaultRule, crash, throttle, unavailable

pytestmark = pytest.mark.cloud

ACCOUNT, REGION = "123456789012", "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:fault-topic"


def once(cloud: Any, service: str, attempts: int = 1) -> Any:
    """A client that makes each call `attempts` times at most (1: the first answer shows)."""
    return boto3.client(
        service,
        endpoint_url=cloud.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


CALLS = {
    ("lambda", "GetAlias"): lambda c: c.get_alias(FunctionName="fault-fn", Name="live"),
    ("lambda", "UpdateAlias"): lambda c: c.update_alias(FunctionName="fault-fn", Name="live"),
    ("lambda", "Invoke"): lambda c: c.invoke(FunctionName="fault-fn:live"),
    ("dynamodb", "PutItem"): lambda c: c.put_item(TableName="t", Item={"k": {"S": "a"}}),
    ("dynamodb", "DeleteItem"): lambda c: c.delete_item(TableName="t", Key={"k": {"S": "a"}}),
    ("sns", "Publish"): lambda c: c.publish(TopicArn=TOPIC, Message="m"),
    ("events", "PutEvents"): lambda c: c.put_events(
        Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]
    ),
    ("cloudwatch", "DescribeAlarms"): lambda c: c.describe_alarms(AlarmNames=["a"]),
    ("cloudwatch", "GetMetricData"): lambda c: c.get_metric_data(
        MetricDataQueries=[], StartTime=0, EndTime=60
    ),
    ("stepfunctions", "GetExecutionHistory"): lambda c: c.get_execution_history(
        executionArn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:m:e"
    ),
}
THROTTLE_CODES = {
    "lambda": ("TooManyRequestsException", 429),
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
}


@pytest.mark.parametrize(("service", "operation"), list(CALLS))
def test_throttling_and_5xx_arrive_as_the_service_sends_them(cloud, faults, service, operation):
    client = once(cloud, service)
    code, status = THROTTLE_CODES.get(service, ("ThrottlingException", 400))
    for rule, expected in (
        (throttle(service, operation), (code, status)),
        (unavailable(service, operation), None),
    ):
        faults.add(rule)
        with pytest.raises(ClientError) as raised:
            CALLS[service, operation](client)
        error = raised.value.response
        if expected:
            assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == expected
        else:
            assert error["Error"]["Code"] == rule.error_code
            assert error["ResponseMetadata"]["HTTPStatusCode"] >= 500
        assert rule.fired == 1


def test_a_rule_fires_count_times_then_the_real_answer_comes_back(cloud, faults):
    sns = once(cloud, "sns")
    topic = sns.create_topic(Name="fault-count")["TopicArn"]
    rule = faults.add(throttle("sns", "Publish", count=2))

    codes = []
    for _ in range(3):
        try:
            sns.publish(TopicArn=topic, Message="m")
            codes.append("ok")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])

    assert codes == ["ThrottlingException", "ThrottlingException", "ok"]
    assert rule.fired == 2 and rule.exhausted()


def test_the_sdk_standard_retry_rides_out_transient_faults(cloud, faults):
    sns = once(cloud, "sns", attempts=5)
    topic = sns.create_topic(Name="fault-retry")["TopicArn"]
    rule = faults.add(unavailable("sns", "Publish", count=3))

    assert sns.publish(TopicArn=topic, Message="m")["MessageId"]
    assert rule.fired == 3


def test_probability_zero_never_fires_and_probability_picks_some(cloud, faults):
    sns = once(cloud, "sns")
    topic = sns.create_topic(Name="fault-chance")["TopicArn"]
    never = faults.add(throttle("sns", "Publish", count=None, probability=0.0))
    for _ in range(5):
        sns.publish(TopicArn=topic, Message="m")
    faults.remove(never)
    sometimes = faults.add(throttle("sns", "Publish", count=None, probability=0.5))
    outcomes = []
    for _ in range(20):
        try:
            sns.publish(TopicArn=topic, Message="m")
            outcomes.append(True)
        except ClientError:
            outcomes.append(False)

    assert never.fired == 0
    assert 0 < sometimes.fired < 20 and outcomes.count(False) == sometimes.fired


def test_a_rule_for_one_resource_leaves_the_others_alone(cloud, faults):
    ddb = once(cloud, "dynamodb")
    for table in ("fault-a", "fault-b"):
        ddb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        )
    rule = faults.add(throttle("dynamodb", "PutItem", count=None, resource="fault-a"))

    ddb.put_item(TableName="fault-b", Item={"k": {"S": "x"}})
    with pytest.raises(ClientError):
        ddb.put_item(TableName="fault-a", Item={"k": {"S": "x"}})
    assert rule.fired == 1


def test_after_runs_the_call_and_then_answers_with_the_fault(cloud, faults):
    ddb = once(cloud, "dynamodb")
    ddb.create_table(
        TableName="fault-after",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    )
    faults.add(unavailable("dynamodb", "PutItem", after=True))

    with pytest.raises(ClientError):
        ddb.put_item(TableName="fault-after", Item={"k": {"S": "written"}})

    assert ddb.get_item(TableName="fault-after", Key={"k": {"S": "written"}}).get("Item")


def test_a_delay_only_rule_slows_the_call_and_lets_it_succeed(cloud, faults):
    sns = once(cloud, "sns")
    rule = faults.add(FaultRule("sns", "ListTopics", error_code=None, delay_seconds=0.2))

    assert "Topics" in sns.list_topics()
    assert rule.fired == 1 and not rule.is_fault


def test_calls_from_outside_functions_are_not_matched_by_from_lambda_rules(cloud, faults):
    sns = once(cloud, "sns")
    inside = faults.add(throttle("sns", "ListTopics", count=None, from_lambda=True))

    sns.list_topics()
    assert inside.fired == 0


def test_crash_answers_invoke_as_lambda_reports_a_timeout(cloud, faults):
    lam = once(cloud, "lambda")
    rule = faults.add(crash("fault-fn", "Sandbox.Timedout"))

    response = lam.invoke(FunctionName=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fault-fn:7")

    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Sandbox.Timedout"
    assert rule.fired == 1


def test_rules_load_from_the_environment_and_reject_unknown_keys(cloud, faults, monkeypatch):
    document = [{"service": "sns", "operation": "ListTopics", "count": 1}]
    monkeypatch.setenv(ENV_RULES, json.dumps(document))
    extra = FaultInjection()
    extra.install(cloud)  # wraps the shared seam's dispatch; undone below
    try:
        assert [(r["service"], r["operation"]) for r in extra.rules] == [("sns", "ListTopics")]
    finally:
        extra.uninstall()
    assert os.environ[ENV_RULES]
    with pytest.raises(ValueError, match="unknown fault rule keys: colour"):
        FaultRule.from_dict({"service": "sns", "colour": "red"})


def test_moto_still_has_the_dispatch_this_seam_patches():
    for name in ("call_action", "serialized", "_get_action", "boto3_service_name"):
        assert hasattr(BaseResponse, name), f"moto changed: BaseResponse.{name} is gone"
