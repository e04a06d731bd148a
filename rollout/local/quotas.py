"""AWS's API rate quotas in the local cloud: a WSGI middleware in front of moto.

AWS throttles API requests per account and Region, each quota a token bucket
(quota_table.py: every value, its source and the burst assumed). moto answers every call at
any rate, so the local cloud would be kinder than AWS: a design that exceeds a quota would
pass every local test and fail on a real account. This seam sits in front of moto's
`DomainDispatcherApplication` (moto_server.py builds the server with it), sees every
request (SDKs, the AWS and SAM CLIs, the task Lambdas, and moto's own Step Functions
interpreter, which calls Lambda over HTTP with access key "ak") and, per request:

1. identifies (account, Region, service, operation): the service from SigV4's credential
   scope (signing names `monitoring` and `states` are CloudWatch and Step Functions), the
   operation from `X-Amz-Target` (awsJson), the `Action` form field (query), or moto's own
   router (rest-json: Lambda); the account and the Region by moto's own code
   (`BaseResponse.get_current_account`: MOTO_ACCOUNT_ID, the `x-moto-account-id` header, a
   key IAM or STS issued, else 123456789012; `BaseResponse.get_region_from_url`), so a
   request is counted against the account and Region whose data it touches;
2. takes a token from that (account, Region, quota) bucket; with none left it answers with
   the service's own throttling error (throttling.py) and moto never sees the request.
   Every attempt counts, retries included, as on AWS;
3. counts it, allowed or throttled, per (account, Region, service, operation) (S3 and API
   Gateway, which no quota applies to, are not counted), whether or not the cloud enforces
   quotas (`LocalCloud(quotas=False)` only counts). `Quotas.stats()`
   in process, and `GET /_rollout/quotas` on the cloud's endpoint, return the counters.

Calls that stay inside moto (the Lambda runtime writing logs and metrics, CloudFormation
creating moto's own resources) never reach the middleware; AWS does not charge a service's
own writes to the account's API quotas either.

moto internals used (moto 5.2.5; pinned by tests/local/test_quotas_contract.py):
`BaseResponse.get_current_account(self)` (reads `self.headers`, `self.querystring` through
`get_access_key`), `BaseResponse.get_region_from_url(self, request, full_url)` (reads
`request.headers`), `moto.core.routing.get_service_router(name).match(Request)`.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from moto.core.request import EnvironHeaders, Request
from moto.core.responses import BaseResponse
from moto.core.routing import get_service_router
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import get_current_url

from rollout.local.quota_table import QUOTAS, Quota, quota_for
from rollout.local.throttling import Protocol, Reply, throttled

STATS_PATH = "/_rollout/quotas"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
# SigV4 signing names that are not the boto3 service name
_SIGNING_NAMES = {"monitoring": "cloudwatch", "states": "stepfunctions"}
# rest-json services whose quotas depend on the operation: only these are routed
_ROUTED = {"lambda"}
_FORM = "application/x-www-form-urlencoded"
_BATCH_ENTRY = re.compile(r"^PublishBatchRequestEntries\.member\.\d+\.Id$")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Call:
    """One request, as the quotas see it."""

    account: str
    region: str
    service: str  # boto3 name
    operation: str
    protocol: Protocol
    cost: int = 1  # tokens: SNS counts each message of a PublishBatch


class TokenBucket:
    """`burst` tokens at most (full at first), refilled continuously at `per_second`."""

    def __init__(self, per_second: float, burst: float, now: float) -> None:
        self.per_second = per_second
        self.burst = burst
        self._tokens = burst
        self._at = now

    def take(self, cost: int, now: float) -> bool:
        elapsed = max(0.0, now - self._at)
        self._tokens = min(self.burst, self._tokens + elapsed * self.per_second)
        self._at = max(self._at, now)
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True


@dataclass
class Tally:
    allowed: int = 0
    throttled: int = 0


class Quotas:
    """The buckets and counters of one cloud. `enforced=False` counts without throttling."""

    def __init__(self, enforced: bool = True, clock: Callable[[], float] = time.monotonic):
        self.enforced = enforced
        self.clock = clock  # seconds; tests stop it to hold a bucket empty
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str, str], TokenBucket] = {}
        self._tallies: dict[tuple[str, str, str, str], Tally] = {}

    def admit(self, call: Call) -> bool:
        """Count the call; False when it is to be throttled."""
        quota = quota_for(call.service, call.operation)
        with self._lock:
            allowed = quota is None or not self.enforced or self._take(call, quota)
            tally = self._tallies.setdefault(
                (call.account, call.region, call.service, call.operation), Tally()
            )
            if allowed:
                tally.allowed += 1
            else:
                tally.throttled += 1
        return allowed

    def _take(self, call: Call, quota: Quota) -> bool:
        now = self.clock()
        key = (call.account, call.region, quota.service, quota.bucket)
        if key not in self._buckets:
            rate = quota.in_region(call.region)
            self._buckets[key] = TokenBucket(rate.per_second, rate.burst, now)
        return self._buckets[key].take(call.cost, now)

    def stats(self) -> dict[str, Any]:
        """The counters: per operation, and per (account, Region, quota bucket)."""
        with self._lock:
            tallies = {key: Tally(t.allowed, t.throttled) for key, t in self._tallies.items()}
        operations = []
        buckets: dict[tuple[str, str, str, str], tuple[Quota, Tally]] = {}
        for (account, region, service, operation), tally in sorted(tallies.items()):
            quota = quota_for(service, operation)
            operations.append(
                {
                    "account": account,
                    "region": region,
                    "service": service,
                    "operation": operation,
                    "bucket": quota.bucket if quota else None,
                    "allowed": tally.allowed,
                    "throttled": tally.throttled,
                }
            )
            if quota is not None:
                key = (account, region, quota.service, quota.bucket)
                _, total = buckets.setdefault(key, (quota, Tally()))
                total.allowed += tally.allowed
                total.throttled += tally.throttled
        return {
            "enforced": self.enforced,
            "buckets": [
                _bucket_row(account, region, quota, tally)
                for (account, region, _, _), (quota, tally) in buckets.items()
            ],
            "operations": operations,
        }


def use(stats: dict[str, Any]) -> str:
    """One line from `Quotas.stats()`, for a run's end (make demo, make bench):
    'AWS's API rate quotas enforced: 1234 API calls, 3 throttled (FilterLogEvents 3)'."""
    calls = sum(row["allowed"] + row["throttled"] for row in stats["operations"])
    throttled: dict[str, int] = {}
    for row in stats["operations"]:
        if row["throttled"]:
            name = f"{row['service']} {row['operation']}"
            throttled[name] = throttled.get(name, 0) + row["throttled"]
    which = ", ".join(f"{name} {count}" for name, count in sorted(throttled.items()))
    state = "enforced" if stats["enforced"] else "off (counted only)"
    line = f"AWS's API rate quotas {state}: {calls} API calls, {sum(throttled.values())} throttled"
    return f"{line} ({which})" if which else line


def _bucket_row(account: str, region: str, quota: Quota, tally: Tally) -> dict[str, Any]:
    rate = quota.in_region(region)
    return {
        "account": account,
        "region": region,
        "service": quota.service,
        "bucket": quota.bucket,
        "rate": rate.per_second,
        "burst": rate.burst,
        "allowed": tally.allowed,
        "throttled": tally.throttled,
    }


class QuotaMiddleware:
    """The WSGI app moto's server runs: quotas first, then moto's dispatcher."""

    def __init__(self, app: WsgiApp, quotas: Quotas) -> None:
        self.app = app
        self.quotas = quotas

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == STATS_PATH:
            return _answer(start_response, _stats_reply(self.quotas))
        call = identify(environ)
        if call is not None and not self.quotas.admit(call):
            return _answer(start_response, throttled(call.service, call.protocol))
        return self.app(environ, start_response)


def _stats_reply(quotas: Quotas) -> Reply:
    body = json.dumps(quotas.stats(), indent=1).encode()
    return Reply(200, {"Content-Type": "application/json"}, body)


def _answer(start_response: Callable[..., Any], reply: Reply) -> list[bytes]:
    headers = [*reply.headers.items(), ("Content-Length", str(len(reply.body)))]
    start_response(f"{reply.status} {_REASONS.get(reply.status, '')}".strip(), headers)
    return [reply.body]


_REASONS = {200: "OK", 400: "Bad Request", 429: "Too Many Requests"}


# -- identifying a request ---------------------------------------------------------------


def identify(environ: dict[str, Any]) -> Call | None:
    """(account, Region, service, operation) of a SigV4-signed request. None, uncounted,
    for what no quota applies to: unsigned and SigV2 requests, moto's own API, and the
    rest-protocol services other than Lambda (S3, API Gateway; quota_table.NO_QUOTA)."""
    scope = _credential_scope(environ)
    if scope is None:
        return None
    service = _SIGNING_NAMES.get(scope, scope)
    form = _form(environ)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        # the operation follows the last dot: CloudTrail's target is
        # com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents
        protocol, operation = Protocol.JSON, target.rsplit(".", 1)[1]
    elif "Action" in form:
        protocol, operation = Protocol.QUERY, form["Action"][0]
    elif service in _ROUTED:
        protocol, operation = Protocol.REST_JSON, _routed_operation(service, environ)
    else:
        return None
    if not operation:
        return None
    account, region = _moto_account_and_region(environ, form)
    return Call(account, region, service, operation, protocol, _cost(service, operation, form))


def _credential_scope(environ: dict[str, Any]) -> str | None:
    """The SigV4 signing name, from the Authorization header or a presigned URL."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(3)
    presigned = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    if presigned:
        parts = presigned[0].split("/")
        return parts[3] if len(parts) == 5 else None
    return None


def _form(environ: dict[str, Any]) -> dict[str, list[str]]:
    """A query-protocol request's form body, read and put back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length or not environ.get("CONTENT_TYPE", "").startswith(_FORM):
        return {}
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def _routed_operation(service: str, environ: dict[str, Any]) -> str:
    try:
        operation, _ = get_service_router(service).match(Request(environ))
    except HTTPException:  # no operation at this path: moto answers it, no quota applies
        return ""
    return str(operation.name)


def _moto_account_and_region(
    environ: dict[str, Any], form: dict[str, list[str]]
) -> tuple[str, str]:
    """The account and Region moto will serve this request from, by moto's own code."""
    view = BaseResponse()
    view.headers = EnvironHeaders(environ)
    view.querystring = {**parse_qs(environ.get("QUERY_STRING", "")), **form}
    region = view.get_region_from_url(SimpleNamespace(headers=view.headers), _url(environ))
    return view.get_current_account(), region


def _url(environ: dict[str, Any]) -> str:
    return str(get_current_url(environ))


def _cost(service: str, operation: str, form: dict[str, list[str]]) -> int:
    if service == "sns" and operation == "PublishBatch":
        return max(1, sum(1 for key in form if _BATCH_ENTRY.match(key)))
    return 1


__all__ = ["QUOTAS", "STATS_PATH", "Call", "QuotaMiddleware", "Quotas", "identify", "use"]
