"""CloudWatch seam: metric alarms evaluated on CloudWatch's schedule, with history and actions.

moto 5.2.5 stores alarms but never evaluates them: a new alarm is `OK` and stays there
whatever the data, and DescribeAlarmHistory is not implemented (HTTP 500). This seam
evaluates static-threshold metric alarms from moto's stored metric data on CloudWatch's
own schedule, keeps a state history, serves DescribeAlarmHistory, publishes to SNS alarm
actions and puts "CloudWatch Alarm State Change" events on the default bus. Its parts:
alarm_evaluation.py (windows and verdict), alarm_schedule.py (when: the AWS documentation
each rule follows), alarm_history.py (the history store) and alarm_messages.py (what a
state change says); this module patches moto and runs them.

Besides the schedule, the AWS documentation the seam follows:
- A new alarm is INSUFFICIENT_DATA until its first evaluation: "When you create a
  CloudWatch alarm, its first state by default is INSUFFICIENT_DATA. It remains in this
  state until it completes its first evaluation of the metric being monitored" (AWS
  Knowledge Center, https://repost.aws/knowledge-center/cloudwatch-alarm-insufficient-data-state).
  Updating an alarm keeps its state.
- SetAlarmState "Temporarily sets the state of an alarm for testing purposes" and "Metric
  alarms returns to their actual state quickly, often within seconds" (SetAlarmState,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html):
  here a set state holds until the alarm's next scheduled evaluation, no sooner. "When
  the updated state differs from the previous value, the action configured for the
  appropriate state is invoked" (same page), and "CloudWatch sends events to Amazon
  EventBridge whenever a CloudWatch alarm changes alarm state" (Alarm events and
  EventBridge, alarm_messages.py): a transition, SetAlarmState's included, runs the
  actions and puts the event; setting the state it already has does neither.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from moto.cloudwatch.models import Alarm, CloudWatchBackend, MetricDatumBase, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.sns.models import sns_backends

from rollout.local.alarm_evaluation import (
    ALARM,
    INSUFFICIENT,
    OK,
    MetricSpec,
    as_utc,
    metric_spec,
    verdict,
    windows,
)
from rollout.local.alarm_history import AlarmHistory, HistoryItem
from rollout.local.alarm_messages import notification, state_change_detail, state_of
from rollout.local.alarm_schedule import Schedule, evaluation_interval
from rollout.local.eventbridge import put_service_event
from rollout.local.metric_delay import alarm_lag
from rollout.local.patching import Patches
from rollout.local.seam import Cloud

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


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
            previous = state_of(alarm)
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
        current = state_of(alarm)
        changed = current["stateValue"] != previous["stateValue"]
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
        if not changed:
            return
        self._run_actions(backend, alarm, previous, now)
        put_service_event(
            backend.account_id,
            backend.region_name,
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            state_change_detail(alarm, previous, now),
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
                    json.dumps(notification(backend, alarm, previous, now)),
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
        if spec is not None:  # first evaluated one interval from now (alarm_schedule.py)
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
                previous = state_of(alarm) if alarm is not None else None
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


def _param_time(value: Any) -> datetime.datetime | None:
    if value is None or isinstance(value, datetime.datetime):
        return None if value is None else as_utc(value)
    return as_utc(datetime.datetime.fromisoformat(str(value)))
