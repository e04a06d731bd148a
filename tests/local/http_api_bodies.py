"""OpenAPI bodies of HTTP APIs as SAM's transform writes them, for the HTTP API import
seam's tests (test_http_api_imports.py, test_http_api_imports_moto.py)."""

from __future__ import annotations

from typing import Any

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
