"""Lambda's SQS poller for one event source mapping: poll, batch, invoke, delete or retry.

What it follows (AWS Lambda Developer Guide):
- "Configuring scaling behavior for SQS event source mappings": "For standard queues, Lambda
  uses long polling to poll a queue until it becomes active. When messages are available,
  Lambda starts processing five batches at a time with five concurrent invocations of your
  function." Here: POLLERS threads per mapping, each long-polling (one-second polls, so a
  stopping cloud never waits out SQS's 20 s).
- "Lambda parameters for Amazon SQS event source mappings": BatchSize (default 10) and
  MaximumBatchingWindowInSeconds (default 0): a poller keeps reading until it holds
  BatchSize messages or the window has passed since its first message; with no window it
  invokes with what one read returned (ReceiveMessage returns at most 10).
- "Using Lambda with Amazon SQS": "Lambda polls the queue and invokes your Lambda function
  synchronously with an event that contains queue messages"; on success "Lambda deletes
  the messages from the queue".
- "Handling errors for an SQS event source in Lambda": on an error "all messages in that
  batch return to the queue"; they become visible again after the queue's visibility
  timeout (ReceiveMessage hides them that long), and SQS's redrive policy moves a message
  to its dead-letter queue after maxReceiveCount receives. With `ReportBatchItemFailures`
  in FunctionResponseTypes, Lambda treats `{"batchItemFailures": [{"itemIdentifier": id}]}`
  as "only these failed": an empty or null list (or response) is a complete success; an
  itemIdentifier that is empty, null, or no message of the batch makes the whole batch
  fail; a function error fails the whole batch whatever the setting.

The invocation goes through the Lambda backend's `invoke` with the mapping's own
FunctionArn, so a mapping on an alias draws a version by the alias's weights on every
batch (the runtime seam, lambda_runtime.py), as Lambda does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.sqs.models import Message, sqs_backends
from moto.utilities.arns import parse_arn

logger = logging.getLogger(__name__)

POLLERS = 5  # concurrent batches per mapping when messages are available
POLL_SECONDS = 1  # one long poll; AWS waits up to 20 s, which only a stopping cloud would see
MAX_PER_RECEIVE = 10  # ReceiveMessage's MaxNumberOfMessages limit
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


@dataclass(frozen=True)
class Mapping:
    """What a poller needs of an event source mapping (read again for every batch, so an
    UpdateEventSourceMapping applies to the next one)."""

    uuid: str
    function_arn: str
    queue_arn: str
    batch_size: int
    window_seconds: float
    report_item_failures: bool


def mapping_of(esm: Any) -> Mapping:
    return Mapping(
        uuid=esm.uuid,
        function_arn=esm.function_arn,
        queue_arn=esm.event_source_arn,
        batch_size=int(esm.batch_size or MAX_PER_RECEIVE),
        window_seconds=float(esm.max_batch_window or 0),
        report_item_failures=REPORT_BATCH_ITEM_FAILURES in (esm.function_response_types or []),
    )


def sqs_event(messages: list[Message], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda sends for a batch ("Using Lambda with Amazon SQS", example event)."""
    return {"Records": [_record(message, queue_arn, region) for message in messages]}


def _record(message: Message, queue_arn: str, region: str) -> dict[str, Any]:
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if message.group_id is not None:
        attributes |= {
            "MessageGroupId": str(message.group_id),
            "MessageDeduplicationId": str(message.deduplication_id),
        }
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": message.message_attributes or {},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(
    errored: bool, payload: bytes, batch: list[Message], report_item_failures: bool
) -> set[str]:
    """The messages of `batch` that go back to the queue after this invocation."""
    everything = {message.id for message in batch}
    if errored:
        return everything
    if not report_item_failures:
        return set()
    try:
        response = json.loads(payload or b"null")
    except ValueError:
        return everything  # an invalid JSON response fails the whole batch
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not failures:
        return set()
    named = [item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures]
    if any(not isinstance(name, str) or name not in everything for name in named):
        return everything
    return {str(name) for name in named}


class SqsPoller:
    """POLLERS threads reading one queue for one mapping until `stop`."""

    def __init__(self, read_mapping: Callable[[], Mapping | None]) -> None:
        self._read_mapping = read_mapping  # None once the mapping is gone or disabled
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        first = self._read_mapping()
        name = f"sqs-poller-{first.uuid[:8]}" if first else "sqs-poller"
        for number in range(POLLERS):
            thread = threading.Thread(target=self._run, daemon=True, name=f"{name}-{number}")
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while not self._stopping.is_set():
            mapping = self._read_mapping()
            if mapping is None:
                return
            try:
                self._one_batch(mapping)
            except Exception:  # a poller outlives any one batch, as Lambda's does
                logger.exception("SQS poller for mapping %s failed a batch", mapping.uuid)
                self._stopping.wait(POLL_SECONDS)

    def _one_batch(self, mapping: Mapping) -> None:
        arn = parse_arn(mapping.queue_arn)
        backend = sqs_backends[arn.account][arn.region]
        queue = backend.get_queue(arn.resource_id)
        visibility = int(queue.visibility_timeout)
        batch = self._gather(backend, arn.resource_id, mapping, visibility)
        if not batch:
            return
        errored, payload = _invoke(
            mapping.function_arn, sqs_event(batch, mapping.queue_arn, arn.region)
        )
        failed = failed_ids(errored, payload, batch, mapping.report_item_failures)
        for message in batch:
            if message.id not in failed:
                backend.delete_message(arn.resource_id, message.receipt_handle)
        # Failed messages stay hidden until their visibility timeout passes, then SQS shows
        # them again (and its redrive policy counts the receive).

    def _gather(
        self, backend: Any, queue_name: str, mapping: Mapping, visibility: int
    ) -> list[Message]:
        """Long-poll until a first message, then fill the batch within the window."""
        batch: list[Message] = []
        window_ends: float | None = None
        while not self._stopping.is_set():
            wanted = min(mapping.batch_size - len(batch), MAX_PER_RECEIVE)
            wait = POLL_SECONDS if not batch else 0
            batch += backend.receive_message(queue_name, wanted, wait, visibility)
            if not batch:
                continue
            if window_ends is None:
                window_ends = time.monotonic() + mapping.window_seconds
            if len(batch) >= mapping.batch_size or time.monotonic() >= window_ends:
                return batch
            self._stopping.wait(min(0.2, max(0.0, window_ends - time.monotonic())))
        return batch


def _invoke(function_arn: str, event: dict[str, Any]) -> tuple[bool, bytes]:
    """Invoke synchronously, as the poller does; (errored, response payload). A call that
    never ran the function (throttled, not found) counts as an error: the batch returns."""
    arn = parse_arn(function_arn)
    backend = lambda_backends[arn.account][arn.region]
    headers: dict[str, Any] = {}
    try:
        payload = backend.invoke(function_arn, None, json.dumps(event), {}, headers)
    except Exception as error:  # the batch returns to the queue, as after an error
        logger.warning("SQS poller could not invoke %s: %s", function_arn, error)
        return True, b""
    body = payload if isinstance(payload, bytes) else str(payload or "").encode()
    return "x-amz-function-error" in headers, body
