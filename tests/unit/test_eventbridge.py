"""A CloudTrail PublishVersion event + the function's rollout:* tags → the same plan."""

import pytest
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.plan import prepare

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rollout:from-event"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"


def publish_event(version="4"):
    return {
        "version": "0",
        "id": "6f5ea5f1-0000-0000-0000-000000000000",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.lambda",
        "account": "123456789012",
        "region": "us-east-1",
        "detail": {
            "eventSource": "lambda.amazonaws.com",
            "eventName": "PublishVersion20150331",
            "requestParameters": {"functionName": "orders"},
            "responseElements": {
                "functionName": "orders",
                "functionArn": f"{ARN}:{version}",
                "version": version,
            },
        },
    }


def tag(world, **tags):
    world.lam.tag_resource(Resource=ARN, Tags=tags)


def test_untagged_function_is_skipped(world):
    plan = prepare(publish_event(), EXECUTION)["plan"]
    assert (plan["action"], plan["source"]) == ("skip", "eventbridge")
    assert "rollout:alias" in plan["reason"]
    assert world.lock_owner() is None


def test_tags_configure_the_rollout(world):
    tag(
        world,
        **{
            "rollout:alias": "live",
            "rollout:strategy": "Linear10PercentEvery1Minute",
            "rollout:alarms": "orders-errors, ",
            "rollout:time-scale": "0.5",
            "rollout:bake-seconds": "120",
            "rollout:error-rate-percent": "2",
            "rollout:bypass": "warn",
            "team": "payments",
        },
    )
    plan = prepare(publish_event(), EXECUTION)["plan"]
    assert (plan["action"], plan["source"], plan["targetVersion"]) == (
        "rollout",
        "eventbridge",
        "4",
    )
    assert plan["strategy"]["name"] == "Linear10PercentEvery1Minute"
    assert plan["alarms"] == ["orders-errors"]
    assert (plan["bakeSeconds"], plan["health"]["errorRatePercent"]) == (60, 2.0)
    assert plan["bypass"] == "warn"


def test_a_function_tagged_with_only_other_rollout_tags_is_skipped(world):
    tag(world, **{"rollout:component": "prepare"})
    assert prepare(publish_event(), EXECUTION)["plan"]["action"] == "skip"


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"rollout:time-scale": "fast"}, "tag rollout:time-scale: 'fast' is not valid"),
        ({"rollout:colour": "blue"}, "tag rollout:colour: not a rollout setting"),
        ({"rollout:strategy": "Slow"}, "rollout:\\* tags: strategy: unknown preset 'Slow'"),
    ],
)
def test_bad_tags_are_rejected_naming_the_tag(world, tags, message):
    tag(world, **{"rollout:alias": "live"} | tags)
    with pytest.raises(InvalidRolloutRequest, match=message):
        prepare(publish_event(), EXECUTION)


def test_failed_publish_call_is_rejected(world):
    event = publish_event()
    event["detail"]["errorCode"] = "ResourceConflictException"
    with pytest.raises(InvalidRolloutRequest, match="PublishVersion failed"):
        prepare(event, EXECUTION)


def test_new_code_already_live_says_no_rollout_moved_it(world):
    """A template's `AutoPublishAlias: live` publishes version 4 and moves live to it in one
    deploy: the rollout the publish starts finds it live, and says so (not "already live")."""
    tag(world, **{"rollout:alias": "live", "aws:cloudformation:stack-name": "orders-app"})
    world.route("4")
    plan = prepare(publish_event("4"), EXECUTION)["plan"]
    assert plan["action"] == "noop"
    assert plan["movedWithoutRollout"] == {
        "version": "4",
        "previousVersion": "3",
        "stack": "orders-app",
    }
    assert plan["reason"].startswith(
        "orders:live already serves version 4, new code since version 3, but no rollout moved it"
    )
    assert "AutoPublishAlias: released" in plan["reason"]


def test_a_version_already_live_with_the_same_code_is_just_already_live(world):
    tag(world, **{"rollout:alias": "live"})
    world.lam.update_function_configuration(FunctionName="orders", Description="config only")
    version = world.lam.publish_version(FunctionName="orders")["Version"]  # 5, code of 4
    world.route(version)
    plan = prepare(publish_event(version), EXECUTION)["plan"]
    assert plan["action"] == "noop" and "movedWithoutRollout" not in plan
