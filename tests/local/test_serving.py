"""The local cloud's HTTP servers print nothing when a client goes away (`make demo` once
printed a ConnectionResetError traceback), and still report real errors."""

from __future__ import annotations

import socket
import struct
import time

from rollout.local.runtime_api import RuntimeApi


def _reset_mid_request(address: tuple[str, int]) -> None:
    """Send half a request, then close with RST (SO_LINGER 0), as a killed client does."""
    with socket.create_connection(address, timeout=5) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x")
        time.sleep(0.2)  # the server is now reading the rest of the request


def _settle() -> None:
    time.sleep(0.5)  # the server thread handles the reset


def test_the_runtime_api_is_quiet_when_a_runtime_goes_away(capfd):
    api = RuntimeApi()
    try:
        host, port = api.address.split(":")
        _reset_mid_request((host, int(port)))
        _settle()
    finally:
        api.close()
    assert "Traceback" not in capfd.readouterr().err


def test_the_aws_endpoint_is_quiet_when_a_client_goes_away(capfd, isolated_cloud):
    with isolated_cloud(seams=[]) as cloud:
        server = cloud._server._server  # type: ignore[union-attr]
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            server.handle_error(None, ("127.0.0.1", 1))
        _reset_mid_request(("127.0.0.1", cloud.port))
        _settle()
    assert "Traceback" not in capfd.readouterr().err


def test_other_errors_are_still_reported(capfd, isolated_cloud):
    with isolated_cloud(seams=[]) as cloud:
        server = cloud._server._server  # type: ignore[union-attr]
        try:
            raise ValueError("a real bug")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
    assert "ValueError: a real bug" in capfd.readouterr().err
