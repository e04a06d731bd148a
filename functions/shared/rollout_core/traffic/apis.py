"""API Gateway integrations: an API invokes the function ARN its integration URI names.

The APIs are the ones the function's permissions name (`execute-api` source ARNs: API
Gateway needs one, unless the integration uses a role of its own, which is not read). An
HTTP API is read with GetIntegrations and GetRoutes (apigatewayv2); an id it doesn't know
is a REST API, read with GetResources and their methods' integrations. A URI built from a
stage variable names no function that can be read: a note. At most MAX_APIS APIs.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .. import clients
from ..models import TrafficSource
from .reading import Reading, attempt, not_found
from .subject import Subject

MAX_APIS = 5
STAGE_VARIABLE = "${stageVariables."


def api_of(source_arn: str) -> str | None:
    """The API id in `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH`."""
    if ":execute-api:" not in source_arn:
        return None
    return source_arn.split(":", 5)[-1].split("/", 1)[0] or None


def function_in(uri: str) -> str:
    """`arn:aws:apigateway:R:lambda:path/2015-03-31/functions/FUNCTION/invocations` →
    FUNCTION; an HTTP API may name the function ARN itself."""
    if "/functions/" in uri:
        return uri.split("/functions/", 1)[1].rsplit("/invocations", 1)[0]
    return uri


def read(subject: Subject, reading: Reading, apis: list[str]) -> None:
    """Adds each integration on the function."""
    for api in sorted(set(apis))[:MAX_APIS]:
        what = f"integrations of API Gateway API {api}"
        found = attempt(reading.unread, what, lambda a=api: _integrations(a))
        routes: dict[str, list[str]] = {}  # qualifier → the routes that invoke it
        for route, uri in found or []:
            if STAGE_VARIABLE in uri:
                reading.unread.append(f"API {api} {route}: its integration names a stage variable")
                continue
            qualifier = subject.qualifier_in(function_in(uri))
            if qualifier is not None:
                routes.setdefault(qualifier, []).append(route)
        for qualifier, named in routes.items():
            detail = ", ".join(sorted(named))
            reading.add(
                TrafficSource(kind="API Gateway", source=api, qualifier=qualifier, detail=detail)
            )
    if len(set(apis)) > MAX_APIS:
        reading.unread.append(
            f"API Gateway: the integrations of {len(set(apis)) - MAX_APIS} more APIs were not read"
        )


def _integrations(api: str) -> list[tuple[str, str]]:
    """(route, integration URI) of every integration of the API."""
    try:
        return _http_api(api)
    except ClientError as error:
        if not not_found(error):
            raise
    return _rest_api(api)


def _http_api(api: str) -> list[tuple[str, str]]:
    gateway = clients.client("apigatewayv2")
    integrations = {
        item["IntegrationId"]: str(item.get("IntegrationUri") or "")
        for page in gateway.get_paginator("get_integrations").paginate(ApiId=api)
        for item in page.get("Items", [])
    }
    routes: dict[str, list[str]] = {}
    for page in gateway.get_paginator("get_routes").paginate(ApiId=api):
        for route in page.get("Items", []):
            target = str(route.get("Target") or "").removeprefix("integrations/")
            routes.setdefault(target, []).append(str(route.get("RouteKey")))
    return [
        (", ".join(sorted(routes.get(integration, []))) or f"integration {integration}", uri)
        for integration, uri in integrations.items()
    ]


def _rest_api(api: str) -> list[tuple[str, str]]:
    pages = clients.client("apigateway").get_paginator("get_resources")
    found = []
    for page in pages.paginate(restApiId=api, embed=["methods"]):
        for resource in page.get("items", []):
            for method, spec in (resource.get("resourceMethods") or {}).items():
                uri = _method_uri(spec)
                if uri:
                    found.append((f"{method} {resource.get('path')}", uri))
    return found


def _method_uri(spec: dict[str, Any]) -> str:
    return str((spec.get("methodIntegration") or {}).get("uri") or "")
