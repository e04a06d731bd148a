"""A function URL's endpoint: a request to `<url-id>.lambda-url.<region>.on.aws` invokes the
qualifier the URL was created on (the function, or an alias through its weights).

AWS behaviour:
- "Invoking Lambda function URLs" (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html):
  the request becomes a payload format 2.0 event (http_events.py) with `requestContext.accountId`
  "anonymous" under AuthType NONE, the caller's account and `authorizer.iam` under AWS_IAM;
  the function's answer becomes the response, inferred as 200 JSON when it names no
  `statusCode`. "If the function URL uses the AWS_IAM auth type, you must sign each HTTP
  request using AWS Signature Version 4 (SigV4)."
- "Control access to Lambda function URLs" (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html):
  AuthType NONE needs the resource-based policy of the URL's qualifier to grant the public
  both `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction` (lambda_permissions.py);
  AWS_IAM needs a SigV4 signature for `lambda` in the URL's Region, and a caller in another
  account the same two grants naming it. A request refused either way is 403 with
  `x-amzn-ErrorType: AccessDeniedException` and the body AWS answers (reported in
  awsdocs/aws-lambda-developer-guide#494): `{"Message":"Forbidden. For troubleshooting
  Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}`.

AWS documents no body for the other failures; these are what it answers, as recorded
against AWS by LocalStack's validated tests (test_lambda_url_non_existing_url,
test_lambda_url_invocation_exception): a URL id that names no URL (here also one whose
function or alias is gone, as deleting either deletes the URL on AWS) is 403
`{"Message":null}` with AccessDeniedException; a function error (an exception, a timeout, a
crash) or an answer that is no 2.0 response is 502 `Internal Server Error`. A throttled
invocation (the function's reserved concurrency) is 429 with TooManyRequestsException and
Lambda's throttle message. Every response carries `x-amzn-RequestId`.

Not emulated: CORS (a URL's `Cors` configuration is stored, but no preflight is answered
and no `Access-Control-*` header added), `InvokeMode` RESPONSE_STREAM (answered as
BUFFERED), the 6 MB request and response payload limits, and the `Url*` CloudWatch metrics.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.exceptions import JsonRESTError
from moto.utilities.arns import parse_arn

from rollout.local.function_urls import FunctionUrls
from rollout.local.http_events import (
    HttpRequest,
    HttpResponse,
    MalformedResponse,
    RequestContext,
    event_v2,
    json_response,
    response_v2,
)
from rollout.local.http_integration import (
    NotInvoked,
    Throttled,
    caller,
    iam_authorizer,
    invoke,
    signature,
)
from rollout.local.lambda_permissions import Principal, url_caller_may_invoke

logger = logging.getLogger(__name__)

SIGNING_NAME = "lambda"
ANONYMOUS = "anonymous"
_DENIED = ("x-amzn-ErrorType", "AccessDeniedException")
FORBIDDEN = {
    "Message": "Forbidden. For troubleshooting Function URL authorization issues, see: "
    "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
}


def domain(url_id: str, region: str) -> str:
    return f"{url_id}.lambda-url.{region}.on.aws"


@dataclass(frozen=True)
class Caller:
    """Who `requestContext` names, once the request is allowed."""

    account_id: str
    authorizer: dict[str, Any] | None = None


class Denied(Exception):
    """The request is refused before the function runs."""

    def __init__(self, response: HttpResponse, why: str = "") -> None:
        super().__init__(why)
        self.response = response
        self.why = why


def no_such_url(why: str = "") -> Denied:
    return Denied(json_response(403, {"Message": None}, _DENIED), why)


def forbidden(why: str) -> Denied:
    return Denied(json_response(403, FORBIDDEN, _DENIED), why)


class FunctionUrlRequests:
    """Answers requests to the function URLs `urls` stores."""

    def __init__(self, urls: FunctionUrls) -> None:
        self._urls = urls

    def respond(self, request: HttpRequest, url_id: str, region: str) -> HttpResponse:
        request_id = str(uuid.uuid4())
        try:
            response = self._respond(request, url_id, region, request_id)
        except Denied as denied:
            if denied.why:
                logger.warning("function URL %s: %s", url_id, denied.why)
            response = denied.response
        return HttpResponse(
            response.status, (*response.headers, ("x-amzn-RequestId", request_id)), response.body
        )

    def _respond(
        self, request: HttpRequest, url_id: str, region: str, request_id: str
    ) -> HttpResponse:
        config = self._urls.find(url_id)
        if config is None or parse_arn(str(config["FunctionArn"])).region != region:
            raise no_such_url()
        function_arn = str(config["FunctionArn"])
        who = _authorize(request, function_arn, str(config["AuthType"]), region)
        context = RequestContext(
            account_id=who.account_id,
            api_id=url_id,
            domain_name=domain(url_id, region),
            authorizer=who.authorizer,
            request_id=request_id,
        )
        try:
            invoked = invoke(function_arn, event_v2(request, context))
        except Throttled as error:
            headers = ("x-amzn-ErrorType", "TooManyRequestsException")
            return json_response(429, {"Message": str(error) or "Rate Exceeded."}, headers)
        except NotInvoked as error:
            raise no_such_url(f"{function_arn}: {error}") from error
        if invoked.errored:
            return _bad_gateway(f"{function_arn} failed (function error)")
        try:
            return response_v2(invoked.payload)
        except MalformedResponse as error:
            return _bad_gateway(f"{function_arn} answered no 2.0 response: {error}")


def _authorize(request: HttpRequest, function_arn: str, auth_type: str, region: str) -> Caller:
    backend = lambda_backends[parse_arn(function_arn).account][region]
    try:
        if auth_type != "AWS_IAM":
            if not url_caller_may_invoke(backend, function_arn, auth_type, Principal()):
                raise forbidden(
                    f"the resource-based policy of {function_arn} doesn't grant the public "
                    "lambda:InvokeFunctionUrl and lambda:InvokeFunction"
                )
            return Caller(ANONYMOUS)
        signed = signature(request.header("authorization"), request.header("x-amz-date"))
        if signed is None or not signed.covers(region, SIGNING_NAME):
            raise forbidden(f"AWS_IAM: no SigV4 signature for {SIGNING_NAME} in {region}")
        who = caller(signed)
        account = parse_arn(function_arn).account
        named = Principal(aws=frozenset({f"arn:aws:iam::{who.account_id}:root", who.arn}))
        if who.account_id != account and not url_caller_may_invoke(
            backend, function_arn, auth_type, named
        ):
            raise forbidden(f"{who.arn} is in another account and the policy doesn't name it")
        return Caller(who.account_id, iam_authorizer(who))
    except JsonRESTError as error:  # the function or alias is gone, and so is its URL
        raise no_such_url(f"{function_arn}: {error.message}") from error


def _bad_gateway(why: str) -> HttpResponse:
    logger.warning("function URL: %s", why)
    return HttpResponse(502, (("Content-Type", "text/plain"),), b"Internal Server Error")
