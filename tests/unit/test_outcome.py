"""Roll back and Finalize: the alias restored, the lock released, people told."""

import json

import pytest
from rollout_core import clients, lock
from rollout_core.errors import RollbackFailed
from rollout_core.models import Plan, Progress
from rollout_core.outcome import failure_parts, finalize, roll_back
from rollout_core.results import RollbackRecord


@pytest.fixture
def rollback_case(load_event):
    event = load_event("functions/rollback.json")
    plan = Plan.model_validate(event["plan"]).rollout_ready()
    return plan, Progress(**event["progress"]), event["failure"]


@pytest.mark.parametrize("left_at", [("3", {"4": 0.1}), ("4", {}), ("3", {})])
def test_rollback_restores_the_stable_version_from_any_own_position(world, rollback_case, left_at):
    world.route(*left_at)
    result = roll_back(*rollback_case)
    assert world.alias_state() == ("3", {})
    assert result.restored is True and result.error == "HealthCheckFailed"


def test_rollback_cause_is_one_line_plus_details(world, rollback_case):
    world.route("3", {"4": 0.1})
    cause = roll_back(*rollback_case).cause
    assert cause == (
        "Rolled back orders:live to version 3: Check health, step 1/1 at 10%: metrics: "
        "version 4 error rate 25.00% (5/20 invocations failed) above 1% — state: Check health; "
        "step 1/1 at 10%; "
        "weight 10% on version 4; strategy Canary10Percent5Minutes"
    )


def test_rollback_leaves_a_drifted_alias_alone(world, rollback_case):
    world.route("2")
    with pytest.raises(
        RollbackFailed,
        match=r"after HealthCheckFailed .*version 2, expected version 3 with 10% on version 4 "
        r"or version 4; .*leaves it alone",
    ):
        roll_back(*rollback_case)
    assert world.alias_state() == ("2", {})


def test_rollback_that_cannot_update_fails_by_name(world, rollback_case, monkeypatch):
    from botocore.exceptions import ClientError

    def denied(**_):
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "UpdateAlias"
        )

    world.route("3", {"4": 0.1})
    monkeypatch.setattr(clients.lambda_(), "update_alias", denied)
    with pytest.raises(RollbackFailed, match="AccessDeniedException"):
        roll_back(*rollback_case)


@pytest.mark.parametrize(
    ("failure", "parts"),
    [
        (
            {"Error": "States.Timeout", "Cause": "Task timed out"},
            ("States.Timeout", "Task timed out"),
        ),
        ({"Error": "X", "Cause": json.dumps({"errorMessage": "m"})}, ("X", "m")),
        (None, ("UnknownError", "no cause given")),
    ],
)
def test_failure_parts(failure, parts):
    assert failure_parts(failure) == parts


@pytest.fixture
def plan(load_event):
    return Plan.model_validate(load_event("functions/finalize.json")["plan"])


@pytest.fixture
def listener(world, monkeypatch):
    """An SNS topic and an EventBridge rule sending rollout events to an SQS queue."""
    sqs = clients.client("sqs")
    queue = sqs.create_queue(QueueName="rollout-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = clients.events()
    events.put_rule(Name="rollouts", EventPattern=json.dumps({"source": ["lambda-rollout"]}))
    events.put_targets(Rule="rollouts", Targets=[{"Id": "q", "Arn": queue_arn}])
    topic = clients.sns().create_topic(Name="rollouts")["TopicArn"]
    monkeypatch.setenv("TOPIC_ARN", topic)

    def received():
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]

    return received


def test_finalize_success_releases_and_notifies(world, plan, listener):
    lock.acquire(plan.lock.table, plan.lock.key, plan.lock.owner, 60)
    summary = finalize(plan, "succeeded", None, None)
    assert summary.lockReleased is True and world.lock_owner() is None
    assert summary.notified == {"sns": True, "eventBridge": True}
    [event] = listener()
    assert (event["source"], event["detail-type"]) == ("lambda-rollout", "Rollout Succeeded")
    assert event["detail"]["targetVersion"] == "4"


@pytest.mark.parametrize(
    ("outcome", "detail_type", "line"),
    [
        ("rolled_back", "Rollout Rolled Back", "Rolled back orders:live"),
        ("rollback_failed", "Rollout Rollback Failed", "could not be restored"),
        ("check_failed", "Rollout Check Failed", "failed its pre-traffic check"),
        ("drifted", "Rollout Stopped On Drift", "changed by someone else"),
    ],
)
def test_finalize_failures_carry_error_and_cause(world, plan, listener, outcome, detail_type, line):
    failure = {"Error": "HealthCheckFailed", "Cause": json.dumps({"errorMessage": "why"})}
    rollback = RollbackRecord(
        error="HealthCheckFailed", cause="Rolled back orders:live to version 3"
    )
    summary = finalize(plan, outcome, rollback, failure)
    assert summary.error == "HealthCheckFailed" and summary.cause and line in summary.cause
    [event] = listener()
    assert event["detail-type"] == detail_type


def test_finalize_releases_only_its_own_lock(world, plan):
    lock.acquire(plan.lock.table, plan.lock.key, "someone-else", 60)
    assert finalize(plan, "succeeded", None, None).lockReleased is False
    assert world.lock_owner() == "someone-else"


def test_undeliverable_notification_does_not_fail_finalize(world, plan, monkeypatch):
    monkeypatch.setenv("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:missing")
    notified = finalize(plan, "succeeded", None, None).notified
    assert notified is not None and notified["sns"] is False
