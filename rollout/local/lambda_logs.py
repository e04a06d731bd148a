"""Lambda's logs in CloudWatch Logs, written as Lambda writes them.

What is written, and the AWS documentation each rule follows:
- Logs go to CloudWatch Logs in the function's own account and Region: a log group is a
  Regional resource of one account (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME`), and a
  function in eu-west-1 logs to eu-west-1, never to the Region of whoever invoked it.
  The log group is `/aws/lambda/<function name>` unless the function's
  `LoggingConfig.LogGroup` names another: "By default, Lambda sends logs to a log group
  named /aws/lambda/<function name>" and "you can configure a custom log group"
  (Sending Lambda function logs to CloudWatch Logs,
  https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html).
- One stream per execution environment, named for the day it started and the version it
  runs: "Each instance of a Lambda function has a dedicated log stream" and "The naming
  convention for log streams is: YYYY/MM/DD[Function version][Execution environment
  GUID]" (How CloudWatch structures logs, Lambda operator guide,
  https://docs.aws.amazon.com/lambda/latest/operatorguide/log-structure.html). As on
  AWS the date is followed by a slash and the version is in brackets:
  `2026/11/30/[$LATEST]0123…` (32 hex digits). In a custom log group the stream also
  names the function, so several functions can share the group: "The log stream naming
  format for custom log groups follows this convention:
  YYYY/MM/DD/<function_name>[<function_version>][<execution_environment_GUID>]"
  (Configuring CloudWatch log groups,
  https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html).
- `LoggingConfig.LogFormat` Text (the default): "there are three minimal log statements
  generated per invocation (START, END and REPORT)" (same page). REPORT carries
  `Duration`, `Billed Duration`, `Memory Size`, `Max Memory Used` when it could be read,
  `Init Duration` on an environment's first invocation, and `Status: timeout` or
  `Status: error` with `Error Type` when the platform ended the invocation (a timeout,
  the runtime exiting) or init failed. An init failure adds `INIT_REPORT … Phase: init
  Status: error Error Type: …`. A timeout adds Lambda's own line
  `<time> <request id> Task timed out after N seconds`; an exit adds
  `RequestId: <id> Error: Runtime exited with error: …` and `Runtime.ExitError`.
- LogFormat JSON: Lambda's system logs are JSON records `{"time", "type", "record"}`
  with the Telemetry API's types ("Configuring JSON and plain text log formats",
  https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html;
  record schemas in the Telemetry API Event schema reference,
  https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html):
  `platform.initStart` on a cold start, `platform.initReport` when init failed,
  `platform.start` ("Function invocation started"), `platform.runtimeDone` ("The runtime
  finished processing an event with either success or failure") and `platform.report`
  ("A report of function invocation") whose `status` is `success`, `error` or `timeout`,
  with `errorType` when it is not `success`.
- The function's own stdout and stderr, and the runtime's report of an unhandled
  exception, are written between the platform lines exactly as the process printed
  them: the runtime (`awslambdaric`) itself prints `[ERROR] <type>: <message>` with the
  traceback joined by `\\r` in one event for Text, and a JSON record with
  `"level": "ERROR"`, `errorType`, `errorMessage` and `stackTrace` for JSON (it reads
  `AWS_LAMBDA_LOG_FORMAT`, which the runtime seam sets from LoggingConfig).

Logs become readable after an ingestion delay (`LocalCloud(log_delay=…)`): events keep
the time they were produced, but PutLogEvents happens only `delay` seconds later, as
CloudWatch Logs makes them searchable shortly after Lambda sends them. 0 writes at once.

This module also holds the `LambdaLogs` seam, which closes two moto 5.2.5 gaps:
- moto drops `LoggingConfig` on CreateFunction and UpdateFunctionConfiguration and never
  returns it. Wrapped: `LambdaFunction.__init__(self, account_id, spec, region,
  version)`, `LambdaFunction.update_configuration(self, config_updates)` and
  `LambdaFunction.get_configuration(self, on_create)`; the value is kept in the
  attribute `rollout_logging_config` (published versions are copies and keep it).
- moto's FilterLogEvents ignores `logStreamNamePrefix` (every stream is searched) and
  returns events stream by stream unless `interleaved` (AWS: "As of June 17, 2019, this
  parameter is ignored and the value is assumed to be true", FilterLogEvents API
  reference). Replaced: `LogsResponse.filter_log_events(self)`; calls
  `LogsBackend.filter_log_events` with the streams the prefix selects; reads
  `LogsBackend.groups` and `LogGroup.streams`.
Pinned by tests/local/test_lambda_logs.py (contract and "moto alone" tests).
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.logs.models import logs_backends
from moto.logs.responses import LogsResponse

from rollout.local.patching import Patches
from rollout.local.seam import Cloud, Place

TEXT, JSON = "Text", "JSON"
CONFIG_ATTRIBUTE = "rollout_logging_config"
TIMEOUT_ERROR = "Sandbox.Timedout"
EXIT_ERROR = "Runtime.ExitError"


def default_group(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


@dataclass(frozen=True)
class LogSettings:
    """Where and how one function version's environments log."""

    format: str
    group: str
    function_name: str

    @classmethod
    def of(cls, function: LambdaFunction) -> LogSettings:
        config = getattr(function, CONFIG_ATTRIBUTE, None) or {}
        log_format = JSON if str(config.get("LogFormat", TEXT)).upper() == "JSON" else TEXT
        name = str(function.function_name)
        return cls(log_format, str(config.get("LogGroup") or default_group(name)), name)

    def stream_name(self, version: str, now: datetime | None = None) -> str:
        """`YYYY/MM/DD/[VERSION]<32 hex>`, one per execution environment; in a custom group
        `YYYY/MM/DD/<function>[VERSION]<32 hex>`."""
        day = (now or datetime.now(UTC)).strftime("%Y/%m/%d")
        function = "" if self.group == default_group(self.function_name) else self.function_name
        return f"{day}/{function}[{version}]{secrets.token_hex(16)}"


@dataclass(frozen=True)
class InvocationLog:
    """What one invocation did, as the platform lines report it."""

    request_id: str
    function_name: str
    version: str
    started_ms: int  # epoch milliseconds
    finished_ms: int
    duration_ms: float
    memory_mb: int
    output: str  # everything the process printed while serving it (init included)
    status: str = "success"  # success | error | timeout
    error_type: str | None = None
    platform_message: str | None = None  # a line the platform writes itself (timeout, exit)
    init_ms: float | None = None  # set on an environment's first invocation
    init_failed: bool = False
    max_memory_mb: int | None = None


def events(log: InvocationLog, log_format: str) -> list[dict[str, Any]]:
    """The log events of one invocation in `log_format`, oldest first."""
    lines = _json_lines(log) if log_format == JSON else _text_lines(log)
    lines.sort(key=lambda line: line[0])  # stable: PutLogEvents wants chronological order
    return [{"timestamp": stamp, "message": message} for stamp, message in lines]


def _output_lines(log: InvocationLog) -> list[tuple[int, str]]:
    # A process's lines reach Lambda as they are written; here they are read after the
    # invocation, so they carry its end time.
    return [(log.finished_ms, line) for line in log.output.split("\n") if line]


def _text_lines(log: InvocationLog) -> list[tuple[int, str]]:
    rid, end = log.request_id, log.finished_ms
    lines = [(log.started_ms, f"START RequestId: {rid} Version: {log.version}")]
    lines += _output_lines(log)
    if log.platform_message:
        lines.append((end, log.platform_message))
        if log.error_type == EXIT_ERROR:
            lines.append((end, EXIT_ERROR))
    if log.init_failed:
        lines.append(
            (
                end,
                f"INIT_REPORT Init Duration: {log.init_ms or 0.0:.2f} ms\tPhase: init\t"
                f"Status: error\tError Type: {log.error_type}",
            )
        )
    lines.append((end, f"END RequestId: {rid}"))
    report = (
        f"REPORT RequestId: {rid}\tDuration: {log.duration_ms:.2f} ms\t"
        f"Billed Duration: {math.ceil(log.duration_ms)} ms\tMemory Size: {log.memory_mb} MB"
    )
    if log.max_memory_mb is not None:
        report += f"\tMax Memory Used: {log.max_memory_mb} MB"
    if log.init_ms is not None and not log.init_failed:
        report += f"\tInit Duration: {log.init_ms:.2f} ms"
    if log.platform_message or log.init_failed:  # the platform, not the handler, ended it
        report += f"\tStatus: {log.status}"
        if log.status != "timeout" and log.error_type:
            report += f"\tError Type: {log.error_type}"
    lines.append((end, report))
    return lines


def _json_lines(log: InvocationLog) -> list[tuple[int, str]]:
    rid, start, end = log.request_id, log.started_ms, log.finished_ms
    outcome = {"status": log.status} | ({"errorType": log.error_type} if log.error_type else {})
    lines: list[tuple[int, str]] = []
    if log.init_ms is not None:
        init = {
            "initializationType": "on-demand",
            "phase": "init",
            "functionName": log.function_name,
            "functionVersion": log.version,
        }
        lines.append((start, _record(start, "platform.initStart", init)))
    lines.append(
        (start, _record(start, "platform.start", {"requestId": rid, "version": log.version}))
    )
    lines += _output_lines(log)
    if log.init_failed:
        report = {
            "initializationType": "on-demand",
            "phase": "init",
            **outcome,
            "metrics": {"durationMs": round(log.init_ms or 0.0, 3)},
        }
        lines.append((end, _record(end, "platform.initReport", report)))
    if log.platform_message:
        error = {
            "timestamp": _iso(end),
            "level": "ERROR",
            "requestId": rid,
            "message": log.platform_message,
            "errorType": log.error_type,
        }
        lines.append((end, json.dumps(error)))
    done = {"requestId": rid, **outcome, "metrics": {"durationMs": round(log.duration_ms, 3)}}
    lines.append((end, _record(end, "platform.runtimeDone", done)))
    metrics: dict[str, Any] = {
        "durationMs": round(log.duration_ms, 3),
        "billedDurationMs": math.ceil(log.duration_ms),
        "memorySizeMB": log.memory_mb,
    }
    if log.max_memory_mb is not None:
        metrics["maxMemoryUsedMB"] = log.max_memory_mb
    if log.init_ms is not None and not log.init_failed:
        metrics["initDurationMs"] = round(log.init_ms, 3)
    report_record = {"requestId": rid, "metrics": metrics, **outcome}
    lines.append((end, _record(end, "platform.report", report_record)))
    return lines


def _record(stamp_ms: int, kind: str, record: dict[str, Any]) -> str:
    return json.dumps({"time": _iso(stamp_ms), "type": kind, "record": record})


def _iso(stamp_ms: int) -> str:
    moment = datetime.fromtimestamp(stamp_ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_text(batch: list[dict[str, Any]]) -> str:
    """The events as one text (LogType Tail returns its last 4 KB)."""
    return "".join(f"{event['message']}\n" for event in batch)


@dataclass(order=True)
class _Pending:
    due: float
    order: int
    account_id: str = field(compare=False)
    region: str = field(compare=False)
    group: str = field(compare=False)
    stream: str = field(compare=False)
    batch: list[dict[str, Any]] = field(compare=False)


class LogWriter:
    """PutLogEvents into moto's logs backend, `delay` seconds after the events happened.

    Each batch goes to the account and Region of `place` (the function that wrote it:
    Lambda logs in the function's own Region). Group and stream are created on first
    use, as Lambda does. moto's put_log_events is not thread-safe: every write holds one
    lock."""

    def __init__(self, delay: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = max(0.0, delay)
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._streams: set[tuple[str, str, str, str]] = set()
        self._wake = threading.Condition()
        self._order = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        if self.delay > 0:
            self._thread = threading.Thread(
                target=self._loop, daemon=True, name="lambda-logs-ingest"
            )
            self._thread.start()

    def write(self, place: Place, group: str, stream: str, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        account_id, region = place.account_id, place.region
        if self.delay <= 0:
            self._put(account_id, region, group, stream, batch)
            return
        with self._wake:
            self._order += 1
            due = self._clock() + self.delay
            self._pending.append(
                _Pending(due, self._order, account_id, region, group, stream, batch)
            )
            self._wake.notify()

    def flush_due(self) -> int:
        """Write every batch whose delay has passed; returns how many were written."""
        now = self._clock()
        with self._wake:
            due = sorted(p for p in self._pending if p.due <= now)
            self._pending = [p for p in self._pending if p.due > now]
        for p in due:
            self._put(p.account_id, p.region, p.group, p.stream, p.batch)
        return len(due)

    def pending(self) -> int:
        with self._wake:
            return len(self._pending)

    def close(self) -> None:
        """Stop the ingestion thread; batches not yet due are dropped with the cloud."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._wake:
                if self._stopped:
                    return
                next_due = min((p.due for p in self._pending), default=None)
                wait = 0.5 if next_due is None else max(0.0, next_due - self._clock())
                if wait > 0:
                    self._wake.wait(min(wait, 0.5))
                    continue
            self.flush_due()

    def _put(
        self, account_id: str, region: str, group: str, stream: str, batch: list[dict[str, Any]]
    ) -> None:
        logs = logs_backends[account_id][region]
        with self._lock:
            if (account_id, region, group, stream) not in self._streams:
                logs.ensure_log_group(group)
                if stream not in logs.groups[group].streams:
                    logs.create_log_stream(group, stream)
                self._streams.add((account_id, region, group, stream))
            logs.put_log_events(group, stream, batch)


class LambdaLogs:
    """The seam: LoggingConfig kept on functions; FilterLogEvents honours stream prefixes."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud | None) -> None:
        self._patches.replace(LambdaFunction, "__init__", _keeping_config(LambdaFunction.__init__))
        self._patches.replace(
            LambdaFunction,
            "update_configuration",
            _updating_config(LambdaFunction.update_configuration),
        )
        self._patches.replace(
            LambdaFunction, "get_configuration", _returning_config(LambdaFunction.get_configuration)
        )
        self._patches.replace(LogsResponse, "filter_log_events", _filter_log_events)

    def uninstall(self) -> None:
        self._patches.undo()


def _keeping_config(original: Callable[..., None]) -> Callable[..., None]:
    def init(
        self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
    ) -> None:
        original(self, account_id, spec, *args, **kwargs)
        setattr(self, CONFIG_ATTRIBUTE, _normalised(spec.get("LoggingConfig"), self.function_name))

    return init


def _updating_config(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def update_configuration(
        self: LambdaFunction, config_updates: dict[str, Any]
    ) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            current = getattr(self, CONFIG_ATTRIBUTE, None) or {}
            merged = {**current, **(config_updates.get("LoggingConfig") or {})}
            setattr(self, CONFIG_ATTRIBUTE, _normalised(merged, self.function_name))
        return original(self, config_updates)

    return update_configuration


def _returning_config(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original(self, *args, **kwargs)
        config["LoggingConfig"] = getattr(self, CONFIG_ATTRIBUTE, None) or _normalised(
            None, self.function_name
        )
        return config

    return get_configuration


def _normalised(config: dict[str, Any] | None, function_name: str) -> dict[str, Any]:
    """LoggingConfig as GetFunctionConfiguration returns it (Text and the default group)."""
    config = dict(config or {})
    config["LogFormat"] = "JSON" if str(config.get("LogFormat", TEXT)).upper() == "JSON" else TEXT
    config.setdefault("LogGroup", default_group(function_name))
    return config


def _filter_log_events(self: LogsResponse) -> str:
    group_name = self._get_param("logGroupName")
    names = self._get_param("logStreamNames", [])
    prefix = self._get_param("logStreamNamePrefix")
    if prefix and not names:
        group = self.logs_backend.groups.get(group_name)
        names = sorted(n for n in (group.streams if group else {}) if n.startswith(prefix))
        if group is not None and not names:
            return json.dumps({"events": [], "searchedLogStreams": []})
    events_page, next_token, searched = self.logs_backend.filter_log_events(
        group_name,
        names,
        self._get_param("startTime"),
        self._get_param("endTime"),
        self._get_param("limit"),
        self._get_param("nextToken"),
        self._get_param("filterPattern"),
        True,  # always interleaved, as AWS is
    )
    body: dict[str, Any] = {"events": events_page, "searchedLogStreams": searched}
    if next_token:
        body["nextToken"] = next_token
    return json.dumps(body)
