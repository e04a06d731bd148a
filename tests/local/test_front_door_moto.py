"""moto 5.2.5 as the front door (rollout/local/front_door.py) finds it: the internals it
reads, and that moto alone serves neither a function URL nor an HTTP API. A module of its
own: these tests run with no cloud or a bare one, test_front_door.py's hold a cloud with
the seam for the whole module."""

from __future__ import annotations

import inspect
import json

import pytest
from moto.apigatewayv2 import models as gateway_models
from moto.apigatewayv2.models import Api, ApiGatewayV2Backend, Integration, Route, Stage
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from rollout.local.function_urls import FunctionUrls
from rollout.samples import code_zip, lambda_role
from tests.conftest import IsolatedCloud as Cloud
from tests.local.front_door_client import HANDLER, host_of, send
from tests.local.http_api_bodies import ACCOUNT, moto_http_api

pytestmark = pytest.mark.cloud


@pytest.mark.usefixtures("no_cloud")  # moto as it is: no seam installed
def test_contract_with_moto_internals() -> None:
    assert list(inspect.signature(DomainDispatcherApplication.get_application).parameters) == [
        "self",
        "environ",
    ]
    backend, api = moto_http_api()
    assert isinstance(backend.apis, dict) and backend.apis[api.api_id] is api
    assert gateway_models.apigatewayv2_backends.backend is ApiGatewayV2Backend
    assert (api.protocol_type, api.disable_execute_api_endpoint) == ("HTTP", False)
    assert api.backend.account_id == ACCOUNT
    body = {
        "openapi": "3.0.1",
        "info": {"title": "pinned", "version": "1"},
        "paths": {
            "/items/{id}": {"x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": {
                "type": "aws_proxy", "payloadFormatVersion": "1.0", "uri": "arn:fn"}}},
            "$default": {"x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": {
                "type": "aws_proxy", "payloadFormatVersion": "2.0", "uri": "arn:fn"}}},
        },
    }  # fmt: skip
    api.import_api(json.dumps(body), fail_on_warnings=False)
    routes: list[Route] = list(api.routes.values())
    # moto still spells ANY and $default as the OpenAPI document does (http_api_imports.py)
    assert {route.route_key for route in routes} == {
        "X-AMAZON-APIGATEWAY-ANY-METHOD /items/{id}",
        "X-AMAZON-APIGATEWAY-ANY-METHOD $default",
    }
    route = routes[0]
    assert route.target.startswith("integrations/") and route.authorization_type is None
    integration: Integration = api.integrations[route.target.removeprefix("integrations/")]
    assert integration.integration_type == "aws_proxy"  # AWS stores AWS_PROXY
    assert (integration.integration_uri, integration.credentials_arn) == ("arn:fn", None)
    assert integration.payload_format_version in ("1.0", "2.0")
    assert integration.timeout_in_millis == 30000
    stage: Stage = api.create_stage({"stageName": "$default", "autoDeploy": True})
    assert (stage.name, stage.auto_deploy, stage.stage_variables) == ("$default", True, {})
    assert isinstance(api, Api) and not hasattr(backend, "create_deployment")


def test_moto_alone_serves_neither_a_function_url_nor_an_http_api(isolated_cloud: Cloud) -> None:
    with isolated_cloud(seams=[FunctionUrls]) as bare:
        lam = bare.client("lambda")
        lam.create_function(
            FunctionName="bare",
            Runtime="python3.11",
            Role=lambda_role(bare.client("iam"), "front-door"),
            Handler="app.handler",
            Code={"ZipFile": code_zip({"app.py": HANDLER})},
        )
        url = lam.create_function_url_config(FunctionName="bare", AuthType="NONE")
        answer = send(bare, host_of(url["FunctionUrl"]))
        assert answer.status == 404 and b"NoSuchBucket" in answer.body  # served as S3
        api = bare.client("apigatewayv2").create_api(Name="bare", ProtocolType="HTTP")
        answer = send(bare, host_of(api["ApiEndpoint"]), "/orders")
        assert b"statusCode" not in answer.body and answer.status != 200
