"""The local cloud's HTTP servers stay quiet when a client goes away.

socketserver prints "Exception occurred during processing of request" and a traceback to
stderr for any error a request handler raises, including a client that closed its
connection (`ConnectionResetError`, `BrokenPipeError`): a Lambda runtime process ended
while it waited for its next event, or an SDK that gave up on a call. Nothing went wrong
in the cloud, so nothing is printed; any other error still is.
"""

from __future__ import annotations

import logging
import socketserver
import sys
from typing import Any

logger = logging.getLogger(__name__)


def dropped_connection() -> bool:
    """Inside `handle_error`: is the error being handled a client that went away?"""
    return isinstance(sys.exc_info()[1], ConnectionError | TimeoutError)


class QuietDisconnects(socketserver.BaseServer):
    """Mix in before the server class: `class Server(QuietDisconnects, ThreadingHTTPServer)`."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if dropped_connection():
            logger.debug("client %s closed its connection", client_address)
            return
        super().handle_error(request, client_address)


def quiet_disconnects(server: socketserver.BaseServer) -> None:
    """The same for a server someone else built (moto's werkzeug server)."""
    loud = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if dropped_connection():
            logger.debug("client %s closed its connection", client_address)
            return
        loud(request, client_address)

    server.handle_error = handle_error  # type: ignore[method-assign]
