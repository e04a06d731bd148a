"""The HTTP API import seam (rollout/local/http_api_imports.py): routes imported from an
OpenAPI definition read back with AWS's route keys (`ANY /path`, `$default`) from GetRoutes
and GetRoute. moto alone names them `X-AMAZON-APIGATEWAY-ANY-METHOD …`."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from moto.apigatewayv2.models import Api, ApiGatewayV2Backend

from rollout.local.cloud import LocalCloud
from rollout.local.http_api_imports import HttpApiImports, moto_route_key, route_key

pytestmark = pytest.mark.cloud

Cloud = Callable[..., AbstractContextManager[LocalCloud]]
ACCOUNT, REGION = "123456789012", "us-east-1"
ANY_METHOD = "x-amazon-apigateway-any-method"


def operation(**extra: Any) -> dict[str, Any]:
    """An operation as SAM's HttpApi events write it."""
    integration = {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0"}
    return {
        "x-amazon-apigateway-integration": {**integration, "uri": "arn:fn"},
        "responses": {},
        **extra,
    }


# What SAM's transform writes for `Method: ANY, Path: /items/{id}`, `Method: GET, Path:
# /orders` and an HttpApi event with neither ($default); the guide's own `/$default` form.
BODY = {
    "openapi": "3.0.1",
    "info": {"title": "imports", "version": "1.0"},
    "paths": {
        "/items/{id}": {ANY_METHOD: operation()},
        "/orders": {"get": operation()},
        "$default": {ANY_METHOD: operation(isDefaultRoute=True)},
    },
}
GUIDE_DEFAULT = {**BODY, "paths": {"/$default": {ANY_METHOD: operation(isDefaultRoute=True)}}}


@pytest.mark.usefixtures("no_cloud")  # moto as it is: no seam installed
def test_contract_with_moto_internals() -> None:
    assert list(inspect.signature(Api.import_api).parameters) == [
        "self",
        "body_str",
        "fail_on_warnings",
    ]
    source = inspect.getsource(Api.import_api)
    assert "self.clear()" in source and "yaml.safe_load(body_str)" in source
    backend = ApiGatewayV2Backend(REGION, ACCOUNT)
    api = backend.create_api(
        api_key_selection_expression="",
        cors_configuration=None,  # type: ignore[arg-type]
        description="",
        disable_schema_validation="",
        disable_execute_api_endpoint=None,  # type: ignore[arg-type]
        name="pinned",
        protocol_type="HTTP",
        route_selection_expression="",
        tags={},
        version="",
    )
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
    api.import_api(json.dumps(GUIDE_DEFAULT), fail_on_warnings=False)  # replaces every route
    assert [r.route_key for r in api.routes.values()] == [f"{ANY_METHOD.upper()} /$default"]


def test_aws_names_a_route_by_its_method_and_path_or_default() -> None:
    assert route_key(ANY_METHOD, "/items/{id}", operation()) == "ANY /items/{id}"
    assert route_key("get", "/orders", operation()) == "GET /orders"
    assert route_key(ANY_METHOD, "$default", operation(isDefaultRoute=True)) == "$default"
    assert route_key(ANY_METHOD, "/$default", operation(isDefaultRoute=True)) == "$default"


@pytest.fixture(scope="module")
def cloud(isolated_cloud: Cloud) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[HttpApiImports]) as started:
        yield started


def imported(cloud: LocalCloud, body: dict[str, Any]) -> tuple[Any, str]:
    gateway = cloud.client("apigatewayv2")
    api_id = gateway.create_api(Name="imports", ProtocolType="HTTP")["ApiId"]
    gateway.reimport_api(ApiId=api_id, Body=json.dumps(body))
    return gateway, api_id


def route_keys(gateway: Any, api_id: str) -> set[str]:
    return {route["RouteKey"] for route in gateway.get_routes(ApiId=api_id)["Items"]}


def test_imported_routes_read_back_as_aws_names_them(cloud: LocalCloud) -> None:
    gateway, api_id = imported(cloud, BODY)
    assert route_keys(gateway, api_id) == {"ANY /items/{id}", "GET /orders", "$default"}
    for route in gateway.get_routes(ApiId=api_id)["Items"]:
        fetched = gateway.get_route(ApiId=api_id, RouteId=route["RouteId"])
        assert fetched["RouteKey"] == route["RouteKey"]
    created = gateway.create_route(ApiId=api_id, RouteKey="ANY /extra", Target=route["Target"])
    assert created["RouteKey"] == "ANY /extra"  # CreateRoute keeps the key it was given
    gateway.reimport_api(ApiId=api_id, Body=json.dumps(GUIDE_DEFAULT))  # replaces them all
    assert route_keys(gateway, api_id) == {"$default"}


def test_uninstall_restores_moto(cloud: LocalCloud) -> None:
    seam = cloud.seam(HttpApiImports)
    patched = Api.import_api
    seam.uninstall()
    try:
        assert Api.import_api is not patched
        gateway, api_id = imported(cloud, BODY)
        assert "X-AMAZON-APIGATEWAY-ANY-METHOD $default" in route_keys(gateway, api_id)
    finally:
        seam.install(cloud)
