"""Scheduled rules seam: EventBridge rules with a ScheduleExpression fire on their schedule.

moto 5.2.5 stores a rule's `ScheduleExpression` and never fires it, so a SAM `Schedule`
event (an `AWS::Events::Rule` with a Lambda target) never ran locally.

AWS behaviour (EventBridge User Guide, "Creating a rule that runs on a schedule" and
"Setting a schedule pattern for scheduled rules"):
- "All scheduled events use UTC+0 time zone, and the minimum precision for schedules is 1
  minute." "Due to the distributed nature of EventBridge and the target services, there can
  be a delay of several seconds between the time the scheduled rule is triggered and the
  time the target service runs the target resource." Here a rule fires in the first second
  of each minute it is due.
- "A rate expression starts when you create the scheduled event rule, and then runs on its
  defined schedule": `rate(N minute|minutes|hour|hours|day|days)` fires in the minute after
  the rule was first seen (one report saw a rule fire 43 s after CloudFormation created it),
  then every N units.
- A cron expression has six fields, `minutes hours day-of-month month day-of-week year`,
  with `, - * /` wildcards, `?` in one of the day fields, month names JAN-DEC and day names
  SUN-SAT (day-of-week 1-7 is SUN-SAT), and `L` for the last day of the month. The `W`, `#`
  and day-of-week `L` wildcards are not evaluated here: such a rule is logged and not fired.
- Only the default event bus has scheduled rules; a DISABLED rule doesn't fire. The event is
  `{"version": "0", "id", "detail-type": "Scheduled Event", "source": "aws.events",
  "account", "time", "region", "resources": [rule ARN], "detail": {}}`, delivered to the
  rule's targets as any event (rollout/local/eventbridge.py delivers Lambda and Step
  Functions targets).

- A scheduled rule has no event pattern and matches no event put on the bus: it runs on
  its schedule only. moto's pattern of a rule without one matches every event, so a
  scheduled rule also received every PutEvents entry (one `sam deploy` that published three
  versions invoked a scheduled function three times, with the CloudTrail events as input).

EventBridge Scheduler schedules (`scheduler` API) are stored by moto and listed, but not
fired by this seam.

moto internals (pinned by tests/local/test_schedules.py): read `events_backends`, their
`event_buses["default"].rules`, `Rule.scheduled_expression`, `.state`, `.arn`,
`.account_id`, `.region_name`, `.event_pattern.dump()`; replaced (wrapped)
`Rule.send_to_targets(self, event, transform_input=True)`, so a scheduled rule delivers
only its own Scheduled Events.
"""

from __future__ import annotations

import calendar
import functools
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.events.models import Rule, events_backends

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


class UnsupportedSchedule(ValueError):
    """A schedule expression this seam doesn't evaluate."""


def _values(field_text: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    """The values a cron field allows: `*`, `?`, `a`, `a-b`, `a/b`, `a-b/c`, lists."""
    allowed: set[int] = set()
    for part in field_text.upper().split(","):
        part, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if part in ("*", "?"):
            start, end = low, high
        else:
            first, _, last = part.partition("-")
            start = names.get(first) or int(first)
            end = (names.get(last) or int(last)) if last else (high if step_text else start)
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise UnsupportedSchedule(f"{field_text!r} is outside {low}-{high}")
        allowed |= set(range(start, end + 1, step))
    return allowed


@dataclass(frozen=True)
class Cron:
    minutes: set[int]
    hours: set[int]
    days: set[int] | None  # None: `?`
    last_day: bool
    months: set[int]
    weekdays: set[int] | None  # 1-7, SUN-SAT; None: `?`
    years: set[int]

    @classmethod
    def parse(cls, text: str) -> Cron:
        fields = text.split()
        if len(fields) != 6:
            raise UnsupportedSchedule(f"cron({text}) needs six fields")
        minute, hour, dom, month, dow, year = fields
        if any(mark in f.upper() for f in (dom, dow) for mark in ("W", "#")) or "L" in dow:
            raise UnsupportedSchedule(f"cron({text}): W, # and day-of-week L aren't evaluated")
        last_day = dom.upper() == "L"
        return cls(
            minutes=_values(minute, 0, 59, {}),
            hours=_values(hour, 0, 23, {}),
            days=None if dom == "?" or last_day else _values(dom, 1, 31, {}),
            last_day=last_day,
            months=_values(month, 1, 12, _MONTHS),
            weekdays=None if dow == "?" else _values(dow, 1, 7, _DAYS),
            years=_values(year, 1970, 2199, {}),
        )

    def matches(self, moment: datetime) -> bool:
        weekday = (moment.isoweekday() % 7) + 1  # SUN=1 … SAT=7
        last = calendar.monthrange(moment.year, moment.month)[1]
        day_ok = (
            (self.days is None or moment.day in self.days)
            and (not self.last_day or moment.day == last)
            and (self.weekdays is None or weekday in self.weekdays)
        )
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.month in self.months
            and moment.year in self.years
            and day_ok
        )


def next_firing(expression: str, first_seen: datetime, after: datetime | None) -> datetime:
    """When a rule fires next: the first minute start after `after` (or, never fired, the
    minute after `first_seen` for a rate) that its expression allows."""
    rate = _RATE.match(expression.strip())
    if rate:
        period = timedelta(seconds=int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")])
        start = _minute_after(first_seen)
        return start if after is None else after + period
    cron = _CRON.match(expression.strip())
    if not cron:
        raise UnsupportedSchedule(f"{expression!r} is neither rate(...) nor cron(...)")
    schedule = Cron.parse(cron.group(1))
    moment = _minute_after(after or first_seen)
    for _ in range(60 * 24 * 366 * 2):  # two years of minutes
        if schedule.matches(moment):
            return moment
        moment += timedelta(minutes=1)
    raise UnsupportedSchedule(f"{expression!r} never fires in the next two years")


def _minute_after(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def scheduled_event(rule: Rule, at: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
    }


@dataclass
class _Tracked:
    expression: str
    first_seen: datetime
    due: datetime | None  # None: the expression isn't evaluated here
    fired: datetime | None = field(default=None)


class ScheduledRules:
    """The seam: a background clock that fires enabled scheduled rules when due."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._tracked: dict[str, _Tracked] = {}
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        self._patches.replace(Rule, "send_to_targets", _schedules_only(Rule.send_to_targets))
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="scheduled-rules")
        self._thread.start()

    def uninstall(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._tracked.clear()
        self._patches.undo()

    def _run(self) -> None:
        while not self._stopping.wait(TICK_SECONDS):
            try:
                self.tick(datetime.now(UTC))
            except Exception:  # the clock keeps going, as EventBridge's does
                logger.exception("scheduled rules: a tick failed")

    def tick(self, now: datetime) -> list[str]:
        """Fire every rule due at `now`; the ARNs fired."""
        fired = []
        live = set()
        for rule in _scheduled_rules():
            live.add(rule.arn)
            tracked = self._track(rule, now)
            if tracked.due is None or rule.state != "ENABLED" or now < tracked.due:
                continue
            self._fire(rule, tracked.due)
            tracked.fired = tracked.due
            tracked.due = next_firing(tracked.expression, tracked.first_seen, tracked.due)
            fired.append(rule.arn)
        for arn in set(self._tracked) - live:
            del self._tracked[arn]  # deleted rules
        return fired

    def _track(self, rule: Rule, now: datetime) -> _Tracked:
        expression = str(rule.scheduled_expression)
        tracked = self._tracked.get(rule.arn)
        if tracked is None or tracked.expression != expression:
            try:
                due: datetime | None = next_firing(expression, now, None)
            except UnsupportedSchedule as error:
                logger.warning("rule %s will not fire locally: %s", rule.arn, error)
                due = None
            tracked = self._tracked[rule.arn] = _Tracked(expression, now, due)
        return tracked

    @staticmethod
    def _fire(rule: Rule, at: datetime) -> None:
        try:
            rule.send_to_targets(scheduled_event(rule, at))
        except Exception:  # a target that can't be reached never stops the schedule
            logger.exception("scheduled rule %s: delivery failed", rule.arn)


def _scheduled_rules() -> list[Rule]:
    rules = []
    for account, regions in list(events_backends.items()):
        for region in list(regions.keys()):
            bus = events_backends[account][region].event_buses.get("default")
            if bus is not None:
                rules += [r for r in list(bus.rules.values()) if r.scheduled_expression]
    return rules


def is_scheduled_rule(rule: Rule) -> bool:
    return bool(rule.scheduled_expression) and rule.event_pattern.dump() is None


def _own_firing(rule: Rule, event: dict[str, Any]) -> bool:
    return (
        event.get("source") == "aws.events"
        and event.get("detail-type") == "Scheduled Event"
        and event.get("resources") == [rule.arn]
    )


def _schedules_only(original: Any) -> Any:
    @functools.wraps(original)
    def send_to_targets(rule: Rule, event: dict[str, Any], transform_input: bool = True) -> None:
        if is_scheduled_rule(rule) and not _own_firing(rule, event):
            return  # a scheduled rule matches no event on the bus
        original(rule, event, transform_input)

    return send_to_targets
