"""An HTTP client for the local cloud's front door (rollout/local/front_door.py): a request
to the cloud's port with a function URL's or an HTTP API's host as its Host, as
`curl --connect-to` sends it; and a handler that says what it was sent."""

from __future__ import annotations

import http.client
import json
from typing import Any

from rollout.local.cloud import LocalCloud

HANDLER = """import json, time
def handler(event, context):
    path = event.get("rawPath") or event.get("path")
    if path.endswith("/boom"):
        raise RuntimeError("boom")
    if path.endswith("/slow"):
        time.sleep(2)
    if path.endswith("/plain"):
        return {"version": context.function_version}
    headers = {"x-version": context.function_version}
    return {"statusCode": 200, "headers": headers, "cookies": ["seen=1"], "body": json.dumps(event)}
"""


class Reply:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = {name.lower(): value for name, value in response.getheaders()}
        self.cookies = response.headers.get_all("Set-Cookie") or []
        self.body = response.read()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def version(self) -> str:
        return self.headers["x-version"]


def send(
    cloud: LocalCloud,
    host: str,
    path: str = "/",
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Reply:
    """A request to the cloud's port with `host` as its Host, as curl --connect-to sends it."""
    connection = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=30)
    try:
        connection.request(
            method, path, body=body or None, headers={"Host": host, **(headers or {})}
        )
        return Reply(connection.getresponse())
    finally:
        connection.close()


def host_of(url: str) -> str:
    return url.split("/")[2]
