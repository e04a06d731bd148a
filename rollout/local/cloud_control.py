"""Cloud Control API seam: GetResource for `AWS::Lambda::Url`, an AWS-shaped refusal for
everything else, so `sam list endpoints` works against the local cloud.

moto 5.2.5 has no Cloud Control API: a request signed for `cloudcontrolapi` finds no
backend and the server answers a 500 HTML page. `sam list endpoints` asks Cloud Control for
each function's URL (GetResource, TypeName `AWS::Lambda::Url`, Identifier the function's
physical id) and treats ResourceNotFoundException as "no URL".

AWS behaviour (Cloud Control API Reference, GetResource): the response is `{"TypeName",
"ResourceDescription": {"Identifier", "Properties"}}`, Properties being the resource's
properties as a JSON string (for AWS::Lambda::Url: FunctionArn, FunctionUrl, AuthType,
Cors, InvokeMode, TargetFunctionArn, Qualifier); a resource that doesn't exist is
ResourceNotFoundException. The protocol is JSON 1.0 with `X-Amz-Target:
CloudApiService.<Operation>`. Any other operation or type answers UnsupportedActionException
(HTTP 400), which is what AWS answers for an action a resource type's handlers don't
support: the local cloud implements this one read and says so.

moto internals (pinned by tests/local/test_cloud_control.py): replaced
`DomainDispatcherApplication.get_application(self, environ)` (wrapped: a request signed for
`cloudcontrolapi` gets this seam's WSGI app, every other one moto's).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

SIGNING_NAME = "cloudcontrolapi"
TARGET_PREFIX = "CloudApiService."
URL_TYPE = "AWS::Lambda::Url"
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")

StartResponse = Callable[..., Any]


def signed_for(environ: dict[str, Any]) -> str | None:
    """The service a SigV4 request was signed for (its credential scope)."""
    match = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return match.group(1) if match else None


class CloudControlApp:
    """A WSGI app answering the Cloud Control API's JSON 1.0 protocol."""

    def __init__(self, cloud: Cloud) -> None:
        self._cloud = cloud

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).removeprefix(TARGET_PREFIX)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        status, answer = self.answer(operation, body)
        payload = json.dumps(answer).encode()
        start_response(
            "200 OK" if status == 200 else f"{status} Bad Request",
            [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def answer(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        type_name = str(body.get("TypeName") or "")
        if operation != "GetResource" or type_name != URL_TYPE:
            return _error(
                "UnsupportedActionException",
                f"the local cloud's Cloud Control API answers GetResource for {URL_TYPE} "
                f"only, not {operation} for {type_name or 'this type'}",
            )
        return self._function_url(str(body.get("Identifier") or ""))

    def _function_url(self, identifier: str) -> tuple[int, dict[str, Any]]:
        name, _, qualifier = identifier.split(":function:", 1)[-1].partition(":")
        request = {"FunctionName": name} | ({"Qualifier": qualifier} if qualifier else {})
        try:
            found = self._cloud.client("lambda").get_function_url_config(**request)
        except ClientError:
            return _error(
                "ResourceNotFoundException",
                f"Resource of type '{URL_TYPE}' with identifier '{identifier}' was not found.",
            )
        properties = {
            key: found[key]
            for key in ("FunctionArn", "FunctionUrl", "AuthType", "Cors", "InvokeMode")
            if key in found
        }
        properties["TargetFunctionArn"] = found["FunctionArn"]
        if qualifier:
            properties["Qualifier"] = qualifier
        description = {"Identifier": found["FunctionArn"], "Properties": json.dumps(properties)}
        return 200, {"TypeName": URL_TYPE, "ResourceDescription": description}


def _error(code: str, message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"__type": code, "Message": message}


class CloudControl:
    """The seam: requests signed for Cloud Control reach CloudControlApp."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        app = CloudControlApp(cloud)
        original = DomainDispatcherApplication.get_application

        @functools.wraps(original)
        def get_application(
            dispatcher: DomainDispatcherApplication, environ: dict[str, Any]
        ) -> Any:
            if signed_for(environ) == SIGNING_NAME:
                return app
            return original(dispatcher, environ)

        self._patches.replace(DomainDispatcherApplication, "get_application", get_application)

    def uninstall(self) -> None:
        self._patches.undo()
