"""HTTP front door seam: the local cloud's endpoint also serves function URLs and HTTP APIs,
chosen by the request's Host, as AWS's own front ends are.

AWS behaviour: a function URL is served at `https://<url-id>.lambda-url.<region>.on.aws`
("Invoking Lambda function URLs", https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html);
an HTTP API's stages at `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`, the
`$default` stage "served from the base of your API's URL" ("Stages for HTTP APIs in API
Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html). Both
invoke the function through Lambda, so a URL or an integration on an alias follows the
alias's routing weights: during a rollout the traffic splits between the two versions.

Here the cloud's one port answers requests whose Host is such a name (any port), and the
same names under `localhost` (`<url-id>.lambda-url.<region>.localhost`,
`<api-id>.execute-api.<region>.localhost`), which curl and browsers resolve to the loopback
address. The names the APIs hand out stay AWS's; to keep one as the Host, connect to the
cloud and name the host, e.g. `curl --connect-to ::127.0.0.1:4566 http://<host>/path`.
Plain HTTP only: AWS serves these names over HTTPS, the local cloud has no certificate for
them. function_url_requests.py and http_apis.py say what each one answers.

moto 5.2.5 has neither: it serves every host it doesn't know as S3 (a function URL's host
answers `NoSuchBucket`), and an execute-api host as the API Gateway Management API.

moto internals (pinned by tests/local/test_front_door.py): replaced
`DomainDispatcherApplication.get_application(self, environ)` (wrapped: a front-door host
gets the seam's WSGI app, every other request moto's, as cloud_control.py does).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Protocol

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from rollout.local.function_url_requests import FunctionUrlRequests
from rollout.local.function_urls import FunctionUrls
from rollout.local.http_apis import HttpApiRequests
from rollout.local.http_events import HttpRequest, HttpResponse, json_response
from rollout.local.patching import Patches
from rollout.local.seam import Cloud

logger = logging.getLogger(__name__)

FUNCTION_URL_HOST = re.compile(
    r"^(?P<id>[a-z0-9]+)\.lambda-url\.(?P<region>[a-z0-9-]+)\.(?:on\.aws|localhost)$"
)
HTTP_API_HOST = re.compile(
    r"^(?P<id>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.(?:amazonaws\.com|localhost)$"
)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Door(Protocol):
    def respond(self, request: HttpRequest, resource_id: str, region: str) -> HttpResponse: ...


def host_of(environ: dict[str, Any]) -> str:
    """The Host header's name, lower-cased, without its port."""
    host = str(environ.get("HTTP_HOST") or "").strip().lower()
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


class FrontDoor:
    """The seam. Needs FunctionUrls installed first: it serves the URLs that seam stores."""

    def __init__(self) -> None:
        self._patches = Patches()
        self._doors: list[tuple[re.Pattern[str], Door]] = []

    def install(self, cloud: Cloud) -> None:
        self._doors = [
            (FUNCTION_URL_HOST, FunctionUrlRequests(cloud.seam(FunctionUrls))),
            (HTTP_API_HOST, HttpApiRequests()),
        ]
        original = DomainDispatcherApplication.get_application
        seam = self

        @functools.wraps(original)
        def get_application(
            dispatcher: DomainDispatcherApplication, environ: dict[str, Any]
        ) -> Any:
            return seam.app_for(environ) or original(dispatcher, environ)

        self._patches.replace(DomainDispatcherApplication, "get_application", get_application)

    def uninstall(self) -> None:
        self._patches.undo()
        self._doors = []

    def app_for(self, environ: dict[str, Any]) -> WsgiApp | None:
        """The WSGI app for a front-door host; None for every other request."""
        host = host_of(environ)
        for pattern, door in self._doors:
            match = pattern.match(host)
            if match:
                return _app(door, match["id"], match["region"])
        return None


def _app(door: Door, resource_id: str, region: str) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = HttpRequest.from_environ(environ)
        try:
            response = door.respond(request, resource_id, region)
        except Exception:  # a bug here must not show as moto's HTML page or a hang
            logger.exception("the front door failed on %s %s", request.method, request.raw_path)
            response = json_response(500, {"message": "Internal Server Error"})
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {_phrase(response.status)}", headers)
        return [b""] if request.method == "HEAD" else [response.body]

    return app


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
