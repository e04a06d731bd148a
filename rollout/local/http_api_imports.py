"""HTTP API import seam: what moto's OpenAPI import gets wrong, set as AWS answers it. The
routes an OpenAPI definition imports get AWS's route keys, so GetRoutes, GetRoute and the
front door all read `ANY /path` and `$default`; its integrations get AWS's IntegrationType
(`AWS_PROXY`), so GetIntegrations and GetIntegration read what AWS answers.

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
  (`aws_proxy`, `http_proxy`, …; SAM's HttpApi events write `aws_proxy`); "The result is
  an API Gateway integration object."
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
each integration's `type` as written (`aws_proxy`), where AWS answers it upper-case;
CreateIntegration keeps the type it was given, as moto already does.

moto internals (pinned by tests/local/test_http_api_imports_moto.py): replaced
`moto.apigatewayv2.models.Api.import_api(self, body_str, fail_on_warnings)` (moto's own
runs, then each integration and route it made is corrected); read and written `Api.routes`
(`Route.route_key`) and `Api.integrations` (`Integration.integration_type`), relying on
`import_api` clearing the API's routes and integrations first, naming routes as above and
storing `type` as written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import yaml
from moto.apigatewayv2.models import Api

from rollout.local.http_api_routes import ANY, DEFAULT
from rollout.local.patching import Patches
from rollout.local.seam import Cloud

ANY_METHOD = "x-amazon-apigateway-any-method"


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


def aws_route_keys(document: Any) -> dict[str, str]:
    """{moto's route key: AWS's} for every operation of an OpenAPI document."""
    paths = document.get("paths") if isinstance(document, dict) else None
    renamed: dict[str, str] = {}
    for path, item in (paths or {}).items():
        if isinstance(item, dict):
            for method, operation in item.items():
                renamed[moto_route_key(method, path)] = route_key(method, path, operation)
    return renamed


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
        _integrations_as_aws(api)
        _routes_as_aws(api, yaml.safe_load(body_str))  # parsed as moto parses it

    return import_api


def _integrations_as_aws(api: Api) -> None:
    for integration in list(api.integrations.values()):
        integration.integration_type = integration_type(integration.integration_type)


def _routes_as_aws(api: Api, document: Any) -> None:
    renamed = aws_route_keys(document)
    for route in list(api.routes.values()):
        route.route_key = renamed.get(route.route_key, route.route_key)
