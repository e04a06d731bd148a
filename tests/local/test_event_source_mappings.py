"""The event source mapping seam (rollout/local/event_source_mappings.py, sqs_poller.py):
mappings keep their qualifier, are listed by function name, and SQS is polled and batched
as Lambda's pollers do, with retries after the visibility timeout and partial batch
responses. The moto gaps it closes are checked on moto alone."""

from __future__ import annotations

import inspect
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.sqs.models import Queue, SQSBackend

from rollout.local.cloud import LocalCloud
from rollout.local.event_source_mappings import EventSourceMappings, matches
from rollout.local.lambda_runtime import LambdaRuntime
from rollout.local.lambda_versions import LambdaVersions
from rollout.local.sqs_poller import failed_ids
from rollout.samples import code_zip, lambda_role
from tests.conftest import IsolatedCloud as Cloud

pytestmark = pytest.mark.cloud

# Each version prints what it received; FAIL makes it raise, PARTIAL report every odd body.
SOURCE = """import json, os
def handler(event, context):
    bodies = [r["body"] for r in event["Records"]]
    print(json.dumps({"version": context.function_version, "bodies": bodies}))
    if os.environ.get("FAIL") == "1":
        raise RuntimeError("this version fails its batch")
    if os.environ.get("PARTIAL") == "1":
        failed = [r["messageId"] for r in event["Records"] if int(r["body"]) % 2]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
    return {}
"""


def deadline_wait(condition: Callable[[], bool], seconds: float = 60) -> None:
    """Until `condition()`; asked twice a second, as `batches` reads the logs on
    FilterLogEvents' quota (5 a second per account and Region, shared with the cloud's
    other callers)."""
    ends = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends, "condition not met in time"
        time.sleep(0.5)


def make_function(cloud: LocalCloud, name: str, env: dict[str, str] | None = None) -> Any:
    lam = cloud.client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(cloud.client("iam"), "esm-seam"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": SOURCE})},
        Timeout=3,
        Environment={"Variables": env or {}},
        Publish=True,
    )
    return lam


def make_queue(cloud: LocalCloud, name: str, **attributes: str) -> tuple[str, str]:
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def batches(cloud: LocalCloud, function: str) -> list[dict[str, Any]]:
    """What each invocation printed: {"version", "bodies"}, from the function's logs."""
    logs = cloud.client("logs")
    pages = logs.get_paginator("filter_log_events")
    try:
        events = [
            event
            for page in pages.paginate(logGroupName=f"/aws/lambda/{function}")
            for event in page["events"]
        ]
    except logs.exceptions.ResourceNotFoundException:  # no group before the first invocation
        return []
    return [json.loads(e["message"]) for e in events if e["message"].startswith('{"version"')]


# -- contract: the moto internals the seam relies on, and the gaps it closes ---------------


@pytest.mark.usefixtures("no_cloud")  # moto as it is: no seam installed
def test_contract_with_moto_internals() -> None:
    for method, parameters in (
        ("create_event_source_mapping", ["self", "spec"]),
        ("update_event_source_mapping", ["self", "uuid", "spec"]),
        ("delete_event_source_mapping", ["self", "uuid"]),
        ("list_event_source_mappings", ["self", "event_source_arn", "function_name"]),
    ):
        signature = inspect.signature(getattr(LambdaBackend, method))
        assert list(signature.parameters) == parameters, method
    assert list(inspect.signature(LambdaResponse.list_event_source_mappings).parameters) == ["self"]
    assert list(inspect.signature(SQSBackend.receive_message).parameters)[:5] == [
        "self",
        "queue_name",
        "count",
        "wait_seconds_timeout",
        "visibility_timeout",
    ]
    # SendMessage invokes every mapping registered on the queue: the seam takes its own off
    assert "lambda_event_source_mappings" in inspect.getsource(Queue.add_message)
    source = inspect.getsource(EventSourceMapping.__init__)
    for attribute in ("function_arn", "event_source_arn", "enabled", "batch_size"):
        assert f"self.{attribute}" in source, attribute


def test_moto_alone_resolves_the_alias_and_invokes_inside_send_message(
    isolated_cloud: Cloud,
) -> None:
    with isolated_cloud(seams=[LambdaRuntime]) as bare:
        lam = make_function(bare, "bare")
        lam.create_alias(FunctionName="bare", Name="live", FunctionVersion="1")
        url, queue = make_queue(bare, "bare")
        alias = lam.get_alias(FunctionName="bare", Name="live")["AliasArn"]
        created = lam.create_event_source_mapping(EventSourceArn=queue, FunctionName=alias)
        assert created["FunctionArn"].endswith(":bare:1")  # not :live
        assert lam.list_event_source_mappings(FunctionName="bare")["EventSourceMappings"] == []
        bare.client("sqs").send_message(QueueUrl=url, MessageBody="1")
        assert batches(bare, "bare")  # invoked before SendMessage returned


# -- the seam --------------------------------------------------------------------------------


@pytest.fixture
def cloud(isolated_cloud: Cloud) -> Iterator[LocalCloud]:
    """A cloud with the seam, for one test (a moto-alone test of this module starts its
    own, and no cloud may run beside it)."""
    with isolated_cloud(seams=[LambdaRuntime, LambdaVersions, EventSourceMappings]) as started:
        yield started


def test_listing_by_function_name_matches_every_qualifier_by_a_qualified_name_one() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert matches(f"{arn}:live", "fn") and matches(f"{arn}:live", arn)
    assert matches(f"{arn}:live", "fn:live") and matches(f"{arn}:live", f"{arn}:live")
    assert not matches(f"{arn}:live", "fn:1") and not matches(f"{arn}:live", "other")
    assert matches(arn, "123456789012:function:fn")


def test_a_mapping_on_an_alias_keeps_it_and_is_listed_by_function_name(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "keeps")
    lam.create_alias(FunctionName="keeps", Name="live", FunctionVersion="1")
    _, queue = make_queue(cloud, "keeps")
    alias = lam.get_alias(FunctionName="keeps", Name="live")["AliasArn"]
    created = lam.create_event_source_mapping(EventSourceArn=queue, FunctionName=alias)
    assert created["FunctionArn"] == alias
    for name in ("keeps", "keeps:live", alias, alias.rsplit(":", 1)[0]):
        (listed,) = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
        assert listed["UUID"] == created["UUID"] and listed["FunctionArn"] == alias
    assert lam.list_event_source_mappings(FunctionName="keeps:1")["EventSourceMappings"] == []
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.create_event_source_mapping(EventSourceArn=queue, FunctionName="keeps:nope")
    lam.delete_event_source_mapping(UUID=created["UUID"])


def test_listing_pages_by_100(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "paged")
    uuids = set()
    for number in range(101):
        _, queue = make_queue(cloud, f"paged-{number}")
        uuids.add(
            lam.create_event_source_mapping(
                EventSourceArn=queue, FunctionName="paged", Enabled=False
            )["UUID"]
        )
    first = lam.list_event_source_mappings(FunctionName="paged")
    assert len(first["EventSourceMappings"]) == 100 and first["NextMarker"]
    rest = lam.list_event_source_mappings(FunctionName="paged", Marker=first["NextMarker"])
    assert "NextMarker" not in rest
    listed = {m["UUID"] for m in first["EventSourceMappings"] + rest["EventSourceMappings"]}
    assert listed == uuids
    for uuid in uuids:
        lam.delete_event_source_mapping(UUID=uuid)


def test_a_function_may_not_outlast_the_queues_visibility_timeout(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "slow")
    lam.update_function_configuration(FunctionName="slow", Timeout=30)
    _, queue = make_queue(cloud, "slow", VisibilityTimeout="20")
    with pytest.raises(ClientError, match="InvalidParameterValueException") as refused:
        lam.create_event_source_mapping(EventSourceArn=queue, FunctionName="slow")
    assert "visibility timeout: 20 seconds is less than Function timeout: 30" in str(refused.value)


def test_messages_are_polled_in_batches_through_the_alias_weights(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "split")
    lam.update_function_configuration(FunctionName="split", Description="version 2")
    lam.publish_version(FunctionName="split")
    lam.create_alias(
        FunctionName="split",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    url, queue = make_queue(cloud, "split")
    lam.create_event_source_mapping(
        EventSourceArn=queue,
        FunctionName="split:live",
        BatchSize=5,
        MaximumBatchingWindowInSeconds=1,
    )
    sqs = cloud.client("sqs")
    for number in range(60):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))
    deadline_wait(lambda: sum(len(b["bodies"]) for b in batches(cloud, "split")) == 60)
    seen = batches(cloud, "split")
    assert sorted(int(body) for b in seen for body in b["bodies"]) == list(range(60))
    assert max(len(b["bodies"]) for b in seen) == 5 and len(seen) < 60  # batched
    assert {b["version"] for b in seen} == {"1", "2"}  # both versions of the alias


def test_a_failed_batch_returns_after_the_visibility_timeout_then_to_the_dead_letter_queue(
    cloud: LocalCloud,
) -> None:
    make_function(cloud, "failing", {"FAIL": "1"})
    sqs = cloud.client("sqs")
    dead_url, dead = make_queue(cloud, "failing-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dead, "maxReceiveCount": "2"})
    url, queue = make_queue(cloud, "failing", VisibilityTimeout="3", RedrivePolicy=redrive)
    cloud.client("lambda").create_event_source_mapping(EventSourceArn=queue, FunctionName="failing")
    sent = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="7")

    def in_dead_letters() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["All"])
        return attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"

    deadline_wait(in_dead_letters, 40)
    tries = [b for b in batches(cloud, "failing") if b["bodies"] == ["7"]]
    assert len(tries) == 2  # maxReceiveCount
    assert time.monotonic() - sent >= 3  # the retry waited for the visibility timeout


def test_a_partial_batch_response_returns_only_the_failed_messages(cloud: LocalCloud) -> None:
    make_function(cloud, "partial", {"PARTIAL": "1"})
    url, queue = make_queue(cloud, "partial", VisibilityTimeout="3")
    cloud.client("lambda").create_event_source_mapping(
        EventSourceArn=queue,
        FunctionName="partial",
        BatchSize=4,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    sqs = cloud.client("sqs")
    for number in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=str(number))

    def delivered() -> Counter[str]:
        return Counter(body for b in batches(cloud, "partial") for body in b["bodies"])

    # the odd ones failed and come back (together or not: five pollers may split a batch)
    deadline_wait(lambda: delivered()["1"] >= 2 and delivered()["3"] >= 2, 30)
    found = delivered()
    assert (found["0"], found["2"]) == (1, 1)  # delivered once: they succeeded


def test_partial_batch_response_rules() -> None:
    class Message:
        def __init__(self, identifier: str) -> None:
            self.id = identifier

    batch = [Message("a"), Message("b")]
    report = True
    assert failed_ids(True, b"", batch, report) == {"a", "b"}  # a function error: all
    assert failed_ids(False, b'{"batchItemFailures": []}', batch, report) == set()
    assert failed_ids(False, b"null", batch, report) == set()
    one = b'{"batchItemFailures": [{"itemIdentifier": "b"}]}'
    assert failed_ids(False, one, batch, report) == {"b"}
    assert failed_ids(False, one, batch, False) == set()  # not turned on: ignored
    for whole in (b"not json", b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
                  b'{"batchItemFailures": [{"itemIdentifier": "z"}]}'):  # fmt: skip
        assert failed_ids(False, whole, batch, report) == {"a", "b"}


def test_send_message_returns_before_the_poller_invokes(cloud: LocalCloud) -> None:
    make_function(cloud, "async")
    url, queue = make_queue(cloud, "async")
    lam = cloud.client("lambda")
    created = lam.create_event_source_mapping(EventSourceArn=queue, FunctionName="async")
    lam.update_event_source_mapping(UUID=created["UUID"], Enabled=False)
    cloud.client("sqs").send_message(QueueUrl=url, MessageBody="1")
    time.sleep(2)
    assert batches(cloud, "async") == []  # disabled: nothing polls
    lam.update_event_source_mapping(UUID=created["UUID"], Enabled=True)
    deadline_wait(lambda: bool(batches(cloud, "async")))
