"""Function URL seam: a URL per qualifier, and ListFunctionUrlConfigs.

AWS behaviour (Lambda API Reference): CreateFunctionUrlConfig, GetFunctionUrlConfig,
UpdateFunctionUrlConfig and DeleteFunctionUrlConfig take a `Qualifier` ("The alias name"),
so a function and each of its aliases can have a URL of its own, which invokes that
qualifier; a second URL on the same one is ResourceConflictException, a missing one
ResourceNotFoundException. ListFunctionUrlConfigs (`GET /2021-10-31/functions/{name}/urls`)
"Returns a list of Lambda function URLs for the specified function", at most 50 per page
with NextMarker. A URL's FunctionArn is the qualified ARN.

moto 5.2.5 keeps one URL per function, ignores the Qualifier, and has no
ListFunctionUrlConfigs route (404 HTML).

moto internals (pinned by tests/local/test_function_urls.py): replaced
`LambdaResponse.create_function_url_config`, `get_function_url_config`,
`update_function_url_config`, `delete_function_url_config`; added
`LambdaResponse.list_function_url_configs` and its route in `moto.awslambda.urls.url_paths`;
read `LambdaBackend.get_function`, `get_alias`; `LambdaResponse.path`, `.querystring`,
`.json_body`, `.backend`.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from moto.awslambda import urls as lambda_urls
from moto.awslambda.exceptions import GenericResourcNotFound, LambdaClientError
from moto.awslambda.models import LambdaBackend
from moto.awslambda.responses import LambdaResponse

from rollout.local.lambda_policies import split
from rollout.local.patching import Patches
from rollout.local.seam import Cloud

LIST_ROUTE = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/urls/?$"
PAGE_SIZE = 50


class UrlExists(LambdaClientError):
    code = 409

    def __init__(self, arn: str) -> None:
        super().__init__(
            "ResourceConflictException",
            f"Failed to create function url config for [functionArn = {arn}]. "
            "Error message:  FunctionUrlConfig exists for this Lambda function",
        )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FunctionUrls:
    """The seam: URL configs stored per (function, qualifier)."""

    def __init__(self) -> None:
        self._patches = Patches()
        self._configs: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._routed = False

    def install(self, cloud: Cloud) -> None:
        for name in ("create", "get", "update", "delete"):
            operation = f"{name}_function_url_config"
            handler = getattr(self, f"_{name}")
            self._patches.replace(LambdaResponse, operation, _as_method(handler))
        self._patches.add(LambdaResponse, "list_function_url_configs", _as_method(self._list))
        if LIST_ROUTE in lambda_urls.url_paths:
            raise RuntimeError("moto changed: Lambda already routes ListFunctionUrlConfigs")
        lambda_urls.url_paths[LIST_ROUTE] = LambdaResponse.dispatch
        self._routed = True

    def uninstall(self) -> None:
        self._patches.undo()
        if self._routed:
            lambda_urls.url_paths.pop(LIST_ROUTE, None)
            self._routed = False
        with self._lock:
            self._configs.clear()

    def find(self, url_id: str) -> dict[str, Any] | None:
        """A copy of the config whose FunctionUrl's host begins with `url_id` (host names are
        case-insensitive), for the HTTP front door (front_door.py)."""
        prefix = f"https://{url_id.lower()}.lambda-url."
        with self._lock:
            for config in self._configs.values():
                if str(config["FunctionUrl"]).startswith(prefix):
                    return dict(config)
        return None

    # -- the API -----------------------------------------------------------------------

    def _key(self, response: LambdaResponse) -> tuple[tuple[str, str, str], str]:
        """(store key, qualified ARN) of the URL the request names; the function and the
        alias must exist."""
        backend: LambdaBackend = response.backend
        function_name = unquote(response.path.split("/")[-2])
        name, qualifier = split(function_name, response.querystring.get("Qualifier", [None])[0])
        function = backend.get_function(name)
        if qualifier:
            backend.get_alias(qualifier, name)
        base = function.function_arn.split(f":function:{name}")[0] + f":function:{name}"
        arn = f"{base}:{qualifier}" if qualifier else base
        return (f"{backend.account_id}/{backend.region_name}", name, qualifier), arn

    def _create(self, response: LambdaResponse) -> Any:
        key, arn = self._key(response)
        body = response.json_body or {}
        now = _now()
        config = {
            "FunctionUrl": f"https://{uuid.uuid4().hex}.lambda-url.{response.region}.on.aws/",
            "FunctionArn": arn,
            "AuthType": body.get("AuthType"),
            "Cors": body.get("Cors") or {},
            "CreationTime": now,
            "LastModifiedTime": now,
            "InvokeMode": body.get("InvokeMode") or "BUFFERED",
        }
        with self._lock:
            if key in self._configs:
                raise UrlExists(arn)
            self._configs[key] = config
        created = {k: v for k, v in config.items() if k != "LastModifiedTime"}
        return 201, {"status": 201}, json.dumps(created)

    def _found(self, response: LambdaResponse) -> tuple[tuple[str, str, str], dict[str, Any]]:
        key, _ = self._key(response)
        with self._lock:
            config = self._configs.get(key)
        if config is None:
            raise GenericResourcNotFound()
        return key, config

    def _get(self, response: LambdaResponse) -> Any:
        return 200, {}, json.dumps(self._found(response)[1])

    def _update(self, response: LambdaResponse) -> Any:
        _key, config = self._found(response)
        body = response.json_body or {}
        changes = {k: body[k] for k in ("AuthType", "Cors", "InvokeMode") if k in body}
        with self._lock:
            config.update(changes, LastModifiedTime=_now())
        return 200, {}, json.dumps(config)

    def _delete(self, response: LambdaResponse) -> Any:
        key, _ = self._found(response)
        with self._lock:
            self._configs.pop(key, None)
        return 204, {"status": 204}, ""

    def _list(self, response: LambdaResponse) -> Any:
        backend: LambdaBackend = response.backend
        name, _ = split(unquote(response.path.split("/")[-2]), None)
        backend.get_function(name)
        account = f"{backend.account_id}/{backend.region_name}"
        with self._lock:
            found = [c for k, c in sorted(self._configs.items()) if k[:2] == (account, name)]
        start = int(response.querystring.get("Marker", ["0"])[0] or 0)
        size = min(int(response.querystring.get("MaxItems", [PAGE_SIZE])[0]), PAGE_SIZE)
        result: dict[str, Any] = {"FunctionUrlConfigs": found[start : start + size]}
        if start + size < len(found):
            result["NextMarker"] = str(start + size)
        return 200, {}, json.dumps(result)


def _as_method(handler: Callable[[LambdaResponse], Any]) -> Callable[[LambdaResponse], Any]:
    def method(response: LambdaResponse) -> Any:
        return handler(response)

    return method
