"""The HTTP API import seam (rollout/local/http_api_imports.py): routes imported from an
OpenAPI definition read back with AWS's route keys (`ANY /path`, `$default`) from GetRoutes
and GetRoute, their integrations with AWS's IntegrationType (`AWS_PROXY`) from
GetIntegrations and GetIntegration. moto alone names the routes
`X-AMAZON-APIGATEWAY-ANY-METHOD …` and keeps the type as written, `aws_proxy`
(test_http_api_imports_moto.py pins it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto.apigatewayv2.models import Api

from rollout.local.cloud import LocalCloud
from rollout.local.http_api_imports import (
    HttpApiImports,
    credentials_arn,
    integration_type,
    route_key,
    timeout_in_millis,
)
from tests.conftest import IsolatedCloud as Cloud
from tests.local.http_api_bodies import ANY_METHOD, BODY, CONFIGURED, GUIDE_DEFAULT, ROLE, operation

pytestmark = pytest.mark.cloud


def test_aws_names_a_route_by_its_method_and_path_or_default() -> None:
    assert route_key(ANY_METHOD, "/items/{id}", operation()) == "ANY /items/{id}"
    assert route_key("get", "/orders", operation()) == "GET /orders"
    assert route_key(ANY_METHOD, "$default", operation(isDefaultRoute=True)) == "$default"
    assert route_key(ANY_METHOD, "/$default", operation(isDefaultRoute=True)) == "$default"


def test_aws_answers_the_integration_type_upper_case() -> None:
    assert integration_type("aws_proxy") == "AWS_PROXY"
    assert integration_type("http_proxy") == "HTTP_PROXY"
    assert integration_type("AWS_PROXY") == "AWS_PROXY"  # as CreateIntegration is given it
    assert integration_type(None) is None


def test_the_timeout_and_role_an_integration_object_gives() -> None:
    assert timeout_in_millis({"timeoutInMillis": 5000}) == 5000
    assert timeout_in_millis({}) is None  # moto's default stands: AWS's, 30000
    assert timeout_in_millis({"timeoutInMillis": True}) is None
    assert credentials_arn({"credentials": ROLE}) == ROLE
    assert credentials_arn({}) is None


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


def integration_types(gateway: Any, api_id: str) -> list[str]:
    return [i["IntegrationType"] for i in gateway.get_integrations(ApiId=api_id)["Items"]]


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


def test_imported_integrations_read_back_as_aws_answers_them(cloud: LocalCloud) -> None:
    gateway, api_id = imported(cloud, BODY)
    assert integration_types(gateway, api_id) == ["AWS_PROXY"] * 3
    for route in gateway.get_routes(ApiId=api_id)["Items"]:
        integration_id = route["Target"].removeprefix("integrations/")
        fetched = gateway.get_integration(ApiId=api_id, IntegrationId=integration_id)
        assert fetched["IntegrationType"] == "AWS_PROXY"
        # the rest as the AWS CLI's get-integrations example answers them
        assert (fetched["ConnectionType"], fetched["IntegrationMethod"]) == ("INTERNET", "POST")
        assert (fetched["PayloadFormatVersion"], fetched["TimeoutInMillis"]) == ("2.0", 30000)


def test_an_imported_integrations_timeout_and_role_read_back(cloud: LocalCloud) -> None:
    gateway, api_id = imported(cloud, CONFIGURED)
    answered = {}
    for route in gateway.get_routes(ApiId=api_id)["Items"]:
        integration_id = route["Target"].removeprefix("integrations/")
        fetched = gateway.get_integration(ApiId=api_id, IntegrationId=integration_id)
        answered[route["RouteKey"]] = (fetched["TimeoutInMillis"], fetched.get("CredentialsArn"))
    assert answered == {"GET /slow": (5000, ROLE), "GET /fast": (30000, None)}


def test_uninstall_restores_moto(cloud: LocalCloud) -> None:
    seam = cloud.seam(HttpApiImports)
    patched = Api.import_api
    seam.uninstall()
    try:
        assert Api.import_api is not patched
        gateway, api_id = imported(cloud, BODY)
        assert "X-AMAZON-APIGATEWAY-ANY-METHOD $default" in route_keys(gateway, api_id)
        assert integration_types(gateway, api_id) == ["aws_proxy"] * 3
        gateway, api_id = imported(cloud, CONFIGURED)
        integrations = gateway.get_integrations(ApiId=api_id)["Items"]
        assert [i["TimeoutInMillis"] for i in integrations] == [30000, 30000]
        assert not any("CredentialsArn" in i for i in integrations)
    finally:
        seam.install(cloud)
