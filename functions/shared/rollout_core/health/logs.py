"""The logs signal: the new version's own log streams, a second and faster health signal.

Lambda sends AWS/Lambda metrics in 1-minute intervals, so the metric gate sees a failing
version a minute or more late. Every invocation is in CloudWatch Logs within seconds, in
a stream per execution environment named `YYYY/MM/DD/[VERSION]<id>`, and Lambda's own
platform lines say how it ended (rollout/local/lambda_logs.py cites the formats):

- Text: one `REPORT RequestId: …` line per invocation; it ends with `Status: timeout` or
  `Status: error` (+ `Error Type`) when the platform ended it (timeout, crash, init
  failure). A handler's unhandled exception is reported by the runtime in the same
  stream, before that invocation's REPORT, as `[ERROR] <ErrorType>: <message>`.
- JSON: one `platform.report` record per invocation with `record.status` success,
  error or timeout.

So per version: invocations = REPORT lines / platform.report records; failures = those
with a status other than success, plus (Text) those whose stream had a runtime
`[ERROR] Type:` line since the previous REPORT. Read with FilterLogEvents on
`/aws/lambda/<function>`, `logStreamNamePrefix` `YYYY/MM/DD/[VERSION]` for each day from
the day before the window starts to today (an environment started yesterday still writes
to yesterday's stream), `startTime` the window's start.

The window starts at the first traffic shift, not at the current step's start
(progress.window_start). FilterLogEvents selects events by the time they happened, and
an event is readable only after CloudWatch Logs has ingested it (seconds on AWS; nothing
documents an upper bound). With per-step windows, a failure in the last seconds of a step
is not yet readable by that step's last check and falls before the next step's window:
it would never be judged, and with a delay longer than a step, every failure of that
step escapes. From the first shift, every failure that becomes readable before the
rollout's last check is counted, whatever the delay; and each check judges the new
version over all the traffic it has had, the quantity the metric gate judges too. The
cost: a failure that starts late is judged against the earlier successes (the later,
larger steps soon outweigh them), and reads grow with the canary (bounded below).

Judged by the metric gate's rule and thresholds (error_rate.py: `errorRatePercent`,
`minInvocations`, `compareToStable` against the stable version's streams, read the same
way), so failures that settle the outcome fail before `minInvocations` are in. The logs can
only add failures: too few invocations, no log group, or a read error is a note, never a
pass over what the metrics fail, and never a failure of its own.

Bounded: one check reads at most MAX_EVENTS events (MAX_PAGES FilterLogEvents pages) per
version. A function that logs heavily can fill that before the window's end; the check
then judges on what it read (the rollout's earliest invocations, where a bad version shows
first) and says so in a note; the metric gate, which reads per-minute sums, still judges
all of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from .. import clients, release
from ..models import LogCounts, LogsSummary, RolloutPlan
from . import error_rate
from .signal import Check, Findings, Judged

MAX_EVENTS = 20_000  # per version and check
MAX_PAGES = 10  # FilterLogEvents pages per version and check (each up to 10,000 events, 1 MB)
_RUNTIME_ERROR = re.compile(r"^\[ERROR\] [\w.]+:")  # awslambdaric's unhandled-error report
_REPORT_STATUS = re.compile(r"\tStatus: (\w+)")


@dataclass(frozen=True)
class LogCount:
    version: str
    invocations: int
    failures: int
    read: int  # events read
    capped: bool

    @property
    def rate(self) -> float | None:
        return 100 * self.failures / self.invocations if self.invocations else None

    def counts(self) -> LogCounts:
        """What the check's result keeps."""
        rate = self.rate
        return LogCounts(
            version=self.version,
            invocations=self.invocations,
            failures=self.failures,
            errorRatePercent=None if rate is None else round(rate, 2),
            eventsRead=self.read,
            capped=self.capped,
        )


def log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


def prefixes(version: str, since: datetime, now: datetime) -> list[str]:
    """`YYYY/MM/DD/[VERSION]` for each day from the day before `since` to `now`'s day."""
    day, last, found = (since - timedelta(days=1)).date(), now.date(), []
    while day <= last:
        found.append(f"{day:%Y/%m/%d}/[{version}]")
        day += timedelta(days=1)
    return found


def count(function: str, version: str, since: datetime, now: datetime) -> LogCount:
    """Invocations and failures of `version` in its own streams since `since`."""
    tally = _Tally()
    pages = 0
    paginator = clients.logs().get_paginator("filter_log_events")
    for prefix in prefixes(version, since, now):
        try:
            for page in paginator.paginate(
                logGroupName=log_group(function),
                logStreamNamePrefix=prefix,
                startTime=int(since.timestamp() * 1000),
                PaginationConfig={"PageSize": 10_000},
            ):
                pages += 1
                for event in page.get("events", []):
                    tally.add(event.get("logStreamName", ""), event.get("message", ""))
                if pages >= MAX_PAGES or tally.read >= MAX_EVENTS:
                    return tally.result(version, capped=True)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            break  # no log group: the function never ran (or logs elsewhere)
    return tally.result(version, capped=False)


class _Tally:
    def __init__(self) -> None:
        self.read = 0
        self.invocations = 0
        self.failures = 0
        self._errored: set[str] = set()  # streams with a runtime error since their last REPORT

    def add(self, stream: str, message: str) -> None:
        self.read += 1
        if message.startswith("{"):
            self._json(message)
        elif message.startswith("REPORT RequestId: "):
            status = _REPORT_STATUS.search(message)
            failed = stream in self._errored or (status is not None and status[1] != "success")
            self._count(failed)
            self._errored.discard(stream)
        elif message.startswith("START RequestId: "):
            self._errored.discard(stream)
        elif _RUNTIME_ERROR.match(message):
            self._errored.add(stream)

    def _json(self, message: str) -> None:
        try:
            record = json.loads(message)
        except ValueError:
            return
        if isinstance(record, dict) and record.get("type") == "platform.report":
            status = (record.get("record") or {}).get("status", "success")
            self._count(status != "success")

    def _count(self, failed: bool) -> None:
        self.invocations += 1
        self.failures += failed

    def result(self, version: str, capped: bool) -> LogCount:
        return LogCount(version, self.invocations, self.failures, self.read, capped)


def read(check: Check) -> Findings:
    """Every function's new version in its own streams (each function's read at once);
    empty reasons never mean healthy on their own: the metric gate is judged too."""
    return Findings(functions=release.for_all(check.plan, lambda member: _read(check, member)))


def _read(check: Check, member: RolloutPlan) -> Judged:
    policy = member.health
    if not policy.logs:
        return Judged(numbers={"logs": LogsSummary(enabled=False)})
    try:
        new = count(member.functionName, member.targetVersion, check.since, check.now)
        stable = (
            count(member.functionName, member.stableVersion, check.since, check.now)
            if policy.compareToStable
            else None
        )
    except ClientError as error:
        code = error.response["Error"]["Code"]
        note = f"logs signal not read ({code}); judged on the metrics"
        return Judged(notes=[note], numbers={"logs": LogsSummary(enabled=True)})
    summary = LogsSummary(
        enabled=True,
        newVersion=new.counts(),
        stableVersion=stable.counts() if stable is not None else None,
    )
    notes = [
        f"logs signal read its cap of {MAX_EVENTS} events / {MAX_PAGES} pages for version "
        f"{found.version}; judged on the invocations read"
        for found in (new, stable)
        if found is not None and found.capped
    ]
    reason = _judge(check, member, new, stable, notes)
    return Judged(reasons=[reason] if reason else [], notes=notes, numbers={"logs": summary})


def _judge(
    check: Check,
    member: RolloutPlan,
    new: LogCount,
    stable: LogCount | None,
    notes: list[str],
) -> str | None:
    if not check.judging_traffic:
        return None  # no traffic share yet: the metric gate says so in its own note
    judgement = error_rate.judge(
        "logs",
        new.version,
        new.failures,
        new.invocations,
        member.health,
        (stable.version, stable.rate) if stable is not None else None,
    )
    if not judgement.judged:
        notes.append(
            f"logs: version {new.version} logged "
            f"{error_rate.too_few(new.invocations, member.health.minInvocations)}; "
            "not judged on logs"
        )
    notes += [judgement.note] if judgement.note else []
    return judgement.reason
