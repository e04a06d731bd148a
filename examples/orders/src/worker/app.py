"""The orders worker: fulfils the orders the API queued, behind its own alias `live`.

Lambda's SQS poller reads the orders queue through the mapping on `orders-worker:live`, so
the worker's weights decide which version fulfils each batch, and a batch that fails
returns to the queue, retried after its visibility timeout (then the dead-letter queue).
A failing order fails its whole batch, on purpose: Lambda counts the invocation as an
error, the signal a rollout judges the new version by (a partial batch response,
`batchItemFailures`, is a success to Lambda's Errors metric and would hide the failures).

RELEASE names the build. FAILURE_RATE is the share of orders that fail: 0 in a good
release; raise it (tests/sam_cli does) to see a release roll every function back.
"""

from __future__ import annotations

import json
import random
from typing import Any

RELEASE = "1"
FAILURE_RATE = 0.0


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    fulfilled = [fulfil(json.loads(record["body"]), context) for record in event["Records"]]
    return {"fulfilled": len(fulfilled)}


def fulfil(message: dict[str, Any], context: Any) -> dict[str, Any]:
    if random.random() < FAILURE_RATE:
        raise RuntimeError(f"release {RELEASE} failed order {message.get('orderId')}")
    items = (message.get("order") or {}).get("items") or []
    total = sum(int(item.get("quantity", 1)) * float(item.get("price", 0)) for item in items)
    fulfilled = {
        "orderId": message.get("orderId"),
        "items": len(items),
        "total": round(total, 2),
        "release": RELEASE,
        "version": context.function_version,
    }
    print(json.dumps({"fulfilled": fulfilled}))  # the order's record, in the worker's logs
    return fulfilled
