"""Acceptance: HTTP traffic through `rollout local up`'s front door, as a user sends it. A
SAM app deployed with the AWS CLI gets a function URL and an HTTP API on its alias `live`;
curl reaches both on the cloud's port (`--connect-to` keeps AWS's host name, and the
`.localhost` form resolves by itself), and once `live` routes half its traffic to version
2, as a rollout's step does, both versions answer the same URL and the same route. The AWS
CLI lists the API's routes as AWS names them (`ANY /items/{id}`, not moto's OpenAPI
spelling)."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.local.served import aws, client, served_cloud

pytestmark = pytest.mark.cloud

STACK = "front-door"
REQUESTS = 40  # per entrance: both versions answer, unless a 1-in-10^12 draw says otherwise
TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: front-door-orders
      Runtime: python3.12
      Handler: index.handler
      AutoPublishAlias: live
      FunctionUrlConfig:
        AuthType: NONE
      Events:
        List:
          Type: HttpApi
          Properties:
            Method: GET
            Path: /orders
        Item:
          Type: HttpApi
          Properties:
            Method: ANY
            Path: /items/{id}
      InlineCode: |
        import json
        def handler(event, context):
            answer = {"version": context.function_version, "route": event["routeKey"]}
            headers = {"x-version": context.function_version}
            return {"statusCode": 200, "headers": headers, "body": json.dumps(answer)}
Outputs:
  Url:
    Value: !GetAtt OrdersUrl.FunctionUrl
  Api:
    Value: !GetAtt ServerlessHttpApi.ApiEndpoint
"""


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    """What a user exports for `rollout local up --no-deploy` (tests/local/served.py)."""
    with served_cloud("--no-deploy") as served:
        yield served


@pytest.fixture(scope="module")
def deployed(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The app's outputs: its function URL and HTTP API endpoint, as AWS spells them."""
    path = tmp_path_factory.mktemp("app") / "template.yaml"
    path.write_text(TEMPLATE)
    aws(env, "cloudformation", "deploy", "--stack-name", STACK, "--template-file", str(path),
        "--capabilities", "CAPABILITY_IAM")  # fmt: skip
    stack = client(env, "cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}


def curl(env: dict[str, str], *args: str) -> str:
    """curl as a user runs it against the local cloud (PORT: the cloud's port)."""
    port = env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
    command = ["curl", "--silent", "--show-error", "--max-time", "60", *args]
    command = [part.replace("PORT", port) for part in command]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout


def answers(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    """The JSON bodies of the requests `args` make, one per line."""
    output = curl(env, "--write-out", "\\n", *args)
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def host_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


def http(url: str) -> str:
    """`https://host/` → `http://host/`: the local cloud serves plain HTTP."""
    return "http://" + url.split("://", 1)[1].rstrip("/")


def test_the_names_the_cloud_hands_out_are_awss(deployed: dict[str, str]) -> None:
    assert deployed["Url"].endswith(".lambda-url.us-east-1.on.aws/")
    assert deployed["Api"].endswith(".execute-api.us-east-1.amazonaws.com")


def test_curl_reaches_the_function_url_and_the_http_api(
    env: dict[str, str], deployed: dict[str, str]
) -> None:
    url, api = http(deployed["Url"]), http(deployed["Api"])
    through_url = answers(env, "--connect-to", "::127.0.0.1:PORT", f"{url}/anything?x=1")
    assert through_url == [{"version": "1", "route": "$default"}]
    local_api = api.replace(".amazonaws.com", ".localhost:PORT")  # resolves to 127.0.0.1
    assert answers(env, f"{local_api}/orders") == [{"version": "1", "route": "GET /orders"}]
    missing = curl(env, "--connect-to", "::127.0.0.1:PORT", "--write-out", " %{http_code}",
                   f"{api}/nothing")  # fmt: skip
    assert missing == '{"message":"Not Found"} 404'


def test_the_aws_cli_lists_the_routes_as_aws_names_them(
    env: dict[str, str], deployed: dict[str, str]
) -> None:
    api_id = host_of(deployed["Api"]).split(".", 1)[0]
    listed = aws(env, "apigatewayv2", "get-routes", "--api-id", api_id,
                 "--query", "Items[].RouteKey", "--output", "json")  # fmt: skip
    assert sorted(json.loads(listed)) == ["ANY /items/{id}", "GET /orders"]
    local_api = http(deployed["Api"]).replace(".amazonaws.com", ".localhost:PORT")
    item = answers(env, "--request", "DELETE", f"{local_api}/items/7")
    assert item == [{"version": "1", "route": "ANY /items/{id}"}]


def test_during_a_rollout_step_both_versions_serve_each_entrance(
    env: dict[str, str], deployed: dict[str, str]
) -> None:
    lam = client(env, "lambda")
    lam.update_function_configuration(FunctionName="front-door-orders", Description="release 2")
    lam.get_waiter("function_updated").wait(FunctionName="front-door-orders")
    assert lam.publish_version(FunctionName="front-door-orders")["Version"] == "2"
    lam.update_alias(  # what "Shift traffic" does at a 50 % step
        FunctionName="front-door-orders",
        Name="live",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    url, api = http(deployed["Url"]), http(deployed["Api"])
    try:
        for target in (f"{url}/", f"{api}/orders"):
            served = answers(env, "--connect-to", "::127.0.0.1:PORT", *[target] * REQUESTS)
            versions = Counter(answer["version"] for answer in served)
            assert sum(versions.values()) == REQUESTS
            assert set(versions) == {"1", "2"}, (target, versions)
    finally:  # the module's other tests find `live` on version 1 alone, in any order
        lam.update_alias(FunctionName="front-door-orders", Name="live", RoutingConfig={})
