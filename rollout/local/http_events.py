"""HTTP requests as the events Lambda receives from function URLs and HTTP APIs, and the
function's answer as the HTTP response (payload format versions 2.0 and 1.0).

AWS behaviour:
- "Create AWS Lambda proxy integrations for HTTP APIs in API Gateway"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
  format 2.0 has `rawPath`, `rawQueryString`, `cookies` ("All cookie headers in the request
  are combined with commas and added to the cookies field. In the response to the client,
  each cookie becomes a set-cookie header."), and no multi-value fields: "Duplicate headers
  are combined with commas and included in the headers field. Duplicate query strings are
  combined with commas and included in the queryStringParameters field." "All header names
  are lowercase." A 2.0 response without a `statusCode` is inferred: "If your Lambda function
  returns valid JSON and doesn't return a statusCode, API Gateway assumes: isBase64Encoded is
  false, statusCode is 200, content-type is application/json, body is the function's
  response." Format 1.0 has `resource`, `path`, `httpMethod`, `multiValueHeaders` and
  `multiValueQueryStringParameters`, and its response must name a `statusCode`.
- "Invoking Lambda function URLs" (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html):
  "The request and response event formats follow the same schema as the Amazon API Gateway
  payload format version 2.0", with `routeKey` and `stage` `$default`, `requestContext.accountId`
  "anonymous" for AuthType NONE, and "If the content type of the request is binary, the body
  is base64-encoded" (`isBase64Encoded`); a response is inferred as above.
- "Create routes for HTTP APIs": "API Gateway decodes URL-encoded request parameters before
  passing them to your backend integration" (query string and path parameters).

Which bodies count as text is not spelled out by AWS: here a body is passed as text when its
content type is `text/*` or a JSON, XML or JavaScript type and it is UTF-8; anything else
(a form post, an image, no content type) is base64-encoded. A 1.0 event's
`multiValueHeaders` holds each header as one value: the server hands over repeated headers
already joined with commas, as 2.0 shows them. A response whose body isn't a string, or
whose `statusCode` isn't an integer, is malformed (`MalformedResponse`): the caller answers
as AWS does for an integration's bad response.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT = "$default"
JSON = "application/json"
_TEXT_SUFFIXES = ("json", "xml", "javascript")
# Hop-by-hop and framing headers the front end sets itself, never the function.
_OWN_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


class MalformedResponse(ValueError):
    """The function's answer is not a response of its payload format."""


@dataclass(frozen=True)
class HttpRequest:
    """A request as it arrived: the raw path and query, lower-cased headers in order."""

    method: str
    raw_path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    scheme: str = "http"
    port: str = "80"

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> HttpRequest:
        target = urlsplit(str(environ.get("RAW_URI") or environ.get("PATH_INFO") or "/"))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
            body = environ["wsgi.input"].read()
        else:
            body = environ["wsgi.input"].read(length) if length else b""
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            raw_path=target.path or "/",
            raw_query=target.query or str(environ.get("QUERY_STRING", "")),
            headers=tuple(_headers(environ)),
            body=body,
            source_ip=str(environ.get("REMOTE_ADDR", "")),
            protocol=str(environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
            scheme=str(environ.get("wsgi.url_scheme", "http")),
            port=str(environ.get("SERVER_PORT", "80")),
        )

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key == name.lower()]
        return ",".join(found) if found else None

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    def query_parameters(self) -> dict[str, list[str]]:
        """Decoded query parameters, each name's values in order."""
        found: dict[str, list[str]] = {}
        for name, value in parse_qsl(self.raw_query, keep_blank_values=True):
            found.setdefault(name, []).append(value)
        return found

    def cookies(self) -> list[str]:
        cookie = self.header("cookie") or ""
        return [part.strip() for part in cookie.replace(",", ";").split(";") if part.strip()]


@dataclass(frozen=True)
class RequestContext:
    """What the front end knows of a request beyond the request itself."""

    account_id: str  # the API's owner; a function URL's caller, or "anonymous"
    api_id: str  # an HTTP API's id, or a function URL's url-id
    domain_name: str
    route_key: str = DEFAULT
    stage: str = DEFAULT
    resource_path: str = DEFAULT  # format 1.0's `resource`: the route's path
    route_id: str = ""
    path_parameters: dict[str, str] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)
    authorizer: dict[str, Any] | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def domain_prefix(self) -> str:
        return self.domain_name.split(".", 1)[0]

    @property
    def epoch_ms(self) -> int:
        return int(self.time.timestamp() * 1000)

    @property
    def clf_time(self) -> str:
        """The time as API Gateway writes it: 12/Mar/2020:19:03:58 +0000."""
        return self.time.strftime("%d/%b/%Y:%H:%M:%S +0000")


def event_v2(request: HttpRequest, context: RequestContext) -> dict[str, Any]:
    """The payload format 2.0 event of `request`."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": context.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies := request.cookies():
        event["cookies"] = cookies
    event["headers"] = {
        name: value for name, value in _forwarded(request, context).items() if name != "cookie"
    }
    if parameters := request.query_parameters():
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parameters.items()}
    event["requestContext"] = _context_v2(request, context)
    body, encoded = _body(request)
    if body is not None:
        event["body"] = body
    if context.path_parameters:
        event["pathParameters"] = dict(context.path_parameters)
    event["isBase64Encoded"] = encoded
    if context.stage_variables:
        event["stageVariables"] = dict(context.stage_variables)
    return event


def _context_v2(request: HttpRequest, context: RequestContext) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "accountId": context.account_id,
        "apiId": context.api_id,
        "domainName": context.domain_name,
        "domainPrefix": context.domain_prefix,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": context.request_id,
        "routeKey": context.route_key,
        "stage": context.stage,
        "time": context.clf_time,
        "timeEpoch": context.epoch_ms,
    }
    if context.authorizer is not None:
        shown["authorizer"] = context.authorizer
    return shown


def event_v1(request: HttpRequest, context: RequestContext) -> dict[str, Any]:
    """The payload format 1.0 event of `request` (HTTP APIs only)."""
    headers = _forwarded(request, context)
    parameters = request.query_parameters()
    body, encoded = _body(request)
    iam = (context.authorizer or {}).get("iam") or {}
    return {
        "version": "1.0",
        "resource": context.resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in parameters.items()} or None,
        "multiValueQueryStringParameters": parameters or None,
        "requestContext": {
            "accountId": context.account_id,
            "apiId": context.api_id,
            "domainName": context.domain_name,
            "domainPrefix": context.domain_prefix,
            "extendedRequestId": context.request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": iam.get("accessKey"),
                "accountId": iam.get("accountId"),
                "caller": iam.get("callerId"),
                "sourceIp": request.source_ip,
                "user": iam.get("userId"),
                "userAgent": request.header("user-agent") or "",
                "userArn": iam.get("userArn"),
            },
            "path": request.path,
            "protocol": request.protocol,
            "requestId": context.request_id,
            "requestTime": context.clf_time,
            "requestTimeEpoch": context.epoch_ms,
            "resourceId": context.route_id,
            "resourcePath": context.resource_path,
            "stage": context.stage,
        },
        "pathParameters": dict(context.path_parameters) or None,
        "stageVariables": dict(context.stage_variables) or None,
        "body": body,
        "isBase64Encoded": encoded,
    }


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            found.append((key[5:].lower().replace("_", "-"), str(value)))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            found.append((key.lower().replace("_", "-"), str(value)))
    return found


def _forwarded(request: HttpRequest, context: RequestContext) -> dict[str, str]:
    """The request's headers, and those the front end adds as AWS's does (the scheme and
    port are the ones the request really used: the local cloud serves plain HTTP)."""
    headers = {name: request.header(name) or "" for name, _ in request.headers}
    stamp = f"{int(context.time.timestamp()):08x}"
    headers.setdefault("x-amzn-trace-id", f"Root=1-{stamp}-{uuid.uuid4().hex[:24]}")
    headers["x-forwarded-for"] = request.source_ip
    headers["x-forwarded-port"] = request.port
    headers["x-forwarded-proto"] = request.scheme
    return headers


def _body(request: HttpRequest) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): None when the request has none."""
    if not request.body:
        return None, False
    if is_text(request.header("content-type")):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def is_text(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media.endswith(_TEXT_SUFFIXES)


# -- the function's answer ---------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def json_response(status: int, answer: Any, *extra: tuple[str, str]) -> HttpResponse:
    body = json.dumps(answer, separators=(",", ":")).encode()
    return HttpResponse(status, (("Content-Type", JSON), *extra), body)


def response_v2(payload: bytes) -> HttpResponse:
    """A 2.0 response: the function's structured answer, or one inferred from any JSON."""
    value = _decoded(payload)
    if isinstance(value, dict) and "statusCode" in value:
        return _structured(value, multi_value=False)
    body = value.encode() if isinstance(value, str) else payload
    return HttpResponse(200, (("Content-Type", JSON),), body)


def response_v1(payload: bytes) -> HttpResponse:
    """A 1.0 response: it must name its statusCode."""
    value = _decoded(payload)
    if not isinstance(value, dict) or "statusCode" not in value:
        raise MalformedResponse("a 1.0 response is an object with a statusCode")
    return _structured(value, multi_value=True)


def _decoded(payload: bytes) -> Any:
    try:
        return json.loads(payload or b"null")
    except ValueError as error:
        raise MalformedResponse(f"the function's answer is not JSON: {error}") from error


def _structured(value: dict[str, Any], *, multi_value: bool) -> HttpResponse:
    status = value["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r} is not an HTTP status")
    headers = [(str(k), _scalar(v)) for k, v in _mapping(value, "headers").items()]
    if multi_value:
        for name, values in _mapping(value, "multiValueHeaders").items():
            headers += [(str(name), _scalar(v)) for v in _list(values, "multiValueHeaders")]
    else:
        headers += [("Set-Cookie", _scalar(c)) for c in _list(value.get("cookies"), "cookies")]
    kept = tuple((k, v) for k, v in headers if k.lower() not in _OWN_HEADERS)
    return HttpResponse(status, kept, _response_body(value))


def _response_body(value: dict[str, Any]) -> bytes:
    body = value.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResponse("body is not a string")
    if value.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as error:
            raise MalformedResponse("isBase64Encoded but the body is not base64") from error
    return body.encode()


def _mapping(value: dict[str, Any], key: str) -> dict[str, Any]:
    found = value.get(key) or {}
    if not isinstance(found, dict):
        raise MalformedResponse(f"{key} is not an object")
    return found


def _list(found: Any, key: str) -> list[Any]:
    if found is None:
        return []
    if not isinstance(found, list):
        raise MalformedResponse(f"{key} is not a list")
    return found


def _scalar(value: Any) -> str:
    if isinstance(value, dict | list):
        raise MalformedResponse(f"header value {value!r} is not a string")
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
