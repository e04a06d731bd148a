"""HTTP API import seam: what moto's OpenAPI import gets wrong, set as AWS answers it. The
routes an OpenAPI definition imports get AWS's route keys, so GetRoutes, GetRoute and the
front door all read `ANY /path` and `$default`; its integrations get AWS's IntegrationType
(`AWS_PROXY`) and the timeout and role the definition gives, so GetIntegrations,
GetIntegration and the front door read what AWS answers.

AWS behaviour:
- "x-amazon-apigateway-any-method object"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-any-method.html):
  it "Specifies the OpenAPI Operation Object for the API Gateway catch-all `ANY` method";
  its `isDefaultRoute` (Boolean) "Specifies whether a route is the $default route.
  Supported only for HTTP APIs." The guide's example puts it under the path `/$default`;
  SAM's HttpApi events write it under `$default` (or `/$default` with FailOnWarnings),
  always with `isDefaultRoute: true`.
- "Create routes for HTTP APIs in API Gateway"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html):
  a route key is an HTTP method and a resource path (`GET /pets`), or `ANY` "to match all
  methods that you haven't defined for a resource", or `$default`. The AWS CLI's own
  examples (`aws apigatewayv2 get-routes`, `get-route`) show `"RouteKey": "ANY /admin"` and
  `"RouteKey": "$default"`.
- "x-amazon-apigateway-integration object"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html):
  its `type` is "The type of integration with the specified backend", written lower-case
  (`aws_proxy`, `http_proxy`, …; SAM's HttpApi events write `aws_proxy`); its
  `timeoutInMillis` (integer) the integration's timeout (SAM writes an event's
  `TimeoutInMillis` there); its `credentials` "the ARN of an appropriate IAM role. If
  unspecified, credentials default to resource-based permissions". "The result is an API
  Gateway integration object": the V2 Integration's `timeoutInMillis` ("between 50 and
  30,000 milliseconds for HTTP APIs. The default timeout is … 30 seconds for HTTP APIs")
  and `credentialsArn`.
- "Choose an API Gateway API integration type"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-integration-types.html):
  "For the Lambda proxy integration, the value is AWS_PROXY"; the API Gateway V2 reference's
  Integration (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-integrations-integrationid.html)
  has `integrationType` one of `AWS | HTTP | MOCK | HTTP_PROXY | AWS_PROXY`, and the AWS
  CLI's own example (`aws apigatewayv2 get-integrations`,
  https://docs.aws.amazon.com/cli/latest/reference/apigatewayv2/get-integrations.html)
  answers `"IntegrationType": "AWS_PROXY"` with `"ConnectionType": "INTERNET"`,
  `"IntegrationMethod": "POST"`, `"PayloadFormatVersion": "2.0"`, `"TimeoutInMillis": 30000`.

moto 5.2.5's import (ReimportApi; it has no ImportApi) names every route
`f"{method.upper()} {path}"` from the OpenAPI document and ignores `isDefaultRoute`:
`X-AMAZON-APIGATEWAY-ANY-METHOD /items/{id}` and `X-AMAZON-APIGATEWAY-ANY-METHOD $default`.
Users would see that spelling through the AWS CLI, and the traffic report (GetRoutes) too.
Routes made by CreateRoute keep the key they were given, as moto already does. It stores
each integration's `type` as written (`aws_proxy`), where AWS answers it upper-case, and
drops `timeoutInMillis` (answering the default, 30000) and `credentials` (answering none,
so the front door would ask the function's policy instead of using the role);
CreateIntegration keeps what it was given, as moto already does.

Not corrected: the import's checks (a type HTTP APIs don't support, `aws`, `http` or `mock`,
"Supported only for WebSocket APIs"; a timeout outside 50 to 30,000 ms) are not made;
integrations given as `$ref`s to `x-amazon-apigateway-integrations` components come out of
moto with no type or URI; `connectionType`/`connectionId` (always `INTERNET`),
`integrationSubtype`, `requestParameters`, `responseParameters` and `tlsConfig` are dropped.

moto internals (pinned by tests/local/test_http_api_imports_moto.py): replaced
`moto.apigatewayv2.models.Api.import_api(self, body_str, fail_on_warnings)` (moto's own
runs, then each integration and route it made is corrected); read and written `Api.routes`
(`Route.route_key`, `Route.target` "integrations/ID") and `Api.integrations`
(`Integration.integration_type`, `timeout_in_millis`, `credentials_arn`), relying on
`import_api` clearing the API's routes and integrations first, making one integration and
one route for each operation, naming routes as above, storing `type` as written and
dropping `timeoutInMillis` and `credentials`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import yaml
from moto.apigatewayv2.models import Api, Integration

from rollout.local.http_api_routes import ANY, DEFAULT
from rollout.local.patching import Patches
from rollout.local.seam import Cloud

ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION = "x-amazon-apigateway-integration"


def route_key(method: str, path: str, operation: Any) -> str:
    """AWS's route key for the operation `method` of `path` in an OpenAPI document."""
    if method.lower() != ANY_METHOD:
        return f"{method.upper()} {path}"
    if isinstance(operation, dict) and operation.get("isDefaultRoute") is True:
        return DEFAULT
    return f"{ANY} {path}"


def moto_route_key(method: str, path: str) -> str:
    """What moto 5.2.5's import names the same route."""
    return f"{method.upper()} {path}"


def integration_type(written: Any) -> Any:
    """AWS's IntegrationType for the `type` an x-amazon-apigateway-integration object
    gives: `aws_proxy` → `AWS_PROXY`."""
    return written.upper() if isinstance(written, str) else written


def timeout_in_millis(written: dict[str, Any]) -> int | None:
    """The `timeoutInMillis` an x-amazon-apigateway-integration object gives, if any."""
    value = written.get("timeoutInMillis")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def credentials_arn(written: dict[str, Any]) -> str | None:
    """The role ARN (`credentials`) an x-amazon-apigateway-integration object gives, if any."""
    value = written.get("credentials")
    return value if isinstance(value, str) and value else None


def operations(document: Any) -> Iterator[tuple[str, str, Any]]:
    """(method, path, operation) for every operation of an OpenAPI document."""
    paths = document.get("paths") if isinstance(document, dict) else None
    for path, item in (paths or {}).items():
        if isinstance(item, dict):
            for method, operation in item.items():
                yield method, path, operation


def aws_route_keys(document: Any) -> dict[str, str]:
    """{moto's route key: AWS's} for every operation of an OpenAPI document."""
    return {moto_route_key(m, p): route_key(m, p, op) for m, p, op in operations(document)}


def written_integrations(document: Any) -> dict[str, dict[str, Any]]:
    """{moto's route key: the operation's x-amazon-apigateway-integration object}."""
    written: dict[str, dict[str, Any]] = {}
    for method, path, operation in operations(document):
        extension = operation.get(INTEGRATION) if isinstance(operation, dict) else None
        if isinstance(extension, dict):
            written[moto_route_key(method, path)] = extension
    return written


class HttpApiImports:
    """The seam: an import's routes and integrations as AWS answers them."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        self._patches.replace(Api, "import_api", _correcting(Api.import_api))

    def uninstall(self) -> None:
        self._patches.undo()


def _correcting(original: Callable[[Api, str, bool], None]) -> Callable[[Api, str, bool], None]:
    @functools.wraps(original)
    def import_api(api: Api, body_str: str, fail_on_warnings: bool) -> None:
        original(api, body_str, fail_on_warnings)  # clears the API, then makes everything anew
        document = yaml.safe_load(body_str)  # parsed as moto parses it
        _integrations_as_aws(api, document)  # found through moto's route keys: first
        _routes_as_aws(api, document)

    return import_api


def _integrations_as_aws(api: Api, document: Any) -> None:
    written = written_integrations(document)
    for route in list(api.routes.values()):
        integration = api.integrations.get(str(route.target or "").removeprefix("integrations/"))
        if integration is not None:
            _as_aws(integration, written.get(route.route_key, {}))


def _as_aws(integration: Integration, written: dict[str, Any]) -> None:
    integration.integration_type = integration_type(integration.integration_type)
    integration.timeout_in_millis = timeout_in_millis(written) or integration.timeout_in_millis
    integration.credentials_arn = credentials_arn(written) or integration.credentials_arn


def _routes_as_aws(api: Api, document: Any) -> None:
    renamed = aws_route_keys(document)
    for route in list(api.routes.values()):
        route.route_key = renamed.get(route.route_key, route.route_key)
