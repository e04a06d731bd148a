"""HTTP APIs for the front door's and the HTTP API import seam's tests: OpenAPI bodies as
SAM's transform writes them, and an HTTP API made on moto alone (the `*_moto.py` modules)."""

from __future__ import annotations

from typing import Any

from moto.apigatewayv2.models import Api, ApiGatewayV2Backend

ACCOUNT, REGION = "123456789012", "us-east-1"

ANY_METHOD = "x-amazon-apigateway-any-method"


def operation(integration: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An operation as SAM's HttpApi events write it; `integration` adds to its
    x-amazon-apigateway-integration object."""
    written = {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0"}
    return {
        "x-amazon-apigateway-integration": {**written, "uri": "arn:fn", **(integration or {})},
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

# An event's `TimeoutInMillis` (SAM writes `timeoutInMillis`) and an integration role
# (`credentials`, from a DefinitionBody of one's own) on one route; neither on the other.
ROLE = "arn:aws:iam::123456789012:role/api-invokes"
CONFIGURED = {
    **BODY,
    "paths": {
        "/slow": {"get": operation({"timeoutInMillis": 5000, "credentials": ROLE})},
        "/fast": {"get": operation()},
    },
}


def moto_http_api(name: str = "pinned") -> tuple[ApiGatewayV2Backend, Api]:
    """An HTTP API CreateApi would make, on a backend of moto's own (no cloud, no seam)."""
    backend = ApiGatewayV2Backend(REGION, ACCOUNT)
    api = backend.create_api(
        api_key_selection_expression="",
        cors_configuration=None,  # type: ignore[arg-type]
        description="",
        disable_schema_validation="",
        disable_execute_api_endpoint=None,  # type: ignore[arg-type]
        name=name,
        protocol_type="HTTP",
        route_selection_expression="",
        tags={},
        version="",
    )
    return backend, api
