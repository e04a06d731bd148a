"""When CloudWatch evaluates each metric alarm, per the AWS documentation:

- On a schedule of its own, never because metric data arrived. High resolution: "If the
  alarm period is 10 seconds or 30 seconds, the alarm is evaluated every 10 seconds"
  (Using Amazon CloudWatch alarms,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).
  Periods of 60 s and more: about once a minute ("The next periodic alarm check (in
  about a minute) will set the alarm to its actual state", SetAlarmState in the AWS SDK
  reference; the alarm-limits page says "CloudWatch evaluates the alarm every minute,
  even if the alarm's period is longer than one minute" of alarms on connected data
  sources, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html).
  Here: every 10 s for a Period under 60 s (10, 20, 30), every 60 s otherwise, the first
  time one such interval after PutMetricAlarm created the alarm.
"""

from __future__ import annotations

import datetime

HIGH_RESOLUTION_EVERY = 10  # seconds between evaluations of an alarm with a Period under 60 s
STANDARD_EVERY = 60  # seconds between evaluations of any other alarm


def evaluation_interval(period: int) -> int:
    """Seconds between two evaluations of an alarm with this Period (module docstring)."""
    return HIGH_RESOLUTION_EVERY if period < 60 else STANDARD_EVERY


class Schedule:
    """When each alarm is evaluated next, by alarm ARN (account, region and name): one
    interval after PutMetricAlarm created it, then every interval. Not thread-safe: the
    evaluator calls it under its lock."""

    def __init__(self) -> None:
        self._due: dict[str, datetime.datetime] = {}

    def created(self, arn: str, interval: int, now: datetime.datetime) -> None:
        self._due[arn] = now + datetime.timedelta(seconds=interval)

    def updated(self, arn: str, interval: int, now: datetime.datetime) -> None:
        """A new configuration: keep the rhythm, unless a shorter interval comes sooner."""
        first = now + datetime.timedelta(seconds=interval)
        self._due[arn] = min(self._due.get(arn, first), first)

    def due_at(self, arn: str, interval: int, now: datetime.datetime) -> datetime.datetime:
        """The next evaluation; an alarm the seam never saw created gets one from `now`."""
        if arn not in self._due:
            self.created(arn, interval, now)
        return self._due[arn]

    def evaluated(self, arn: str, interval: int, now: datetime.datetime) -> None:
        """Move on to the first scheduled moment after `now` (missed ones are skipped)."""
        due, step = self._due[arn], datetime.timedelta(seconds=interval)
        while due <= now:
            due += step
        self._due[arn] = due

    def __contains__(self, arn: object) -> bool:
        return arn in self._due

    def next_due(self) -> datetime.datetime | None:
        return min(self._due.values(), default=None)

    def keep_only(self, arns: set[str]) -> None:
        """Forget alarms that no longer exist."""
        for arn in set(self._due) - arns:
            del self._due[arn]
