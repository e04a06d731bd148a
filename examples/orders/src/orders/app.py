"""The orders API: GET /orders, served through the `live` alias.

RELEASE names the build. FAILURE_RATE is the share of requests that fail: 0 in a good
release; raise it (tests/sam_cli raises it to 0.3) to see a rollout catch a faulty
release and roll it back.
"""

from __future__ import annotations

import json
import random
from typing import Any

RELEASE = "1"
FAILURE_RATE = 0.0


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if random.random() < FAILURE_RATE:
        raise RuntimeError(f"release {RELEASE} failed this request")
    body = {"orders": [], "release": RELEASE, "version": context.function_version}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
