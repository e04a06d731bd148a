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

from moto.cloudwatch.models import Alarm, CloudWatchBackend

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
    """The `detail` of a "CloudWatch Alarm State Change" event."""
    dimensions = {d.name: d.value for d in alarm.dimensions}
    return {
        "alarmName": alarm.name,
        "state": {
            "value": alarm.state_value,
            "reason": alarm.state_reason,
            "reasonData": alarm.state_reason_data,
            "timestamp": aws_time(now),
        },
        "previousState": {
            "value": previous["stateValue"],
            "reason": previous["stateReason"],
            "reasonData": previous["stateReasonData"],
            "timestamp": previous["timestamp"],
        },
        "configuration": {
            "description": alarm.description,
            "metrics": [
                {
                    "id": "m1",
                    "metricStat": {
                        "metric": {
                            "namespace": alarm.namespace,
                            "name": alarm.metric_name,
                            "dimensions": dimensions,
                        },
                        "period": alarm.period,
                        "stat": alarm.statistic,
                    },
                    "returnData": True,
                }
            ],
        },
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
