"""Outcome notifications: SNS (when TOPIC_ARN is set) and EventBridge.

Best effort: a notification that can't be delivered is logged and reported in the
summary, never turned into a failed rollout (the alias is already where it belongs).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import clients, settings

SOURCE = "lambda-rollout"
DETAIL_TYPES = {
    "succeeded": "Rollout Succeeded",
    "rolled_back": "Rollout Rolled Back",
    "rollback_failed": "Rollout Rollback Failed",
    "check_failed": "Rollout Check Failed",
    "drifted": "Rollout Stopped On Drift",
    # Wait for operator, once per approval gate (rollout_core.controls)
    "approval_needed": "Rollout Approval Needed",
    # Wait for operator, once per hold for want of any health signal (rollout_core.blind)
    "held_no_signal": "Rollout Held Without Health Signal",
    # Wait for operator, once per hold on an inconclusive step (health/inconclusive.py)
    "held_inconclusive": "Rollout Held On Inconclusive Health",
    # the guard (rollout_core.guard), after an execution ended without cleaning up
    "guard_restored": "Rollout Guard Restored Alias",
    "guard_attention": "Rollout Guard Needs Attention",
    # a pipeline of waves (rollout_core.pipeline)
    "pipeline_succeeded": "Pipeline Succeeded",
    "pipeline_rolled_back": "Pipeline Rolled Back",
    "pipeline_stopped": "Pipeline Stopped",
    "pipeline_blocked": "Pipeline Blocked",
    "pipeline_approval_needed": "Pipeline Approval Needed",
}

log = logging.getLogger(__name__)


def publish(outcome: str, summary: dict[str, Any]) -> dict[str, bool | None]:
    """{"sns": delivered or None when no topic, "eventBridge": delivered}."""
    config = settings.load()
    detail_type = DETAIL_TYPES[outcome]
    return {
        "sns": _sns(config.topic_arn, detail_type, summary) if config.topic_arn else None,
        "eventBridge": _events(config.event_bus_name, detail_type, summary),
    }


def _sns(topic_arn: str, detail_type: str, summary: dict[str, Any]) -> bool:
    subject = f"{detail_type}: {summary.get('functionName')}:{summary.get('alias')}"
    try:
        clients.sns().publish(
            TopicArn=topic_arn,
            Subject=subject[:100],  # SNS subject limit
            Message=json.dumps(summary, indent=2, default=str),
            MessageAttributes={
                "outcome": {"DataType": "String", "StringValue": summary["outcome"]}
            },
        )
    except (ClientError, BotoCoreError) as error:
        log.warning("SNS notification failed", extra={"topic": topic_arn, "error": str(error)})
        return False
    return True


def _events(bus: str, detail_type: str, summary: dict[str, Any]) -> bool:
    entry = {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(summary, default=str),
        "EventBusName": bus,
    }
    try:
        failed = clients.events().put_events(Entries=[entry]).get("FailedEntryCount", 0)
    except (ClientError, BotoCoreError) as error:
        log.warning("EventBridge notification failed", extra={"bus": bus, "error": str(error)})
        return False
    return failed == 0
