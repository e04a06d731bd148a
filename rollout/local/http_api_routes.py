"""Which stage and route of an HTTP API a request reaches.

AWS behaviour ("Create routes for HTTP APIs in API Gateway", "Routing API requests",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html):
"When a client sends an API request, API Gateway first determines which stage to route the
request to. If the request explicitly matches a stage, API Gateway sends the request to that
stage. If no stage fully matches the request, API Gateway sends the request to the $default
stage. If there's no $default stage, then the API returns {"message":"Not Found"}." Then the
route, by priority: "1. Full match for a route and method. 2. Match for a route and method
with a greedy path variable ({proxy+}). 3. The $default route." A path variable (`{id}`)
catches one path segment; "A greedy path variable catches all child resources of a route"
and "must be at the end of the resource path"; "you can use the ANY method to match all
methods that you haven't defined for a resource". The guide's example: with `GET
/pets/dog/1`, `GET /pets/dog/{id}`, `GET /pets/{proxy+}`, `ANY /{proxy+}` and `$default`,
GET /pets/dog/1 takes the first, GET /pets/dog/2 the second, GET /pets/cat/1 the third and
POST /pets/cat/1 the fourth.

Where several routes of one kind match, the most specific wins: segment by segment, a
literal before a path variable before a greedy one (so `/pets/{proxy+}` before
`/{proxy+}`), then a route's own method before ANY. Path parameters are decoded ("API
Gateway decodes URL-encoded request parameters").

Route keys are read as AWS spells them (`GET /pets/{id}`, `ANY /{proxy+}`, `$default`):
that is how GetRoutes shows them, imported ones included (http_api_imports.py renames
what moto's OpenAPI import names otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

DEFAULT = "$default"
ANY = "ANY"
_LITERAL, _VARIABLE, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteKey:
    """A route key: a method (or ANY) and a path, or `$default` (method and path empty)."""

    method: str
    path: str

    @classmethod
    def parse(cls, stored: str) -> RouteKey:
        if stored.strip() == DEFAULT:
            return cls("", "")
        method, _, path = stored.strip().partition(" ")
        return cls(method.upper(), path)

    @property
    def is_default(self) -> bool:
        return not self.path

    @property
    def text(self) -> str:
        """The key as AWS shows it: `GET /pets/{id}`, `ANY /{proxy+}`, `$default`."""
        return DEFAULT if self.is_default else f"{self.method} {self.path}"

    @property
    def segments(self) -> list[str]:
        return self.path.strip("/").split("/") if self.path.strip("/") else []

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].endswith("+}")


@dataclass(frozen=True)
class Matched:
    key: RouteKey
    path_parameters: dict[str, str]


def split_stage(raw_path: str, stages: Iterable[str]) -> tuple[str, str] | None:
    """(stage, the path within it): the stage the path's first segment names, else
    `$default`; None when neither exists."""
    names = set(stages)
    first, _, rest = raw_path.lstrip("/").partition("/")
    if first and first != DEFAULT and first in names:
        return first, f"/{rest}"
    return (DEFAULT, raw_path or "/") if DEFAULT in names else None


def select(keys: Iterable[RouteKey], method: str, raw_path: str) -> Matched | None:
    """The route a request reaches, by API Gateway's priority; None: no route."""
    found: list[tuple[tuple[int, list[int], int], Matched]] = []
    default = None
    for key in keys:
        if key.is_default:
            default = Matched(key, {})
            continue
        if key.method not in (ANY, method.upper()):
            continue
        parameters = _match(key.segments, _segments(raw_path))
        if parameters is not None:
            rank = (int(key.greedy), [_kind(s) for s in key.segments], int(key.method == ANY))
            found.append((rank, Matched(key, parameters)))
    if found:
        return min(found, key=lambda pair: pair[0])[1]
    return default


def _segments(raw_path: str) -> list[str]:
    trimmed = raw_path.lstrip("/")
    return trimmed.split("/") if trimmed else []


def _kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _VARIABLE
    return _LITERAL


def _match(route: list[str], request: list[str]) -> dict[str, str] | None:
    """The path parameters when the request's segments fit the route's, else None."""
    parameters: dict[str, str] = {}
    for index, segment in enumerate(route):
        kind = _kind(segment)
        if kind == _GREEDY:
            rest = request[index:]
            if not rest or not any(rest):
                return None
            parameters[segment[1:-2]] = unquote("/".join(rest))
            return parameters
        if index >= len(request) or not request[index]:
            return None
        if kind == _VARIABLE:
            parameters[segment[1:-1]] = unquote(request[index])
        elif unquote(request[index]) != segment:
            return None
    return parameters if len(request) == len(route) else None
