"""The orders worker: fulfils each order the API accepted, behind its own alias `live`.

The API hands it every new order as an asynchronous invoke of `orders-worker:live`, so a
request never waits for it and the worker's weights decide which version fulfils each
order. RELEASE names the build. FAILURE_RATE is the share of orders that fail: 0 in a good
release; raise it (tests/sam_cli does) to see a release roll every function back.
"""

from __future__ import annotations

import json
import random
from typing import Any

RELEASE = "1"
FAILURE_RATE = 0.0


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if random.random() < FAILURE_RATE:
        raise RuntimeError(f"release {RELEASE} failed order {event.get('orderId')}")
    items = (event.get("order") or {}).get("items") or []
    total = sum(int(item.get("quantity", 1)) * float(item.get("price", 0)) for item in items)
    fulfilled = {
        "orderId": event.get("orderId"),
        "items": len(items),
        "total": round(total, 2),
        "release": RELEASE,
        "version": context.function_version,
    }
    print(json.dumps({"fulfilled": fulfilled}))  # the order's record, in the worker's logs
    return fulfilled
