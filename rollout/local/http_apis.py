"""An HTTP API's endpoint (API Gateway v2, what SAM's `HttpApi` deploys): a request to
`<api-id>.execute-api.<region>.amazonaws.com` reaches a stage and a route
(http_api_routes.py), and the route's Lambda proxy integration invokes its function.

AWS behaviour:
- "Create AWS Lambda proxy integrations for HTTP APIs"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
  the integration's `payloadFormatVersion` (1.0 or 2.0; "If you create a Lambda integration
  by using the AWS CLI, CloudFormation, or an SDK, you must specify a payloadFormatVersion")
  decides the event and how the answer is read (http_events.py). Its URI is the function's
  ARN or `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION/invocations`;
  FUNCTION may be an alias ARN, which every request then invokes through its weights.
- Permission ("Control access to HTTP APIs with IAM"; "Troubleshooting issues with HTTP API
  Lambda integrations", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html):
  without an integration `CredentialsArn`, the function's resource-based policy (of the
  qualifier the URI names) must let `apigateway.amazonaws.com` invoke it, with the
  request's source ARN `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH` (for the
  `$default` route `API/STAGE/$default`, the form SAM's permissions are written for); else
  the API answers 500 `{"message":"Internal Server Error"}`, as for a function error, a
  throttled invocation or a malformed answer. An integration that runs past its timeout
  (`TimeoutInMillis`, at most 30 s for HTTP APIs) answers 503 `{"message":"Service
  Unavailable"}` (the function runs on). No route: 404 `{"message":"Not Found"}`. An API
  that doesn't exist, or whose `DisableExecuteApiEndpoint` is true: 403
  `{"message":"Forbidden"}`.
- Authorization ("Control access to HTTP APIs with IAM authorization"): a route with
  `AuthorizationType` AWS_IAM needs a request signed with SigV4 for `execute-api` in the
  API's Region (http_integration.py says what is checked); unsigned, 403
  `{"message":"Forbidden"}`. JWT and Lambda (CUSTOM) authorizers are not emulated: such a
  route answers every request 401 `{"message":"Unauthorized"}` and the cloud logs why.

Served: Lambda proxy (`AWS_PROXY`) integrations on stages with AutoDeploy (SAM's `$default`
stage has it). "You must deploy an API for changes to take effect. If you enable automatic
deployments, changes to an API are automatically released for you" ("Stages for HTTP APIs
in API Gateway"); moto 5.2.5 has no CreateDeployment for HTTP APIs, so a stage without
AutoDeploy has nothing deployed and answers 404. Every response carries `apigw-requestid`.
Not emulated: CORS configuration, throttling settings, access logs, custom domain names,
HTTP (non-Lambda) integrations (500, logged).

moto internals read (pinned by tests/local/test_front_door_moto.py):
`moto.apigatewayv2.models.apigatewayv2_backends[account][region].apis` → `Api` with
`api_id`, `protocol_type`, `disable_execute_api_endpoint`, `routes` (`Route.route_key`, as
AWS spells it once http_api_imports.py has renamed an import's routes; `route_id`,
`target` "integrations/ID", `authorization_type`), `integrations`
(`Integration.integration_type`, `integration_uri`, `payload_format_version`,
`credentials_arn`, `timeout_in_millis`), `stages` (`Stage.name`, `auto_deploy`,
`stage_variables`); `backend.account_id`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.apigatewayv2.models import Api, Integration, Route, apigatewayv2_backends
from moto.awslambda.models import lambda_backends
from moto.core.exceptions import JsonRESTError
from moto.utilities.arns import parse_arn

from rollout.local.http_api_routes import Matched, RouteKey, select, split_stage
from rollout.local.http_events import (
    HttpRequest,
    HttpResponse,
    MalformedResponse,
    RequestContext,
    event_v1,
    event_v2,
    json_response,
    response_v1,
    response_v2,
)
from rollout.local.http_integration import (
    Invoked,
    NotInvoked,
    Throttled,
    caller,
    iam_authorizer,
    invoke,
    signature,
)
from rollout.local.lambda_permissions import service_may_invoke

logger = logging.getLogger(__name__)

MAX_TIMEOUT_MS = 30_000  # "Integration timeout: 30 seconds" (HTTP API quotas)
SIGNING_NAME = "execute-api"
FORMATS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[[bytes], HttpResponse]]] = {
    "2.0": (event_v2, response_v2),
    "1.0": (event_v1, response_v1),
}


class Refused(Exception):
    """The request ends here with API Gateway's own answer; `why` goes to the cloud's log
    (where AWS would put `$context.integrationErrorMessage`)."""

    def __init__(self, status: int, message: str, why: str = "") -> None:
        super().__init__(why or message)
        self.status = status
        self.message = message
        self.why = why


NOT_FOUND = (404, "Not Found")
FORBIDDEN = (403, "Forbidden")
UNAUTHORIZED = (401, "Unauthorized")
INTERNAL = (500, "Internal Server Error")
UNAVAILABLE = (503, "Service Unavailable")


@dataclass(frozen=True)
class Reached:
    """The API, stage and route a request reached."""

    api: Api
    stage: str
    route: Route
    matched: Matched


def domain(api_id: str, region: str) -> str:
    return f"{api_id}.execute-api.{region}.amazonaws.com"


class HttpApiRequests:
    """Answers requests to HTTP APIs' execute-api endpoints."""

    def respond(self, request: HttpRequest, api_id: str, region: str) -> HttpResponse:
        request_id = str(uuid.uuid4())
        try:
            response = self._respond(request, api_id, region, request_id)
        except Refused as refused:
            if refused.why:
                logger.warning("HTTP API %s: %s", api_id, refused.why)
            response = json_response(refused.status, {"message": refused.message})
        return HttpResponse(
            response.status, (*response.headers, ("apigw-requestid", request_id)), response.body
        )

    def _respond(
        self, request: HttpRequest, api_id: str, region: str, request_id: str
    ) -> HttpResponse:
        reached = _reach(request, api_id, region)
        integration = _integration(reached)
        context = RequestContext(
            account_id=str(reached.api.backend.account_id),
            api_id=api_id,
            domain_name=domain(api_id, region),
            route_key=reached.matched.key.text,
            stage=reached.stage,
            resource_path=reached.matched.key.path or reached.matched.key.text,
            route_id=str(reached.route.route_id),
            path_parameters=reached.matched.path_parameters,
            stage_variables=dict(reached.api.stages[reached.stage].stage_variables or {}),
            authorizer=_authorize(request, reached.route, region),
            request_id=request_id,
        )
        function_arn = function_in(str(integration.integration_uri or ""))
        _check_permission(integration, function_arn, _source_arn(request, reached, region))
        build, read = _format(integration)
        invoked = _invoke_within(function_arn, build(request, context), _timeout_ms(integration))
        if invoked.errored:
            raise Refused(*INTERNAL, f"{function_arn} failed (function error)")
        try:
            return read(invoked.payload)
        except MalformedResponse as error:
            raise Refused(*INTERNAL, f"malformed Lambda proxy response: {error}") from error


def _reach(request: HttpRequest, api_id: str, region: str) -> Reached:
    api = find_api(api_id, region)
    if api is None or api.protocol_type != "HTTP" or api.disable_execute_api_endpoint is True:
        raise Refused(*FORBIDDEN)
    served = [name for name, stage in list(api.stages.items()) if stage.auto_deploy is True]
    staged = split_stage(request.raw_path, served)
    if staged is None:
        raise Refused(*NOT_FOUND)
    stage, path = staged
    routes = {RouteKey.parse(str(route.route_key)): route for route in list(api.routes.values())}
    matched = select(routes, request.method, path)
    if matched is None:
        raise Refused(*NOT_FOUND)
    return Reached(api, stage, routes[matched.key], matched)


def find_api(api_id: str, region: str) -> Api | None:
    """The HTTP API with this id in `region`, in whichever account holds it."""
    for account in list(apigatewayv2_backends.keys()):
        regional = apigatewayv2_backends[account]
        if region in dict.keys(regional):
            api = regional[region].apis.get(api_id)
            if api is not None:
                return api
    return None


def _authorize(request: HttpRequest, route: Route, region: str) -> dict[str, Any] | None:
    kind = str(route.authorization_type or "NONE").upper()
    if kind == "NONE":
        return None
    if kind == "AWS_IAM":
        signed = signature(request.header("authorization"), request.header("x-amz-date"))
        if signed is None or not signed.covers(region, SIGNING_NAME):
            raise Refused(*FORBIDDEN)
        return iam_authorizer(caller(signed))
    raise Refused(*UNAUTHORIZED, f"{kind} authorizers are not emulated by the local cloud")


def _integration(reached: Reached) -> Integration:
    target = str(reached.route.target or "")
    integration = reached.api.integrations.get(target.removeprefix("integrations/"))
    route = reached.matched.key.text
    if integration is None:
        raise Refused(*INTERNAL, f"route {route} has no integration")
    if str(integration.integration_type or "").upper() != "AWS_PROXY":
        raise Refused(
            *INTERNAL,
            f"route {route}: only Lambda proxy (AWS_PROXY) integrations are served locally",
        )
    return integration


def function_in(uri: str) -> str:
    """`arn:aws:apigateway:R:lambda:path/2015-03-31/functions/FUNCTION/invocations` →
    FUNCTION; an HTTP API's integration may name the function ARN itself."""
    if "/functions/" in uri:
        return uri.split("/functions/", 1)[1].rsplit("/invocations", 1)[0]
    return uri


def _source_arn(request: HttpRequest, reached: Reached, region: str) -> str:
    api, stage, key = reached.api, reached.stage, reached.matched.key
    base = f"arn:aws:execute-api:{region}:{api.backend.account_id}:{api.api_id}/{stage}"
    if key.is_default:
        return f"{base}/$default"
    staged = split_stage(request.raw_path, [stage])
    path = staged[1] if staged else request.raw_path
    return f"{base}/{request.method}{path}"


def _check_permission(integration: Integration, function_arn: str, source_arn: str) -> None:
    if integration.credentials_arn:
        return  # API Gateway invokes with that role; identity policies are not evaluated
    try:
        arn = parse_arn(function_arn)
    except (IndexError, ValueError) as error:
        raise Refused(*INTERNAL, f"integration URI names no function: {function_arn}") from error
    backend = lambda_backends[arn.account][arn.region]
    account = source_arn.split(":")[4]
    try:
        allowed = service_may_invoke(backend, function_arn, "apigateway", source_arn, account)
    except JsonRESTError as error:  # the function or qualifier doesn't exist
        raise Refused(*INTERNAL, f"{function_arn}: {error.message}") from error
    if not allowed:
        raise Refused(
            *INTERNAL,
            f"the resource-based policy of {function_arn} doesn't let apigateway.amazonaws.com "
            f"invoke it from {source_arn}",
        )


def _format(
    integration: Integration,
) -> tuple[Callable[..., dict[str, Any]], Callable[[bytes], HttpResponse]]:
    version = str(integration.payload_format_version or "")
    if version not in FORMATS:
        raise Refused(*INTERNAL, f"payloadFormatVersion {version or 'missing'}: 1.0 or 2.0")
    return FORMATS[version]


def _timeout_ms(integration: Integration) -> int:
    return min(int(integration.timeout_in_millis or MAX_TIMEOUT_MS), MAX_TIMEOUT_MS)


def _invoke_within(function_arn: str, event: dict[str, Any], timeout_ms: int) -> Invoked:
    """Invoke, but answer at the integration timeout as API Gateway does."""
    outcome: list[Invoked | Exception] = []

    def run() -> None:
        try:
            outcome.append(invoke(function_arn, event))
        except Exception as error:  # handed to the request's thread below
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True, name="http-api-integration")
    worker.start()
    worker.join(timeout_ms / 1000)
    if not outcome:
        raise Refused(*UNAVAILABLE, f"{function_arn} ran past the {timeout_ms} ms timeout")
    result = outcome[0]
    if isinstance(result, Throttled):
        raise Refused(*INTERNAL, f"{function_arn} was throttled: {result}")
    if isinstance(result, NotInvoked):
        raise Refused(*INTERNAL, f"{function_arn} was not invoked: {result}")
    if isinstance(result, Exception):
        raise result
    return result
