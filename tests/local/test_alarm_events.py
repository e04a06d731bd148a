"""Alarm state changes reach EventBridge rules' Lambda and Step Functions targets as AWS's
"CloudWatch Alarm State Change" events (rollout/local/alarms.py puts them on the default
bus, rollout/local/eventbridge.py delivers them)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from rollout import samples
from rollout.local.alarms import AlarmEvaluator
from rollout.local.cloud import LocalCloud
from rollout.local.eventbridge import EventBridgeDelivery
from rollout.local.lambda_logs import LambdaLogs
from rollout.local.lambda_runtime import LambdaRuntime
from rollout.samples import lambda_role

pytestmark = pytest.mark.cloud

FIXTURE = Path(__file__).parent / "fixtures" / "runtime_app.py"
DEADLINE = 20.0  # seconds for an asynchronous invocation, cold start included
PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture(scope="module")
def cloud(
    isolated_cloud: Callable[..., AbstractContextManager[LocalCloud]],
) -> Iterator[LocalCloud]:
    seams = [LambdaLogs, LambdaRuntime, EventBridgeDelivery, lambda: AlarmEvaluator(tick=None)]
    with isolated_cloud(seams=seams) as started:
        yield started


@pytest.fixture(scope="module")
def cw(cloud: LocalCloud) -> Any:
    return cloud.client("cloudwatch")


def new_alarm(cw: Any) -> tuple[str, str]:
    """An alarm (INSUFFICIENT_DATA, never evaluated here); returns its name and ARN."""
    name = f"alarm-{uuid.uuid4().hex[:8]}"
    cw.put_metric_alarm(
        AlarmName=name,
        AlarmDescription="Errors of the checkout function",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "checkout"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    return name, cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]


def rule_to(cloud: LocalCloud, alarm: str, target: dict[str, Any]) -> None:
    events = cloud.client("events")
    pattern = {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [alarm]},
    }
    events.put_rule(Name=f"r-{alarm}", EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"r-{alarm}", Targets=[{"Id": "t", **target}])


def recorded(folder: Path) -> list[Any]:
    end = time.monotonic() + DEADLINE
    while not (found := sorted(folder.glob("*.json"))):
        if time.monotonic() > end:
            raise AssertionError(f"nothing delivered within {DEADLINE} s")
        time.sleep(0.05)
    return [json.loads(path.read_text()) for path in found]


def test_a_rule_on_alarm_state_changes_invokes_its_lambda_target(
    cloud: LocalCloud, cw: Any, tmp_path: Path, load_event: Any
) -> None:
    lam = cloud.client("lambda")
    function = f"on-alarm-{uuid.uuid4().hex[:8]}"
    lam.create_function(
        FunctionName=function,
        Runtime="python3.11",
        Role=lambda_role(cloud.client("iam"), "alarm-event-tests"),
        Handler="app.record_event",
        Code={
            "ZipFile": samples.code_zip(
                {"app.py": FIXTURE.read_text(), "marker.py": "CODE = 'alarm'\n"}
            )
        },
        Environment={"Variables": {"RECORD_DIR": str(tmp_path)}},
    )
    alarm, alarm_arn = new_alarm(cw)
    rule_to(
        cloud,
        alarm,
        {"Arn": lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]},
    )

    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="set by hand")

    [event] = recorded(tmp_path)
    sample = load_event("cloudwatch/alarm-state-change.json")
    assert set(event) == set(sample)
    assert (event["source"], event["detail-type"]) == ("aws.cloudwatch", sample["detail-type"])
    assert (event["account"], event["region"]) == (cloud.account_id, cloud.region)
    assert event["resources"] == [alarm_arn]
    assert time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    detail = event["detail"]
    assert set(detail) == set(sample["detail"])
    assert detail["alarmName"] == alarm
    assert (detail["state"]["value"], detail["state"]["reason"]) == ("ALARM", "set by hand")
    assert detail["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert set(detail["previousState"]) == set(sample["detail"]["previousState"])
    assert detail["configuration"]["description"] == "Errors of the checkout function"


def test_a_rule_on_alarm_state_changes_starts_its_state_machine(cloud: LocalCloud, cw: Any) -> None:
    sfn = cloud.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"on-alarm-{uuid.uuid4().hex[:8]}",
        definition=PASS_MACHINE,
        roleArn="arn:aws:iam::123456789012:role/local",
    )["stateMachineArn"]
    alarm, alarm_arn = new_alarm(cw)
    rule_to(cloud, alarm, {"Arn": machine, "RoleArn": "arn:aws:iam::123456789012:role/local"})

    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="set by hand")
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="fixed")

    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    inputs = [
        json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
        for e in executions
    ]
    transitions = sorted(
        (i["detail"]["previousState"]["value"], i["detail"]["state"]["value"]) for i in inputs
    )
    assert transitions == [("ALARM", "OK"), ("INSUFFICIENT_DATA", "ALARM")]
    assert all(i["resources"] == [alarm_arn] for i in inputs)


def test_moto_alone_puts_no_state_change_event(cloud: LocalCloud, cw: Any) -> None:
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    alarm, _ = new_alarm(cw)
    rule_to(cloud, alarm, {"Arn": queue["QueueArn"]})  # moto delivers to SQS at once
    seam = cloud.seam(AlarmEvaluator)
    seam.uninstall()
    try:
        cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="set by hand")
        assert cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "ALARM"
        assert "Messages" not in sqs.receive_message(QueueUrl=url)
    finally:
        seam.install(cloud)
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="the seam is back")
    assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1
