"""The HTTP front door (rollout/local/front_door.py, function_url_requests.py, http_apis.py):
the cloud's endpoint serves function URLs and HTTP APIs by Host, invoking through the
runtime, so an alias's weights split the traffic. moto alone: test_front_door_moto.py."""

from __future__ import annotations

import http.client
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from rollout.local.cloud import LocalCloud
from rollout.local.front_door import FrontDoor
from rollout.local.function_urls import FunctionUrls
from rollout.local.http_api_imports import HttpApiImports
from rollout.local.lambda_policies import LambdaPolicies
from rollout.local.lambda_runtime import LambdaRuntime
from rollout.samples import code_zip, lambda_role
from tests.conftest import IsolatedCloud as Cloud
from tests.local.front_door_client import HANDLER, Reply, host_of, send

pytestmark = pytest.mark.cloud

ACCOUNT, REGION = "123456789012", "us-east-1"


def signed(host: str, path: str, service: str, region: str = REGION) -> dict[str, str]:
    """SigV4 headers for a GET, as an SDK or `awscurl` signs it."""
    request = AWSRequest(method="GET", url=f"http://{host}{path}")
    SigV4Auth(Credentials("testing", "testing"), service, region).add_auth(request)
    return {k: v for k, v in request.headers.items() if k.lower() != "host"}


def make_function(cloud: LocalCloud, name: str) -> Any:
    """Version 1 and 2 of `name` (each says its version), `live` on 1."""
    lam = cloud.client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=lambda_role(cloud.client("iam"), "front-door"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": HANDLER})},
        Timeout=10,
    )
    for release in ("1", "2"):
        lam.update_function_configuration(FunctionName=name, Description=f"release {release}")
        lam.get_waiter("function_updated").wait(FunctionName=name)
        assert lam.publish_version(FunctionName=name)["Version"] == release
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return lam


def public_url(lam: Any, name: str, *, grants: tuple[str, ...] = ("url", "invoke")) -> str:
    """A NONE URL on `live` with the grants SAM's FunctionUrlConfig writes (or fewer)."""
    url = lam.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")
    if "url" in grants:
        lam.add_permission(
            FunctionName=name,
            Qualifier="live",
            StatementId="public-url",
            Action="lambda:InvokeFunctionUrl",
            Principal="*",
            FunctionUrlAuthType="NONE",
        )
    if "invoke" in grants:
        lam.add_permission(
            FunctionName=name,
            Qualifier="live",
            StatementId="public-invoke",
            Action="lambda:InvokeFunction",
            Principal="*",
            InvokedViaFunctionUrl=True,
        )
    return host_of(url["FunctionUrl"])


# -- the seam -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime() -> LambdaRuntime:
    seam = LambdaRuntime()
    seam.random.seed(20261207)  # the alias weight draw, made repeatable
    return seam


@pytest.fixture(scope="module")
def cloud(runtime: LambdaRuntime, isolated_cloud: Cloud) -> Iterator[LocalCloud]:
    seams = [lambda: runtime, LambdaPolicies, FunctionUrls, HttpApiImports, FrontDoor]
    with isolated_cloud(seams=seams) as started:
        yield started


def test_a_function_url_answers_only_with_both_public_grants(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "granted")
    host = public_url(lam, "granted", grants=())
    refused = send(cloud, host)
    assert refused.status == 403
    assert refused.headers["x-amzn-errortype"] == "AccessDeniedException"
    assert refused.json()["Message"].startswith("Forbidden. For troubleshooting Function URL")
    public_url_grant = {"StatementId": "public-url", "Action": "lambda:InvokeFunctionUrl"}
    lam.add_permission(
        FunctionName="granted",
        Qualifier="live",
        Principal="*",
        FunctionUrlAuthType="NONE",
        **public_url_grant,
    )
    assert send(cloud, host).status == 403  # since October 2025, InvokeFunction too
    lam.add_permission(
        FunctionName="granted",
        Qualifier="live",
        StatementId="public-invoke",
        Action="lambda:InvokeFunction",
        Principal="*",
        InvokedViaFunctionUrl=True,
    )
    assert send(cloud, host).status == 200
    assert "x-amzn-requestid" in send(cloud, host).headers


def test_a_function_url_delivers_the_20_event_and_maps_the_answer(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "echo")
    host = public_url(lam, "echo")
    answer = send(
        cloud,
        host,
        "/orders/17?expand=items&expand=customer",
        "POST",
        b'{"quantity": 2}',
        {"Content-Type": "application/json", "Cookie": "session=abc"},
    )
    assert answer.status == 200 and answer.version == "1"
    assert answer.cookies == ["seen=1"]
    event = answer.json()
    assert (event["version"], event["routeKey"], event["rawPath"]) == (
        "2.0",
        "$default",
        "/orders/17",
    )
    assert event["rawQueryString"] == "expand=items&expand=customer"
    assert event["queryStringParameters"] == {"expand": "items,customer"}
    assert event["cookies"] == ["session=abc"] and "cookie" not in event["headers"]
    assert event["headers"]["content-type"] == "application/json"
    assert (event["body"], event["isBase64Encoded"]) == ('{"quantity": 2}', False)
    context = event["requestContext"]
    assert context["accountId"] == "anonymous" and context["domainName"] == host
    assert context["http"]["method"] == "POST" and context["http"]["sourceIp"] == "127.0.0.1"
    inferred = send(cloud, host, "/plain")
    assert (inferred.status, inferred.json()) == (200, {"version": "1"})
    assert inferred.headers["content-type"] == "application/json"


def test_a_chunked_body_reaches_the_function_whole(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "chunked")
    host = public_url(lam, "chunked")
    connection = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=30)
    try:
        headers = {"Host": host, "Content-Type": "text/plain"}
        connection.request("POST", "/", body=iter([b"or", b"ders"]), headers=headers)
        answer = Reply(connection.getresponse())
    finally:
        connection.close()
    assert answer.status == 200 and answer.json()["body"] == "orders"


def test_a_function_url_answers_errors_as_lambda_does(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "failing")
    host = public_url(lam, "failing")
    failed = send(cloud, host, "/boom")
    assert (failed.status, failed.body) == (502, b"Internal Server Error")
    unknown = send(cloud, "0123456789abcdef0123456789abcdef.lambda-url.us-east-1.on.aws")
    assert (unknown.status, unknown.json()) == (403, {"Message": None})
    assert unknown.headers["x-amzn-errortype"] == "AccessDeniedException"
    wrong_region = send(cloud, host.replace(".us-east-1.", ".eu-west-1."))
    assert wrong_region.status == 403
    lam.put_function_concurrency(FunctionName="failing", ReservedConcurrentExecutions=0)
    throttled = send(cloud, host)
    assert throttled.status == 429
    assert throttled.headers["x-amzn-errortype"] == "TooManyRequestsException"
    assert throttled.json() == {"Message": "Rate Exceeded."}


def test_an_aws_iam_url_needs_a_sigv4_signature_for_lambda(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "private")
    url = lam.create_function_url_config(FunctionName="private", AuthType="AWS_IAM")
    host = host_of(url["FunctionUrl"])
    assert send(cloud, host).status == 403
    assert send(cloud, host, headers=signed(host, "/", "execute-api")).status == 403
    answer = send(cloud, host, headers=signed(host, "/", "lambda"))
    assert answer.status == 200 and answer.version == "$LATEST"
    iam = answer.json()["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == "testing" and iam["accountId"] == ACCOUNT


def test_the_localhost_form_of_the_host_reaches_the_same_url(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "local-name")
    host = public_url(lam, "local-name")
    local = host.replace(".on.aws", ".localhost")
    answer = send(cloud, f"{local}:{cloud.port}", "/plain")
    assert (answer.status, answer.json()) == (200, {"version": "1"})


def test_traffic_through_a_url_on_an_alias_splits_by_its_weights(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "weighted")
    host = public_url(lam, "weighted")
    lam.update_alias(
        FunctionName="weighted",
        Name="live",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    served = Counter(send(cloud, host, "/plain").json()["version"] for _ in range(30))
    assert set(served) == {"1", "2"} and sum(served.values()) == 30


# -- HTTP APIs ----------------------------------------------------------------------------


def http_api(
    cloud: LocalCloud, alias_arn: str, *routes: str, **integration: Any
) -> tuple[Any, str]:
    """An HTTP API whose routes all integrate with `alias_arn` (payload format 2.0 unless
    `integration` says otherwise), on an auto-deployed $default stage."""
    gateway = cloud.client("apigatewayv2")
    api = gateway.create_api(Name="orders", ProtocolType="HTTP")
    created = gateway.create_integration(
        ApiId=api["ApiId"],
        IntegrationType="AWS_PROXY",
        IntegrationUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"{alias_arn}/invocations",
        **{"PayloadFormatVersion": "2.0", **integration},
    )
    for key in routes:
        auth = "AWS_IAM" if key.startswith("IAM ") else "NONE"
        gateway.create_route(
            ApiId=api["ApiId"],
            RouteKey=key.removeprefix("IAM "),
            Target=f"integrations/{created['IntegrationId']}",
            AuthorizationType=auth,
        )
    gateway.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    return api, host_of(api["ApiEndpoint"])


def allow_api(lam: Any, name: str, api_id: str, path: str = "*/*") -> None:
    lam.add_permission(
        FunctionName=name,
        Qualifier="live",
        StatementId=f"api-{api_id}-{path.replace('*', 'any').replace('/', '-')}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/{path}",
    )


def test_an_http_api_route_invokes_its_integration_through_the_alias(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "api-backed")
    alias = lam.get_alias(FunctionName="api-backed", Name="live")["AliasArn"]
    api, host = http_api(cloud, alias, "GET /orders/{id}", "ANY /{proxy+}")
    refused = send(cloud, host, "/orders/17")
    assert (refused.status, refused.json()) == (500, {"message": "Internal Server Error"})
    allow_api(lam, "api-backed", api["ApiId"], "GET/orders/*")
    answer = send(cloud, host, "/orders/17?expand=items")
    assert answer.status == 200 and answer.version == "1" and "apigw-requestid" in answer.headers
    event = answer.json()
    assert (event["routeKey"], event["pathParameters"]) == ("GET /orders/{id}", {"id": "17"})
    assert event["requestContext"]["accountId"] == ACCOUNT
    assert event["requestContext"]["stage"] == "$default"
    # POST /orders/17 reaches ANY /{proxy+}, which the permission above doesn't cover
    assert send(cloud, host, "/orders/17", "POST").status == 500
    allow_api(lam, "api-backed", api["ApiId"], "*")
    assert send(cloud, host, "/orders/17", "POST").json()["routeKey"] == "ANY /{proxy+}"
    lam.update_alias(
        FunctionName="api-backed",
        Name="live",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    served = Counter(send(cloud, host, "/orders/1").version for _ in range(30))
    assert set(served) == {"1", "2"}


def test_an_http_api_answers_what_api_gateway_answers(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "api-errors")
    alias = lam.get_alias(FunctionName="api-errors", Name="live")["AliasArn"]
    api, host = http_api(cloud, alias, "GET /orders/{id}", "IAM GET /private", TimeoutInMillis=500)
    allow_api(lam, "api-errors", api["ApiId"])
    assert send(cloud, host, "/nothing").json() == {"message": "Not Found"}
    assert send(cloud, host, "/orders/boom").status == 500  # a function error
    slow = send(cloud, host, "/orders/slow")  # past the integration's 500 ms
    assert (slow.status, slow.json()) == (503, {"message": "Service Unavailable"})
    assert send(cloud, host, "/private").json() == {"message": "Forbidden"}
    iam = send(cloud, host, "/private", headers=signed(host, "/private", "execute-api"))
    assert iam.status == 200
    assert iam.json()["requestContext"]["authorizer"]["iam"]["accountId"] == ACCOUNT
    assert send(cloud, "nosuchapi.execute-api.us-east-1.amazonaws.com").status == 403


def test_an_imported_api_with_format_10_and_a_named_stage(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "imported")
    alias = lam.get_alias(FunctionName="imported", Name="live")["AliasArn"]
    gateway = cloud.client("apigatewayv2")
    api = gateway.create_api(Name="imported", ProtocolType="HTTP")
    integration = {"type": "aws_proxy", "payloadFormatVersion": "1.0", "uri": alias}
    body = {
        "openapi": "3.0.1",
        "info": {"title": "imported", "version": "1"},
        "paths": {"/items/{id}": {"x-amazon-apigateway-any-method": {
            "x-amazon-apigateway-integration": integration}}},
    }  # fmt: skip
    gateway.reimport_api(ApiId=api["ApiId"], Body=json.dumps(body))
    gateway.create_stage(ApiId=api["ApiId"], StageName="prod", AutoDeploy=True)
    gateway.create_stage(ApiId=api["ApiId"], StageName="beta")  # nothing deployed
    allow_api(lam, "imported", api["ApiId"])
    host = host_of(api["ApiEndpoint"])
    answer = send(cloud, host, "/prod/items/a%20b", "DELETE")
    assert answer.status == 200
    event = answer.json()
    assert (event["version"], event["resource"], event["httpMethod"]) == (
        "1.0",
        "/items/{id}",
        "DELETE",
    )
    assert event["pathParameters"] == {"id": "a b"}
    assert event["requestContext"]["stage"] == "prod"
    assert send(cloud, host, "/beta/items/1").status == 404
    assert send(cloud, host, "/items/1").status == 404  # no $default stage


SAM_HTTP_API = {
    "Transform": "AWS::Serverless-2016-10-31",
    "Resources": {
        "Items": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "FunctionName": "sam-items",
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "AutoPublishAlias": "live",
                "InlineCode": HANDLER,
                "Events": {
                    "Item": {
                        "Type": "HttpApi",
                        "Properties": {
                            "Method": "ANY",
                            "Path": "/items/{id}",
                            "TimeoutInMillis": 29000,  # SAM writes it as timeoutInMillis
                        },
                    },
                    "Fallback": {"Type": "HttpApi"},  # no path or method: the $default route
                },
            },
        }
    },
    "Outputs": {
        "ApiId": {"Value": {"Ref": "ServerlessHttpApi"}},
        "Api": {"Value": {"Fn::GetAtt": ["ServerlessHttpApi", "ApiEndpoint"]}},
    },
}


def test_a_sam_http_apis_any_and_default_routes_read_back_as_aws_names_them(
    cloud: LocalCloud,
) -> None:
    """SAM writes them as `x-amazon-apigateway-any-method` in the API's OpenAPI body;
    GetRoutes answers `ANY /items/{id}` and `$default`, and the front door serves both. Their
    integrations, `type: aws_proxy` in the body, read back `AWS_PROXY`."""
    cfn = cloud.client("cloudformation")
    cfn.create_stack(
        StackName="sam-http-api",
        TemplateBody=json.dumps(SAM_HTTP_API),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    cfn.get_waiter("stack_create_complete").wait(
        StackName="sam-http-api", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    stack = cfn.describe_stacks(StackName="sam-http-api")["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    gateway = cloud.client("apigatewayv2")
    routes = gateway.get_routes(ApiId=outputs["ApiId"])["Items"]
    assert {route["RouteKey"] for route in routes} == {"ANY /items/{id}", "$default"}
    integrations = gateway.get_integrations(ApiId=outputs["ApiId"])["Items"]
    assert [i["IntegrationType"] for i in integrations] == ["AWS_PROXY", "AWS_PROXY"]
    timeouts = {}
    for route in routes:
        integration_id = route["Target"].removeprefix("integrations/")
        integration = gateway.get_integration(ApiId=outputs["ApiId"], IntegrationId=integration_id)
        assert integration["IntegrationType"] == "AWS_PROXY"
        timeouts[route["RouteKey"]] = integration["TimeoutInMillis"]
    assert timeouts == {"ANY /items/{id}": 29000, "$default": 30000}
    host = host_of(outputs["Api"])
    item = send(cloud, host, "/items/7", "DELETE")
    assert item.status == 200 and item.version == "1"
    assert (item.json()["routeKey"], item.json()["pathParameters"]) == (
        "ANY /items/{id}",
        {"id": "7"},
    )
    fallback = send(cloud, host, "/anything/else", "POST")
    assert (fallback.status, fallback.json()["routeKey"]) == (200, "$default")


def test_uninstall_restores_moto(cloud: LocalCloud) -> None:
    seam = cloud.seam(FrontDoor)
    patched = DomainDispatcherApplication.get_application
    seam.uninstall()
    try:
        assert DomainDispatcherApplication.get_application is not patched
    finally:
        seam.install(cloud)
