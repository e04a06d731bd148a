"""moto's HTTP server, built as moto's `ThreadedMotoServer` builds it, with a WSGI middleware
in front of moto's dispatcher.

`ThreadedMotoServer._server_entry` makes `DomainDispatcherApplication(create_backend_app)`
and serves it with `werkzeug.serving.make_server(ip, port, app, True,
request_handler=MotoRequestHandler)`; it has no way to wrap the app. This class does the
same from those three public names and runs `wrap(app)` instead, so the quotas seam
(quotas.py) sees every request before moto does. tests/local/test_quotas_contract.py checks
that moto still builds its server that way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from rollout.local.serving import quiet_disconnects

Middleware = Callable[[Any], Any]


class MotoServer:
    """`start()` serves on a thread until `stop()`; port 0 picks a free port."""

    def __init__(self, ip_address: str, port: int, wrap: Middleware) -> None:
        self._ip_address = ip_address
        self._port = port
        self._wrap = wrap
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app = self._wrap(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, threaded=True, request_handler=MotoRequestHandler
        )
        quiet_disconnects(self._server)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        assert self._server is not None, "MotoServer is not started"
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
