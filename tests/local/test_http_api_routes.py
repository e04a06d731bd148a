"""Stage and route selection of an HTTP API (rollout/local/http_api_routes.py), on the
examples of AWS's "Routing API requests"."""

from __future__ import annotations

import pytest

from rollout.local.http_api_routes import RouteKey, select, split_stage

GUIDE = ["GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default"]


def chosen(keys: list[str], method: str, path: str) -> tuple[str, dict[str, str]] | None:
    matched = select([RouteKey.parse(key) for key in keys], method, path)
    return None if matched is None else (matched.key.text, matched.path_parameters)


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/1"),  # "fully matches this static route"
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),
        ("POST", "/pets/cat/1", "ANY /{proxy+}"),
        ("GET", "/", "$default"),  # a greedy variable needs a segment to catch
    ],
)
def test_the_guides_examples_reach_the_routes_it_names(method: str, path: str, route: str) -> None:
    found = chosen(GUIDE, method, path)
    assert found is not None and found[0] == route


def test_path_parameters_are_decoded_and_a_greedy_one_takes_the_rest() -> None:
    assert chosen(GUIDE, "GET", "/pets/dog/a%20b") == ("GET /pets/dog/{id}", {"id": "a b"})
    assert chosen(GUIDE, "GET", "/pets/cat/1/toys") == (
        "GET /pets/{proxy+}",
        {"proxy": "cat/1/toys"},
    )


def test_a_routes_own_method_comes_before_any_and_no_route_is_none() -> None:
    keys = ["ANY /orders", "POST /orders"]
    assert chosen(keys, "POST", "/orders") == ("POST /orders", {})
    assert chosen(keys, "GET", "/orders") == ("ANY /orders", {})
    assert chosen(keys, "GET", "/orders/1") is None
    assert chosen(["GET /orders"], "GET", "/orders/") is None  # not the same path


def test_a_route_key_is_read_as_aws_spells_it() -> None:
    assert RouteKey.parse("ANY /items/{id}") == RouteKey("ANY", "/items/{id}")
    assert RouteKey.parse("$default").is_default
    assert RouteKey.parse("get /orders").text == "GET /orders"
    # moto's OpenAPI spelling is no method: imports reach the front door as AWS names them
    # (http_api_imports.py), so a key spelled so matches no request
    moto = RouteKey.parse("X-AMAZON-APIGATEWAY-ANY-METHOD /items/{id}")
    assert select([moto], "GET", "/items/1") is None


def test_a_named_stage_is_the_first_segment_else_the_default_stage() -> None:
    assert split_stage("/prod/orders", ["prod", "$default"]) == ("prod", "/orders")
    assert split_stage("/prod", ["prod"]) == ("prod", "/")
    assert split_stage("/orders", ["prod", "$default"]) == ("$default", "/orders")
    assert split_stage("/orders", ["prod"]) is None  # "the API returns {"message":"Not Found"}"
    assert split_stage("/$default/orders", ["$default"]) == ("$default", "/$default/orders")
