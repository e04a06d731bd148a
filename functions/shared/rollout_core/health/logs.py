"""The logs signal: the new version's own invocations, as Lambda reports each in its logs,
a second and faster health signal.

Lambda sends AWS/Lambda metrics in 1-minute intervals, so the metric gate sees a failing
version a minute or more late. Every invocation is in CloudWatch Logs within seconds,
reported by Lambda itself (telemetry/reports.py reads the formats): invocations = REPORT
lines / platform.report records; failures = those whose status is not success, plus (Text)
those whose stream had a runtime `[ERROR] Type:` line before their REPORT.

How a version's invocations are counted depends on its log group (plan.logDestinations,
from its LoggingConfig):
- pushed (the group is in `$.telemetry.pushed`): its subscription filter feeds the
  telemetry, which counts per version (telemetry/counts.py); the check reads the counts
  with one DynamoDB Query per version: no CloudWatch Logs call at all;
- polled (the group has two subscription filters already, or placing one failed): the
  check reads the version's streams with FilterLogEvents (`logStreamNamePrefix`
  `YYYY/MM/DD/[VERSION]`, or `YYYY/MM/DD/<function>[VERSION]` in a custom group, for each
  day from the day before the window starts to today; `startTime` the window's start;
  the subscription's filter pattern), each call first taking a token from the account's
  shared FilterLogEvents budget (telemetry/budget.py): FilterLogEvents has a hard quota of
  5 to 25 calls per second for the whole account and Region.

The window starts at the first traffic shift, not at the current step's start
(progress.window_start): an event is readable only after CloudWatch Logs has ingested it
(seconds on AWS; nothing documents an upper bound), so a per-step window would never judge
a failure near a step's end. From the first shift, every failure readable before the
rollout's last check is counted, whatever the delay.

Judged by the metric gate's rule and thresholds (error_rate.py: `errorRatePercent`,
`minInvocations`, `compareToStable` against the stable version, read the same way), so
failures that settle the outcome fail before `minInvocations` are in. The logs can only add
failures: too few invocations or no log group is a note, and a read that failed (throttled,
too slow, no budget, denied) is `unread`, never a pass over what the metrics fail and never
a failure of its own.

Bounded: a polled read reads at most MAX_EVENTS events (MAX_PAGES pages) per version and
check, and says so in a note when it stops there; the metric gate still judges them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from .. import clients, release
from ..deadline import READ_ERRORS, Deadline, unread
from ..models import LogCounts, LogDestination, LogsSummary, RolloutPlan
from ..telemetry import budget, counts
from ..telemetry.reports import DEFAULT_GROUP_PREFIX, Reader, filter_pattern
from . import error_rate
from .signal import Check, Findings, Judged

MAX_EVENTS = 20_000  # per version and check
MAX_PAGES = 10  # FilterLogEvents pages per version and check (each up to 10,000 events, 1 MB)


@dataclass(frozen=True)
class LogCount:
    version: str
    invocations: int
    failures: int
    read: int  # events read (polled)
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


def prefixes(
    destination: LogDestination, function: str, since: datetime, now: datetime
) -> list[str]:
    """`YYYY/MM/DD/[VERSION]` (a custom group: `YYYY/MM/DD/<function>[VERSION]`) for each
    day from the day before `since` to `now`'s day."""
    owner = "" if destination.logGroup == f"{DEFAULT_GROUP_PREFIX}{function}" else function
    day, last, found = (since - timedelta(days=1)).date(), now.date(), []
    while day <= last:
        found.append(f"{day:%Y/%m/%d}/{owner}[{destination.version}]")
        day += timedelta(days=1)
    return found


def poll(
    function: str, destination: LogDestination, since: datetime, now: datetime, deadline: Deadline
) -> LogCount:
    """Invocations and failures of the version in its own streams since `since`, each
    FilterLogEvents call paid for from the account's shared budget."""
    reader = Reader(destination.logGroup)
    pages = 0
    for prefix in prefixes(destination, function, since, now):
        args = {
            "logGroupName": destination.logGroup,
            "logStreamNamePrefix": prefix,
            "startTime": int(since.timestamp() * 1000),
            "filterPattern": filter_pattern({destination.logFormat}),
            "limit": 10_000,
        }
        while True:
            budget.spend("FilterLogEvents", 1, deadline)
            try:
                page = clients.within("logs", deadline.remaining()).filter_log_events(**args)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                return _counted(reader, destination.version, capped=False)  # no log group
            pages += 1
            for event in page.get("events", []):
                reader.add(event.get("logStreamName", ""), 0, event.get("message", ""))
            if pages >= MAX_PAGES or reader.read >= MAX_EVENTS:
                return _counted(reader, destination.version, capped=True)
            if not page.get("nextToken"):
                break
            args["nextToken"] = page["nextToken"]
    return _counted(reader, destination.version, capped=False)


def _counted(reader: Reader, version: str, capped: bool) -> LogCount:
    mine = [tally for (_, v, _), tally in reader.finish().items() if v == version]
    invocations = sum(t.invocations for t in mine)
    return LogCount(version, invocations, sum(t.failures for t in mine), reader.read, capped)


def read(check: Check) -> Findings:
    """Every function's new version (each function read at once); empty reasons never mean
    healthy on their own: the metric gate is judged too."""
    found = release.for_all(check.plan, lambda member: _read(check, member))
    tried = [one for one in found if one.read is not None]
    return Findings(
        functions=[one.functions[0] for one in found],
        unread=[line for one in found for line in one.unread],
        read=any(one.read for one in tried) if tried else None,
    )


def _read(check: Check, member: RolloutPlan) -> Findings:
    policy = member.health
    if not policy.logs:
        return Findings(functions=[Judged(numbers={"logs": LogsSummary(enabled=False)})], read=None)
    target = member.log_destination(member.targetVersion)
    pushed = check.telemetry is not None and check.telemetry.pushes(target.logGroup)
    try:
        new = _count(check, member, target)
        stable = (
            _count(check, member, member.log_destination(member.stableVersion), stable=True)
            if policy.compareToStable
            else None
        )
    except READ_ERRORS as error:  # any: the logs only ever add failures
        api = "DynamoDB Query" if pushed else "FilterLogEvents"
        summary = LogsSummary(enabled=True, source="push" if pushed else "poll")
        return Findings(
            functions=[Judged(numbers={"logs": summary})],
            unread=[unread("logs", api, error)],
            read=False,
        )
    summary = LogsSummary(
        enabled=True,
        source="push" if pushed else "poll",
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
    judged = Judged(reasons=[reason] if reason else [], notes=notes, numbers={"logs": summary})
    return Findings(functions=[judged])


def _count(
    check: Check, member: RolloutPlan, destination: LogDestination, stable: bool = False
) -> LogCount:
    """The version's counts: pushed ones from the telemetry, else polled. The stable
    version's pushed counts start at the first whole bucket after the window's start: what
    it served before the shift is not the traffic the new version shares (evidence.py)."""
    if check.telemetry is not None and check.telemetry.pushes(destination.logGroup):
        found = counts.totals(
            member.functionName, destination.version, check.since, check.deadline, after=stable
        )
        return LogCount(found.version, found.invocations, found.failures, 0, False)
    return poll(member.functionName, destination, check.since, check.now, check.deadline)


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
