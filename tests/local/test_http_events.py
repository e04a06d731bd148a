"""The HTTP events of function URLs and HTTP APIs (rollout/local/http_events.py): a request
becomes the event AWS delivers (events/http/ holds each format's event for one request),
and the function's answer becomes the response AWS sends back."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from rollout.local.http_events import (
    HttpRequest,
    MalformedResponse,
    RequestContext,
    event_v1,
    event_v2,
    response_v1,
    response_v2,
)

LoadEvent = Callable[[str], Any]
URL_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
API_ID = "k3x9q2m7ab"
REQUEST_ID = "3f1c2b9e-5d04-4e6a-9a63-0f7c2d1e8b45"
AT = datetime(2026, 3, 12, 19, 3, 58, tzinfo=UTC)
TRACE = "Root=1-65f0c0de-0123456789abcdef01234567"


def request(method: str, path: str, query: str, host: str, **extra: Any) -> HttpRequest:
    """A request as it reaches AWS's front end over HTTPS from 198.51.100.7."""
    headers = [
        ("host", host),
        ("user-agent", "curl/8.5.0"),
        ("x-amzn-trace-id", TRACE),
        *extra.pop("headers", []),
    ]
    return HttpRequest(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=tuple(headers),
        body=extra.pop("body", b""),
        source_ip="198.51.100.7",
        scheme="https",
        port="443",
    )


def api_context(**fields: Any) -> RequestContext:
    return RequestContext(
        account_id="123456789012",
        api_id=API_ID,
        domain_name=f"{API_ID}.execute-api.us-east-1.amazonaws.com",
        route_key="GET /orders/{id}",
        resource_path="/orders/{id}",
        route_id="r8n2kq1",
        path_parameters={"id": "17"},
        request_id=REQUEST_ID,
        time=AT,
        **fields,
    )


def test_a_function_url_request_is_the_20_event_lambda_delivers(load_event: LoadEvent) -> None:
    host = f"{URL_ID}.lambda-url.us-east-1.on.aws"
    posted = request(
        "POST",
        "/orders/17",
        "expand=items&expand=customer&note=a%20b",
        host,
        headers=[("content-type", "application/json"), ("cookie", "session=abc; theme=dark")],
        body=b'{"quantity": 2}',
    )
    context = RequestContext(
        account_id="anonymous", api_id=URL_ID, domain_name=host, request_id=REQUEST_ID, time=AT
    )
    assert event_v2(posted, context) == load_event("http/function-url-request.json")


def test_an_http_api_request_is_the_20_event_with_its_route(load_event: LoadEvent) -> None:
    host = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
    got = request("GET", "/orders/17", "expand=items", host)
    assert event_v2(got, api_context()) == load_event("http/http-api-v2-request.json")


def test_format_10_keeps_every_value_and_the_resource(load_event: LoadEvent) -> None:
    host = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
    got = request("GET", "/orders/17", "expand=items&expand=customer", host)
    assert event_v1(got, api_context()) == load_event("http/http-api-v1-request.json")


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("text/plain; charset=utf-8", "héllo".encode(), False),
        ("application/vnd.api+json", b"{}", False),
        ("application/xml", b"<a/>", False),
        ("application/x-www-form-urlencoded", b"a=1&b=2", True),
        ("image/png", b"\x89PNG\r\n", True),
        (None, b"raw", True),
        ("text/plain", b"\xff\xfe", True),  # not UTF-8: passed as it is, base64-encoded
    ],
)
def test_a_body_is_text_or_base64_by_its_content_type(
    content_type: str | None, body: bytes, encoded: bool
) -> None:
    headers = [("content-type", content_type)] if content_type else []
    sent = request("POST", "/", "", "x.lambda-url.us-east-1.on.aws", headers=headers, body=body)
    event = event_v2(sent, api_context())
    assert event["isBase64Encoded"] is encoded
    delivered = base64.b64decode(event["body"]) if encoded else event["body"].encode()
    assert delivered == body


def test_a_request_without_body_query_or_cookies_leaves_their_fields_out() -> None:
    bare = request("GET", "/", "", "x.lambda-url.us-east-1.on.aws")
    event = event_v2(bare, RequestContext(account_id="anonymous", api_id="x", domain_name="x"))
    assert not {"body", "cookies", "queryStringParameters", "pathParameters"} & set(event)
    assert event["isBase64Encoded"] is False


def test_a_structured_answer_becomes_the_response_each_cookie_a_set_cookie(
    load_event: LoadEvent,
) -> None:
    answer = json.dumps(load_event("http/function-response.json")).encode()
    response = response_v2(answer)
    assert response.status == 201
    assert ("x-release", "2") in response.headers
    cookies = [value for name, value in response.headers if name == "Set-Cookie"]
    assert cookies == ["seen=1; Path=/", "theme=dark"]
    assert response.body == b'{"id": 17}'


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b'{"orders": [1, 2]}', b'{"orders": [1, 2]}'),  # the function's JSON, as it sent it
        (b'"Hello from Lambda!"', b"Hello from Lambda!"),  # a string: the string itself
        (b"17", b"17"),
    ],
)
def test_an_answer_without_status_code_is_inferred_as_200_json(answer: bytes, body: bytes) -> None:
    response = response_v2(answer)
    assert (response.status, response.body) == (200, body)
    assert ("Content-Type", "application/json") in response.headers


def test_a_base64_body_is_decoded_and_framing_headers_are_the_front_ends() -> None:
    png = b"\x89PNG\r\n\x1a\n"
    answer = {
        "statusCode": 200,
        "headers": {"content-type": "image/png", "Content-Length": "999"},
        "body": base64.b64encode(png).decode(),
        "isBase64Encoded": True,
    }
    response = response_v2(json.dumps(answer).encode())
    assert response.body == png
    assert [name for name, _ in response.headers] == ["content-type"]


@pytest.mark.parametrize(
    "answer",
    [
        {"statusCode": "200", "body": "x"},
        {"statusCode": 200, "body": {"nested": True}},
        {"statusCode": 200, "headers": ["a"]},
        {"statusCode": 700},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_an_answer_that_is_no_response_is_malformed(answer: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponse):
        response_v2(json.dumps(answer).encode())


def test_a_10_answer_must_name_its_status_and_may_repeat_headers() -> None:
    with pytest.raises(MalformedResponse):
        response_v1(b'{"orders": []}')
    answer = {
        "statusCode": 200,
        "headers": {"x-one": "1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": "ok",
    }
    response = response_v1(json.dumps(answer).encode())
    assert response.headers == (("x-one", "1"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"))
    assert response.body == b"ok"
