"""What the telemetry function does with each event it is sent (functions/telemetry).

- A CloudWatch Logs subscription payload (`{"awslogs": {"data": base64(gzip(json))}}`,
  Subscription filters, https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html):
  its DATA_MESSAGE's events (one log stream) are read into a tally per version and time
  bucket (reports.Reader) and added to the counts (counts.record). When the batch has a
  failure of a version some rollout rolls out, the rollout's counts since its window's
  start are judged by the logs signal's own rule (health.error_rate: a rate above the
  threshold, or failures that already settle it), and a failing verdict wakes the
  rollout's wait (watches.wake): Check health runs now, not at the next tick.
- A "CloudWatch Alarm State Change" event (the template's EventBridge rule): the alarm's
  state is stored (alarm_states.record); an ALARM wakes each rollout watching the alarm.

It never raises: an asynchronous invocation that fails is retried by Lambda, and a retried
batch would count its invocations twice; a batch that can't be written is dropped (and
logged): its invocations are undercounted, never invented.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
from datetime import datetime
from typing import Any

from ..deadline import READ_ERRORS, Deadline
from ..health import error_rate
from . import alarm_states, counts, table, watches
from .reports import Reader

log = logging.getLogger(__name__)
ALARM_EVENT = "CloudWatch Alarm State Change"


def handle(event: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
    try:
        if isinstance(event.get("awslogs"), dict):
            return logs(str(event["awslogs"].get("data", "")), deadline)
        if event.get("detail-type") == ALARM_EVENT:
            return alarm(event.get("detail") or {})
    except (*READ_ERRORS, ValueError) as error:
        log.warning("telemetry dropped an event", extra={"error": repr(error)})
        return {"dropped": repr(error)}
    return {"ignored": str(event.get("detail-type") or sorted(event))}


def decode(data: str) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(data)))
    return message


def logs(data: str, deadline: Deadline) -> dict[str, Any]:
    message = decode(data)
    if message.get("messageType") != "DATA_MESSAGE":
        return {"messageType": message.get("messageType")}  # CONTROL_MESSAGE: a probe
    group, stream = str(message.get("logGroup", "")), str(message.get("logStream", ""))
    reader = Reader(group, counts.BUCKET_SECONDS, counts.SAMPLES_PER_ITEM)
    for event in message.get("logEvents", []):
        reader.add(stream, int(event.get("timestamp", 0)), str(event.get("message", "")))
    tallies = reader.finish()
    for (function, version, bucket), tally in tallies.items():
        counts.record(function, version, bucket, stream, tally)
    failing = {(f, v) for (f, v, _), tally in tallies.items() if tally.failures}
    woken = [
        w
        for function in sorted({f for f, _ in failing})
        for w in _wake_for(function, failing, deadline)
    ]
    return {
        "logGroup": group,
        "events": reader.read,
        "invocations": sum(t.invocations for t in tallies.values()),
        "failures": sum(t.failures for t in tallies.values()),
        "woken": woken,
    }


def _wake_for(function: str, failing: set[tuple[str, str]], deadline: Deadline) -> list[str]:
    """Wake every rollout of `function` whose new version now fails the logs rule."""
    woken = []
    for watch in watches.watching(function):
        if (function, watch.target) not in failing:
            continue
        reason = _verdict(watch, deadline)
        if reason and watches.wake(watch.execution, reason, table.now_ms()):
            woken.append(watch.execution)
    return woken


def _verdict(watch: watches.FunctionWatch, deadline: Deadline) -> str | None:
    """The logs signal's reason to fail the rollout's check now, if there is one."""
    armed = watches.armed(watch.execution)
    if armed is None or armed.since is None or not armed.judging:
        return None
    new = counts.totals(watch.function, watch.target, armed.since, deadline)
    stable = None
    if watch.policy.compareToStable:
        found = counts.totals(watch.function, watch.stable, armed.since, deadline)
        stable = (found.version, found.rate)
    judgement = error_rate.judge(
        "logs", new.version, new.failures, new.invocations, watch.policy, stable
    )
    return f"{watch.function}: {judgement.reason}" if judgement.reason else None


def alarm(detail: dict[str, Any]) -> dict[str, Any]:
    name = str(detail.get("alarmName", ""))
    state = detail.get("state") or {}
    value = str(state.get("value", ""))
    watchers = alarm_states.record(
        name, value, _event_ms(state.get("timestamp")), str(state.get("reason", ""))
    )
    woken = []
    if value == "ALARM":
        for execution in sorted(watchers or ()):
            armed = watches.armed(execution)
            reason = f"alarm {name} is in ALARM"
            if (
                armed
                and name in armed.wake_alarms
                and watches.wake(execution, reason, table.now_ms())
            ):
                woken.append(execution)
    return {"alarm": name, "state": value, "stored": watchers is not None, "woken": woken}


def _event_ms(timestamp: Any) -> int:
    """The state's time, `2026-11-30T17:04:40.989+0000` as the event gives it; now if absent."""
    try:
        return int(datetime.strptime(str(timestamp), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)
    except ValueError:
        return table.now_ms()
