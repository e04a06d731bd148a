"""The orders report: every minute (an EventBridge schedule on its `live` alias), logs how
many orders wait in the queue, so the version that ran is in its log stream.

RELEASE names the build. FAILURE_RATE is the share of runs that fail: 0 in a good release.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

import boto3

RELEASE = "1"
FAILURE_RATE = 0.0
_sqs = None


def sqs_client() -> Any:
    global _sqs
    if _sqs is None:
        _sqs = boto3.client("sqs")
    return _sqs


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if random.random() < FAILURE_RATE:
        raise RuntimeError(f"release {RELEASE} failed the report")
    attributes = sqs_client().get_queue_attributes(
        QueueUrl=os.environ["QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    report = {
        "waiting": int(attributes["ApproximateNumberOfMessages"]),
        "at": event.get("time"),
        "release": RELEASE,
        "version": context.function_version,
    }
    print(json.dumps({"report": report}))
    return report
