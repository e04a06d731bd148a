"""The throttling error each AWS service sends, on the wire, per protocol.

What AWS sends (from AWS's pages and real responses quoted in public issues, as named
below; botocore 1.44's parsers and standard retry mode are checked against each shape by
tests/local/test_quotas_contract.py):

- CloudWatch Logs, Step Functions, EventBridge (awsJson): HTTP 400,
  `{"__type": "ThrottlingException", "message": "Rate exceeded"}`. The Logs body is quoted
  from real responses in vectordotdev/vector#2740; the Step Functions Common Errors page:
  "ThrottlingException … The request was denied due to request throttling. HTTP Status
  Code: 400".
- CloudWatch answers a query-protocol request with query XML, code `Throttling`, type
  Sender ("Rate exceeded", quoted in camitz/aws-cloudwatch-statsd-backend#10). botocore
  sends CloudWatch requests as awsJson 1.0 in query-compatible mode and reads the code
  from the `x-amzn-query-error: Throttling;Sender` header; an XML body would not even be
  parsed, so a JSON request gets a JSON body with that header.
- Lambda (rest-json): HTTP 429, `x-amzn-ErrorType: TooManyRequestsException` (without it
  botocore reports the code as "429"), body
  `{"Reason": "CallerRateLimitExceeded", "Type": "User", "message": "Rate exceeded"}`
  (quoted in fyoorer/ShadowClone#46).
- SNS, STS (query XML): HTTP 400, code `Throttling`, type Sender, "Rate exceeded" (STS:
  the Knowledge Center's "Throttling: Rate exceeded, status code: 400"; SNS: what Amazon's
  own smoke-aws SDK handles, amzn/smoke-aws#149).
- CloudTrail (awsJson 1.1): as EventBridge; its API reference's Common Errors: "ThrottlingException
  The request was denied due to request throttling. HTTP Status Code: 400".
- DynamoDB (awsJson 1.0): HTTP 400, `__type` namespaced
  `com.amazonaws.dynamodb.v20120810#ThrottlingException` ("Error handling with DynamoDB":
  "Rate of requests exceeds the allowed throughput").

Every response carries a request id, as AWS's do.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import Enum


class Protocol(Enum):
    JSON = "json"  # X-Amz-Target + application/x-amz-json-1.x
    QUERY = "query"  # Action=… form body, XML answers
    REST_JSON = "rest-json"  # method + path


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


MESSAGE = "Rate exceeded"
_XML_NAMESPACE = {
    "sns": "https://sns.amazonaws.com/doc/2010-03-31/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "cloudwatch": "http://monitoring.amazonaws.com/doc/2010-08-01/",
}
_JSON_TYPE = {
    "logs": "ThrottlingException",
    "stepfunctions": "ThrottlingException",
    "events": "ThrottlingException",
    "cloudtrail": "ThrottlingException",
    "cloudwatch": "Throttling",
    "dynamodb": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
}
_JSON_CONTENT_TYPE = {
    "logs": "application/x-amz-json-1.1",
    "events": "application/x-amz-json-1.1",
    "cloudtrail": "application/x-amz-json-1.1",
    "stepfunctions": "application/x-amz-json-1.0",
    "cloudwatch": "application/x-amz-json-1.0",
    "dynamodb": "application/x-amz-json-1.0",
}


def throttled(service: str, protocol: Protocol) -> Reply:
    """`service`'s answer to a throttled request sent with `protocol`."""
    request_id = str(uuid.uuid4())
    if service == "lambda":
        return _lambda(request_id)
    if protocol is Protocol.QUERY:
        return _query_xml(service, request_id)
    return _json(service, request_id)


def _lambda(request_id: str) -> Reply:
    body = {"Reason": "CallerRateLimitExceeded", "Type": "User", "message": MESSAGE}
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": "TooManyRequestsException",
        "x-amzn-RequestId": request_id,
    }
    return Reply(429, headers, json.dumps(body).encode())


def _json(service: str, request_id: str) -> Reply:
    headers = {
        "Content-Type": _JSON_CONTENT_TYPE[service],
        "x-amzn-RequestId": request_id,
    }
    if service == "cloudwatch":  # awsQueryCompatible: botocore takes the code from here
        headers["x-amzn-query-error"] = "Throttling;Sender"
    body = {"__type": _JSON_TYPE[service], "message": MESSAGE}
    return Reply(400, headers, json.dumps(body).encode())


def _query_xml(service: str, request_id: str) -> Reply:
    body = (
        f'<ErrorResponse xmlns="{_XML_NAMESPACE[service]}">'
        "<Error><Type>Sender</Type><Code>Throttling</Code>"
        f"<Message>{MESSAGE}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
    return Reply(400, headers, body.encode())
