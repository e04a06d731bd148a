"""Each task Lambda called with its events/functions sample under moto."""

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from rollout_core import clock
from rollout_core.errors import (
    AliasDrift,
    HealthCheckFailed,
    InvalidRolloutRequest,
    PreTrafficCheckFailed,
)


@pytest.fixture
def sample(load_event):
    return lambda task: load_event(f"functions/{task}.json")


@pytest.fixture
def call(load_handler, context):
    def invoke(task, event):
        result = load_handler(task).lambda_handler(event, context)
        json.dumps(result)  # what Step Functions receives must be JSON
        return result

    return invoke


def test_prepare(world, sample, call):
    result = call("prepare", sample("prepare"))
    assert result["plan"]["action"] == "rollout"
    assert result["plan"]["bakeSeconds"] == 6  # 60 s at timeScale 0.1
    assert result["progress"]["stepIndex"] == -1
    assert world.lock_owner() == sample("prepare")["executionId"]


def test_prepared_plan_matches_the_samples_other_tasks_read(world, sample, call):
    plan = call("prepare", sample("prepare"))["plan"]
    expected = sample("shift_traffic")["plan"]
    # when the alarm last changed state is the account's, not the sample's
    for read, sampled in zip(plan["alarmStates"], expected["alarmStates"], strict=True):
        assert read["updatedAt"]
        read["updatedAt"] = sampled["updatedAt"]
    assert plan == expected


def test_pre_traffic_check(world, sample, call):
    result = call("traffic_check", sample("traffic_check"))
    assert result["passed"] is True
    assert [r["name"] for r in result["results"]] == ["readiness"]


def test_pre_traffic_check_failure_is_the_named_error(world, sample, call):
    event = sample("traffic_check")
    event["plan"]["targetVersion"] = "9"  # not a version: not ready
    with pytest.raises(PreTrafficCheckFailed, match="readiness"):
        call("traffic_check", event)


def test_post_traffic_check_invokes_the_new_version(world, sample, call):
    event = sample("traffic_check") | {"phase": "postTraffic"}
    result = call("traffic_check", event)
    assert result["results"][0]["name"] == "invoke"
    assert result["results"][0]["passed"] is True


def test_shift_traffic(world, sample, call):
    progress = call("shift_traffic", sample("shift_traffic"))
    assert world.alias_state() == ("3", {"4": 0.1})
    assert (progress["stepIndex"], progress["weight"], progress["nextWaitSeconds"]) == (0, 0.1, 10)
    assert progress["hasNextStep"] is False and progress["stepComplete"] is False


def test_shift_traffic_refuses_a_drifted_alias(world, sample, call):
    world.route("2")
    with pytest.raises(AliasDrift, match="version 2"):
        call("shift_traffic", sample("shift_traffic"))
    assert world.alias_state() == ("2", {})


def _recent(event):
    started = datetime.now(UTC) - timedelta(minutes=1)
    event["progress"]["stepStartedAt"] = clock.iso(started)
    return event


def test_check_health(world, sample, call):
    world.route("3", {"4": 0.1})
    world.put_calls("4", invocations=20, errors=0)
    progress = call("check_health", _recent(sample("check_health")))
    assert progress["waitedSeconds"] == 10 and progress["checks"] == 1
    assert progress["lastCheck"]["newVersion"]["invocations"] == 20


def test_check_health_fails_on_new_version_errors(world, sample, call):
    world.put_calls("4", invocations=20, errors=5)
    with pytest.raises(HealthCheckFailed, match=r"step 1/1 at 10%.*25\.00%"):
        call("check_health", _recent(sample("check_health")))


def test_promote(world, sample, call):
    world.route("3", {"4": 0.1})
    progress = call("promote", sample("promote"))
    assert world.alias_state() == ("4", {})
    assert (progress["phase"], progress["stepWaitSeconds"], progress["weight"]) == ("bake", 6, 1.0)


def test_rollback(world, sample, call):
    world.route("3", {"4": 0.1})
    result = call("rollback", sample("rollback"))
    assert world.alias_state() == ("3", {})
    assert result["error"] == "HealthCheckFailed"
    assert result["cause"].startswith("Rolled back orders:live to version 3: Check health")
    assert "state: Check health" in result["cause"] and "weight 10%" in result["cause"]


def test_finalize(world, sample, call, execution):
    world.ddb.put_item(
        TableName=world.table,
        Item={
            "lockKey": {"S": "orders:live"},
            "owner": {"S": sample("finalize")["executionId"]},
            "expiresAt": {"N": "9999999999"},
        },
    )
    summary = call("finalize", sample("finalize"))
    assert summary["outcome"] == "succeeded" and summary["lockReleased"] is True
    assert world.lock_owner() is None
    assert summary["notified"] == {"sns": None, "eventBridge": True}


def test_finalize_after_a_failed_prepare_releases_its_lock(world, call, execution):
    world.ddb.put_item(
        TableName=world.table,
        Item={
            "lockKey": {"S": "orders:live"},
            "owner": {"S": execution},
            "expiresAt": {"N": "9999999999"},
        },
    )
    failure = {"Error": "Sandbox.Timedout", "Cause": "Task timed out after 30.00 seconds"}
    event = {"outcome": "prepare_failed", "failure": failure, "executionId": execution}
    summary = call("finalize", event)
    assert (summary["lockReleased"], summary["released"]) == (True, ["orders:live"])
    assert world.lock_owner() is None


def test_prepare_rejection_raises_the_named_error(world, sample, call):
    event = sample("prepare")
    event["input"]["colour"] = "blue"
    with pytest.raises(InvalidRolloutRequest, match="colour: unknown key") as raised:
        call("prepare", event)
    assert type(raised.value).__name__ == "InvalidRolloutRequest"  # the Step Functions Error


def test_prepare_skips_an_event_for_an_untagged_function(world, sample, call):
    event = sample("prepare")
    event["input"] = {
        "source": "aws.lambda",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventName": "PublishVersion20150331",
            "responseElements": {
                "functionName": "orders",
                "version": "4",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders:4",
            },
        },
    }
    assert call("prepare", event)["plan"]["action"] == "skip"


def test_wait_for_operator_ends_a_pause_on_resume(world, sample, call):
    from rollout_core import controls, lock
    from rollout_core.channel import Control
    from rollout_core.models import RolloutPlan

    from rollout.commands import control as cli

    event = sample("wait_for_operator")
    plan = RolloutPlan.model_validate(event["plan"])
    lock.acquire(world.table, plan.lock.key, plan.executionId, 600)
    controls.write(plan, state="paused", phase="step")
    resume = Control.new("resume", "looked fine", "arn:aws:iam::123456789012:user/alice")
    cli.send(world.ddb, world.table, plan.lock.key, plan.executionId, resume)
    result = call("wait_for_operator", event)
    assert result["hold"] is None
    assert result["lastControl"]["action"] == "resume"
    assert result["lastControl"]["state"] == "Wait for operator"
    assert result["waitedSeconds"] == event["progress"]["waitedSeconds"]  # the rest still runs


def test_start_telemetry_subscribes_the_log_group(world, sample, call, monkeypatch):
    monkeypatch.setenv(
        "TELEMETRY_FUNCTION_ARN", f"arn:aws:lambda:{world.region}:{world.account}:function:orders"
    )
    world.lam.get_function(FunctionName="orders")  # the destination exists
    from rollout_core import clients

    clients.logs().create_log_group(logGroupName="/aws/lambda/orders")
    result = call("start_telemetry", sample("start_telemetry"))
    assert (result["pushed"], result["polled"]) == (["/aws/lambda/orders"], [])
    found = clients.logs().describe_subscription_filters(logGroupName="/aws/lambda/orders")
    assert [f["filterName"] for f in found["subscriptionFilters"]] == ["lambda-rollout-telemetry"]


def test_wait_for_check_stores_the_token(world, sample, call, monkeypatch):
    monkeypatch.setenv(
        "TELEMETRY_FUNCTION_ARN", f"arn:aws:lambda:{world.region}:{world.account}:function:orders"
    )
    call("start_telemetry", sample("start_telemetry"))  # no log group yet: polled
    event = sample("wait_for_check")
    assert call("wait_for_check", event) == {"how": "armed"}
    key = {"pk": {"S": f"rollout#{event['executionId']}"}, "sk": {"S": "watch"}}
    item = world.ddb.get_item(TableName="rollout-telemetry", Key=key)["Item"]
    assert item["token"]["S"] == event["token"]


def test_telemetry_counts_a_log_delivery_and_stores_an_alarm_state(world, load_event, call):
    delivery = load_event("cloudwatch-logs/subscription-data-message.json")
    data = base64.b64encode(gzip.compress(json.dumps(delivery).encode())).decode()
    counted = call("telemetry", {"awslogs": {"data": data}})
    # the sample: one successful invocation of version 3 (its END line and its REPORT)
    assert (counted["logGroup"], counted["invocations"], counted["failures"]) == (
        "/aws/lambda/checkout",
        1,
        0,
    )
    stored = call("telemetry", load_event("cloudwatch/alarm-state-change.json"))
    assert (stored["alarm"], stored["stored"]) == ("checkout-errors", True)


def test_a_named_error_is_counted_logged_and_raised_unchanged():
    from rollout_core.handled import counted

    seen: list[tuple[str, object]] = []

    class Metrics:
        def add_metric(self, name, unit, value):
            seen.append(("metric", (name, value)))

    class Logger:
        def warning(self, message, extra):
            seen.append(("log", (message, extra)))

    error = InvalidRolloutRequest("colour: unknown key")
    with (
        pytest.raises(InvalidRolloutRequest) as raised,
        counted(Metrics(), Logger(), "Rejected", "Rollout rejected"),
    ):
        raise error
    assert raised.value is error  # the ASL's Catch routes it by its name
    assert seen == [
        ("metric", ("Rejected", 1)),
        ("log", ("Rollout rejected", {"error": "InvalidRolloutRequest", "cause": str(error)})),
    ]
