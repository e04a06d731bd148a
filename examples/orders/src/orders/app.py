"""The orders API, served through the `live` alias: GET /orders lists orders, POST /orders
accepts one and queues it for the worker (SQS, the queue named by QUEUE_URL), answering 202
at once.

RELEASE names the build. FAILURE_RATE is the share of requests that fail: 0 in a good
release; raise it (tests/sam_cli raises it to 0.3) to see a rollout catch a faulty
release and roll it back.
"""

from __future__ import annotations

import json
import os
import random
import uuid
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
        raise RuntimeError(f"release {RELEASE} failed this request")
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "GET")
    if method == "POST":
        return place_order(json.loads(event.get("body") or "{}"), context)
    return answer(200, {"orders": [], "release": RELEASE, "version": context.function_version})


def place_order(order: dict[str, Any], context: Any) -> dict[str, Any]:
    order_id = str(uuid.uuid4())
    sqs_client().send_message(
        QueueUrl=os.environ["QUEUE_URL"],
        MessageBody=json.dumps({"orderId": order_id, "order": order}),
    )
    accepted = {"orderId": order_id, "release": RELEASE, "version": context.function_version}
    return answer(202, accepted)


def answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
