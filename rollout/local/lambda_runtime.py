"""Lambda runtime seam: Python functions in the local cloud really run when invoked.

moto stores functions, versions and aliases faithfully but never runs Python code here
(no Docker), and it loses the `Qualifier` of an HTTP Invoke, so every call would hit
`$LATEST`. This seam resolves the qualifier itself (an alias draws a version by its
routing weights on every call), runs that version's own code and configuration in an
execution environment (runtime_api.py), answers as Lambda does (FunctionError,
X-Amz-Executed-Version, LogType Tail, Event → 202, DryRun → 204), writes each
invocation's logs as Lambda does (lambda_logs.py) and emits the AWS/Lambda metrics
(lambda_metrics.py).

Environments are replaced when a version's code or configuration changes, its execution
role included: an environment holds its role's credentials ("Defined runtime environment
variables"), and after an update "the function is processing events with the new
configuration" (UpdateFunctionConfiguration, Lambda API reference,
https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html). One
idle for IDLE_LIFETIME_SECONDS (a deleted function's too) is shut down at the next
invocation of any function.

moto internals this depends on (moto 5.2.5; checked by tests/local/test_lambda_runtime.py):
- replaced: `LambdaBackend.invoke(self, function_name, qualifier, body, headers,
  response_headers)`, reached by the HTTP API and by the Step Functions interpreter;
- wrapped: `LambdaResponse.invoke(self)`, to copy the `Qualifier` query parameter to the
  lower-case `qualifier` that moto reads (it reads `self.querystring`);
- read: `LambdaBackend.get_function`, `get_alias`, `layers_versions_by_arn`;
  `LambdaFunction.code_bytes`, `code_sha_256`, `handler`, `timeout`, `memory_size`,
  `run_time`, `environment_vars`, `layers` (list of {"Arn": ...}), `reserved_concurrency`,
  `function_arn`, `role` (a published version is a shallow copy that keeps its own code
  bytes);
  `LayerVersion.code_bytes`, `code_sha_256`; `LambdaAlias.function_version`,
  `routing_config` ({"AdditionalVersionWeights": {version: weight}});
- written: CloudWatch Logs through lambda_logs.py (`LogWriter`) and CloudWatch through
  lambda_metrics.py.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import logging
import os
import random
import shutil
import stat
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaAlias, LambdaBackend, LambdaFunction, lambda_backends
from moto.awslambda.responses import LambdaResponse
from moto.core.exceptions import JsonRESTError

from rollout.local import lambda_aliases, lambda_logs, lambda_metrics
from rollout.local.lambda_logs import InvocationLog, LogSettings, LogWriter
from rollout.local.lambda_metrics import InvocationRecord
from rollout.local.metric_delay import DelayedMetrics
from rollout.local.patching import Patches
from rollout.local.python_runtime import PythonRuntime, interpreter_gap
from rollout.local.role_sessions import RoleSessions, role_account
from rollout.local.runtime_api import EnvironmentSpec, ExecutionEnvironment, Invocation
from rollout.local.seam import Cloud

logger = logging.getLogger(__name__)

LATEST = "$LATEST"
TAIL_BYTES = 4096
# Parent environment variables a process needs to start at all; nothing else leaks in.
_INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR", "HOME", "SYSTEMROOT")


class TooManyRequestsException(JsonRESTError):
    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


@dataclass(frozen=True)
class Target:
    """The function version one invocation runs, and how the caller named it."""

    function: LambdaFunction
    name: str
    qualifier: str | None
    executed_version: str
    invoked_arn: str

    @property
    def place_name(self) -> str:
        """The function in its own account and Region. A function's execution environments
        and the reserved concurrency they count against are its own: another account's or
        Region's function of the same name never shares them (on AWS each is a separate
        resource, "Lambda function ARN" in the Lambda API reference)."""
        return f"{self.function.account_id}:{self.function.region}:{self.name}"


@dataclass(frozen=True)
class FunctionConfig:
    """Everything that defines an execution environment of one function version."""

    handler: str
    runtime: str
    timeout: float
    memory: int
    variables: tuple[tuple[str, str], ...]
    code_sha: str
    layers: tuple[tuple[str, bytes], ...]  # (sha256, zip) in the function's layer order
    logs: LogSettings
    role: str  # the execution role, whose credentials the environment holds

    @classmethod
    def of(cls, backend: LambdaBackend, function: LambdaFunction) -> FunctionConfig:
        variables = function.environment_vars or {}
        return cls(
            handler=str(function.handler),
            runtime=str(function.run_time),
            timeout=float(function.timeout),
            memory=int(function.memory_size),
            variables=tuple(sorted((str(k), str(v)) for k, v in variables.items())),
            code_sha=function.code_sha_256,
            layers=_layers(backend, function),
            logs=LogSettings.of(function),
            role=execution_role(function),
        )

    @property
    def fingerprint(self) -> str:
        """Changes when anything the environment was started with changes."""
        shape = [
            self.handler,
            self.runtime,
            self.timeout,
            self.memory,
            self.variables,
            self.code_sha,
            [sha for sha, _ in self.layers],
            [self.logs.format, self.logs.group],
            self.role,
        ]
        return _digest(json.dumps(shape).encode())


def split_name(function_name: str, qualifier: str | None) -> tuple[str, str | None]:
    """Name and qualifier from a name, `name:qualifier`, or a function ARN."""
    if function_name.startswith("arn:"):
        function_name = function_name.split(":function:", 1)[1]
    name, _, embedded = function_name.partition(":")
    return name, embedded or qualifier


def pick_version(alias: LambdaAlias, draw: float) -> str:
    """The alias's version for a uniform `draw` in [0, 1), honouring its routing weights."""
    cumulative = 0.0
    for version, weight in lambda_aliases.weights(alias).items():
        cumulative += weight
        if draw < cumulative:
            return version
    return str(alias.function_version)


def resolve(
    backend: LambdaBackend, function_name: str, qualifier: str | None, draw: Callable[[], float]
) -> Target:
    """Which version runs: moto's own lookup for versions, our draw for alias weights."""
    name, qualifier = split_name(function_name, qualifier)
    version = qualifier or LATEST
    if version != LATEST and not version.isdigit():
        version = pick_version(backend.get_alias(version, name), draw())
    function = backend.get_function(name, version)  # raises ResourceNotFound as Lambda does
    base_arn = function.function_arn.split(f":function:{name}")[0] + f":function:{name}"
    invoked_arn = f"{base_arn}:{qualifier}" if qualifier else base_arn
    return Target(function, name, qualifier, version, invoked_arn)


def header(headers: Mapping[str, str], name: str, default: str = "") -> str:
    """Case-insensitive lookup: the server passes werkzeug headers, in-process callers dicts."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return str(value)
    return default


class CodeStore:
    """Code and layer zips extracted once per content hash under one temp dir."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rollout-lambda-"))
        self._lock = threading.Lock()

    def task_root(self, code_sha: str, code: bytes) -> Path:
        return self._extract(self.root / "task" / _digest(code_sha.encode()), [code])

    def opt_root(self, layers: tuple[tuple[str, bytes], ...]) -> Path:
        """Layers extracted in order into one dir, later ones overwriting, as /opt is."""
        key = _digest("/".join(sha for sha, _ in layers).encode())
        return self._extract(self.root / "opt" / key, [content for _, content in layers])

    def _extract(self, target: Path, zips: list[bytes]) -> Path:
        with self._lock:
            if not target.exists():
                staging = Path(tempfile.mkdtemp(dir=self.root))
                for content in zips:
                    with zipfile.ZipFile(io.BytesIO(content)) as archive:
                        _extract_all(archive, staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                staging.rename(target)
        return target

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _extract_all(archive: zipfile.ZipFile, folder: Path) -> None:
    """Extract as Lambda does, symbolic links kept as links (the offline build links a
    package's dependencies, package.py); a later layer's entry replaces an earlier one's."""
    for info in archive.infolist():
        _own_parents(folder, Path(info.filename).parent)
        path = folder / info.filename
        if path.is_symlink():  # never write through an earlier layer's link
            path.unlink()
        if not stat.S_ISLNK(info.external_attr >> 16):
            archive.extract(info, folder)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        path.symlink_to(archive.read(info).decode())


def _own_parents(folder: Path, relative: Path) -> None:
    """A folder an earlier layer linked becomes a copy before a later layer writes into it,
    so extracting never writes through a link into what it points at."""
    current = folder
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            target = current.resolve()
            current.unlink()
            if target.is_dir():
                shutil.copytree(target, current, symlinks=True)


# Cold starts run at most this many at a time. Lambda starts them in parallel on its own
# hosts; here they share a few cores, and a burst of them (50 rollouts at once) would
# otherwise push inits past Lambda's 10 s limit. Time spent queued is not init time.
INIT_CONCURRENCY = max(2, 2 * (os.cpu_count() or 1))


# An environment idle this long is shut down; the next invocation is a cold start. Lambda
# keeps an environment after an invocation "for some time in anticipation of another" and
# documents no minimum ("Execution environment lifecycle", Shutdown phase:
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html); idle ones
# are commonly recycled within 5 to 15 minutes. Here each also holds a process of ~50 MB.
IDLE_LIFETIME_SECONDS = 300.0


class RuntimeStopped(RuntimeError):
    """An invocation arrived after the runtime (and the cloud) stopped."""


class EnvironmentPool:
    """Warm environments per (function in its place, version); a new fingerprint retires
    old ones."""

    def __init__(self) -> None:
        self._init_gate = threading.BoundedSemaphore(INIT_CONCURRENCY)
        # each slot's idle environments, with since when (monotonic seconds) each is idle
        self._idle: dict[tuple[str, str], list[tuple[ExecutionEnvironment, float]]] = {}
        self._fingerprints: dict[tuple[str, str], str] = {}
        self._all: set[ExecutionEnvironment] = set()
        self._busy: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False

    def acquire(
        self, slot: tuple[str, str], fingerprint: str, start: Callable[[], EnvironmentSpec]
    ) -> ExecutionEnvironment:
        with self._lock:
            self._check_open()
            self._busy[slot[0]] = self._busy.get(slot[0], 0) + 1
            stale = self._retire_stale(slot, fingerprint) + self._expire_idle()
            idle = self._idle.get(slot, [])
            warm = idle.pop()[0] if idle else None
        for env in stale:
            env.close()
        try:
            return warm or self._start(start())
        except BaseException:
            with self._lock:
                self._busy[slot[0]] -= 1
            raise

    def _retire_stale(self, slot: tuple[str, str], fingerprint: str) -> list[ExecutionEnvironment]:
        if self._fingerprints.get(slot) == fingerprint:
            return []
        self._fingerprints[slot] = fingerprint
        stale = [env for env, _ in self._idle.pop(slot, [])]
        self._all.difference_update(stale)
        return stale

    def _expire_idle(self) -> list[ExecutionEnvironment]:
        """Environments idle for IDLE_LIFETIME_SECONDS, taken out of the pool (lock held)."""
        oldest = time.monotonic() - IDLE_LIFETIME_SECONDS
        expired: list[ExecutionEnvironment] = []
        for idle in self._idle.values():
            expired += [env for env, since in idle if since < oldest]
            idle[:] = [(env, since) for env, since in idle if since >= oldest]
        self._all.difference_update(expired)
        return expired

    def _start(self, spec: EnvironmentSpec) -> ExecutionEnvironment:
        self._init_gate.acquire()
        try:
            env = ExecutionEnvironment(spec, on_init_end=self._init_gate.release)
        except BaseException:
            self._init_gate.release()
            raise
        with self._lock:
            if not self._closed:
                self._all.add(env)
                return env
        env.close()
        raise RuntimeStopped("the Lambda runtime was stopped")

    def release(self, slot: tuple[str, str], fingerprint: str, env: ExecutionEnvironment) -> None:
        with self._lock:
            self._busy[slot[0]] -= 1
            keep = env.alive and not self._closed and self._fingerprints.get(slot) == fingerprint
            if keep:
                self._idle.setdefault(slot, []).append((env, time.monotonic()))
            else:
                self._all.discard(env)
        if not keep:
            env.close()

    def busy(self, function_name: str) -> int:
        with self._lock:
            return self._busy.get(function_name, 0)

    def pids(self) -> list[int]:
        with self._lock:
            return [env.pid for env in self._all]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            envs, self._all, self._idle = list(self._all), set(), {}
        for env in envs:
            env.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeStopped("the Lambda runtime was stopped")


class LambdaRuntime:
    """The seam: `LocalCloud(seams=[LambdaRuntime])` makes Invoke run the function."""

    def __init__(self) -> None:
        self.random = random.Random()  # the alias weight draw; tests may seed it
        self._patches = Patches()
        self._cloud: Cloud | None = None
        self._pool = EnvironmentPool()
        self._code: CodeStore | None = None
        self._python: PythonRuntime | None = None
        self._gaps_told: set[str] = set()
        self._logs: LogWriter | None = None
        self._metrics: DelayedMetrics | None = None
        self._background: set[threading.Thread] = set()
        self._sessions = RoleSessions()  # each function's execution role (role_sessions.py)

    # -- seam lifecycle --------------------------------------------------------------

    def install(self, cloud: Cloud) -> None:
        self._cloud = cloud
        self._pool = EnvironmentPool()
        self._code = CodeStore()
        self._python = PythonRuntime(self._code.root / "runtime-libraries")
        self._logs = LogWriter(cloud.log_delay)
        self._metrics = DelayedMetrics(cloud.metric_delay)
        runtime = self

        def invoke(
            backend: LambdaBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, Any],
        ) -> bytes:
            return runtime.invoke(
                backend, function_name, qualifier, body, headers, response_headers
            )

        original_response_invoke = LambdaResponse.invoke

        def response_invoke(response: LambdaResponse) -> Any:
            qualifier = response.querystring.get("Qualifier")
            if qualifier:  # moto only reads the lower-case name
                response.querystring.setdefault("qualifier", qualifier)
            return original_response_invoke(response)

        self._patches.replace(LambdaBackend, "invoke", invoke)
        self._patches.replace(LambdaResponse, "invoke", response_invoke)

    def uninstall(self) -> None:
        self._patches.undo()
        self._pool.close()
        for thread in list(self._background):
            thread.join(timeout=5)
        if self._logs is not None:
            self._logs.close()
        if self._metrics is not None:
            self._metrics.close()
        if self._code is not None:
            self._code.remove()
            self._code = None

    def pids(self) -> list[int]:
        """Process ids of the running execution environments."""
        return self._pool.pids()

    # -- Invoke ----------------------------------------------------------------------

    def invoke(
        self,
        backend: LambdaBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, Any],
    ) -> bytes:
        target = resolve(backend, function_name, qualifier, self.random.random)
        invocation_type = header(headers, "X-Amz-Invocation-Type", "RequestResponse")
        payload = _as_bytes(body)
        if invocation_type == "DryRun":
            return self._respond(response_headers, b"")
        if invocation_type == "Event":
            self._in_background(backend, target, payload)
            return self._respond(response_headers, b"")
        invocation, logs = self.run(backend, target, payload)
        response_headers["x-amz-executed-version"] = target.executed_version
        if invocation.errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        if header(headers, "X-Amz-Log-Type") == "Tail":
            tail = logs.encode()[-TAIL_BYTES:]
            response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        return self._respond(response_headers, invocation.result)

    @staticmethod
    def _respond(response_headers: dict[str, Any], payload: bytes) -> bytes:
        response_headers["Content-Length"] = str(len(payload))
        return payload

    def _in_background(self, backend: LambdaBackend, target: Target, payload: bytes) -> None:
        def run() -> None:
            try:
                self.run(backend, target, payload)
            except RuntimeStopped:
                pass  # the cloud is stopping: an event invocation queued now is dropped
            except Exception:  # an async invocation has nobody to report to but the log
                logger.exception("asynchronous invocation of %s failed", target.name)
            finally:
                self._background.discard(threading.current_thread())

        thread = threading.Thread(target=run, daemon=True, name=f"lambda-event-{target.name}")
        self._background.add(thread)
        thread.start()

    def run(self, backend: LambdaBackend, target: Target, payload: bytes) -> tuple[Invocation, str]:
        """Run one invocation in a warm or new environment; returns it and its log text."""
        self._check_throttle(backend, target)
        config = FunctionConfig.of(backend, target.function)
        slot = (target.place_name, target.executed_version)
        env = self._pool.acquire(
            slot, config.fingerprint, lambda: self._environment_spec(target, config)
        )
        invocation = Invocation(payload, target.invoked_arn, config.timeout)
        cold = env.served == 0
        started_ms = _epoch_ms()
        try:
            output = env.invoke(invocation)
        finally:
            max_memory = env.max_memory_mb
            self._pool.release(slot, config.fingerprint, env)
        record = _invocation_log(target, config, invocation, output, started_ms, max_memory)
        if cold:
            init_ms = (invocation.started_at or invocation.finished_at) - env.spawned_at
            record = dataclasses.replace(record, init_ms=max(0.0, init_ms * 1000))
        batch = lambda_logs.events(record, config.logs.format)
        assert self._logs is not None
        self._logs.write(target.function, config.logs.group, env.spec.log_stream, batch)
        logs = lambda_logs.as_text(batch)
        self._emit(
            target,
            InvocationRecord(
                target.name,
                target.qualifier,
                target.executed_version,
                invocation.duration_ms,
                invocation.errored,
            ),
        )
        return invocation, logs

    def _check_throttle(self, backend: LambdaBackend, target: Target) -> None:
        reserved = backend.get_function(target.name).reserved_concurrency
        if reserved is not None and self._pool.busy(target.place_name) >= int(reserved):
            self._emit(
                target,
                InvocationRecord(
                    target.name, target.qualifier, target.executed_version, throttled=True
                ),
            )
            raise TooManyRequestsException()

    def _emit(self, target: Target, record: InvocationRecord) -> None:
        """AWS/Lambda metrics in the function's own account and Region."""
        assert self._metrics is not None
        lambda_metrics.emit(target.function, record, self._metrics.put)

    def _environment_spec(self, target: Target, config: FunctionConfig) -> EnvironmentSpec:
        assert self._code is not None and self._cloud is not None and self._python is not None
        self._tell_interpreter_gap(config.runtime)
        task_root = self._code.task_root(config.code_sha, target.function.code_bytes)
        opt = self._code.opt_root(config.layers) if config.layers else None
        stream = config.logs.stream_name(target.executed_version)
        env = {
            **{key: os.environ[key] for key in _INHERITED_ENV if key in os.environ},
            **dict(config.variables),
            # code, layers and the runtime's own libraries only (python_runtime.py)
            "PYTHONPATH": self._python.python_path(task_root, opt, config.runtime),
            **self._cloud.client_env(),  # the function's SDK calls reach the local cloud
            **self._role_credentials(target),  # … as its execution role, in its account
            **_reserved_env(target, config, task_root, stream),
        }
        command = self._python.command(config.handler)
        return EnvironmentSpec(config.handler, task_root, env, stream, command)

    def _tell_interpreter_gap(self, runtime: str) -> None:
        """Say once per runtime that the function runs on another Python than it declares."""
        gap = interpreter_gap(runtime)
        if gap is not None and runtime not in self._gaps_told:
            self._gaps_told.add(runtime)
            logger.warning(gap)

    def _role_credentials(self, target: Target) -> dict[str, str]:
        """The execution role's temporary credentials, as Lambda gives a function ("Defined
        runtime environment variables"), so its calls land in the role's account; a role
        that isn't an IAM role ARN keeps the cloud's default credentials."""
        role = execution_role(target.function)
        if role_account(role) is None:
            return {}
        return self._sessions.credentials(role, target.name).environment()


def execution_role(function: LambdaFunction) -> str:
    return str(getattr(function, "role", "") or "")


def _as_bytes(body: Any) -> bytes:
    if body is None or body == "":
        return b"{}"
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _layers(backend: LambdaBackend, function: LambdaFunction) -> tuple[tuple[str, bytes], ...]:
    found = []
    for layer in function.layers or []:
        version = backend.layers_versions_by_arn(layer["Arn"])
        if version is None:  # e.g. a public AWS layer: the local cloud doesn't have it
            logger.warning("layer %s is not in the local cloud; skipped", layer["Arn"])
            continue
        found.append((version.code_sha_256, version.code_bytes))
    return tuple(found)


def _reserved_env(
    target: Target, config: FunctionConfig, task_root: Path, stream: str
) -> dict[str, str]:
    """Variables Lambda sets itself; users can't override them. AWS_REGION and
    AWS_DEFAULT_REGION are the Region the function runs in ("Defined runtime environment
    variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html)."""
    region = str(target.function.region)
    return {
        "_HANDLER": config.handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": target.name,
        "AWS_LAMBDA_FUNCTION_VERSION": target.executed_version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": config.logs.group,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_LOG_FORMAT": config.logs.format,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "TZ": ":UTC",
    }


def backend_of(cloud: Cloud) -> LambdaBackend:
    """The moto Lambda backend behind a cloud (for tests and other seams)."""
    return lambda_backends[cloud.account_id][cloud.region]


def _epoch_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _invocation_log(
    target: Target,
    config: FunctionConfig,
    invocation: Invocation,
    output: str,
    started_ms: int,
    max_memory: int | None,
) -> InvocationLog:
    error_type = invocation.error_type
    timed_out = error_type == lambda_logs.TIMEOUT_ERROR
    status = "timeout" if timed_out else "error" if invocation.errored else "success"
    return InvocationLog(
        request_id=invocation.request_id,
        function_name=target.name,
        version=target.executed_version,
        started_ms=started_ms,
        finished_ms=max(started_ms, _epoch_ms()),
        duration_ms=invocation.duration_ms,
        memory_mb=config.memory,
        output=output,
        status=status,
        error_type=error_type,
        platform_message=invocation.platform_message,
        init_failed=invocation.init_failed,
        max_memory_mb=max_memory,
    )
