"""The scheduled rules seam (rollout/local/schedules.py): rate and cron expressions fire as
EventBridge fires them, a scheduled rule matches no event put on the bus, and the Scheduled
Event reaches a Lambda target. The clock is driven by `tick(now)`, so no test waits for a
minute to pass."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.events.models import EventPattern, Rule

from rollout.local.cloud import LocalCloud
from rollout.local.eventbridge import EventBridgeDelivery
from rollout.local.lambda_runtime import LambdaRuntime
from rollout.local.schedules import ScheduledRules, UnsupportedSchedule, next_firing
from rollout.samples import code_zip, lambda_role
from tests.conftest import IsolatedCloud as Cloud

pytestmark = pytest.mark.cloud

SOURCE = "import json\ndef handler(event, context):\n    print(json.dumps(event))\n"
AT = datetime(2026, 12, 7, 4, 20, 13, tzinfo=UTC)  # a Monday


def at(day: int, hour: int, minute: int, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "fires"),
    [
        ("rate(1 minute)", None, at(7, 4, 21)),
        ("rate(5 minutes)", at(7, 4, 21), at(7, 4, 26)),
        ("rate(1 day)", at(7, 4, 21), at(8, 4, 21)),
        ("cron(0/15 * * * ? *)", None, at(7, 4, 30)),
        ("cron(30 8 ? * MON-FRI *)", None, at(7, 8, 30)),
        ("cron(0 10 L * ? *)", None, at(31, 10, 0)),
        ("cron(0 12 1 JAN ? 2027)", None, at(1, 12, 0, month=1, year=2027)),
        ("cron(0 0 ? * 1 *)", None, at(13, 0, 0)),  # 1 is SUN
    ],
)
def test_when_an_expression_fires(expression: str, after: datetime | None, fires: datetime) -> None:
    assert next_firing(expression, AT, after) == fires


@pytest.mark.parametrize(
    "expression", ["cron(0 10 ? * 6#3 *)", "cron(0 10 15W * ? *)", "cron(* * *)", "every minute"]
)
def test_expressions_not_evaluated_are_said_so(expression: str) -> None:
    with pytest.raises(UnsupportedSchedule):
        next_firing(expression, AT, None)


@pytest.mark.usefixtures("no_cloud")  # moto as it is: no seam installed
def test_contract_with_moto_internals() -> None:
    assert list(inspect.signature(Rule.send_to_targets).parameters) == [
        "self",
        "original_event",
        "transform_input",
    ]
    for attribute in ("scheduled_expression", "state", "event_bus_name"):
        assert f"self.{attribute}" in inspect.getsource(Rule.__init__), attribute
    assert EventPattern.load(None).matches_event({"source": "anything"})  # the gap closed


@pytest.fixture
def cloud(isolated_cloud: Cloud) -> Iterator[LocalCloud]:
    """A cloud with the seam, for one test (a moto-alone test of this module starts its
    own, and no cloud may run beside it)."""
    with isolated_cloud(seams=[LambdaRuntime, EventBridgeDelivery, ScheduledRules]) as started:
        yield started


def scheduled_function(cloud: LocalCloud, name: str, expression: str) -> str:
    lam = cloud.client("lambda")
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(cloud.client("iam"), "schedule-seam"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": SOURCE})},
    )["FunctionArn"]
    events = cloud.client("events")
    rule = events.put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": arn}])
    return rule


def received(cloud: LocalCloud, name: str) -> list[dict[str, Any]]:
    try:
        found = cloud.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")
    except ClientError:
        return []
    return [json.loads(e["message"]) for e in found["events"] if e["message"].startswith("{")]


def wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    ends = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends, "not in time"
        time.sleep(0.2)


def test_a_due_rule_sends_its_scheduled_event_and_nothing_else(cloud: LocalCloud) -> None:
    rule = scheduled_function(cloud, "ticking", "rate(5 minutes)")
    clock = ScheduledRules()  # driven here; the installed one follows the real clock
    start = datetime.now(UTC) + timedelta(hours=1)
    assert clock.tick(start) == []  # seen: first due in the next minute
    cloud.client("events").put_events(
        Entries=[{"Source": "orders", "DetailType": "Order placed", "Detail": "{}"}]
    )
    assert clock.tick(start + timedelta(minutes=1, seconds=1)) == [rule]
    assert clock.tick(start + timedelta(minutes=2)) == []  # next: five minutes later
    wait_for(lambda: len(received(cloud, "ticking")) == 1)
    time.sleep(1)
    (event,) = received(cloud, "ticking")  # the bus event never reached it
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [rule] and event["detail"] == {}


def test_a_disabled_rule_does_not_fire(cloud: LocalCloud) -> None:
    rule = scheduled_function(cloud, "stopped", "rate(1 minute)")
    cloud.client("events").disable_rule(Name="stopped")
    clock = ScheduledRules()
    start = datetime.now(UTC) + timedelta(hours=1)
    clock.tick(start)
    assert rule not in clock.tick(start + timedelta(minutes=3))
