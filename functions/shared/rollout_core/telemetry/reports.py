"""Lambda's own report of each invocation, read from its log events: the one reader the
telemetry (events a subscription filter pushes) and the logs signal's polling share.

Lambda writes, per invocation, in the function's log stream (rollout/local/lambda_logs.py
cites each format):
- Text: `REPORT RequestId: …\\tDuration: 46.84 ms\\tBilled Duration: 47 ms\\tMemory Size:
  192 MB\\tMax Memory Used: 72 MB` (`\\tInit Duration: …` on an environment's first
  invocation; `\\tStatus: timeout|error` when the platform ended it: a timeout, a crash,
  a failed init). A handler's unhandled exception is the runtime's `[ERROR] <Type>: …`
  line in the same stream, before that invocation's REPORT.
- JSON: a `platform.report` record, `record.status` success, failure, error or timeout,
  `record.metrics` {durationMs, billedDurationMs, maxMemoryUsedMB, initDurationMs?}.

So an invocation is a REPORT line or a platform.report record; it failed when its status
is not success, or (Text) its stream had a runtime `[ERROR] Type:` line since the previous
REPORT. Events are read stream by stream in order. A runtime error whose REPORT is not in
the same read (a subscription batch may end between them) counts as a failure on its own;
the REPORT, read later, then counts as a successful invocation: the totals are the same.
(An error before a START line was the environment's init, which the REPORT's status
reports: it is not counted again.)

Streams name the version: `YYYY/MM/DD/[VERSION]<id>` in `/aws/lambda/<function>`, and
`YYYY/MM/DD/<function>[VERSION]<id>` in a custom log group, which functions can share.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, field

DEFAULT_GROUP_PREFIX = "/aws/lambda/"
# What a subscription filter passes on, per log format (the rest is never read): Text
# REPORT lines and runtime errors, JSON platform.report records. A group logged to in both
# formats (a custom group two functions share) gets the three terms: JSON records are
# text too, and the term matches their "type".
FILTER_PATTERNS = {
    frozenset({"Text"}): '?"REPORT RequestId:" ?"[ERROR]"',
    frozenset({"JSON"}): '{ $.type = "platform.report" }',
    frozenset({"Text", "JSON"}): '?"REPORT RequestId:" ?"[ERROR]" ?"platform.report"',
}
_STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/(?P<function>[^\[/]*)\[(?P<version>[^\]]+)\]")
_RUNTIME_ERROR = re.compile(r"^\[ERROR\] [\w.]+:")  # awslambdaric's unhandled-error report
_REPORT = "REPORT RequestId: "
_FIELDS = {
    "duration": re.compile(r"\tDuration: ([\d.]+) ms"),
    "billed": re.compile(r"\tBilled Duration: ([\d.]+) ms"),
    "memory": re.compile(r"\tMax Memory Used: ([\d.]+) MB"),
    "size": re.compile(r"\tMemory Size: ([\d.]+) MB"),
    "init": re.compile(r"\tInit Duration: ([\d.]+) ms"),
    "status": re.compile(r"\tStatus: (\w+)"),
}


def filter_pattern(formats: set[str]) -> str:
    return FILTER_PATTERNS[frozenset(formats & {"Text", "JSON"} or {"Text"})]


def stream_version(log_group: str, stream: str) -> tuple[str, str] | None:
    """(function, version) a log stream belongs to; None when the name isn't Lambda's."""
    found = _STREAM.match(stream)
    if found is None:
        return None
    function = found["function"] or log_group.removeprefix(DEFAULT_GROUP_PREFIX)
    if not found["function"] and not log_group.startswith(DEFAULT_GROUP_PREFIX):
        return None  # a custom group's streams name their function
    return function, found["version"]


@dataclass(frozen=True)
class Sample:
    """One invocation as Lambda reported it; the telemetry keeps a bounded number of them
    for the judge of latency (rollout_core.telemetry.counts: SAMPLES_PER_ITEM)."""

    failed: bool
    duration_ms: float | None = None
    billed_ms: float | None = None
    max_memory_mb: float | None = None
    init_ms: float | None = None  # a cold start
    memory_size_mb: float | None = None  # the version's configured memory
    # the execution environment that served it (its log stream, hashed: `environment_of`)
    # and when its report was logged: the judge orders an environment's invocations by it
    environment: str = ""
    at_ms: int | None = None

    def encode(self) -> str:
        """`s|46.84|47|72|113.5|128|1a2b3c4d|1796630400123`: compact in a DynamoDB list
        (empty fields: not reported)."""
        numbers = (
            self.duration_ms,
            self.billed_ms,
            self.max_memory_mb,
            self.init_ms,
            self.memory_size_mb,
        )
        fields = ["f" if self.failed else "s", *("" if n is None else f"{n:g}" for n in numbers)]
        if self.environment or self.at_ms is not None:
            fields += [self.environment, "" if self.at_ms is None else str(self.at_ms)]
        return "|".join(fields)

    @classmethod
    def decode(cls, text: str) -> Sample:
        outcome, *fields = (text.split("|") + [""] * 7)[:8]
        values = [float(n) if n else None for n in fields[:5]]
        environment, at = fields[5:7]
        return cls(outcome == "f", *values, environment=environment, at_ms=int(at) if at else None)


def environment_of(stream: str) -> str:
    """A short name of the execution environment that writes `stream`: on Lambda, each
    environment logs to a stream of its own ("Each instance of a Lambda function has a
    dedicated log stream", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html)."""
    return f"{zlib.crc32(stream.encode()):08x}"


@dataclass
class Tally:
    """One version's invocations and failures in what was read, with their samples."""

    invocations: int = 0
    failures: int = 0
    samples: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample | None, failed: bool, max_samples: int) -> None:
        self.invocations += sample is not None
        self.failures += failed
        if sample is not None and len(self.samples) < max_samples:
            self.samples.append(sample)


Key = tuple[str, str, int]  # (function, version, bucket start in epoch seconds)


class Reader:
    """Log events of one log group, in order, into a Tally per function, version and time
    bucket (`bucket_seconds`; 0 puts everything in bucket 0)."""

    def __init__(self, log_group: str, bucket_seconds: int = 0, max_samples: int = 0) -> None:
        self.log_group = log_group
        self.bucket_seconds = bucket_seconds
        self.max_samples = max_samples
        self.read = 0
        self.tallies: dict[Key, Tally] = defaultdict(Tally)
        self._errored: dict[str, Key] = {}  # stream → where its pending runtime error goes

    def add(self, stream: str, timestamp_ms: int, message: str) -> None:
        self.read += 1
        owner = stream_version(self.log_group, stream)
        if owner is None:
            return
        bucket = (
            timestamp_ms // 1000 // self.bucket_seconds * self.bucket_seconds
            if self.bucket_seconds
            else 0
        )
        key = (*owner, bucket)
        if message.startswith("{"):
            self._json(key, message, stream, timestamp_ms)
        elif message.startswith(_REPORT):
            self._report(stream, key, message, timestamp_ms)
        elif message.startswith("START RequestId: "):
            # an error before START was the environment's init: the REPORT to come says so
            self._errored.pop(stream, None)
        elif _RUNTIME_ERROR.match(message):
            self._errored.setdefault(stream, key)

    def finish(self) -> dict[Key, Tally]:
        """The tallies, runtime errors whose REPORT wasn't read counted as failures."""
        for stream in list(self._errored):
            self._dangling(stream)
        return dict(self.tallies)

    def _report(self, stream: str, key: Key, message: str, timestamp_ms: int) -> None:
        found = {name: pattern.search(message) for name, pattern in _FIELDS.items()}
        status = found["status"][1] if found["status"] else "success"
        failed = self._errored.pop(stream, None) is not None or status != "success"
        sample = Sample(
            failed,
            *(_number(found[n]) for n in ("duration", "billed", "memory", "init", "size")),
            environment=environment_of(stream),
            at_ms=timestamp_ms,
        )
        self.tallies[key].add(sample, failed, self.max_samples)

    def _json(self, key: Key, message: str, stream: str, timestamp_ms: int) -> None:
        try:
            record = json.loads(message)
        except ValueError:
            return
        if not isinstance(record, dict) or record.get("type") != "platform.report":
            return
        body = record.get("record") if isinstance(record.get("record"), dict) else {}
        metrics = body.get("metrics") if isinstance(body.get("metrics"), dict) else {}
        failed = body.get("status", "success") != "success"
        sample = Sample(
            failed,
            _float(metrics.get("durationMs")),
            _float(metrics.get("billedDurationMs")),
            _float(metrics.get("maxMemoryUsedMB")),
            _float(metrics.get("initDurationMs")),
            _float(metrics.get("memorySizeMB")),
            environment=environment_of(stream),
            at_ms=timestamp_ms,
        )
        self.tallies[key].add(sample, failed, self.max_samples)

    def _dangling(self, stream: str) -> None:
        """A runtime error with no REPORT after it in this read: a failure on its own."""
        key = self._errored.pop(stream, None)
        if key is not None:
            self.tallies[key].add(None, True, self.max_samples)


def _number(found: re.Match[str] | None) -> float | None:
    return float(found[1]) if found else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
