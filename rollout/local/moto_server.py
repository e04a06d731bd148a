"""moto's HTTP server, built as moto's `ThreadedMotoServer` builds it, with a WSGI middleware
in front of moto's dispatcher.

`ThreadedMotoServer._server_entry` makes `DomainDispatcherApplication(create_backend_app)`
and serves it with `werkzeug.serving.make_server(ip, port, app, True,
request_handler=MotoRequestHandler)`; it has no way to wrap the app. This class does the
same from those three public names and runs `wrap(app)` instead, so the quotas seam
(quotas.py) sees every request before moto does. tests/local/test_quotas_contract.py checks
that moto still builds its server that way.

Its dispatcher reads moto's list of modules once (`Dispatcher`): moto lists its package
directory on every request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.backends import list_of_moto_modules
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from rollout.local.serving import quiet_disconnects

Middleware = Callable[[Any], Any]


class Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, answering a host that names a moto module from a set read once.

    moto's `get_backend_for_host` asks `list_of_moto_modules()`, which lists moto's package
    directory and stats each of its ~160 entries, on every request: about 0.7 ms of the
    ~3.5 ms of CPU a request costs here. The directory doesn't change while the server
    runs; any other host goes to moto's own lookup."""

    MODULES = frozenset(list_of_moto_modules())

    def get_backend_for_host(self, host: str | None) -> Any:
        if host in self.MODULES:
            return host
        return super().get_backend_for_host(host)


class MotoServer:
    """`start()` serves on a thread until `stop()`; port 0 picks a free port."""

    def __init__(self, ip_address: str, port: int, wrap: Middleware) -> None:
        self._ip_address = ip_address
        self._port = port
        self._wrap = wrap
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app = self._wrap(Dispatcher(create_backend_app))
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
