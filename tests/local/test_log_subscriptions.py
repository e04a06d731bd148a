"""CloudWatch Logs subscription filters delivered to Lambda as AWS delivers them
(rollout/local/log_subscriptions.py): asynchronously, batched per stream, only the events
the pattern matches, to the qualifier named, retried or disabled as AWS documents.

The end-to-end tests run real functions and wait, with a deadline, for the destination to
write what it received; the delivery rules (batching, retries, the disabled period) are
tested on a `SubscriptionDelivery` with a clock the test moves."""

from __future__ import annotations

import base64
import gzip
import inspect
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.awslambda.models import LambdaBackend, lambda_backends
from moto.awslambda.policy import Policy
from moto.core.exceptions import JsonRESTError
from moto.logs.models import LogGroup, LogStream, SubscriptionFilter

from rollout import samples
from rollout.local import log_subscriptions
from rollout.local.cloud import LocalCloud
from rollout.local.lambda_logs import LambdaLogs, LogWriter
from rollout.local.lambda_runtime import LambdaRuntime, TooManyRequestsException
from rollout.local.log_subscriptions import (
    BATCH_WINDOW_SECONDS,
    DISABLED_SECONDS,
    MAX_PAYLOAD_BYTES,
    RETRY_FOR_SECONDS,
    LogSubscriptions,
    Subscription,
    SubscriptionDelivery,
    chunks,
    invoke_as_logs,
    payload,
)
from rollout.samples import lambda_role

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

FIXTURE = Path(__file__).parent / "fixtures" / "runtime_app.py"
STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[(\$LATEST|\d+)\][0-9a-f]{32}$")
MOTO_SEND = LogStream._send_log_events
MOTO_PUT_FILTER = LogGroup.put_subscription_filter
DELIVERY_DEADLINE = 20.0  # seconds: the batch window plus a cold start, on a busy machine
delivery_threads: list[str] = []


def recording_invoke(subscription: Subscription, body: str) -> None:
    """The seam's own invoker, noting which thread delivers."""
    delivery_threads.append(threading.current_thread().name)
    invoke_as_logs(subscription, body)


@pytest.fixture(scope="module")
def cloud(
    isolated_cloud: Callable[..., AbstractContextManager[LocalCloud]],
) -> Iterator[LocalCloud]:
    seams = [LambdaLogs, LambdaRuntime, lambda: LogSubscriptions(invoke=recording_invoke)]
    with isolated_cloud(seams=seams) as started:
        yield started


@pytest.fixture(scope="module")
def lam(cloud: LocalCloud) -> Any:
    return cloud.client("lambda")


@pytest.fixture(scope="module")
def logs(cloud: LocalCloud) -> Any:
    return cloud.client("logs")


@pytest.fixture(scope="module")
def role(cloud: LocalCloud) -> str:
    return lambda_role(cloud.client("iam"), "subscription-tests")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def code(label: str) -> bytes:
    return samples.code_zip({"app.py": FIXTURE.read_text(), "marker.py": f"CODE = {label!r}\n"})


def create(lam: Any, role: str, name: str, handler: str, label: str = "v1", **extra: Any) -> str:
    return str(
        lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler=f"app.{handler}",
            Code={"ZipFile": code(label)},
            **extra,
        )["FunctionArn"]
    )


def receiver(lam: Any, role: str, folder: Path) -> str:
    """A destination whose alias `live` runs version 1 ("v1") while $LATEST is "latest";
    returns the alias ARN, which CloudWatch Logs may invoke for any log group."""
    name = unique("receiver")
    env = {"Variables": {"RECORD_DIR": str(folder)}}
    create(lam, role, name, "record_logs", label="v1", Environment=env)
    version = lam.publish_version(FunctionName=name)["Version"]
    alias = lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    lam.update_function_code(FunctionName=name, ZipFile=code("latest"))
    allow_logs(lam, name, qualifier="live")
    return str(alias["AliasArn"])


def allow_logs(lam: Any, name: str, qualifier: str | None = None, **extra: Any) -> None:
    lam.add_permission(
        FunctionName=name,
        StatementId=unique("logs"),
        Action="lambda:InvokeFunction",
        Principal="logs.amazonaws.com",
        **({"Qualifier": qualifier} if qualifier else {}),
        **extra,
    )


def received(folder: Path, events: int, deadline: float = DELIVERY_DEADLINE) -> list[Any]:
    """The deliveries the destination recorded, once they hold `events` log events."""
    end = time.monotonic() + deadline
    while True:
        found = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
        if sum(len(d["data"]["logEvents"]) for d in found) >= events:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"{events} events not delivered within {deadline} s: {found}")
        time.sleep(0.05)


def invoke(lam: Any, name: str, times: int = 1) -> None:
    for _ in range(times):
        lam.invoke(FunctionName=name, Payload=b"{}")


# -- end to end -------------------------------------------------------------------------


def test_a_lambda_subscribed_to_another_functions_log_group_gets_its_report_lines(
    lam: Any, role: str, logs: Any, cloud: LocalCloud, tmp_path: Path, load_event: Any
) -> None:
    destination = receiver(lam, role, tmp_path)
    source = unique("source")
    create(lam, role, source, "echo")
    group = f"/aws/lambda/{source}"
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(
        logGroupName=group,
        filterName="reports",
        filterPattern='?"REPORT RequestId" ?"END RequestId"',
        destinationArn=destination,
    )
    delivery_threads.clear()

    invoke(lam, source, times=3)

    deliveries = received(tmp_path, events=6)
    sample = load_event("cloudwatch-logs/subscription-data-message.json")
    messages = [event["message"] for d in deliveries for event in d["data"]["logEvents"]]
    assert sum(m.startswith("REPORT RequestId: ") for m in messages) == 3
    assert sum(m.startswith("END RequestId: ") for m in messages) == 3
    assert len(messages) == 6  # no START line, no function output: the pattern decides
    for delivery in deliveries:
        data = delivery["data"]
        assert set(data) == set(sample)
        assert data["messageType"] == "DATA_MESSAGE"
        assert (data["owner"], data["logGroup"]) == (cloud.account_id, group)
        assert STREAM.match(data["logStream"])
        assert data["subscriptionFilters"] == ["reports"]
        assert len(data["logEvents"]) >= 2  # each invocation's END and REPORT in one batch
        for event in data["logEvents"]:
            assert set(event) == set(sample["logEvents"][0])
            assert re.fullmatch(r"\d{56}", event["id"])
            assert isinstance(event["timestamp"], int)
        # the alias ARN ran the alias's version, not $LATEST
        assert (delivery["code"], delivery["version"]) == ("v1", "1")
    assert delivery_threads and set(delivery_threads) == {"log-subscriptions"}


def test_a_custom_log_group_in_json_format_with_a_json_pattern(
    lam: Any, role: str, logs: Any, tmp_path: Path
) -> None:
    destination = receiver(lam, role, tmp_path)
    source, group = unique("json-source"), f"/custom/{unique('group')}"
    create(lam, role, source, "echo", LoggingConfig={"LogFormat": "JSON", "LogGroup": group})
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(
        logGroupName=group,
        filterName="platform-reports",
        filterPattern='{ $.type = "platform.report" }',
        destinationArn=destination,
    )

    invoke(lam, source, times=2)

    deliveries = received(tmp_path, events=2)
    records = [json.loads(e["message"]) for d in deliveries for e in d["data"]["logEvents"]]
    assert [r["type"] for r in records] == ["platform.report", "platform.report"]
    assert all(r["record"]["status"] == "success" for r in records)
    assert {d["data"]["logGroup"] for d in deliveries} == {group}
    # a custom group's streams name the function, so a shared group tells them apart
    assert all(f"/{source}[$LATEST]" in d["data"]["logStream"] for d in deliveries)


def test_lambda_logs_are_delivered_once_readable_after_the_ingestion_delay(
    lam: Any, role: str, logs: Any, cloud: LocalCloud, tmp_path: Path
) -> None:
    destination = receiver(lam, role, tmp_path)
    group = unique("/app/ingested")
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(
        logGroupName=group, filterName="all", filterPattern="", destinationArn=destination
    )
    now = [100.0]
    writer = LogWriter(delay=0.0, clock=lambda: now[0])
    writer.delay = 2.0  # the cloud's log_delay, without a thread: the test moves the clock
    stamp = int(time.time() * 1000)
    writer.write(cloud, group, "2026/01/01/[1]" + "0" * 32, [{"timestamp": stamp, "message": "hi"}])

    now[0] += 1.9
    assert writer.flush_due() == 0
    assert logs.filter_log_events(logGroupName=group)["events"] == []  # not yet readable
    assert list(tmp_path.glob("*.json")) == []  # so not delivered either
    now[0] += 0.1
    assert writer.flush_due() == 1
    [delivery] = received(tmp_path, events=1)
    assert delivery["data"]["logEvents"][0]["message"] == "hi"


def test_put_log_events_returns_before_anything_is_delivered(
    lam: Any, role: str, logs: Any, cloud: LocalCloud, tmp_path: Path
) -> None:
    destination = receiver(lam, role, tmp_path)
    group, stream = unique("/app/direct"), "stream-1"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_subscription_filter(
        logGroupName=group, filterName="all", filterPattern="", destinationArn=destination
    )
    seam = cloud.seam(LogSubscriptions)
    assert seam.delivery is not None

    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": "one"}, {"timestamp": now, "message": "two"}],
    )

    assert list(tmp_path.glob("*.json")) == []  # queued, not delivered inside the call
    [delivery] = received(tmp_path, events=2)
    assert [e["message"] for e in delivery["data"]["logEvents"]] == ["one", "two"]
    assert delivery["data"]["logStream"] == stream


# -- PutSubscriptionFilter ----------------------------------------------------------------


def group_with_destination(lam: Any, role: str, logs: Any, tmp_path: Path) -> tuple[str, str]:
    group = unique("/app/limits")
    logs.create_log_group(logGroupName=group)
    return group, receiver(lam, role, tmp_path)


def test_two_filters_per_group_a_third_is_refused_an_update_by_name_is_not(
    lam: Any, role: str, logs: Any, tmp_path: Path
) -> None:
    group, destination = group_with_destination(lam, role, logs, tmp_path)
    for name in ("first", "second"):
        logs.put_subscription_filter(
            logGroupName=group, filterName=name, filterPattern="", destinationArn=destination
        )
    with pytest.raises(ClientError) as refused:
        logs.put_subscription_filter(
            logGroupName=group, filterName="third", filterPattern="", destinationArn=destination
        )
    assert refused.value.response["Error"]["Code"] == "LimitExceededException"

    logs.put_subscription_filter(
        logGroupName=group, filterName="second", filterPattern="ERROR", destinationArn=destination
    )
    described = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert {f["filterName"]: f["filterPattern"] for f in described} == {
        "first": "",
        "second": "ERROR",
    }
    assert {f["distribution"] for f in described} == {"ByLogStream"}

    logs.delete_subscription_filter(logGroupName=group, filterName="second")
    with pytest.raises(ClientError) as gone:
        logs.delete_subscription_filter(logGroupName=group, filterName="second")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_destination_that_does_not_allow_cloudwatch_logs_is_refused(
    lam: Any, role: str, logs: Any, cloud: LocalCloud
) -> None:
    group = unique("/app/denied")
    logs.create_log_group(logGroupName=group)
    name = unique("closed")
    arn = create(lam, role, name, "record_logs")
    lam.publish_version(FunctionName=name)
    alias_arn = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")["AliasArn"]
    logs_arn = f"arn:aws:logs:{cloud.region}:{cloud.account_id}:log-group"
    allow_logs(lam, name, SourceArn=f"{logs_arn}:other:*")

    for destination in (arn, alias_arn):  # wrong log group; no permission on the alias at all
        with pytest.raises(ClientError) as refused:
            logs.put_subscription_filter(
                logGroupName=group, filterName="f", filterPattern="", destinationArn=destination
            )
        error = refused.value.response["Error"]
        assert error["Code"] == "InvalidParameterException"
        assert "permission to execute your function" in error["Message"]

    allow_logs(lam, name, SourceArn=f"{logs_arn}:{group}:*")
    logs.put_subscription_filter(
        logGroupName=group, filterName="f", filterPattern="", destinationArn=arn
    )


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("{ $.a = }", "Invalid filter pattern"), ("[ip, user]", "space-delimited")],
)
def test_a_pattern_the_cloud_cannot_honour_is_refused(
    lam: Any, role: str, logs: Any, tmp_path: Path, pattern: str, message: str
) -> None:
    group, destination = group_with_destination(lam, role, logs, tmp_path)
    with pytest.raises(ClientError) as refused:
        logs.put_subscription_filter(
            logGroupName=group, filterName="f", filterPattern=pattern, destinationArn=destination
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert message in refused.value.response["Error"]["Message"]


# -- delivery rules, on a clock the test moves ------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Destination:
    """A fake invoker: fails with the queued errors, then records what it was sent."""

    def __init__(self, clock: Clock, *failures: Exception) -> None:
        self.clock, self.failures = clock, list(failures)
        self.attempts: list[float] = []
        self.delivered: list[list[str]] = []

    def __call__(self, subscription: Subscription, body: str) -> None:
        self.attempts.append(self.clock())
        if self.failures:
            raise self.failures.pop(0)
        data = log_subscriptions_message(body)
        self.delivered.append([e["message"] for e in data["logEvents"]])


def log_subscriptions_message(body: str) -> Any:
    return json.loads(gzip.decompress(base64.b64decode(json.loads(body)["awslogs"]["data"])))


@pytest.fixture
def subscribed(lam: Any, role: str, logs: Any, cloud: LocalCloud, tmp_path: Path) -> Subscription:
    """A real filter (deliveries check it still exists) to drive a private delivery."""
    group, destination = group_with_destination(lam, role, logs, tmp_path)
    logs.put_subscription_filter(
        logGroupName=group, filterName="f", filterPattern="", destinationArn=destination
    )
    return Subscription(cloud.account_id, cloud.region, group, "f", destination)


def events(*messages: str) -> list[dict[str, Any]]:
    return [{"id": f"{i:056d}", "timestamp": 1, "message": m} for i, m in enumerate(messages)]


def server_error() -> Exception:
    error = JsonRESTError("ServiceException", "Lambda is having a bad day")
    error.code = 500
    return error


def test_events_of_a_stream_are_batched_for_the_window_then_sent_at_once(subscribed):
    clock = Clock()
    destination = Destination(clock)
    delivery = SubscriptionDelivery(destination, clock, tick=None)
    delivery.accept(subscribed, "s1", events("a"))
    clock.now += BATCH_WINDOW_SECONDS / 2
    delivery.accept(subscribed, "s1", events("b"))
    delivery.accept(subscribed, "s2", events("c"))
    assert delivery.run_due() == 0

    clock.now += BATCH_WINDOW_SECONDS / 2  # s1's window, opened by "a", has passed
    assert delivery.run_due() == 1
    assert destination.delivered == [["a", "b"]]
    clock.now += BATCH_WINDOW_SECONDS / 2  # and s2's, opened by "c"
    assert delivery.run_due() == 1
    assert destination.delivered == [["a", "b"], ["c"]]


@pytest.mark.parametrize("failure", [TooManyRequestsException, server_error, RuntimeError])
def test_throttling_and_server_errors_are_retried_with_backoff(subscribed, failure):
    clock = Clock()
    destination = Destination(clock, failure(), failure(), failure())
    delivery = SubscriptionDelivery(destination, clock, batch_window=1.0, tick=None)
    delivery.accept(subscribed, "s", events("a", "b"))
    for _ in range(20):
        clock.now += 0.5
        delivery.run_due()
    start = destination.attempts[0]
    assert [t - start for t in destination.attempts] == [0.0, 1.0, 3.0, 7.0]
    assert destination.delivered == [["a", "b"]] and delivery.pending() == 0


def test_retries_stop_after_24_hours(subscribed):
    clock = Clock()
    destination = Destination(clock, *[TooManyRequestsException() for _ in range(10_000)])
    delivery = SubscriptionDelivery(destination, clock, tick=None)
    delivery.accept(subscribed, "s", events("a"))
    while delivery.pending():
        clock.now += 30.0
        delivery.run_due()
    assert destination.delivered == []
    assert destination.attempts[-1] - destination.attempts[0] >= RETRY_FOR_SECONDS
    assert destination.attempts[-2] - destination.attempts[0] < RETRY_FOR_SECONDS


def test_access_denied_disables_the_filter_for_ten_minutes_and_skips_its_logs(
    subscribed,
):
    clock = Clock()
    name = subscribed.destination_arn.split(":function:")[1].split(":")[0]
    backend = lambda_backends[subscribed.account_id][subscribed.region]
    statements = backend.get_function(name).policy.statements
    sent: list[str] = []

    def invoke(subscription: Subscription, body: str) -> None:
        invoke_as_logs(subscription, body)  # the real policy check, then the real invoke
        sent.append(log_subscriptions_message(body)["logEvents"][0]["message"])

    delivery = SubscriptionDelivery(invoke, clock, tick=None)
    saved = list(statements)
    statements.clear()  # the permission removed after the filter was put
    try:
        delivery.accept(subscribed, "s", events("denied"))
        clock.now += BATCH_WINDOW_SECONDS
        delivery.run_due()  # AccessDeniedException: disabled from now on
    finally:
        statements.extend(saved)
    disabled_at = clock.now
    delivery.accept(subscribed, "s", events("skipped while disabled"))
    clock.now = disabled_at + DISABLED_SECONDS - 1
    delivery.accept(subscribed, "s", events("skipped at the end"))
    delivery.run_due()
    clock.now = disabled_at + DISABLED_SECONDS
    delivery.accept(subscribed, "s", events("after"))
    clock.now += BATCH_WINDOW_SECONDS
    delivery.run_due()
    assert sent == ["after"]


def test_a_missing_destination_is_not_retried(subscribed):
    clock = Clock()
    missing = JsonRESTError("ResourceNotFoundException", "Function not found")
    destination = Destination(clock, missing)
    delivery = SubscriptionDelivery(destination, clock, tick=None)
    delivery.accept(subscribed, "s", events("a"))
    for _ in range(10):
        clock.now += 5.0
        delivery.run_due()
    assert len(destination.attempts) == 1 and delivery.pending() == 0


def test_a_big_batch_is_split_to_fit_an_asynchronous_invocation(subscribed):
    many = [  # random text: gzip can't shrink it below the quota
        {"id": f"{i:056d}", "timestamp": 1, "message": secrets.token_hex(1000)} for i in range(400)
    ]
    parts = chunks(subscribed, "s", many)
    assert len(parts) > 1 and [e for part in parts for e in part] == many
    assert all(len(payload(subscribed, "s", part)) <= MAX_PAYLOAD_BYTES for part in parts)


def test_the_documented_delays() -> None:
    assert BATCH_WINDOW_SECONDS == 1.0
    assert DISABLED_SECONDS == 600.0
    assert RETRY_FOR_SECONDS == 24 * 3600.0
    assert MAX_PAYLOAD_BYTES == 256 * 1024
    doc = log_subscriptions.__doc__ or ""
    for quote in ("real-time feed", "usually less than three minutes", "up to 24 hours"):
        assert quote in " ".join(doc.split()), quote


# -- moto alone, and the internals the seam relies on -------------------------------------


def test_moto_alone_delivers_inside_put_log_events_ignoring_pattern_and_qualifier(
    lam: Any, role: str, logs: Any, cloud: LocalCloud, tmp_path: Path, monkeypatch: Any
) -> None:
    group, destination = group_with_destination(lam, role, logs, tmp_path)
    logs.put_subscription_filter(
        logGroupName=group, filterName="errors", filterPattern="ERROR", destinationArn=destination
    )
    calls: list[tuple[str, list[str]]] = []

    def send_log_event(self: LambdaBackend, arn: str, name: str, group: str, stream: str, ev):
        calls.append((threading.current_thread().name, [e["message"] for e in ev]))
        # what moto would run: the ARN looked up without its qualifier
        calls.append(("runs version", [self._lambdas.get_arn(arn).version]))

    monkeypatch.setattr(LambdaBackend, "send_log_event", send_log_event)
    seam = cloud.seam(LogSubscriptions)
    seam.uninstall()
    try:
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": now, "message": "INFO fine"}],
        )
        for name in ("second", "second"):  # a second filter, then an update of it
            try:
                logs.put_subscription_filter(
                    logGroupName=group,
                    filterName=name,
                    filterPattern="",
                    destinationArn=destination,
                )
            except ClientError as error:
                calls.append(("update refused", [error.response["Error"]["Code"]]))
    finally:
        seam.install(cloud)
    (thread, delivered), runs = calls[0], calls[1]
    assert thread != "log-subscriptions"  # the request's own thread, inside PutLogEvents
    assert delivered == ["INFO fine"]  # the pattern was "ERROR"
    assert destination.endswith(":live") and runs == ("runs version", ["$LATEST"])
    assert calls[2:] == [("update refused", ["LimitExceededException"])]


def test_moto_internals_the_seam_relies_on() -> None:
    assert list(inspect.signature(MOTO_SEND).parameters) == [
        "self",
        "service",
        "destination_arn",
        "filter_name",
        "log_events",
    ]
    assert list(inspect.signature(MOTO_PUT_FILTER).parameters) == [
        "self",
        "filter_name",
        "filter_pattern",
        "destination_arn",
        "role_arn",
    ]
    put_events = inspect.getsource(LogStream.put_log_events)
    assert "self._send_log_events(" in put_events
    assert '"id": event.event_id' in put_events
    put_filter = inspect.getsource(MOTO_PUT_FILTER)
    assert put_filter.index("== 2") < put_filter.index("Update existing filter")
    assert list(inspect.signature(SubscriptionFilter.update).parameters) == [
        "self",
        "filter_pattern",
        "destination_arn",
        "role_arn",
    ]
    filter_init = inspect.getsource(SubscriptionFilter.__init__)
    for attribute in ("name", "filter_pattern", "destination_arn"):
        assert f"self.{attribute} =" in filter_init, attribute
    for attribute in ("account_id", "region", "name", "subscription_filters"):
        assert f"self.{attribute}" in inspect.getsource(LogGroup.__init__), attribute
    assert "self.log_group = log_group" in inspect.getsource(LogStream.__init__)
    assert "self.log_stream_name = name" in inspect.getsource(LogStream.__init__)
    # one statement list per function, the qualifier appended to Resource (lambda_permissions)
    add_statement = inspect.getsource(Policy.add_statement)
    assert '["Resource"] + ":" + qualifier' in add_statement
    assert "fn.policy.add_statement(raw, qualifier)" in inspect.getsource(
        LambdaBackend.add_permission
    )
