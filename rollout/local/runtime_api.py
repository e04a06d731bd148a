"""Lambda execution environments: an `awslambdaric` process and the Runtime API it polls.

Each environment is one OS process running AWS's own runtime client
(`python -S -m awslambdaric module.function`, python_runtime.py says what it can
import) against a tiny emulation of the Lambda
Runtime API on 127.0.0.1 that serves exactly that process. An environment runs one
invocation at a time, as Lambda's do; the pool in lambda_runtime.py starts more when
invocations overlap. Everything the process prints is captured and attributed to the
invocation it was serving (init output goes to the first one), as Lambda's logs are.

An idle environment costs the cloud no CPU: its threads wait without a timeout (for a
connection, for output, for the next invocation, for the process to end). With a 50 ms
poll for connections and a 200 ms poll of the output pipe, each idle environment cost the
cloud process about 0.09 % of a core, and a shared cloud holds dozens of idle ones for
IDLE_LIFETIME_SECONDS (lambda_runtime.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import re
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rollout.local.serving import QuietDisconnects

API_PREFIX = "/2018-06-01/runtime"
_RESULT_PATH = re.compile(rf"^{API_PREFIX}/invocation/([^/]+)/(response|error)$")
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit on the init phase of an on-demand environment
_STOP_WAIT_SECONDS = 5.0
_ACCEPT_TIMEOUT_SECONDS = 1.0  # accept() when the waiting connection went away before it
_EOF_WAIT_SECONDS = 1.0  # for a stopped process's output to end


@dataclass
class Invocation:
    """One request handed to an environment, and what came back."""

    payload: bytes
    invoked_arn: str
    timeout_seconds: float
    request_id: str = field(default_factory=lambda: _uuid())
    started: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    deadline: float = 0.0  # time.time() when the handler must have answered
    started_at: float = 0.0
    finished_at: float = 0.0
    result: bytes = b""
    errored: bool = False
    platform_message: str | None = None  # the platform, not the runtime, ended it (logs)
    init_failed: bool = False

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.deadline = time.time() + self.timeout_seconds
        self.started.set()

    def finish(self, result: bytes, errored: bool) -> bool:
        """Record the first answer only; later ones (a dying process) are ignored."""
        if self.done.is_set():
            return False
        self.finished_at = time.monotonic()
        self.result, self.errored = result, errored
        self.started.set()  # an init error ends an invocation that never started
        self.done.set()
        return True

    def fail(self, error_type: str, message: str, init: bool = False) -> None:
        if self.finish(lambda_error(error_type, message, self.request_id), errored=True):
            self.platform_message = message
            self.init_failed = init

    @property
    def error_type(self) -> str | None:
        """The errorType of an errored invocation's payload."""
        if not self.errored:
            return None
        try:
            found = json.loads(self.result or b"{}").get("errorType")
        except (ValueError, AttributeError):
            return "Runtime.Unknown"
        return str(found) if found else "Runtime.Unknown"

    @property
    def duration_ms(self) -> float:
        if not self.started_at:
            return 0.0
        return max(0.0, (self.finished_at or time.monotonic()) - self.started_at) * 1000


def lambda_error(error_type: str, message: str, request_id: str) -> bytes:
    """Lambda's error payload for errors the runtime, not the handler, reports."""
    body = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": [],
    }
    return json.dumps(body).encode()


def _uuid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def wait_readable(fd: int) -> None:
    """Block until `fd` is readable, at end of file or closed by its peer; no timeout.
    poll, not select: a busy cloud's descriptors pass select's limit of 1024."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.poll()


def _trace_id() -> str:
    return (
        f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};"
        f"Parent={secrets.token_hex(8)};Sampled=0"
    )


class RuntimeApi:
    """The Runtime API for one environment: `next` hands out the current invocation."""

    def __init__(self) -> None:
        self._pending: queue.Queue[Invocation | None] = queue.Queue()
        self._current: Invocation | None = None
        self.init_failed = False  # the runtime exits after reporting an init error
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        # Never blocks for long in accept(); the connections it accepts block as usual.
        self._server.socket.settimeout(_ACCEPT_TIMEOUT_SECONDS)
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True, name="lambda-runtime-api")
        self._thread.start()

    def _serve(self) -> None:
        """Accept the runtime client's connections (it keeps one open) until close()."""
        while True:
            wait_readable(self._server.fileno())
            if self._closed:
                return
            self._server.handle_request()  # the connection that waits (timeout 0)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def submit(self, invocation: Invocation) -> None:
        self._current = invocation
        self._pending.put(invocation)

    def next_invocation(self) -> Invocation | None:
        invocation = self._pending.get()  # long poll, as the real `next` does
        if invocation is not None:
            invocation.start()
        return invocation

    def post_result(self, request_id: str, body: bytes, errored: bool) -> bool:
        current = self._current
        if current is None or current.request_id != request_id:
            return False
        return current.finish(body, errored)

    def post_init_error(self, body: bytes) -> None:
        self.init_failed = True
        current = self._current
        if current is None:
            return
        try:
            error = json.loads(body or b"{}")
        except ValueError:
            error = {"errorMessage": body.decode(errors="replace"), "errorType": "Runtime.Unknown"}
        error["requestId"] = current.request_id
        if current.finish(json.dumps(error).encode(), errored=True):
            current.init_failed = True

    def fail_current(self, error_type: str, message: str) -> None:
        current = self._current
        if current is not None:
            current.fail(error_type, f"RequestId: {current.request_id} Error: {message}")

    def close(self) -> None:
        """Idempotent, as ExecutionEnvironment.close is."""
        self._pending.put(None)  # releases a handler thread blocked in `next`
        self._closed = True
        host, port = self._server.server_address[:2]
        with contextlib.suppress(OSError):  # wakes _serve; refused once the server closed
            socket.create_connection((host, port), _ACCEPT_TIMEOUT_SECONDS).close()
        self._thread.join(timeout=_STOP_WAIT_SECONDS)
        self._server.server_close()


class _Server(QuietDisconnects, ThreadingHTTPServer):
    daemon_threads = True
    timeout = 0  # handle_request() is called once a connection waits (RuntimeApi._serve)
    api: RuntimeApi


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the runtime client keeps its connection open
    disable_nagle_algorithm = True  # otherwise every small response waits ~40 ms
    server: _Server

    def do_GET(self) -> None:
        if self.path != f"{API_PREFIX}/invocation/next":
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        invocation = self.server.api.next_invocation()
        if invocation is None:
            self._reply(410, b'{"errorType":"EnvironmentStopped"}')
            return
        self._reply(
            200,
            invocation.payload,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(int(invocation.deadline * 1000)),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_arn,
                "Lambda-Runtime-Trace-Id": _trace_id(),  # without it the client hangs
            },
        )

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        api = self.server.api
        if self.path == f"{API_PREFIX}/init/error":
            api.post_init_error(body)
            self._reply(202, b'{"status":"OK"}')
            return
        match = _RESULT_PATH.match(self.path)
        if match is None:
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        accepted = api.post_result(match[1], body, errored=match[2] == "error")
        if accepted:
            self._reply(202, b'{"status":"OK"}')
        else:
            self._reply(400, b'{"errorType":"InvalidRequestID"}')

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # runtime was killed
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the runtime client polls constantly."""


class LogCapture:
    """Collects a process's stdout+stderr; `take()` returns what it wrote so far.

    The handler's writes happen before its result is posted, so reading the pipe
    dry after the result arrives attributes every line to the right invocation.
    """

    def __init__(self) -> None:
        self._read_fd, self.write_fd = os.pipe()
        flags = fcntl.fcntl(self._read_fd, fcntl.F_GETFL)
        fcntl.fcntl(self._read_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._open = True
        self._thread = threading.Thread(target=self._pump, daemon=True, name="lambda-logs")
        self._thread.start()

    def _pump(self) -> None:
        """Reads output as it comes, so a chatty handler never fills the pipe and blocks;
        ends at end of file: the process exited (or was stopped, before close())."""
        while True:
            wait_readable(self._read_fd)
            if not self._read_available():
                return

    def _read_available(self) -> bool:
        """Read what the pipe holds; False at end of file."""
        with self._lock:
            while self._open:
                try:
                    chunk = os.read(self._read_fd, 65536)
                except BlockingIOError:
                    return True
                if not chunk:
                    return False
                self._buffer += chunk
            return False

    def take(self) -> str:
        self._read_available()
        with self._lock:
            text = self._buffer.decode(errors="replace")
            self._buffer.clear()
        return text

    def close(self) -> None:
        """Idempotent: an environment can be closed by a redeploy and again at uninstall.
        Called once the process is stopped, so the pump is at end of file; a process it
        started in a session of its own may still hold the pipe, and is not waited for."""
        self._thread.join(timeout=_EOF_WAIT_SECONDS)
        with self._lock:
            if not self._open:
                return
            self._open = False
            os.close(self._read_fd)


@dataclass(frozen=True)
class EnvironmentSpec:
    """What an environment runs: the handler in `task_root` with this environment."""

    handler: str
    task_root: Path
    env: dict[str, str]
    log_stream: str
    command: tuple[str, ...]  # the runtime's process (python_runtime.PythonRuntime.command)


class ExecutionEnvironment:
    """One warm process serving one invocation at a time."""

    def __init__(
        self, spec: EnvironmentSpec, on_init_end: Callable[[], None] | None = None
    ) -> None:
        self.spec = spec
        self.spawned_at = time.monotonic()
        self.served = 0  # invocations handed to this environment
        self._on_init_end = on_init_end  # called once, when init ends however it ends
        self._exited = threading.Event()
        self._api = RuntimeApi()
        self._logs = LogCapture()
        env = {**spec.env, "AWS_LAMBDA_RUNTIME_API": self._api.address}
        self._process = subprocess.Popen(
            list(spec.command),
            cwd=spec.task_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._logs.write_fd,
            stderr=self._logs.write_fd,
            start_new_session=True,  # its own process group, so stop() reaches its children
        )
        os.close(self._logs.write_fd)
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="lambda-env")
        self._watcher.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        """Fit to serve another invocation."""
        return not self._exited.is_set() and not self._api.init_failed

    @property
    def max_memory_mb(self) -> int | None:
        """The process's peak resident memory (VmHWM), when the OS still tells it."""
        try:
            with open(f"/proc/{self._process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return max(1, round(int(line.split()[1]) / 1024))
        except (OSError, ValueError, IndexError):
            return None
        return None

    def invoke(self, invocation: Invocation) -> str:
        """Run one invocation to its end (result, error, timeout, crash); returns its logs."""
        self.served += 1
        self._api.submit(invocation)
        if self._exited.is_set():  # died since it was last used; _watch may have missed it
            invocation.fail("Runtime.ExitError", "Runtime exited before the invocation")
        # Record the timeout before killing, or _watch reports the kill as an exit.
        if not invocation.started.wait(INIT_TIMEOUT_SECONDS):
            invocation.fail(
                "Sandbox.Timedout",
                f"INIT timed out after {INIT_TIMEOUT_SECONDS:.2f} seconds",
                init=True,
            )
            self.stop()
        self._init_ended()
        remaining = invocation.deadline - time.time()
        if not invocation.done.wait(max(remaining, 0.0)):
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            invocation.fail(
                "Sandbox.Timedout",
                f"{stamp} {invocation.request_id} "
                f"Task timed out after {invocation.timeout_seconds:.2f} seconds",
            )
            self.stop()  # Lambda discards an environment whose invocation timed out
        return self._logs.take()

    def _watch(self) -> None:
        code = self._process.wait()
        self._exited.set()
        status = f"signal {-code}" if code < 0 else f"exit status {code}"
        self._api.fail_current("Runtime.ExitError", f"Runtime exited with error: {status}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=_STOP_WAIT_SECONDS)

    def _init_ended(self) -> None:
        callback, self._on_init_end = self._on_init_end, None
        if callback is not None:
            callback()

    def close(self) -> None:
        """Stop the process and release the server and pipe."""
        self._init_ended()
        self.stop()
        self._api.close()
        self._logs.close()
