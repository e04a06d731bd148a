"""AWS/Lambda metrics as CloudWatch serves them: one datapoint per minute, readable late.

"Lambda sends metric data to CloudWatch in 1-minute intervals" (Using CloudWatch metrics
with Lambda, https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html). So
on AWS an invocation's Invocations and Errors can't be read before the minute it fell in
has ended and Lambda has sent that minute; the datapoint is stamped with the start of the
minute, up to a minute or more before anyone can read it.

`LocalCloud(metric_delay=SECONDS)` (and `rollout local up --metric-delay SECONDS`) holds
every AWS/Lambda datapoint the runtime seam emits, sums it per metric, dimension set and
minute (Sum, SampleCount, Minimum, Maximum: a `StatisticValues` datapoint stamped at the
minute's start), and writes it into moto's CloudWatch only SECONDS after that minute
ends. Until then GetMetricData, GetMetricStatistics and the alarm seam (alarms.py, which
evaluates over the same stored data, shifted back by `alarm_lag`: the delay plus one
minute, so its most recent window is the most recent readable minute) don't see it. 0 (the default)
writes every datapoint at once, unaggregated: today's instant behaviour for fast tests.

The defaults and where they come from:
- AWS_METRIC_DELAY_SECONDS = 60: the documented part is the 1-minute interval; how long
  after its minute a datapoint becomes readable is not documented. One minute after the
  minute ends (an invocation is readable 60 to 120 s after it ran; a datapoint two minutes
  after the time it is stamped with) models what the Lambda console and GetMetricData
  typically show, and what monitoring vendors that poll CloudWatch report for 1-minute
  metrics ("their availability delay is about 2 minutes", Datadog, Cloud Metric Delay,
  https://docs.datadoghq.com/integrations/guide/cloud-metric-delay/); it is an estimate,
  set on the command line when a measurement says otherwise.
- LOG_DELAY_SECONDS = 2: the log ingestion delay used with any non-zero metric delay
  (LocalCloud(log_delay=…) overrides it). CloudWatch Logs documents no ingestion
  latency; log events usually become searchable within a few seconds of Lambda sending
  them, which Lambda does while the invocation runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from rollout.local.seam import Place

AWS_METRIC_DELAY_SECONDS = 60.0
LOG_DELAY_SECONDS = 2.0
MINUTE = 60
RELEASE_TICK = 0.5  # seconds between two looks at what has become readable
ALARM_MARGIN = 1.0  # RELEASE_TICK and the alarm schedule's wake-up, rounded up


def alarm_lag(delay: float) -> float:
    """Seconds by which the alarm seam's windows end before the evaluation (alarms.py).

    The newest readable minute ended `delay` seconds ago, so its window ends `delay` + 60 s
    before now; ALARM_MARGIN more, because a minute is written up to RELEASE_TICK after it
    falls due: an evaluation in that instant would look at an empty window, and the next
    one, a minute later, past it, so that minute would never be judged (CloudWatch judges
    each datapoint once it is there). 0 with no delay: datapoints are written at once.
    """
    return delay + MINUTE + ALARM_MARGIN if delay > 0 else 0.0


@dataclass
class _Minute:
    """One metric's datapoints in one minute, summed."""

    count: float = 0.0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)


# account, region, namespace, name, unit, dimensions, minute
_Key = tuple[str, str, str, str, str | None, tuple[tuple[str, str], ...], int]


class DelayedMetrics:
    """Datapoints held per minute and written `delay` seconds after their minute ends, in
    the account and Region they were put for."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.time) -> None:
        self.delay = max(0.0, delay)
        self._clock = clock
        self._held: dict[_Key, _Minute] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.delay > 0:
            self._thread = threading.Thread(
                target=self._loop, daemon=True, name="lambda-metrics-delay"
            )
            self._thread.start()

    def put(self, place: Place, namespace: str, data: list[dict[str, Any]]) -> None:
        """PutMetricData as Lambda's own publisher would: held when there is a delay."""
        if self.delay <= 0:
            _backend(place.account_id, place.region).put_metric_data(namespace, data)
            return
        with self._lock:
            for datum in data:
                stamp = datum["Timestamp"]
                seconds = (
                    stamp.replace(tzinfo=UTC).timestamp()
                    if stamp.tzinfo is None
                    else stamp.timestamp()
                )
                dims = tuple((d["Name"], d["Value"]) for d in datum["Dimensions"])
                key = (
                    place.account_id,
                    place.region,
                    namespace,
                    datum["MetricName"],
                    datum.get("Unit"),
                    dims,
                    int(seconds // MINUTE),
                )
                self._held.setdefault(key, _Minute()).add(float(datum["Value"]))

    def readable_at(self, minute: int) -> float:
        """Epoch seconds at which the datapoints of `minute` (epoch minutes) are readable."""
        return (minute + 1) * MINUTE + self.delay

    def release_due(self) -> int:
        """Write every minute that has become readable; returns how many datapoints."""
        now = self._clock()
        with self._lock:
            due = {k: held for k, held in self._held.items() if self.readable_at(k[-1]) <= now}
            for key in due:
                del self._held[key]
        for (account_id, region, namespace, name, unit, dims, minute), held in sorted(
            due.items(), key=lambda i: i[0][-1]
        ):
            datum: dict[str, Any] = {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                "Timestamp": datetime.fromtimestamp(minute * MINUTE, UTC).replace(tzinfo=None),
                "StatisticValues": {
                    "SampleCount": held.count,
                    "Sum": held.total,
                    "Minimum": held.low,
                    "Maximum": held.high,
                },
            }
            if unit:
                datum["Unit"] = unit
            _backend(account_id, region).put_metric_data(namespace, [datum])
        return len(due)

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(RELEASE_TICK):
            self.release_due()


def _backend(account_id: str, region: str) -> Any:
    return cloudwatch_backends[account_id][region]
