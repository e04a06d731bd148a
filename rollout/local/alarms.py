"""CloudWatch seam: metric alarms evaluated on CloudWatch's schedule, with history and actions.

moto 5.2.5 stores alarms but never evaluates them: a new alarm is `OK` and stays there
whatever the data, and DescribeAlarmHistory is not implemented (HTTP 500). This seam
evaluates static-threshold metric alarms from moto's stored metric data on CloudWatch's
own schedule, keeps a state history, serves DescribeAlarmHistory, publishes to SNS alarm
actions and puts "CloudWatch Alarm State Change" events on the default bus.

When an alarm is evaluated, and the AWS documentation each rule follows:
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
- A new alarm is INSUFFICIENT_DATA until its first evaluation: "When you create a
  CloudWatch alarm, its first state by default is INSUFFICIENT_DATA. It remains in this
  state until it completes its first evaluation of the metric being monitored" (AWS
  Knowledge Center, https://repost.aws/knowledge-center/cloudwatch-alarm-insufficient-data-state).
  Updating an alarm keeps its state.
- SetAlarmState "Temporarily sets the state of an alarm for testing purposes" and "Metric
  alarms returns to their actual state quickly, often within seconds" (SetAlarmState,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html):
  here a set state holds until the alarm's next scheduled evaluation, no sooner.

Evaluation, simplified from CloudWatch's and documented so results can be predicted:
the N (EvaluationPeriods) most recent windows of Period seconds ending at the moment of
evaluation, each (end - Period, end]; a window without data is missing. Missing windows
are filled per TreatMissingData (breaching / notBreaching) or stay missing (missing /
ignore). Then: no data at all -> INSUFFICIENT_DATA (missing) or unchanged (ignore); at
least M (DatapointsToAlarm) breaching -> ALARM; some breaching but M still reachable
through missing windows -> unchanged (no premature transition); otherwise OK. Metric
math, percentiles, anomaly bands and composite alarms are not evaluated.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import operator
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import (
    Alarm,
    CloudWatchBackend,
    MetricAggregatedDatum,
    MetricDatumBase,
    cloudwatch_backends,
)
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.sns.models import sns_backends

from rollout.local.eventbridge import put_service_event
from rollout.local.metric_delay import alarm_lag
from rollout.local.patching import Patches
from rollout.local.seam import Cloud

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime.datetime]
ALARM, OK, INSUFFICIENT = "ALARM", "OK", "INSUFFICIENT_DATA"
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
STATISTICS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """moto stores naive UTC datetimes; the seam compares aware ones."""
    return moment.replace(tzinfo=datetime.UTC) if moment.tzinfo is None else moment


def aws_time(moment: datetime.datetime) -> str:
    """CloudWatch's timestamp spelling in reasons and events: 2024-01-31T12:00:00.000+0000."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


# -- what an alarm watches, and the data in its windows ------------------------------


@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    metric_name: str
    dimensions: frozenset[tuple[str, str]]
    period: int
    statistic: str
    unit: str | None


@dataclass(frozen=True)
class Window:
    end: datetime.datetime
    value: float | None  # None: no data in this window
    samples: float


def metric_spec(alarm: Alarm) -> MetricSpec | None:
    """The single metric a static-threshold alarm watches; None for what we don't evaluate."""
    unsupported = (
        alarm.rule is not None
        or alarm.metric_data_queries
        or alarm.extended_statistic
        or alarm.threshold_metric_id
    )
    if unsupported or alarm.statistic not in STATISTICS:
        return None
    if alarm.comparison_operator not in COMPARISONS:
        return None
    return MetricSpec(
        namespace=alarm.namespace,
        metric_name=alarm.metric_name,
        dimensions=frozenset((d.name, d.value) for d in alarm.dimensions),
        period=int(alarm.period),
        statistic=alarm.statistic,
        unit=alarm.unit,
    )


def _matches(datum: MetricDatumBase, spec: MetricSpec) -> bool:
    # CloudWatch alarms match dimensions exactly (moto's own filters match subsets).
    dimensions = frozenset((d.name, d.value) for d in datum.dimensions)
    return dimensions == spec.dimensions and (spec.unit is None or datum.unit == spec.unit)


def _summary(datum: MetricDatumBase) -> tuple[float, float, float, float]:
    """(samples, sum, min, max) of a raw value or a StatisticValues set."""
    if isinstance(datum, MetricAggregatedDatum):
        return datum.sample_count, datum.sum, datum.min, datum.max
    value = float(datum.value)  # type: ignore[attr-defined]
    return 1.0, value, value, value


def aggregate(data: Iterable[MetricDatumBase], statistic: str) -> tuple[float | None, float]:
    """One window's statistic and sample count; (None, 0) when the window is empty."""
    summaries = [_summary(datum) for datum in data]
    samples = sum(s[0] for s in summaries)
    if not summaries or samples == 0:
        return None, 0.0
    total = sum(s[1] for s in summaries)
    value = {
        "Sum": total,
        "Average": total / samples,
        "Minimum": min(s[2] for s in summaries),
        "Maximum": max(s[3] for s in summaries),
        "SampleCount": samples,
    }[statistic]
    return value, samples


def windows(
    data: Iterable[MetricDatumBase], spec: MetricSpec, now: datetime.datetime, count: int
) -> list[Window]:
    """The `count` most recent windows ending at `now`, oldest first."""
    period = datetime.timedelta(seconds=spec.period)
    matching = [(as_utc(d.timestamp), d) for d in data if _matches(d, spec)]
    result = []
    for index in reversed(range(count)):
        end = now - index * period
        inside = [datum for moment, datum in matching if end - period < moment <= end]
        value, samples = aggregate(inside, spec.statistic)
        result.append(Window(end, value, samples))
    return result


# -- the verdict ------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str
    reason_data: dict[str, Any]


def verdict(alarm: Alarm, spec: MetricSpec, recent: list[Window], current: str) -> Verdict | None:
    """The state the windows call for; None keeps the current state."""
    compare, words = COMPARISONS[alarm.comparison_operator]
    threshold = float(alarm.threshold)
    treat = alarm.treat_missing_data or "missing"
    total = len(recent)
    needed = int(alarm.datapoints_to_alarm or total)
    marks = [_mark(w, compare, threshold, treat) for w in recent]
    breaching, unknown = marks.count(True), marks.count(None)
    data = _reason_data(spec, threshold, recent)
    shown = [w.value for w in recent if w.value is not None]
    if unknown == total:
        if treat == "ignore":
            return None
        return Verdict(INSUFFICIENT, f"Insufficient Data: {total} datapoints were unknown.", data)
    if breaching >= needed:
        reason = (
            f"Threshold Crossed: {breaching} out of the last {total} datapoints {shown} "
            f"{'was' if breaching == 1 else 'were'} {words} the threshold ({threshold}) "
            f"(minimum {needed} datapoints for {current} -> ALARM transition)."
        )
        return Verdict(ALARM, reason, data)
    if breaching and breaching + unknown >= needed:
        return None  # missing windows could still make it an ALARM: wait for them
    reason = (
        f"Threshold Crossed: {total - breaching} out of the last {total} datapoints "
        f"{shown} {'was' if total - breaching == 1 else 'were'} not {words} the "
        f"threshold ({threshold}) (minimum {needed} datapoints for ALARM)."
    )
    return Verdict(OK, reason, data)


def _mark(
    window: Window, compare: Callable[[float, float], bool], threshold: float, treat: str
) -> bool | None:
    """True breaching, False not breaching, None missing (after TreatMissingData)."""
    if window.value is not None:
        return compare(window.value, threshold)
    return {"breaching": True, "notBreaching": False}.get(treat)


def _reason_data(spec: MetricSpec, threshold: float, recent: list[Window]) -> dict[str, Any]:
    period = datetime.timedelta(seconds=spec.period)
    present = [w for w in recent if w.value is not None]
    return {
        "version": "1.0",
        "queryDate": aws_time(recent[-1].end),
        "startDate": aws_time(recent[0].end - period),
        "statistic": spec.statistic,
        "period": spec.period,
        "recentDatapoints": [w.value for w in present],
        "threshold": threshold,
        "evaluatedDatapoints": [
            {"timestamp": aws_time(w.end - period), "sampleCount": w.samples, "value": w.value}
            for w in reversed(present)
        ],
    }


# -- history ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryItem:
    alarm_arn: str
    alarm_name: str
    timestamp: datetime.datetime
    item_type: str  # StateUpdate | ConfigurationUpdate | Action
    summary: str
    data: dict[str, Any]

    def to_api(self) -> dict[str, Any]:
        return {
            "AlarmName": self.alarm_name,
            "AlarmType": "MetricAlarm",
            "Timestamp": self.timestamp,
            "HistoryItemType": self.item_type,
            "HistorySummary": self.summary,
            "HistoryData": json.dumps(self.data),
        }


class AlarmHistory:
    """Every alarm's history, kept after the alarm is deleted (as CloudWatch does)."""

    def __init__(self) -> None:
        self._items: list[HistoryItem] = []
        self._lock = threading.Lock()

    def record(self, item: HistoryItem) -> None:
        with self._lock:
            self._items.append(item)

    def query(
        self,
        arn_part: str,
        name: str | None,
        item_type: str | None,
        start: datetime.datetime | None,
        end: datetime.datetime | None,
    ) -> list[HistoryItem]:
        """Matching items, newest first (ties: the one recorded last first)."""
        with self._lock:
            items = list(reversed(self._items))
        return sorted(
            (
                item
                for item in items
                if arn_part in item.alarm_arn
                and (name is None or item.alarm_name == name)
                and (item_type is None or item.item_type == item_type)
                and (start is None or item.timestamp >= start)
                and (end is None or item.timestamp <= end)
            ),
            key=lambda item: item.timestamp,
            reverse=True,
        )


def _param_time(value: Any) -> datetime.datetime | None:
    if value is None or isinstance(value, datetime.datetime):
        return None if value is None else as_utc(value)
    return as_utc(datetime.datetime.fromisoformat(str(value)))


# -- the schedule -----------------------------------------------------------------------

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


# -- the seam ---------------------------------------------------------------------------


class AlarmEvaluator:
    """Evaluates metric alarms on CloudWatch's schedule; `clock` and `tick` are injectable.

    A background thread looks at the schedule at least every `tick` seconds (and wakes
    for the next evaluation due) and evaluates the alarms whose time has come
    (`run_due()`). `tick=None` runs no thread: a test moves its clock and calls
    `run_due()` itself. `evaluate()` evaluates every alarm at once, off schedule, for
    tests of the verdict; nothing in the cloud calls it.
    """

    def __init__(self, clock: Clock = utc_now, tick: float | None = 1.0) -> None:
        self.clock = clock
        self.tick = tick
        self.readable_lag = datetime.timedelta(0)  # set from the cloud's metric delay
        self.history = AlarmHistory()
        self.schedule = Schedule()
        self._patches = Patches()
        self._lock = threading.RLock()  # one evaluation or transition at a time
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def install(self, cloud: Cloud) -> None:
        # With AWS's metric delay (metric_delay.py) a minute's datapoint is written `delay`
        # seconds after the minute ends, stamped at its start: the windows end that much
        # earlier, so the most recent one is the most recent readable minute.
        delay = cloud.metric_delay
        self.readable_lag = datetime.timedelta(seconds=alarm_lag(delay))
        if hasattr(CloudWatchResponse, "describe_alarm_history"):
            raise RuntimeError("moto now implements DescribeAlarmHistory: drop it from the seam")
        # Read the originals first: each replacement delegates to the method it replaces.
        put_alarm, set_state = CloudWatchBackend.put_metric_alarm, CloudWatchBackend.set_alarm_state
        self._patches.replace(CloudWatchBackend, "put_metric_alarm", self._on_put_alarm(put_alarm))
        self._patches.replace(CloudWatchBackend, "set_alarm_state", self._on_set_state(set_state))
        CloudWatchResponse.describe_alarm_history = self._history_handler()  # type: ignore[attr-defined]
        if self.tick is not None:
            self.start_schedule(self.tick)

    def uninstall(self) -> None:
        self.stop_schedule()
        if "describe_alarm_history" in vars(CloudWatchResponse):
            del CloudWatchResponse.describe_alarm_history  # type: ignore[attr-defined]
        self._patches.undo()

    def start_schedule(self, tick: float) -> None:
        """Run the schedule on a background thread that looks at it every `tick` seconds."""
        self.stop_schedule()
        self._stopping.clear()
        self._wake.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(tick,), name="alarm-schedule", daemon=True
        )
        self._thread.start()

    def stop_schedule(self) -> None:
        """Stop the background thread (if any) and wait for it to end."""
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self, tick: float) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._pause(tick))
            if self._stopping.is_set():
                return
            try:
                self.run_due()
            except Exception:
                logger.exception("alarm evaluation failed")

    def _pause(self, tick: float) -> float:
        """Seconds until the next evaluation due, at most `tick`, at least 10 ms."""
        with self._lock:
            due = self.schedule.next_due()
            now = as_utc(self.clock())
        if due is None:
            return tick
        return min(tick, max((due - now).total_seconds(), 0.01))

    # -- evaluation -----------------------------------------------------------------------

    def run_due(self) -> int:
        """Evaluate every alarm whose scheduled evaluation has come; returns how many."""
        with self._lock:
            now = as_utc(self.clock())
            seen: set[str] = set()
            evaluated = 0
            for backend in _backends():
                due: list[tuple[Alarm, MetricSpec]] = []
                for alarm in list(backend.alarms.values()):
                    spec = metric_spec(alarm)
                    if spec is None:
                        continue
                    seen.add(alarm.alarm_arn)
                    interval = evaluation_interval(spec.period)
                    if self.schedule.due_at(alarm.alarm_arn, interval, now) <= now:
                        due.append((alarm, spec))
                        self.schedule.evaluated(alarm.alarm_arn, interval, now)
                self._evaluate_alarms(backend, due, now)
                evaluated += len(due)
            self.schedule.keep_only(seen)
            return evaluated

    def evaluate(self) -> None:
        """Evaluate every metric alarm in every account and region now, off schedule."""
        with self._lock:
            now = as_utc(self.clock())
            for backend in _backends():
                alarms = [(alarm, metric_spec(alarm)) for alarm in list(backend.alarms.values())]
                self._evaluate_alarms(
                    backend, [(alarm, spec) for alarm, spec in alarms if spec is not None], now
                )

    def _evaluate_alarms(
        self,
        backend: CloudWatchBackend,
        alarms: list[tuple[Alarm, MetricSpec]],
        now: datetime.datetime,
    ) -> None:
        if not alarms:
            return
        by_metric: dict[tuple[str, str], list[MetricDatumBase]] = {}
        for datum in list(backend.metric_data):
            by_metric.setdefault((datum.namespace, datum.name), []).append(datum)
        for alarm, spec in alarms:
            recent = windows(
                by_metric.get((spec.namespace, spec.metric_name), []),
                spec,
                now - self.readable_lag,
                int(alarm.evaluation_periods),
            )
            outcome = verdict(alarm, spec, recent, alarm.state_value)
            if outcome is not None and outcome.state != alarm.state_value:
                self.transition(
                    backend, alarm, outcome.state, outcome.reason, json.dumps(outcome.reason_data)
                )

    # -- transitions ----------------------------------------------------------------------

    def transition(
        self, backend: CloudWatchBackend, alarm: Alarm, state: str, reason: str, reason_data: str
    ) -> None:
        """Move an alarm to `state`: record it, run its actions, announce it."""
        with self._lock:
            previous = _state_of(alarm)
            now = as_utc(self.clock())
            alarm.state_value, alarm.state_reason = state, reason
            alarm.state_reason_data = reason_data
            alarm.state_updated_timestamp = now.replace(tzinfo=None)  # moto keeps naive UTC
            self._announce(backend, alarm, previous, now)

    def _announce(
        self,
        backend: CloudWatchBackend,
        alarm: Alarm,
        previous: dict[str, Any],
        now: datetime.datetime,
    ) -> None:
        current = _state_of(alarm)
        self.history.record(
            HistoryItem(
                alarm.alarm_arn,
                alarm.name,
                now,
                "StateUpdate",
                f"Alarm updated from {previous['stateValue']} to {current['stateValue']}",
                {"version": "1.0", "oldState": previous, "newState": current},
            )
        )
        self._run_actions(backend, alarm, previous, now)
        put_service_event(
            backend.account_id,
            backend.region_name,
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            _state_change_detail(alarm, previous, now),
            [alarm.alarm_arn],
        )

    def _run_actions(
        self,
        backend: CloudWatchBackend,
        alarm: Alarm,
        previous: dict[str, Any],
        now: datetime.datetime,
    ) -> None:
        if not alarm.actions_enabled:
            return
        actions = {
            ALARM: alarm.alarm_actions,
            OK: alarm.ok_actions,
            INSUFFICIENT: alarm.insufficient_data_actions,
        }[alarm.state_value]
        for arn in actions or []:
            if ":sns:" not in arn:
                continue  # Auto Scaling, EC2 and Lambda actions are not emulated
            try:
                sns_backends[backend.account_id][backend.region_name].publish(
                    json.dumps(_notification(backend, alarm, previous, now)),
                    arn=arn,
                    subject=f'{alarm.state_value}: "{alarm.name}" in {backend.region_name}'[:100],
                )
            except Exception:
                logger.exception("alarm action failed", extra={"alarm": alarm.name, "arn": arn})
                continue
            self.history.record(
                HistoryItem(
                    alarm.alarm_arn,
                    alarm.name,
                    now,
                    "Action",
                    f"Successfully executed action {arn}",
                    {"actionState": "Succeeded", "notificationResource": arn},
                )
            )

    # -- moto replacements ----------------------------------------------------------------

    def _on_put_alarm(self, original: Any) -> Any:
        seam = self

        @functools.wraps(original)
        def put_metric_alarm(
            backend: CloudWatchBackend, name: str, *args: Any, **kwargs: Any
        ) -> Alarm:
            with seam._lock:
                existing = backend.alarms.get(name)
                alarm = original(backend, name, *args, **kwargs)
                seam._after_put(alarm, existing)
            return alarm

        return put_metric_alarm

    def _after_put(self, alarm: Alarm, existing: Alarm | None) -> None:
        now = as_utc(self.clock())
        if existing is not None:  # an update keeps the state, as on AWS
            alarm.state_value, alarm.state_reason = existing.state_value, existing.state_reason
            alarm.state_reason_data = existing.state_reason_data
            alarm.state_updated_timestamp = existing.state_updated_timestamp
        elif alarm.rule is None:  # composite alarms are not evaluated: leave moto's state
            alarm.state_value = INSUFFICIENT
            alarm.state_reason = "Unchecked: Initial alarm creation"
            alarm.state_updated_timestamp = now.replace(tzinfo=None)
        spec = metric_spec(alarm)
        if spec is not None:  # first evaluated one interval from now (module docstring)
            interval = evaluation_interval(spec.period)
            if existing is not None:
                self.schedule.updated(alarm.alarm_arn, interval, now)
            else:
                self.schedule.created(alarm.alarm_arn, interval, now)
        verb = "updated" if existing is not None else "created"
        self.history.record(
            HistoryItem(
                alarm.alarm_arn,
                alarm.name,
                now,
                "ConfigurationUpdate",
                f'Alarm "{alarm.name}" {verb}',
                {"version": "1.0", "type": verb.capitalize()},
            )
        )

    def _on_set_state(self, original: Any) -> Any:
        seam = self

        @functools.wraps(original)
        def set_alarm_state(
            backend: CloudWatchBackend,
            alarm_name: str,
            reason: str,
            reason_data: str,
            state_value: str,
        ) -> None:
            with seam._lock:
                alarm = backend.alarms.get(alarm_name)
                previous = _state_of(alarm) if alarm is not None else None
                original(backend, alarm_name, reason, reason_data, state_value)
                if alarm is not None and previous is not None:
                    alarm.state_updated_timestamp = as_utc(seam.clock()).replace(tzinfo=None)
                    seam._announce(backend, alarm, previous, as_utc(seam.clock()))

        return set_alarm_state

    def _history_handler(self) -> Callable[[CloudWatchResponse], ActionResult]:
        history = self.history

        def describe_alarm_history(response: CloudWatchResponse) -> ActionResult:
            # Alarm ARNs name region and account: one history serves every backend.
            arn_part = f":cloudwatch:{response.region}:{response.current_account}:alarm:"
            items = history.query(
                arn_part,
                response._get_param("AlarmName"),
                response._get_param("HistoryItemType"),
                _param_time(response._get_param("StartDate")),
                _param_time(response._get_param("EndDate")),
            )
            if response._get_param("ScanBy") == "TimestampAscending":
                items.reverse()
            start = int(response._get_param("NextToken") or 0)
            size = int(response._get_param("MaxRecords") or 100)
            page = items[start : start + size]
            result: dict[str, Any] = {"AlarmHistoryItems": [item.to_api() for item in page]}
            if start + size < len(items):
                result["NextToken"] = str(start + size)
            return ActionResult(result)

        return describe_alarm_history


def _backends() -> list[CloudWatchBackend]:
    """Every CloudWatch backend moto has loaded (one per account and region)."""
    return [
        backend
        for regions in list(cloudwatch_backends.values())
        for backend in list(regions.values())
    ]


def _state_of(alarm: Alarm) -> dict[str, Any]:
    return {
        "stateValue": alarm.state_value,
        "stateReason": alarm.state_reason,
        "stateReasonData": alarm.state_reason_data,
        "timestamp": aws_time(alarm.state_updated_timestamp),
    }


def _state_change_detail(
    alarm: Alarm, previous: dict[str, Any], now: datetime.datetime
) -> dict[str, Any]:
    """The `detail` of a "CloudWatch Alarm State Change" event."""
    dimensions = {d.name: d.value for d in alarm.dimensions}
    return {
        "alarmName": alarm.name,
        "state": {
            "value": alarm.state_value,
            "reason": alarm.state_reason,
            "reasonData": alarm.state_reason_data,
            "timestamp": aws_time(now),
        },
        "previousState": {
            "value": previous["stateValue"],
            "reason": previous["stateReason"],
            "reasonData": previous["stateReasonData"],
            "timestamp": previous["timestamp"],
        },
        "configuration": {
            "description": alarm.description,
            "metrics": [
                {
                    "id": "m1",
                    "metricStat": {
                        "metric": {
                            "namespace": alarm.namespace,
                            "name": alarm.metric_name,
                            "dimensions": dimensions,
                        },
                        "period": alarm.period,
                        "stat": alarm.statistic,
                    },
                    "returnData": True,
                }
            ],
        },
    }


def _notification(
    backend: CloudWatchBackend, alarm: Alarm, previous: dict[str, Any], now: datetime.datetime
) -> dict[str, Any]:
    """The JSON message CloudWatch publishes to an SNS alarm action."""
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": backend.account_id,
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": aws_time(now),
        "Region": backend.region_name,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": previous["stateValue"],
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": (alarm.statistic or "").upper(),
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data or "missing",
        },
    }
