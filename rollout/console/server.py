"""The console's HTTP server: the standard library's ThreadingHTTPServer, one thread per
request, a handful of routes.

    GET  /                      the page (static/index.html); ?token= sets the cookie
    GET  /static/NAME           its scripts and styles (report.css: the report's own)
    GET  /api/list              the rollouts list, as last read
    GET  /api/run?execution=ARN one rollout, as last read
    GET  /api/graph?execution=ARN  its workflow graph's layout
    GET  /api/stream?topic=list|ARN  the same, sent again on every change (server-sent events)
    GET  /api/samples, /api/identity  the start form's samples; who the console acts as
    POST /api/control, /api/plan, /api/start  the buttons (actions.py)

Every request needs the token and a Host naming the console (access.py); every POST also
the same-origin check. Every answer forbids framing, sniffing, caching and referrers, and
carries a Content-Security-Policy that lets the page run only its own scripts and styles,
so even markup that reached the page could not run.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rollout.aws import AwsContext
from rollout.console import actions, views
from rollout.console.access import Access
from rollout.console.live import LIST, Live
from rollout.view.report_style import CSS as REPORT_CSS

STATIC = Path(__file__).with_name("static")
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
MAX_BODY = 512 * 1024  # above StartExecution's 256 KB input, as JSON text in JSON
MAX_STREAMS = 64  # open pages; beyond, a page is asked to close another
FIRST_READ = 20.0  # seconds a plain GET waits for its topic to be read
KEEP_ALIVE = 15.0  # seconds between comments on an idle stream
NO_TOKEN = (
    "this console needs its token: open the URL `rollout console` printed (a new one at each start)"
)


@dataclass
class Console:
    """What the routes work with: AWS, the state machine, the shared reader, the token."""

    aws: AwsContext
    state_machine: str
    identity: str  # STS GetCallerIdentity's ARN: what controls are signed with
    live: Live
    access: Access


class ConsoleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, console: Console) -> None:
        self.console = console
        self.streams = threading.BoundedSemaphore(MAX_STREAMS)
        self.stopping = threading.Event()
        host = console.access.host
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, console.access.port), Handler)
        # --port 0: the port the system chose is the one the URL and the checks name
        console.access = replace(console.access, port=int(self.server_address[1]))

    def start(self) -> ConsoleServer:
        threading.Thread(target=self.serve_forever, daemon=True, name="console-http").start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.console.live.stop()
        self.shutdown()
        self.server_close()


Route = Callable[["Handler", dict[str, str]], None]


class Handler(BaseHTTPRequestHandler):
    server: ConsoleServer
    protocol_version = "HTTP/1.1"
    server_version = "rollout-console"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the console prints its URL, not every request."""

    @property
    def console(self) -> Console:
        return self.server.console

    # -- the gate ---------------------------------------------------------------------

    def do_GET(self) -> None:
        self._serve(GET_ROUTES)

    def do_POST(self) -> None:
        if not self._admitted():
            return
        if not self.console.access.same_origin(self.headers):
            self._text(HTTPStatus.FORBIDDEN, "refused: not from the console's own page")
            return
        self._serve(POST_ROUTES, admitted=True)

    def _serve(self, routes: dict[str, Route], admitted: bool = False) -> None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        if not admitted and not self._admitted():
            return
        route = routes.get(url.path) or (_static if url.path.startswith("/static/") else None)
        if route is None:
            self._text(HTTPStatus.NOT_FOUND, f"no such page: {url.path}")
            return
        if url.path == "/" and "token" in query:  # the printed URL: keep the token in a cookie
            self.send_response(HTTPStatus.SEE_OTHER)
            self.send_header("Set-Cookie", self.console.access.set_cookie())
            self.send_header("Location", "/")
            self._finish_headers(0)
            return
        route(self, query)

    def _admitted(self) -> bool:
        """The Host names the console and the token came with the request; else answered."""
        access = self.console.access
        if not access.host_allowed(self.headers.get("Host")):
            self._text(HTTPStatus.FORBIDDEN, "refused: this console is not served under that name")
            return False
        query = parse_qs(urlsplit(self.path).query)
        if not access.token_given(self.headers, (query.get("token") or [None])[-1]):
            self._text(HTTPStatus.UNAUTHORIZED, NO_TOKEN)
            return False
        return True

    # -- answers ----------------------------------------------------------------------

    def _finish_headers(self, length: int | None, content_type: str | None = None) -> None:
        if content_type:
            self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()

    def _bytes(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self._finish_headers(len(body), content_type)
        self.wfile.write(body)

    def _text(self, status: int, message: str) -> None:
        if status >= HTTPStatus.BAD_REQUEST:  # a body may be left unread: start afresh
            self.close_connection = True
        self._bytes(status, f"rollout console: {message}\n".encode(), "text/plain; charset=utf-8")

    def _json(self, status: int, value: Any) -> None:
        body = value if isinstance(value, bytes) else json.dumps(value).encode()
        self._bytes(status, body, "application/json")

    def _body(self) -> dict[str, Any] | None:
        """The request's JSON object; None (and answered) when it isn't one."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": "request too large"})
            return None
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._json(HTTPStatus.BAD_REQUEST, {"message": "the request must be a JSON object"})
            return None
        return body


# -- routes -----------------------------------------------------------------------------


def _page(handler: Handler, query: dict[str, str]) -> None:
    handler._bytes(HTTPStatus.OK, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")


def _static(handler: Handler, query: dict[str, str]) -> None:
    name = urlsplit(handler.path).path.removeprefix("/static/")
    if name == "report.css":
        handler._bytes(HTTPStatus.OK, REPORT_CSS.encode(), "text/css; charset=utf-8")
        return
    files = {path.name: path for path in STATIC.iterdir() if path.suffix in TYPES}
    path = files.get(name)  # only files that are there: no path from the request is opened
    if path is None:
        handler._text(HTTPStatus.NOT_FOUND, f"no such file: {name}")
        return
    handler._bytes(HTTPStatus.OK, path.read_bytes(), f"{TYPES[path.suffix]}; charset=utf-8")


def _topic(query: dict[str, str]) -> str | None:
    if query.get("topic") == LIST:
        return LIST
    execution = query.get("execution") or ""
    return execution if execution.startswith("arn:") else None


def _list(handler: Handler, query: dict[str, str]) -> None:
    _snapshot(handler, LIST)


def _run(handler: Handler, query: dict[str, str]) -> None:
    topic = _topic(query)
    if topic is None or topic == LIST:
        handler._json(HTTPStatus.BAD_REQUEST, {"message": "give ?execution=ARN"})
        return
    _snapshot(handler, topic)


def _snapshot(handler: Handler, topic: str) -> None:
    """The topic as read after the request came (within FIRST_READ seconds)."""
    snapshot = handler.console.live.current(topic, FIRST_READ)
    if snapshot is None:
        handler._json(HTTPStatus.SERVICE_UNAVAILABLE, {"message": "not read yet; try again"})
        return
    handler._json(HTTPStatus.OK, snapshot.body)


def _graph(handler: Handler, query: dict[str, str]) -> None:
    definition = handler.console.live.definition(query.get("execution") or "")
    if definition is None:
        handler._json(HTTPStatus.NOT_FOUND, {"message": "its definition is not read yet"})
        return
    handler._json(HTTPStatus.OK, views.layout(definition))


def _stream(handler: Handler, query: dict[str, str]) -> None:
    """Server-sent events: the topic's snapshot now and after every change, until the page
    closes (a hidden page closes its stream: nothing is read for it meanwhile)."""
    topic = _topic(query)
    if topic is None:
        handler._text(HTTPStatus.BAD_REQUEST, "give ?topic=list or ?execution=ARN")
        return
    server = handler.server
    if not server.streams.acquire(blocking=False):
        handler._text(HTTPStatus.SERVICE_UNAVAILABLE, "too many pages open; close one")
        return
    try:
        handler.send_response(HTTPStatus.OK)
        handler.send_header("Connection", "close")
        handler._finish_headers(None, "text/event-stream; charset=utf-8")
        handler.close_connection = True
        version = 0
        with handler.console.live.watching(topic):
            while not server.stopping.is_set():
                snapshot = handler.console.live.wait(topic, version, KEEP_ALIVE)
                if snapshot is None:
                    handler.wfile.write(b": still here\n\n")
                else:
                    handler.wfile.write(b"data: " + snapshot.body + b"\n\n")
                    version = snapshot.version
                handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the page went away
    finally:
        server.streams.release()


def _samples(handler: Handler, query: dict[str, str]) -> None:
    handler._json(HTTPStatus.OK, {"samples": actions.samples()})


def _identity(handler: Handler, query: dict[str, str]) -> None:
    console = handler.console
    handler._json(
        HTTPStatus.OK,
        {
            "identity": console.identity,
            "region": console.aws.region,
            "stateMachine": console.state_machine,
            "endpoint": console.aws.endpoint(),
            "controls": actions.CONTROL_HELP,
        },
    )


def _action(act: Callable[[Console, dict[str, Any]], dict[str, Any]]) -> Route:
    """A POST route: the JSON body to `act`; a refusal answered with the CLI's message."""

    def route(handler: Handler, query: dict[str, str]) -> None:
        body = handler._body()
        if body is None:
            return
        try:
            result = act(handler.console, body)
        except actions.Refused as refused:
            status = HTTPStatus.CONFLICT if refused.exit_code == 1 else HTTPStatus.BAD_REQUEST
            handler._json(status, {"message": str(refused), "exitCode": refused.exit_code})
            return
        handler._json(HTTPStatus.OK, result)

    return route


def _control(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    result = actions.control(console.aws, console.state_machine, body)
    console.live.poke(result["execution"])  # show its effect at the next round
    return result


def _no_icon(handler: Handler, query: dict[str, str]) -> None:
    handler.send_response(HTTPStatus.NO_CONTENT)
    handler._finish_headers(0)


GET_ROUTES: dict[str, Route] = {
    "/": _page,
    "/favicon.ico": _no_icon,
    "/api/list": _list,
    "/api/run": _run,
    "/api/graph": _graph,
    "/api/stream": _stream,
    "/api/samples": _samples,
    "/api/identity": _identity,
}
POST_ROUTES: dict[str, Route] = {
    "/api/control": _action(_control),
    "/api/plan": _action(lambda console, body: actions.plan_of(console.aws, body)),
    "/api/start": _action(
        lambda console, body: actions.start_rollout(console.aws, console.state_machine, body)
    ),
}
