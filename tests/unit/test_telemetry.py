"""rollout_core.telemetry on moto: subscriptions placed by Start telemetry and removed by
every ending, the fallback to polling within one shared budget, pushed counts and samples,
pushed alarm states, the wake of a waiting rollout on evidence, what a check reads on the
push path, and reads that end in time (notes naming the API, the no-signal hold)."""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from rollout_core import blind, checking, clients, clock, progress, waiting
from rollout_core.deadline import Deadline, OutOfTime
from rollout_core.errors import HealthCheckFailed
from rollout_core.models import NoSignal, Plan, Progress, RolloutPlan, WaitEnd
from rollout_core.results import TelemetryStart
from rollout_core.telemetry import budget, counts, lifecycle, receive, subscriptions, watches
from rollout_core.telemetry.reports import FILTER_PATTERNS, Sample, environment_of

from .conftest import ACCOUNT, REGION

GROUP = "/aws/lambda/orders"
TELEMETRY_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rollout-telemetry"
FILTER = "lambda-rollout-telemetry"
TOKEN = "token-of-the-wait"
Calls = list[tuple[str, str, dict[str, Any]]]


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def telemetry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_FUNCTION_ARN", TELEMETRY_ARN)


@pytest.fixture
def logs(world: Any) -> Any:
    """The function's log group, and the telemetry function its filter delivers to."""
    found = clients.logs()
    found.create_log_group(logGroupName=GROUP)
    world.lam.create_function(
        FunctionName="rollout-telemetry",
        Runtime="python3.12",
        Role=world.role,
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    return found


@pytest.fixture
def case(load_event: Callable[[str], Any]) -> Callable[..., tuple[RolloutPlan, Progress]]:
    """(plan, progress) of the check_health sample, its step started a minute ago."""

    def make(**progress: Any) -> tuple[RolloutPlan, Progress]:
        event = load_event("functions/check_health.json")
        event["progress"] |= {"stepStartedAt": clock.iso(now() - timedelta(minutes=1))}
        event["progress"] |= progress
        return Plan.model_validate(event["plan"]).rollout_ready(), Progress(**event["progress"])

    return make


def ours(logs: Any) -> list[dict[str, Any]]:
    found = logs.describe_subscription_filters(logGroupName=GROUP)["subscriptionFilters"]
    return [f for f in found if f["filterName"] == FILTER]


def payload(version: str, *messages: str, at: datetime | None = None) -> dict[str, Any]:
    """A subscription delivery as CloudWatch Logs sends it: the events/ sample's shape."""
    stamp = int((at or now()).timestamp() * 1000)
    message = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": GROUP,
        "logStream": f"{now():%Y/%m/%d}/[{version}]0123456789abcdef",
        "subscriptionFilters": [FILTER],
        "logEvents": [
            {"id": str(i), "timestamp": stamp, "message": text} for i, text in enumerate(messages)
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(message).encode())).decode()
    return {"awslogs": {"data": data}}


def delivered_stream(delivery: dict[str, Any]) -> str:
    data = json.loads(gzip.decompress(base64.b64decode(delivery["awslogs"]["data"])))
    return str(data["logStream"])


def report(request: int, status: str = "", init: str = "") -> str:
    line = (
        f"REPORT RequestId: {request:08d}-0000-0000-0000-000000000000\tDuration: 46.84 ms"
        "\tBilled Duration: 47 ms\tMemory Size: 128 MB\tMax Memory Used: 72 MB"
    )
    return (
        line
        + (f"\tInit Duration: {init} ms" if init else "")
        + (f"\tStatus: {status}" if status else "")
    )


def throttle(monkeypatch: pytest.MonkeyPatch, *operations: str) -> None:
    """AWS's throttling answer to each of `operations`, as botocore raises it."""
    original = BaseClient._make_api_call

    def throttled(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation in operations:
            code = (
                "Throttling"
                if client.meta.service_model.service_name == "cloudwatch"
                else ("ThrottlingException")
            )
            raise ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, operation)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", throttled)


def by_operation(calls: Calls) -> Counter[str]:
    return Counter(operation for _, operation, _ in calls)


# -- Start telemetry and every ending ----------------------------------------------------


def test_start_subscribes_the_log_group_and_the_ending_removes_the_filter(world, logs, case):
    plan, _ = case()
    started = lifecycle.start(plan)
    assert (started.pushed, started.polled, started.notes) == ([GROUP], [], [])
    assert started.alarmsWatched == ["orders-errors"]
    (placed,) = ours(logs)
    assert placed["destinationArn"] == TELEMETRY_ARN
    assert placed["filterPattern"] == FILTER_PATTERNS[frozenset({"Text"})]
    assert lifecycle.stop(plan) == []
    assert ours(logs) == []
    assert watches.watching("orders") == []


def test_a_group_that_does_not_exist_yet_is_created_and_pushed(world, logs, case):
    """A function whose first logs are still on their way (or that never ran): its group is
    created as Lambda would create it, and subscribed; polled, its failures never wake."""
    logs.delete_log_group(logGroupName=GROUP)
    plan, _ = case()
    started = lifecycle.start(plan)
    assert (started.pushed, started.polled, started.notes) == ([GROUP], [], [])
    (placed,) = ours(logs)
    assert placed["destinationArn"] == TELEMETRY_ARN
    assert lifecycle.stop(plan) == []


def test_a_group_with_two_filters_already_is_polled_and_says_why(world, logs, case):
    for name in ("theirs-1", "theirs-2"):
        logs.put_subscription_filter(
            logGroupName=GROUP, filterName=name, filterPattern="", destinationArn=TELEMETRY_ARN
        )
    plan, _ = case()
    started = lifecycle.start(plan)
    assert (started.pushed, started.polled) == ([], [GROUP])
    (note,) = started.notes
    assert "already has 2 subscription filters" in note and "shared budget" in note
    assert lifecycle.stop(plan) == []
    assert len(logs.describe_subscription_filters(logGroupName=GROUP)["subscriptionFilters"]) == 2


def test_a_shared_group_keeps_its_filter_until_the_last_rollout_ends(world, logs):
    groups = {GROUP: {"Text"}}
    assert subscriptions.place(groups, "first", 600, Deadline(20)).pushed == [GROUP]
    both = groups | {GROUP: {"JSON"}}
    assert subscriptions.place(both, "second", 600, Deadline(20)).pushed == [GROUP]
    (placed,) = ours(logs)
    assert placed["filterPattern"] == FILTER_PATTERNS[frozenset({"Text", "JSON"})]
    assert subscriptions.remove([GROUP], "first") == []
    assert len(ours(logs)) == 1
    assert subscriptions.remove([GROUP], "second") == []
    assert ours(logs) == []


def test_a_failed_start_leaves_the_checks_polling(world, case):
    caught = TelemetryStart.model_validate({"Error": "Lambda.Unknown", "Cause": "boom"})
    assert caught.pushed == [] and "telemetry not started (Lambda.Unknown" in caught.notes[0]


# -- what the telemetry records ------------------------------------------------------------


def test_a_delivery_becomes_counts_and_samples_per_version(world, logs, load_event):
    sample = load_event("cloudwatch-logs/subscription-data-message.json")
    assert sample["messageType"] == "DATA_MESSAGE"  # the payload() shape
    delivered = payload(
        "4",
        "START RequestId: 00000001",
        report(1, init="113.51"),
        "[ERROR] RuntimeError: boom",
        report(2),
        report(3, status="timeout"),
    )
    result = receive.handle(delivered, Deadline(10))
    assert (result["invocations"], result["failures"]) == (3, 2)
    found = counts.totals("orders", "4", now() - timedelta(minutes=1), Deadline(10))
    assert (found.invocations, found.failures) == (3, 2)
    items = world.ddb.query(
        TableName="rollout-telemetry",
        KeyConditionExpression="pk = :pk AND begins_with(sk, :s)",
        ExpressionAttributeValues={":pk": {"S": "v#orders#4"}, ":s": {"S": "s#"}},
    )["Items"]
    samples = [Sample.decode(s["S"]) for item in items for s in item["samples"]["L"]]
    # one environment (the delivery's log stream), each report when it was logged
    (environment,) = {s.environment for s in samples}
    assert environment == environment_of(delivered_stream(delivered))
    assert all(s.at_ms is not None for s in samples)
    plain = [replace(s, environment="", at_ms=None) for s in samples]
    assert plain == [
        Sample(False, 46.84, 47, 72, 113.51, 128),
        Sample(True, 46.84, 47, 72, None, 128),
        Sample(True, 46.84, 47, 72, None, 128),
    ]
    # the shape the canary judge reads (health/samples.py); the memory size is the limit
    # its memory check compares the memory used with
    assert plain[0].encode() == "s|46.84|47|72|113.51|128"
    assert Sample.decode("s|46.84|47|72|113.51") == Sample(False, 46.84, 47, 72, 113.51)
    assert Sample.decode(samples[0].encode()) == samples[0]


def test_the_stable_versions_counts_can_start_at_the_first_whole_bucket_after_the_shift(
    world, logs
):
    bucket = int(now().timestamp()) // counts.BUCKET_SECONDS * counts.BUCKET_SECONDS - 60
    before = datetime.fromtimestamp(bucket + 1, UTC)  # the shift's bucket, before the shift
    after = datetime.fromtimestamp(bucket + counts.BUCKET_SECONDS + 1, UTC)
    for at, request in ((before, 1), (after, 2)):
        receive.handle(payload("3", report(request), at=at), Deadline(10))
    shift = datetime.fromtimestamp(bucket + 5, UTC)
    assert counts.totals("orders", "3", shift, Deadline(10)).invocations == 2
    assert counts.totals("orders", "3", shift, Deadline(10), after=True).invocations == 1


def test_an_alarm_event_stores_its_state_and_an_older_one_never_puts_it_back(world, load_event):
    event = load_event("cloudwatch/alarm-state-change.json")
    assert receive.handle(event, Deadline(10))["stored"] is True
    older = json.loads(json.dumps(event))
    older["detail"]["state"] |= {"value": "OK", "timestamp": "2020-01-01T00:00:00.000+0000"}
    assert receive.handle(older, Deadline(10))["stored"] is False


# -- evidence wakes the waiting rollout ---------------------------------------------------


def armed(plan: RolloutPlan, progress: Progress, api_calls: Calls) -> str:
    lifecycle.start(plan)
    api_calls.clear()
    return waiting.arm(plan, progress, TOKEN, now())


def sent(api_calls: Calls) -> list[dict[str, Any]]:
    return [
        json.loads(params["output"])
        for _, operation, params in api_calls
        if operation == "SendTaskSuccess" and params["taskToken"] == TOKEN
    ]


def test_failures_that_settle_the_verdict_wake_the_wait(world, logs, case, api_calls):
    plan, progress = case()
    assert armed(plan, progress, api_calls) == "armed"
    receive.handle(payload("4", report(1)), Deadline(10))
    assert sent(api_calls) == []  # one success: nothing to judge
    failures = [report(n, status="error") for n in range(2, 8)]
    result = receive.handle(payload("4", *failures), Deadline(10))
    assert result["woken"] == [plan.executionId]
    (output,) = sent(api_calls)
    assert output["how"] == "evidence" and output["reason"].startswith("orders: logs")
    receive.handle(payload("4", *failures), Deadline(10))
    assert len(sent(api_calls)) == 1  # the token is sent once


def test_the_stable_versions_failures_never_wake_it(world, logs, case, api_calls):
    plan, progress = case()
    armed(plan, progress, api_calls)
    receive.handle(payload("3", *[report(n, status="error") for n in range(9)]), Deadline(10))
    assert sent(api_calls) == []


def test_a_watched_alarm_in_alarm_wakes_the_wait(world, logs, case, api_calls):
    plan, progress = case()
    armed(plan, progress, api_calls)
    world.set_alarm("ALARM")
    (output,) = sent(api_calls)
    assert output["reason"] == "alarm orders-errors is in ALARM"


def test_evidence_while_no_wait_is_armed_wakes_the_next_wait_at_once(world, logs, case, api_calls):
    plan, progress = case()
    lifecycle.start(plan)
    world.set_alarm("ALARM")  # while the check runs: no token stored
    api_calls.clear()
    assert waiting.arm(plan, progress, TOKEN, now()) == "woken"
    (output,) = sent(api_calls)
    assert output["waitedSeconds"] == 0


@pytest.mark.parametrize(
    "left", [{"stepWaitSeconds": 0}, {"stepWaitSeconds": 30, "waitedSeconds": 30}]
)
def test_a_wait_with_nothing_to_wait_ends_itself_at_once(world, logs, case, api_calls, left):
    """A step of 0 s: the wait's timeout can't be below 1 s, so the wait sends its own
    token, as the clock would have ended it, after 0 s."""
    plan, cursor = case()
    cursor = cursor.model_copy(update=left | {"nextWaitSeconds": 1})
    assert progress.to_wait(cursor) == 0
    assert armed(plan, cursor, api_calls) == "none"
    assert sent(api_calls) == [{"how": "clock", "waitedSeconds": 0}]
    after = progress.after_wait(cursor, plan.checkIntervalSeconds, WaitEnd(how="clock"))
    assert after.stepComplete is True and after.waitedSeconds == cursor.stepWaitSeconds


def test_a_rollout_without_telemetry_waits_for_the_clock(world, case, api_calls):
    plan, progress = case()  # Start telemetry never ran: no watch item to store a token on
    assert waiting.arm(plan, progress, TOKEN, now()) == "armed"
    assert watches.armed(plan.executionId) is None
    world.set_alarm("ALARM")
    assert sent(api_calls) == []


# -- what a check reads ------------------------------------------------------------------


def test_a_pushed_check_reads_the_table_and_one_get_metric_data(world, logs, case, api_calls):
    plan, progress = case(weight=0.1)
    started = lifecycle.start(plan)
    receive.handle(payload("4", *[report(n) for n in range(12)]), Deadline(10))
    api_calls.clear()
    checked = checking.check(plan, progress, now(), Deadline(20), started)
    assert checked.lastCheck is not None and checked.lastCheck.unread == []
    made = by_operation(api_calls)
    assert made["GetMetricData"] == 1
    assert made["BatchGetItem"] == 1  # every alarm's pushed state
    # the logs signal: the new and the stable version's counts; the canary judge: each
    # version's counts and samples (health/samples.py)
    assert made["Query"] == 2 + 4
    print("\nAPI calls of one check of one function:", dict(sorted(made.items())))
    assert not {"FilterLogEvents", "DescribeAlarms", "GetLogEvents"} & set(made)
    logs_numbers = checked.lastCheck.logs
    assert logs_numbers is not None and logs_numbers.source == "push"
    assert logs_numbers.newVersion is not None and logs_numbers.newVersion.invocations == 12


def test_a_pushed_failure_fails_the_check(world, logs, case):
    plan, progress = case(weight=0.1)
    started = lifecycle.start(plan)
    receive.handle(payload("4", *[report(n, status="error") for n in range(6)]), Deadline(10))
    with pytest.raises(HealthCheckFailed, match="logs"):
        checking.check(plan, progress, now(), Deadline(20), started)


def test_a_polled_group_spends_the_shared_budget(world, logs, case, api_calls):
    plan, progress = case()
    polled = TelemetryStart(polled=[GROUP], alarmsWatched=plan.alarms)
    lifecycle.start(plan)
    api_calls.clear()
    checking.check(plan, progress, now(), Deadline(20), polled)
    made = by_operation(api_calls)
    assert made["FilterLogEvents"] == 4  # 2 versions x 2 day prefixes, one token each
    bucket = world.ddb.get_item(
        TableName="rollout-telemetry",
        Key={"pk": {"S": "budget#FilterLogEvents"}, "sk": {"S": "bucket"}},
    )["Item"]
    assert float(bucket["tokens"]["N"]) < budget.rate("FilterLogEvents", REGION) * 2


def test_a_spent_budget_is_a_note_never_a_call(world, logs, case, api_calls, monkeypatch):
    plan, progress = case()
    lifecycle.start(plan)
    monkeypatch.setattr(budget, "take", lambda *args, **kwargs: False)
    api_calls.clear()
    polled = TelemetryStart(polled=[GROUP], alarmsWatched=plan.alarms)
    last = checking.check(plan, progress, now(), Deadline(20), polled).lastCheck
    assert last is not None
    assert "FilterLogEvents" not in by_operation(api_calls)
    assert any(
        "logs: FilterLogEvents not called (the account's shared FilterLogEvents budget" in line
        for line in last.unread
    )


def test_the_shared_budget_refuses_what_it_cant_give_before_the_deadline(world, logs):
    capacity = int(budget.rate("FilterLogEvents", REGION) * budget.BURST_SECONDS)
    assert budget.take("FilterLogEvents", capacity, Deadline(5))
    waited: list[float] = []
    assert budget.take("FilterLogEvents", 1, Deadline(0.01), sleep=waited.append) is False
    assert waited == []  # no waiting past the deadline


# -- reads that end in time ---------------------------------------------------------------


def test_a_throttled_metric_read_is_a_note_naming_the_api(world, logs, case, monkeypatch):
    plan, progress = case(weight=0.1)
    started = lifecycle.start(plan)
    throttle(monkeypatch, "GetMetricData")
    last = checking.check(plan, progress, now(), Deadline(20), started).lastCheck
    assert last is not None
    assert "metrics: GetMetricData throttled (Throttling)" in last.unread
    assert any("GetMetricData throttled" in note and "not judged" in note for note in last.notes)
    assert not last.blindChecks  # the alarms and the logs were read


def test_checks_that_read_nothing_hold_the_rollout_and_never_roll_back(
    world, logs, case, monkeypatch
):
    plan, progress = case(weight=0.1)
    started = lifecycle.start(plan)
    throttle(monkeypatch, "GetMetricData", "BatchGetItem", "Query")
    cursor = progress
    for check in range(1, blind.BLIND_CHECKS + 1):
        cursor = checking.check(plan, cursor, now(), Deadline(20), started)
        assert cursor.lastCheck is not None and cursor.lastCheck.blindChecks == check
        assert (cursor.hold is None) == (check < blind.BLIND_CHECKS)
    assert isinstance(cursor.hold, NoSignal) and cursor.hold.kind == "no-signal"
    assert {line.split(":")[1].split(" throttled")[0].strip() for line in cursor.hold.unread} == {
        "GetMetricData",
        "DynamoDB BatchGetItem",
        "DynamoDB Query",
    }


def test_a_bounded_client_refuses_a_read_that_cant_end_in_time(world):
    with pytest.raises(OutOfTime):
        clients.within("cloudwatch", 0.05)
    bounds = clients.bounds_for(10)
    assert bounds is not None and bounds.worst_seconds <= 10  # retries and backoff included
    config = clients.within("cloudwatch", 10).meta.config
    assert (config.retries["total_max_attempts"], config.read_timeout) == (
        bounds.attempts,
        bounds.read_seconds,
    )


def test_a_ten_function_release_check_costs_one_get_metric_data(world, api_calls, execution):
    """The push path's reads of one check of a 10-function release, by API: one
    GetMetricData for every function, one BatchGetItem for every alarm, a Query per version,
    and no FilterLogEvents or DescribeAlarms at all."""
    from rollout_core.plan import prepare

    names = [f"fn-{n}" for n in range(10)]
    logs = clients.logs()
    for name in names:
        world.lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=world.role,
            Handler="app.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )
        for _ in (1, 2):
            world.lam.update_function_configuration(FunctionName=name, Description=f"release {_}")
            world.lam.publish_version(FunctionName=name)
        world.lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
        logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
    world.lam.create_function(
        FunctionName="rollout-telemetry",
        Runtime="python3.12",
        Role=world.role,
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    document = {
        "functions": [
            {"functionName": name, "alias": "live", "targetVersion": "2"} for name in names
        ],
        "alarms": [world.alarm],
    }
    plan = Plan.model_validate(prepare(document, execution)["plan"]).rollout_ready()
    started = lifecycle.start(plan)
    assert sorted(started.pushed) == sorted(f"/aws/lambda/{name}" for name in names)
    cursor = Progress(
        phase="step",
        stepIndex=0,
        stepCount=len(plan.steps),
        percentage=plan.steps[0].percentage,
        weight=plan.steps[0].weight,
        stepStartedAt=clock.iso(now() - timedelta(minutes=1)),
        stepWaitSeconds=600,
        nextWaitSeconds=10,
        hasNextStep=True,
    )
    api_calls.clear()
    checking.check(plan, cursor, now(), Deadline(20), started)
    made = by_operation(api_calls)
    assert made["GetMetricData"] == 1
    assert made["BatchGetItem"] == 1
    # each function's new and stable version: their counts for the logs signal, their
    # counts and samples for the canary judge (health/samples.py)
    assert made["Query"] == (2 + 4) * len(names)
    assert not {"FilterLogEvents", "DescribeAlarms", "GetLogEvents"} & set(made)
    print("\nAPI calls of one check of a 10-function release:", dict(sorted(made.items())))
    assert lifecycle.stop(plan) == []
