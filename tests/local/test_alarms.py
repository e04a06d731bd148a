"""Alarm seam: metric alarms evaluate themselves from stored metrics on CloudWatch's
schedule (every 10 s for periods under 60 s, every 60 s otherwise), never on metric
arrival.

Time is a fake clock the tests move, and the evaluator runs no background thread
(except in the test about it), so every state change happens where a test calls
`run_due()` (the schedule) or `evaluate()` (every alarm at once, for tests of the
verdict).
"""

from __future__ import annotations

import datetime
import inspect
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from moto.cloudwatch.models import Alarm, CloudWatchBackend
from moto.cloudwatch.responses import CloudWatchResponse

from rollout.local.alarms import AlarmEvaluator
from rollout.local.cloud import LocalCloud
from rollout.local.lambda_metrics import InvocationRecord, emit

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

NAMESPACE = "Test/Alarms"
DIMENSIONS = [{"Name": "FunctionName", "Value": "checkout"}]


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


CLOCK = FakeClock()


class ClockedEvaluator(AlarmEvaluator):
    current: ClassVar[ClockedEvaluator | None] = None

    def __init__(self) -> None:
        super().__init__(clock=CLOCK, tick=None)
        ClockedEvaluator.current = self


@pytest.fixture(scope="module")
def seam_cloud(isolated_cloud: Any) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[ClockedEvaluator]) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def evaluator(seam_cloud: LocalCloud) -> AlarmEvaluator:
    assert ClockedEvaluator.current is not None
    return ClockedEvaluator.current


@pytest.fixture(scope="module")
def cw(seam_cloud: LocalCloud) -> Any:
    return seam_cloud.client("cloudwatch")


def new_alarm(cw: Any, **settings: Any) -> tuple[str, str]:
    """A fresh alarm on a fresh metric; returns (alarm name, metric name)."""
    name, metric = f"alarm-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    cw.put_metric_alarm(
        **{
            "AlarmName": name,
            "Namespace": NAMESPACE,
            "MetricName": metric,
            "Dimensions": DIMENSIONS,
            "Statistic": "Sum",
            "Period": 10,
            "EvaluationPeriods": 1,
            "Threshold": 0.0,
            "ComparisonOperator": "GreaterThanThreshold",
            **settings,
        }
    )
    return name, metric


def put(
    cw: Any,
    metric: str,
    *values: float,
    seconds_ago: float = 1,
    dimensions: list[dict[str, str]] = DIMENSIONS,
    namespace: str = NAMESPACE,
) -> None:
    stamp = CLOCK.now - datetime.timedelta(seconds=seconds_ago)
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": metric, "Value": value, "Dimensions": dimensions, "Timestamp": stamp}
            for value in values
        ],
    )


def alarm_of(cw: Any, name: str) -> dict[str, Any]:
    return cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def state(cw: Any, name: str) -> str:
    return alarm_of(cw, name)["StateValue"]


# -- states -------------------------------------------------------------------------------


def test_new_alarm_starts_in_insufficient_data(cw, evaluator):
    name, _ = new_alarm(cw)
    evaluator.evaluate()
    assert state(cw, name) == "INSUFFICIENT_DATA"
    assert alarm_of(cw, name)["StateReason"] == "Unchecked: Initial alarm creation"


def test_breaching_data_raises_the_alarm_and_good_data_clears_it(cw, evaluator):
    name, metric = new_alarm(cw)
    put(cw, metric, 3, 2)
    evaluator.evaluate()
    alarm = alarm_of(cw, name)
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 out of the last 1")
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [5.0]

    CLOCK.advance(10)  # the breaching window slides out; nothing new arrives
    evaluator.evaluate()
    assert state(cw, name) == "INSUFFICIENT_DATA"

    put(cw, metric, 0)
    evaluator.evaluate()
    assert state(cw, name) == "OK"


@pytest.mark.parametrize(
    ("statistic", "value"),
    [
        ("Sum", 9.0),
        ("Average", 3.0),
        ("Minimum", 1.0),
        ("Maximum", 6.0),
        ("SampleCount", 3.0),
    ],
)
def test_statistics_are_computed_over_the_period(cw, evaluator, statistic, value):
    at, above = new_alarm(
        cw, Statistic=statistic, Threshold=value, ComparisonOperator="GreaterThanOrEqualToThreshold"
    )
    over, _ = new_alarm(
        cw,
        Statistic=statistic,
        Threshold=value,
        MetricName=above,
        ComparisonOperator="GreaterThanThreshold",
    )
    put(cw, above, 1, 2, 6)
    evaluator.evaluate()
    assert (state(cw, at), state(cw, over)) == ("ALARM", "OK")


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("GreaterThanThreshold", "OK"),
        ("GreaterThanOrEqualToThreshold", "ALARM"),
        ("LessThanThreshold", "OK"),
        ("LessThanOrEqualToThreshold", "ALARM"),
    ],
)
def test_comparison_operators(cw, evaluator, operator, expected):
    name, metric = new_alarm(cw, Threshold=4.0, ComparisonOperator=operator)
    put(cw, metric, 4)
    evaluator.evaluate()
    assert state(cw, name) == expected


# -- missing data and M of N ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("treatment", "expected"),
    [
        ("missing", "INSUFFICIENT_DATA"),
        ("notBreaching", "OK"),
        ("breaching", "ALARM"),
    ],
)
def test_treat_missing_data_when_there_is_none(cw, evaluator, treatment, expected):
    name, _ = new_alarm(cw, TreatMissingData=treatment)
    evaluator.evaluate()
    assert state(cw, name) == expected


def test_ignore_keeps_the_current_state_when_data_stops(cw, evaluator):
    name, metric = new_alarm(cw, TreatMissingData="ignore")
    put(cw, metric, 1)
    evaluator.evaluate()
    assert state(cw, name) == "ALARM"

    CLOCK.advance(30)
    evaluator.evaluate()
    assert state(cw, name) == "ALARM"


def test_m_of_n_needs_m_breaching_periods(cw, evaluator):
    name, metric = new_alarm(cw, EvaluationPeriods=3, DatapointsToAlarm=2)
    put(cw, metric, 0, seconds_ago=25)
    put(cw, metric, 0, seconds_ago=15)
    put(cw, metric, 7, seconds_ago=5)
    evaluator.evaluate()
    assert state(cw, name) == "OK"

    put(cw, metric, 7, seconds_ago=15)  # now periods 2 and 3 of 3 breach
    evaluator.evaluate()
    assert state(cw, name) == "ALARM"


def test_missing_periods_postpone_a_transition_to_alarm(cw, evaluator):
    name, metric = new_alarm(cw, EvaluationPeriods=3, DatapointsToAlarm=2)
    put(cw, metric, 7, seconds_ago=5)  # one breach; two missing periods might breach too
    evaluator.evaluate()
    assert state(cw, name) == "INSUFFICIENT_DATA"


def test_breaching_missing_periods_count_towards_m(cw, evaluator):
    name, metric = new_alarm(
        cw, EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="breaching"
    )
    put(cw, metric, 0, seconds_ago=5)
    put(cw, metric, 0, seconds_ago=15)
    evaluator.evaluate()
    assert state(cw, name) == "OK"  # only 1 of 3 periods (the missing one) breaches


# -- which data counts ------------------------------------------------------------------------


def test_dimensions_match_exactly_and_namespace_is_respected(cw, evaluator):
    name, metric = new_alarm(cw)
    put(cw, metric, 9, dimensions=[*DIMENSIONS, {"Name": "Resource", "Value": "checkout:2"}])
    put(cw, metric, 9, dimensions=[{"Name": "FunctionName", "Value": "other"}])
    put(cw, metric, 9, namespace="Other/Namespace")
    put(cw, metric, 9, dimensions=[])
    evaluator.evaluate()
    assert state(cw, name) == "INSUFFICIENT_DATA"

    put(cw, metric, 9)
    evaluator.evaluate()
    assert state(cw, name) == "ALARM"


def test_data_older_than_the_evaluation_range_is_ignored(cw, evaluator):
    name, metric = new_alarm(cw, EvaluationPeriods=2)
    put(cw, metric, 9, seconds_ago=21)
    evaluator.evaluate()
    assert state(cw, name) == "INSUFFICIENT_DATA"


# -- the schedule: when alarms are evaluated ----------------------------------------------------


def set_state(cw: Any, name: str, value: str = "ALARM") -> None:
    cw.set_alarm_state(AlarmName=name, StateValue=value, StateReason="set by hand")


def test_a_new_alarm_is_insufficient_data_until_its_first_evaluation(cw, evaluator):
    name, metric = new_alarm(cw, TreatMissingData="notBreaching")
    put(cw, metric, 5)
    assert state(cw, name) == "INSUFFICIENT_DATA"  # not evaluated on creation

    CLOCK.advance(9)
    put(cw, metric, 5)
    evaluator.run_due()
    alarm = alarm_of(cw, name)
    assert (alarm["StateValue"], alarm["StateReason"]) == (
        "INSUFFICIENT_DATA",
        "Unchecked: Initial alarm creation",
    )

    CLOCK.advance(1)  # 10 s after creation: the first evaluation
    evaluator.run_due()
    assert state(cw, name) == "ALARM"


def test_set_alarm_state_holds_until_the_next_evaluation_under_steady_traffic(
    cw, evaluator, seam_cloud
):
    """The reproduction of issue 10: Lambda metrics arriving all the time must not undo
    SetAlarmState on an alarm whose own metric never gets data."""
    name, _ = new_alarm(cw, TreatMissingData="notBreaching")
    CLOCK.advance(10)
    evaluator.run_due()
    assert state(cw, name) == "OK"

    set_state(cw, name)
    for _ in range(9):
        CLOCK.advance(1)
        for _ in range(5):  # traffic: AWS/Lambda metrics through the runtime's own path
            emit(seam_cloud, InvocationRecord("checkout", "live", "2", duration_ms=3.0))
        put(cw, "other-metric", 7)
        evaluator.run_due()
        assert state(cw, name) == "ALARM"

    CLOCK.advance(1)  # the next scheduled evaluation: back to the actual state
    evaluator.run_due()
    assert state(cw, name) == "OK"


def evaluation_times(cw: Any, evaluator: AlarmEvaluator, names: list[str], seconds: int) -> Any:
    """Seconds after now at which each alarm was evaluated, over `seconds` of fake time.

    The alarms (notBreaching, no data) are set to ALARM by hand; an evaluation puts one
    back to OK, and it is set to ALARM again, so every evaluation shows.
    """
    for name in names:
        set_state(cw, name)
    times: dict[str, list[int]] = {name: [] for name in names}
    for elapsed in range(1, seconds + 1):
        CLOCK.advance(1)
        evaluator.run_due()
        for name in names:
            if state(cw, name) == "OK":
                times[name].append(elapsed)
                set_state(cw, name)
    return times


def test_high_resolution_alarms_are_evaluated_every_10_seconds(cw, evaluator):
    names = [
        new_alarm(cw, Period=period, TreatMissingData="notBreaching")[0] for period in (10, 30)
    ]
    times = evaluation_times(cw, evaluator, names, 45)
    assert times == {name: [10, 20, 30, 40] for name in names}


def test_alarms_of_a_minute_or_more_are_evaluated_every_60_seconds(cw, evaluator):
    names = [
        new_alarm(cw, Period=period, TreatMissingData="notBreaching")[0] for period in (60, 300)
    ]
    times = evaluation_times(cw, evaluator, names, 190)
    assert times == {name: [60, 120, 180] for name in names}


def test_an_update_keeps_the_state_and_does_not_evaluate(cw, evaluator):
    name, metric = new_alarm(cw, TreatMissingData="notBreaching")
    CLOCK.advance(10)
    evaluator.run_due()
    set_state(cw, name)

    new_alarm(cw, AlarmName=name, MetricName=metric, Threshold=5.0, TreatMissingData="notBreaching")
    CLOCK.advance(5)
    evaluator.run_due()
    assert state(cw, name) == "ALARM"
    CLOCK.advance(5)
    evaluator.run_due()
    assert state(cw, name) == "OK"


def test_missed_evaluations_are_not_made_up(cw, evaluator):
    """After a long pause (a stopped thread, a suspended laptop) one evaluation runs, then
    the rhythm goes on: no burst of the evaluations missed."""
    name, _ = new_alarm(cw, TreatMissingData="notBreaching")
    CLOCK.advance(35)
    evaluator.run_due()
    assert state(cw, name) == "OK"
    set_state(cw, name)
    evaluator.run_due()
    assert state(cw, name) == "ALARM"
    CLOCK.advance(5)  # 40 s after creation
    evaluator.run_due()
    assert state(cw, name) == "OK"


def test_deleted_alarms_leave_the_schedule(cw, evaluator):
    name, _ = new_alarm(cw, Period=60)
    arn = alarm_of(cw, name)["AlarmArn"]
    evaluator.run_due()
    assert arn in evaluator.schedule
    cw.delete_alarms(AlarmNames=[name])
    evaluator.run_due()
    assert arn not in evaluator.schedule


def test_manual_state_holds_until_an_evaluation_changes_it(cw, evaluator):
    name, metric = new_alarm(cw)
    put(cw, metric, 5)
    evaluator.evaluate()

    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="testing")
    assert (state(cw, name), alarm_of(cw, name)["StateReason"]) == ("OK", "testing")

    evaluator.evaluate()
    assert state(cw, name) == "ALARM"


def test_the_background_thread_runs_the_schedule_and_stops_cleanly(cw, evaluator):
    name, metric = new_alarm(cw)
    put(cw, metric, 5)  # breaching already, but the first evaluation is 10 s away
    evaluator.start_schedule(0.02)
    try:
        thread = evaluator._thread
        assert thread is not None and thread.is_alive()
        time.sleep(0.2)  # ten looks at the schedule: nothing is due yet
        assert state(cw, name) == "INSUFFICIENT_DATA"

        put(cw, metric, 5, seconds_ago=-9)  # in the window before the thread can look
        CLOCK.advance(10)
        deadline = time.monotonic() + 5
        while state(cw, name) != "ALARM":
            assert time.monotonic() < deadline, "the scheduled evaluation never ran"
            time.sleep(0.02)
    finally:
        evaluator.stop_schedule()
    assert not thread.is_alive()
    assert evaluator._thread is None


# -- history, actions, events -------------------------------------------------------------------


def test_alarm_history_records_transitions_newest_first(cw, evaluator):
    name, metric = new_alarm(cw)
    put(cw, metric, 5)
    evaluator.evaluate()
    CLOCK.advance(60)
    raised = CLOCK.now
    put(cw, metric, 0)
    evaluator.evaluate()

    updates = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")
    summaries = [item["HistorySummary"] for item in updates["AlarmHistoryItems"]]
    assert summaries == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]
    data = json.loads(updates["AlarmHistoryItems"][0]["HistoryData"])
    assert (data["oldState"]["stateValue"], data["newState"]["stateValue"]) == ("ALARM", "OK")

    recent = cw.describe_alarm_history(
        AlarmName=name,
        HistoryItemType="StateUpdate",
        StartDate=raised - datetime.timedelta(seconds=1),
    )
    assert len(recent["AlarmHistoryItems"]) == 1
    early = cw.describe_alarm_history(
        AlarmName=name,
        HistoryItemType="StateUpdate",
        EndDate=raised - datetime.timedelta(seconds=1),
    )
    assert early["AlarmHistoryItems"][0]["HistorySummary"].endswith("to ALARM")

    created = cw.describe_alarm_history(AlarmName=name, HistoryItemType="ConfigurationUpdate")
    assert [i["HistorySummary"] for i in created["AlarmHistoryItems"]] == [
        f'Alarm "{name}" created'
    ]


def test_alarm_history_pages(cw, evaluator):
    name, _ = new_alarm(cw)
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="one")
    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="two")

    first = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate", MaxRecords=1)
    second = cw.describe_alarm_history(
        AlarmName=name, HistoryItemType="StateUpdate", MaxRecords=1, NextToken=first["NextToken"]
    )
    assert [p["AlarmHistoryItems"][0]["HistorySummary"] for p in (first, second)] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]
    assert "NextToken" not in second


def queue(seam_cloud: LocalCloud) -> tuple[Any, str, str]:
    sqs = seam_cloud.client("sqs")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return sqs, url, arn


def one_message(sqs: Any, url: str) -> dict[str, Any]:
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    return json.loads(messages[0]["Body"])


def test_alarm_actions_publish_to_sns(cw, evaluator, seam_cloud):
    sns = seam_cloud.client("sns")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    sqs, url, queue_arn = queue(seam_cloud)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    name, metric = new_alarm(cw, AlarmActions=[topic])
    put(cw, metric, 5)
    evaluator.evaluate()

    notification = json.loads(one_message(sqs, url)["Message"])
    assert (notification["AlarmName"], notification["NewStateValue"]) == (name, "ALARM")
    assert notification["OldStateValue"] == "INSUFFICIENT_DATA"


def test_transitions_put_state_change_events_on_the_default_bus(cw, evaluator, seam_cloud):
    sqs, url, queue_arn = queue(seam_cloud)
    name, metric = new_alarm(cw)
    events = seam_cloud.client("events")
    events.put_rule(
        Name=f"r-{name}",
        EventPattern=json.dumps(
            {
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "detail": {"alarmName": [name]},
            }
        ),
    )
    events.put_targets(Rule=f"r-{name}", Targets=[{"Id": "q", "Arn": queue_arn}])
    put(cw, metric, 5)
    evaluator.evaluate()

    event = one_message(sqs, url)
    assert event["resources"] == [alarm_of(cw, name)["AlarmArn"]]
    assert event["detail"]["state"]["value"] == "ALARM"
    assert event["detail"]["previousState"]["value"] == "INSUFFICIENT_DATA"


def rule_to_queue(seam_cloud: LocalCloud, name: str) -> tuple[Any, str]:
    """A rule on this alarm's state change events, delivering to a fresh queue."""
    sqs, url, queue_arn = queue(seam_cloud)
    events = seam_cloud.client("events")
    pattern = {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [name]},
    }
    events.put_rule(Name=f"r-{name}", EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"r-{name}", Targets=[{"Id": "q", "Arn": queue_arn}])
    return sqs, url


def all_messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_the_state_change_event_is_shaped_as_aws_documents(cw, evaluator, seam_cloud, load_event):
    sample = load_event("cloudwatch/alarm-state-change.json")
    name, metric = new_alarm(cw, AlarmDescription="Errors of the checkout function")
    sqs, url = rule_to_queue(seam_cloud, name)
    put(cw, metric, 5)
    evaluator.evaluate()

    [event] = all_messages(sqs, url)  # (moto's SQS targets drop "account": see test_alarm_events)
    assert (event["source"], event["detail-type"]) == (sample["source"], sample["detail-type"])
    assert event["region"] == seam_cloud.region
    detail, expected = event["detail"], sample["detail"]
    assert set(detail) == set(expected)
    assert set(detail["state"]) == set(expected["state"])
    assert set(detail["previousState"]) == set(expected["previousState"])  # no reasonData
    assert detail["previousState"]["reason"] == "Unchecked: Initial alarm creation"
    assert json.loads(detail["state"]["reasonData"])["recentDatapoints"] == [5.0]
    cloudwatch_time = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000"
    assert re.fullmatch(cloudwatch_time, detail["state"]["timestamp"])
    assert detail["configuration"] == {
        "description": "Errors of the checkout function",
        "metrics": [
            {
                "id": "m1",
                "metricStat": {
                    "metric": {
                        "namespace": NAMESPACE,
                        "name": metric,
                        "dimensions": {"FunctionName": "checkout"},
                    },
                    "period": 10,
                    "stat": "Sum",
                },
                "returnData": True,
            }
        ],
    }


def test_set_alarm_state_puts_an_event_only_when_the_state_changes(cw, evaluator, seam_cloud):
    sns = seam_cloud.client("sns")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    action_sqs, action_url, action_queue = queue(seam_cloud)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=action_queue)
    name, _ = new_alarm(cw, AlarmActions=[topic])
    sqs, url = rule_to_queue(seam_cloud, name)

    set_state(cw, name)
    set_state(cw, name)  # already ALARM: no transition

    [event] = all_messages(sqs, url)
    assert (event["detail"]["previousState"]["value"], event["detail"]["state"]["value"]) == (
        "INSUFFICIENT_DATA",
        "ALARM",
    )
    assert event["detail"]["state"]["reason"] == "set by hand"
    assert "reasonData" not in event["detail"]["state"]  # SetAlarmState gave none
    assert len(all_messages(action_sqs, action_url)) == 1  # the action ran once


def test_a_metric_math_alarm_describes_its_queries(cw, seam_cloud):
    name = f"math-{uuid.uuid4().hex[:8]}"
    cw.put_metric_alarm(
        AlarmName=name,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            {"Id": "e1", "Expression": "m1 / m2", "Label": "Error rate", "ReturnData": True},
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {"Namespace": NAMESPACE, "MetricName": "Errors"},
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
        ],
    )
    sqs, url = rule_to_queue(seam_cloud, name)
    set_state(cw, name)

    [event] = all_messages(sqs, url)
    assert event["detail"]["configuration"]["metrics"] == [
        {"id": "e1", "expression": "m1 / m2", "label": "Error rate", "returnData": True},
        {
            "id": "m1",
            "metricStat": {
                "metric": {"namespace": NAMESPACE, "name": "Errors", "dimensions": {}},
                "period": 60,
                "stat": "Sum",
            },
            "returnData": False,
        },
    ]


# -- contract with moto -------------------------------------------------------------------------


def moto_original(owner: Any, name: str) -> Any:
    current = getattr(owner, name)
    return getattr(current, "__wrapped__", current)


def test_moto_internals_the_seam_relies_on(cw):
    put_alarm = inspect.signature(moto_original(CloudWatchBackend, "put_metric_alarm"))
    assert list(put_alarm.parameters)[:2] == ["self", "name"]
    set_state = inspect.signature(moto_original(CloudWatchBackend, "set_alarm_state"))
    assert list(set_state.parameters) == [
        "self",
        "alarm_name",
        "reason",
        "reason_data",
        "state_value",
    ]
    backend_attributes = inspect.getsource(CloudWatchBackend.__init__)
    for attribute in ("alarms", "metric_data"):
        assert f"self.{attribute}" in backend_attributes, attribute
    assert "self.alarms.pop(" in inspect.getsource(CloudWatchBackend.delete_alarms)
    alarm_attributes = inspect.getsource(Alarm.__init__)
    for attribute in (
        "alarm_arn",
        "period",
        "rule",
        "state_value",
        "state_reason",
        "state_reason_data",
        "state_updated_timestamp",
        "treat_missing_data",
        "datapoints_to_alarm",
        "metric_data_queries",
        "extended_statistic",
        "threshold_metric_id",
    ):
        assert f"self.{attribute} =" in alarm_attributes, attribute


def test_a_second_evaluator_refuses_to_install(seam_cloud):
    with pytest.raises(RuntimeError, match="DescribeAlarmHistory"):
        AlarmEvaluator(tick=None).install(seam_cloud)


def test_uninstall_restores_moto(seam_cloud, evaluator):
    patched = CloudWatchBackend.put_metric_alarm
    evaluator.uninstall()
    try:
        assert CloudWatchBackend.put_metric_alarm is not patched
        assert not hasattr(CloudWatchBackend.put_metric_alarm, "__wrapped__")
        assert not hasattr(CloudWatchResponse, "describe_alarm_history")
    finally:
        evaluator.install(seam_cloud)
