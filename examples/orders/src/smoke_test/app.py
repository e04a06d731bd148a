"""The pre- and post-traffic hook, in lambda-rollout's form (no CodeDeploy callback).

The rollout invokes it with {functionName, alias, targetVersion, stableVersion, phase}
and rolls back unless it returns {"passed": true}. It calls the new version directly
with an HTTP API request and checks the answer: before any traffic ("pre"), and at
100 % ("post").
"""

from __future__ import annotations

import json
from typing import Any

import boto3

REQUEST = {"version": "2.0", "routeKey": "GET /orders", "rawPath": "/orders"}
_lambda = None


def lambda_client() -> Any:
    global _lambda
    if _lambda is None:
        _lambda = boto3.client("lambda")
    return _lambda


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response = lambda_client().invoke(
        FunctionName=event["functionName"],
        Qualifier=str(event["targetVersion"]),
        Payload=json.dumps(REQUEST).encode(),
    )
    answer = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError") or not isinstance(answer, dict):
        return {"passed": False, "reason": f"{event['phase']}: the new version failed: {answer}"}
    if answer.get("statusCode") != 200:
        return {"passed": False, "reason": f"{event['phase']}: status {answer.get('statusCode')}"}
    return {"passed": True, "reason": f"{event['phase']}: GET /orders answered 200"}
