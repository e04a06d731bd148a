"""What CloudWatch says about an alarm's state change: the state record of its history, the
detail of the "CloudWatch Alarm State Change" event on the default bus ("Alarm events and
EventBridge",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html),
and the message it publishes to an SNS alarm action ("Notifying users on alarm changes",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html).
"""

from __future__ import annotations

import datetime
from typing import Any

from moto.cloudwatch.models import Alarm, CloudWatchBackend, MetricDataQuery

from rollout.local.alarm_evaluation import aws_time


def state_of(alarm: Alarm) -> dict[str, Any]:
    return {
        "stateValue": alarm.state_value,
        "stateReason": alarm.state_reason,
        "stateReasonData": alarm.state_reason_data,
        "timestamp": aws_time(alarm.state_updated_timestamp),
    }


def state_change_detail(
    alarm: Alarm, previous: dict[str, Any], now: datetime.datetime
) -> dict[str, Any]:
    """The `detail` of a "CloudWatch Alarm State Change" event, shaped as the page's samples
    (single-metric and metric math alarms): `reasonData` only when the state
    has it (a new alarm's "Unchecked: Initial alarm creation" state has none), and the
    alarm's configuration."""
    current = {
        "stateValue": alarm.state_value,
        "stateReason": alarm.state_reason,
        "stateReasonData": alarm.state_reason_data,
        "timestamp": aws_time(now),
    }
    return {
        "alarmName": alarm.name,
        "state": _event_state(current),
        "previousState": _event_state(previous),
        "configuration": configuration(alarm),
    }


def _event_state(state: dict[str, Any]) -> dict[str, Any]:
    shaped = {"value": state["stateValue"], "reason": state["stateReason"]}
    if state["stateReasonData"] not in (None, "", "{}"):  # "{}": moto's placeholder for none
        shaped["reasonData"] = state["stateReasonData"]
    shaped["timestamp"] = state["timestamp"]
    return shaped


def configuration(alarm: Alarm) -> dict[str, Any]:
    """`detail.configuration`: the metrics the alarm watches, its metric math queries or
    its one metric as query "m1" (moto 5.2.5 can't create composite alarms)."""
    shaped: dict[str, Any] = {}
    if alarm.description:
        shaped["description"] = alarm.description
    if alarm.metric_data_queries:
        shaped["metrics"] = [_query(query) for query in alarm.metric_data_queries]
        return shaped
    stat = alarm.statistic or alarm.extended_statistic
    single = _metric_stat(alarm.namespace, alarm.metric_name, alarm.dimensions, alarm.period, stat)
    shaped["metrics"] = [{"id": "m1", "metricStat": single, "returnData": True}]
    return shaped


def _query(query: MetricDataQuery) -> dict[str, Any]:
    shaped: dict[str, Any] = {"id": query.id}
    if query.expression:
        shaped["expression"] = query.expression
    if query.label:
        shaped["label"] = query.label
    if query.metric_stat is not None:
        stat = query.metric_stat
        metric = stat.metric
        shaped["metricStat"] = _metric_stat(
            metric.namespace, metric.metric_name, metric.dimensions, stat.period, stat.stat
        )
    shaped["returnData"] = str(query.return_data).lower() != "false"
    return shaped


def _metric_stat(
    namespace: str, name: str, dimensions: list[Any], period: Any, stat: str | None
) -> dict[str, Any]:
    return {
        "metric": {
            "namespace": namespace,
            "name": name,
            "dimensions": {d.name: d.value for d in dimensions or []},
        },
        "period": int(period) if period is not None else None,
        "stat": stat,
    }


def notification(
    backend: CloudWatchBackend, alarm: Alarm, previous: dict[str, Any], now: datetime.datetime
) -> dict[str, Any]:
    """The JSON message CloudWatch publishes to an SNS alarm action."""
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": backend.account_id,
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": aws_time(now),
        "Region": backend.region_name,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": previous["stateValue"],
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": (alarm.statistic or "").upper(),
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data or "missing",
        },
    }
