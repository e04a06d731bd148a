"""moto 5.2.5's OpenAPI import as the HTTP API import seam (rollout/local/http_api_imports.py)
finds it. A module of its own: this test runs with no cloud, test_http_api_imports.py's
hold a cloud with the seam for the whole module."""

from __future__ import annotations

import inspect
import json

import pytest
from moto.apigatewayv2.models import Api

from rollout.local.http_api_imports import moto_route_key
from tests.local.http_api_bodies import (
    ANY_METHOD,
    BODY,
    CONFIGURED,
    GUIDE_DEFAULT,
    moto_http_api,
)

pytestmark = pytest.mark.cloud


@pytest.mark.usefixtures("no_cloud")  # moto as it is: no seam installed
def test_contract_with_moto_internals() -> None:
    assert list(inspect.signature(Api.import_api).parameters) == [
        "self",
        "body_str",
        "fail_on_warnings",
    ]
    source = inspect.getsource(Api.import_api)
    assert "self.clear()" in source and "yaml.safe_load(body_str)" in source
    assert "self.integrations.clear()" in inspect.getsource(Api.clear)
    _, api = moto_http_api()
    api.import_api(json.dumps(BODY), fail_on_warnings=False)
    keys = {route.route_key for route in api.routes.values()}
    # moto names each route from the document, upper-cased, and ignores isDefaultRoute
    assert keys == {
        "X-AMAZON-APIGATEWAY-ANY-METHOD /items/{id}",
        "GET /orders",
        "X-AMAZON-APIGATEWAY-ANY-METHOD $default",
    }
    assert keys == {moto_route_key(ANY_METHOD, "/items/{id}"), moto_route_key("get", "/orders"),
                    moto_route_key(ANY_METHOD, "$default")}  # fmt: skip
    route = next(iter(api.routes.values()))
    assert "route_key" in vars(route)  # a plain attribute the seam may rename
    # one integration an operation, its type kept as written
    integrations = list(api.integrations.values())
    assert len(integrations) == len(api.routes)
    assert {i.integration_type for i in integrations} == {"aws_proxy"}
    assert "integration_type" in vars(integrations[0])  # a plain attribute the seam may set
    api.import_api(json.dumps(GUIDE_DEFAULT), fail_on_warnings=False)  # replaces every route
    assert [r.route_key for r in api.routes.values()] == [f"{ANY_METHOD.upper()} /$default"]
    api.import_api(json.dumps(CONFIGURED), fail_on_warnings=False)
    for route in api.routes.values():  # each route targets its own integration
        integration = api.integrations[route.target.removeprefix("integrations/")]
        # timeoutInMillis and credentials dropped: the default timeout, no role
        assert (integration.timeout_in_millis, integration.credentials_arn) == (30000, None)
        assert {"timeout_in_millis", "credentials_arn"} <= set(vars(integration))
    assert len({route.target for route in api.routes.values()}) == len(api.integrations) == 2
