"""CloudWatch Logs subscription filters with a Lambda destination, delivered as AWS does.

What AWS does, and where it says so:
- "You can use subscriptions to get access to a real-time feed of log events from
  CloudWatch Logs" and "Log events are sent to the receiving resource soon after being
  ingested, usually less than three minutes" (Real-time processing of log data with
  subscriptions, https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Subscriptions.html).
  Here an event is handed on once it is readable (Lambda's own logs after the cloud's
  `log_delay`, lambda_logs.py), collected per filter and log stream for
  BATCH_WINDOW_SECONDS, then delivered: never inside PutLogEvents. AWS documents no
  batch window; one second keeps the feed "real-time" while still batching a burst of
  one environment's lines (START, output, END, REPORT arrive together) into one call.
- "CloudWatch Logs invokes your function asynchronously with an event that contains log
  data. The value of the data field is a Base64-encoded .gzip file archive" (Using
  Lambda with CloudWatch Logs,
  https://docs.aws.amazon.com/lambda/latest/dg/services-cloudwatchlogs.html): the payload
  is `{"awslogs": {"data": base64(gzip(json))}}`, the JSON `{"messageType":
  "DATA_MESSAGE", "owner", "logGroup", "logStream", "subscriptionFilters", "logEvents":
  [{"id", "timestamp", "message"}]}` with 56-digit string ids (Subscription filters,
  Example 2: Lambda,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html).
  The destination is invoked with InvocationType Event through the Lambda runtime seam,
  so an alias or version ARN runs that alias's or version's code. A payload stays within
  Lambda's 256 KB asynchronous invocation payload quota (Lambda quotas,
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): a bigger
  batch is split.
- "If the destination service returns a retryable error such as a throttling exception
  or a retryable service exception (HTTP 5xx for example), CloudWatch Logs continues to
  retry delivery for up to 24 hours. CloudWatch Logs doesn't try to re-deliver if the
  error is a non-retryable error, such as AccessDeniedException or
  ResourceNotFoundException. In these cases the subscription filter is disabled for up to
  10 minutes, and then CloudWatch Logs retries sending logs to the destination. During
  this disabled period, logs are skipped." (Subscriptions page.) AWS documents no retry
  schedule: here the delay doubles from RETRY_FIRST_SECONDS up to RETRY_MAX_SECONDS, and
  the cloud's life bounds the 24 hours. After the disabled period, delivery resumes with
  events ingested from then on; the failed batch is one of the skipped.
- The destination must allow CloudWatch Logs to invoke it (its resource-based policy,
  lambda_permissions.py; "aws lambda add-permission … --principal logs.amazonaws.com …
  --source-arn arn:aws:logs:region:123456789123:log-group:TestLambda:*", Subscription
  filters page). PutSubscriptionFilter refuses a destination it can't invoke with
  InvalidParameterException "Could not execute the lambda function. Make sure you have
  given CloudWatch Logs permission to execute your function." (the message real
  responses carry and moto uses); a permission removed later fails delivery with
  AccessDeniedException, which disables the filter as above.
- "Each log group can have up to two subscription filters associated with it. If you are
  updating an existing filter, you must specify the correct name in filterName."
  (PutSubscriptionFilter API reference): a third is LimitExceededException; an update by
  name is allowed. A Lambda destination belongs "to the same account as the subscription
  filter" (same page), and to its Region.
- Filter patterns: filter_patterns.py.

moto 5.2.5 gaps this seam closes (pinned by tests/local/test_log_subscriptions.py):
moto delivers inside PutLogEvents, on the caller's thread, one invocation per call and
filter; ignores the filter pattern; runs `$LATEST` for an alias or version destination
(`LambdaBackend.send_log_event` looks the ARN up with `_lambdas.get_arn`); refuses to
update a filter when the group has two; checks no permission. Replaced:
`LogStream._send_log_events(self, service, destination_arn, filter_name, log_events)`
(Lambda destinations; others go to moto's own) and
`LogGroup.put_subscription_filter(self, filter_name, filter_pattern, destination_arn,
role_arn)` (wrapped). Read: `LogStream.log_group`, `log_stream_name`;
`LogGroup.subscription_filters`, `name`, `account_id`, `region`;
`SubscriptionFilter.filter_pattern`, `destination_arn`, `update`; `logs_backends`;
`lambda_backends`.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.logs.exceptions import InvalidParameterException
from moto.logs.models import LogGroup, LogStream, logs_backends
from moto.utilities.arns import parse_arn

from rollout.local.eventbridge import invoke_async
from rollout.local.filter_patterns import FilterPatternError, Matcher, compile_pattern
from rollout.local.lambda_permissions import service_may_invoke
from rollout.local.patching import Patches
from rollout.local.seam import Cloud

logger = logging.getLogger(__name__)

BATCH_WINDOW_SECONDS = 1.0
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0
RETRY_FOR_SECONDS = 24 * 3600.0
DISABLED_SECONDS = 600.0
MAX_PAYLOAD_BYTES = 256 * 1024
PERMISSION_MESSAGE = (
    "Could not execute the lambda function. Make sure you have given CloudWatch Logs "
    "permission to execute your function."
)
_NON_RETRYABLE = ("AccessDeniedException", "ResourceNotFoundException")


class AccessDeniedException(Exception):
    """CloudWatch Logs may not invoke the destination (its resource policy says no)."""

    error_type = "AccessDeniedException"
    code = 403


@dataclass(frozen=True)
class Subscription:
    """One subscription filter of one log group, as deliveries need it."""

    account_id: str
    region: str
    log_group: str
    filter_name: str
    destination_arn: str

    @property
    def source_arn(self) -> str:
        """The log group as the destination's `aws:SourceArn` condition sees it."""
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{self.log_group}:*"


@dataclass
class Batch:
    """Events of one log stream for one subscription, delivered in one or more calls."""

    subscription: Subscription
    stream: str
    due: float
    events: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    first_attempt: float | None = None


def event_id(moto_id: Any) -> str:
    """AWS's event ids are 56-digit decimal strings; moto's are small integers."""
    return f"{int(moto_id):056d}"


def payload(subscription: Subscription, stream: str, events: list[dict[str, Any]]) -> str:
    """The Invoke payload: `{"awslogs": {"data": base64(gzip(json))}}`."""
    message = {
        "messageType": "DATA_MESSAGE",
        "owner": subscription.account_id,
        "logGroup": subscription.log_group,
        "logStream": stream,
        "subscriptionFilters": [subscription.filter_name],
        "logEvents": events,
    }
    compressed = gzip.compress(json.dumps(message, separators=(",", ":")).encode())
    return json.dumps({"awslogs": {"data": base64.b64encode(compressed).decode()}})


def chunks(
    subscription: Subscription, stream: str, events: list[dict[str, Any]]
) -> list[list[dict[str, Any]]]:
    """The events in one call, or split in as many as keep each within MAX_PAYLOAD_BYTES."""
    if len(events) < 2 or len(payload(subscription, stream, events)) <= MAX_PAYLOAD_BYTES:
        return [events]
    half = len(events) // 2
    return chunks(subscription, stream, events[:half]) + chunks(subscription, stream, events[half:])


def logs_may_invoke(subscription: Subscription) -> bool:
    """The destination's resource-based policy lets CloudWatch Logs invoke it for this group."""
    arn = parse_arn(subscription.destination_arn)
    return service_may_invoke(
        lambda_backends[arn.account][arn.region],
        subscription.destination_arn,
        "logs",
        subscription.source_arn,
        subscription.account_id,
    )


def invoke_as_logs(subscription: Subscription, body: str) -> None:
    """Invoke the destination as CloudWatch Logs does: asynchronously, if its policy allows."""
    if not logs_may_invoke(subscription):
        raise AccessDeniedException(subscription.destination_arn)
    invoke_async(subscription.destination_arn, body)


def retryable(error: Exception) -> bool:
    """Throttling and 5xx are retried; AccessDenied, ResourceNotFound and other 4xx aren't.
    An error of the emulation itself (no AWS error type) counts as a 5xx."""
    error_type = getattr(error, "error_type", None)
    if error_type is None:
        return True
    if error_type in _NON_RETRYABLE:
        return False
    status = int(getattr(error, "code", 500))
    return error_type == "TooManyRequestsException" or status == 429 or status >= 500


Invoker = Callable[[Subscription, str], None]
Clock = Callable[[], float]


class SubscriptionDelivery:
    """Batches matching events per subscription and stream; delivers, retries, disables.

    `accept` is called inside PutLogEvents and only queues. A background thread (every
    `tick` seconds at most, woken for the next batch due) runs `run_due()`; `tick=None`
    runs no thread, so a test moves `clock` and calls `run_due()` itself.
    """

    def __init__(
        self,
        invoke: Invoker = invoke_as_logs,
        clock: Clock = time.monotonic,
        batch_window: float = BATCH_WINDOW_SECONDS,
        tick: float | None = 0.5,
    ) -> None:
        self.invoke = invoke
        self.clock = clock
        self.batch_window = batch_window
        self._open: dict[tuple[Subscription, str], Batch] = {}
        self._retrying: list[Batch] = []
        self._disabled_until: dict[tuple[str, str, str, str], float] = {}
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        if tick is not None:
            self._thread = threading.Thread(
                target=self._loop, args=(tick,), daemon=True, name="log-subscriptions"
            )
            self._thread.start()

    def accept(self, subscription: Subscription, stream: str, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        with self._wake:
            now = self.clock()
            if self._is_disabled(subscription, now):
                return  # "During this disabled period, logs are skipped."
            key = (subscription, stream)
            batch = self._open.get(key)
            if batch is None:
                batch = self._open[key] = Batch(subscription, stream, now + self.batch_window)
            batch.events.extend(events)
            self._wake.notify()

    def enable(self, subscription: Subscription) -> None:
        """A filter put again (created or updated) is no longer disabled."""
        with self._wake:
            self._disabled_until.pop(_filter_key(subscription), None)

    def pending(self) -> int:
        with self._wake:
            return len(self._open) + len(self._retrying)

    def run_due(self) -> int:
        """Deliver every batch whose time has come; returns how many were attempted."""
        now = self.clock()
        with self._wake:
            due = [b for b in self._open.values() if b.due <= now]
            due += [b for b in self._retrying if b.due <= now]
            for batch in due:
                self._open.pop((batch.subscription, batch.stream), None)
            self._retrying = [b for b in self._retrying if b.due > now]
        for batch in sorted(due, key=lambda b: b.due):
            self._deliver(batch, now)
        return len(due)

    def close(self) -> None:
        """Stop the thread; batches not delivered yet go with the cloud."""
        with self._wake:
            self._stopped = True
            self._open.clear()
            self._retrying.clear()
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _deliver(self, batch: Batch, now: float) -> None:
        subscription = batch.subscription
        if self._is_disabled(subscription, now) or not _still_subscribed(subscription):
            return
        batch.attempts += 1
        batch.first_attempt = now if batch.first_attempt is None else batch.first_attempt
        for chunk in chunks(subscription, batch.stream, batch.events):
            try:
                self.invoke(subscription, payload(subscription, batch.stream, chunk))
            except Exception as error:
                self._failed(batch, error, now)
                return
            batch.events = batch.events[len(chunk) :]

    def _failed(self, batch: Batch, error: Exception, now: float) -> None:
        subscription = batch.subscription
        if not retryable(error):
            logger.warning(
                "subscription delivery failed; filter disabled for %ss",
                DISABLED_SECONDS,
                extra={"filter": subscription.filter_name, "error": repr(error)},
            )
            with self._wake:
                self._disabled_until[_filter_key(subscription)] = now + DISABLED_SECONDS
            return
        assert batch.first_attempt is not None
        if now - batch.first_attempt >= RETRY_FOR_SECONDS:
            logger.warning("subscription delivery gave up after 24 h", extra={"error": repr(error)})
            return
        doublings = min(batch.attempts - 1, 16)  # past RETRY_MAX_SECONDS long before
        batch.due = now + min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**doublings)
        with self._wake:
            self._retrying.append(batch)
            self._wake.notify()

    def _is_disabled(self, subscription: Subscription, now: float) -> bool:
        until = self._disabled_until.get(_filter_key(subscription))
        return until is not None and now < until

    def _loop(self, tick: float) -> None:
        while True:
            with self._wake:
                if self._stopped:
                    return
                dues = [b.due for b in self._open.values()] + [b.due for b in self._retrying]
                wait = min([tick, *(due - self.clock() for due in dues)])
                if wait > 0:
                    self._wake.wait(wait)
                    continue
            try:
                self.run_due()
            except Exception:
                logger.exception("subscription delivery failed")


def _filter_key(subscription: Subscription) -> tuple[str, str, str, str]:
    s = subscription
    return (s.account_id, s.region, s.log_group, s.filter_name)


def _still_subscribed(subscription: Subscription) -> bool:
    """The filter still exists with this destination (it may have been deleted since)."""
    group = logs_backends[subscription.account_id][subscription.region].groups.get(
        subscription.log_group
    )
    found = group.subscription_filters.get(subscription.filter_name) if group else None
    return found is not None and found.destination_arn == subscription.destination_arn


@functools.lru_cache(maxsize=256)
def _matcher(pattern: str | None) -> Matcher:
    return compile_pattern(pattern)


class LogSubscriptions:
    """The seam: subscription filters to Lambda delivered asynchronously, as AWS does."""

    def __init__(
        self,
        clock: Clock = time.monotonic,
        tick: float | None = 0.5,
        batch_window: float = BATCH_WINDOW_SECONDS,
        invoke: Invoker = invoke_as_logs,
    ) -> None:
        self._settings = (invoke, clock, batch_window, tick)
        self._patches = Patches()
        self.delivery: SubscriptionDelivery | None = None

    def install(self, cloud: Cloud | None) -> None:
        invoke, clock, batch_window, tick = self._settings
        self.delivery = SubscriptionDelivery(invoke, clock, batch_window, tick)
        send, put = LogStream._send_log_events, LogGroup.put_subscription_filter
        self._patches.replace(LogStream, "_send_log_events", self._sending(send))
        self._patches.replace(LogGroup, "put_subscription_filter", self._putting(put))

    def uninstall(self) -> None:
        self._patches.undo()
        if self.delivery is not None:
            self.delivery.close()
            self.delivery = None

    def _sending(self, original: Callable[..., None]) -> Callable[..., None]:
        seam = self

        @functools.wraps(original)
        def send_log_events(
            stream: LogStream,
            service: str,
            destination_arn: str,
            filter_name: str,
            log_events: list[dict[str, Any]],
        ) -> None:
            if service != "lambda":
                original(stream, service, destination_arn, filter_name, log_events)
                return
            group: LogGroup = stream.log_group
            subscription_filter = group.subscription_filters.get(filter_name)
            if subscription_filter is None:  # deleted while this PutLogEvents ran
                return
            try:
                matches = _matcher(subscription_filter.filter_pattern)
            except FilterPatternError:
                logger.warning("filter %s has a pattern the cloud can't read", filter_name)
                return
            subscription = Subscription(
                group.account_id, group.region, group.name, filter_name, destination_arn
            )
            events = [
                {**event, "id": event_id(event["id"])}
                for event in log_events
                if matches(event["message"])
            ]
            assert seam.delivery is not None
            seam.delivery.accept(subscription, stream.log_stream_name, events)

        return send_log_events

    def _putting(self, original: Callable[..., None]) -> Callable[..., None]:
        seam = self

        @functools.wraps(original)
        def put_subscription_filter(
            group: LogGroup,
            filter_name: str,
            filter_pattern: str,
            destination_arn: str,
            role_arn: str,
        ) -> None:
            try:
                _matcher(filter_pattern)
            except FilterPatternError as error:
                raise InvalidParameterException(str(error)) from None
            subscription = Subscription(
                group.account_id, group.region, group.name, filter_name, destination_arn
            )
            if parse_arn(destination_arn).service == "lambda":
                _check_lambda_destination(subscription)
            existing = group.subscription_filters.get(filter_name)
            if existing is not None:  # an update by name: allowed with two filters
                existing.update(filter_pattern, destination_arn, role_arn)
            else:
                original(group, filter_name, filter_pattern, destination_arn, role_arn)
            assert seam.delivery is not None
            seam.delivery.enable(subscription)

        return put_subscription_filter


def _check_lambda_destination(subscription: Subscription) -> None:
    arn = parse_arn(subscription.destination_arn)
    if (arn.account, arn.region) != (subscription.account_id, subscription.region):
        raise InvalidParameterException(
            "The destination Lambda function must be in the same account and Region as "
            "the log group."
        )
    if not logs_may_invoke(subscription):
        raise InvalidParameterException(PERMISSION_MESSAGE)
