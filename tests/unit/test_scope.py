"""The scope check: IAM wildcard semantics, and refusal before anything is touched."""

from __future__ import annotations

import pytest
from rollout_core import scope
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.plan import prepare

from tests.unit.conftest import EXECUTION, World

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/rollout/0000"


@pytest.mark.parametrize(
    ("name", "pattern", "expected"),
    [
        ("orders", "*", True),
        ("orders-api", "orders-*", True),
        ("orders", "orders-*", False),
        ("billing-api", "orders-*", False),
        ("orders-1", "orders-?", True),
        ("orders-12", "orders-?", False),
        ("Orders-api", "orders-*", False),  # ARN matching is case-sensitive
        ("orders.api", "orders?api", True),
        ("ordersXapi", "orders.api", False),  # only * and ? are special, as in IAM
        ("orders-a", "orders-[ab]", False),  # fnmatch would match; IAM doesn't
    ],
)
def test_matches_uses_iam_wildcards(name: str, pattern: str, expected: bool) -> None:
    assert scope.matches(name, pattern) is expected


def test_outside_the_pattern_is_refused_naming_the_pattern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(scope.PATTERN_ENV, "orders-*")
    scope.check_name("functionName", "orders-api")
    with pytest.raises(InvalidRolloutRequest, match=r"billing is outside .* 'orders-\*'"):
        scope.check_name("functionName", "billing")


@pytest.mark.parametrize("name", ["$.x", "a;rm -rf /", "x" * 65, "", "orders\n", "ord\u202eers"])
def test_names_lambda_would_reject_are_refused(name: str) -> None:
    with pytest.raises(InvalidRolloutRequest, match="is not a Lambda function name"):
        scope.check_name("functionName", name)


def test_the_running_task_is_never_a_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "rollout-ShiftTraffic-ABC")
    with pytest.raises(InvalidRolloutRequest, match="a function of the rollout itself"):
        scope.recheck(
            "functionName", "arn:aws:lambda:us-east-1:1:function:rollout-ShiftTraffic-ABC"
        )


@pytest.mark.parametrize("key", [scope.STACK_TAG, scope.CLOUDFORMATION_STACK_TAG])
def test_functions_of_the_stack_are_refused(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv(scope.STACK_ENV, STACK_ID)
    scope.check_stack("functionName", "orders", lambda: {key: "arn:other-stack"})
    with pytest.raises(InvalidRolloutRequest, match="function of the rollout itself"):
        scope.check_stack("functionName", "prepare", lambda: {key: STACK_ID})


def test_prepare_refuses_out_of_scope_targets_and_hooks_before_touching_anything(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scope.PATTERN_ENV, "ord*")
    base = {"functionName": "orders", "alias": "live", "targetVersion": "4"}
    hook = {"preTraffic": {"hookFunction": "gatekeeper"}}
    for request, field in (
        ({**base, "functionName": "billing"}, "functionName"),
        ({**base, **hook}, "preTraffic.hookFunction"),
    ):
        with pytest.raises(InvalidRolloutRequest, match=f"{field}: .* outside"):
            prepare(request, EXECUTION)
    assert world.alias_state() == ("3", {})
    assert world.lock_owner() is None


def test_prepare_refuses_a_function_tagged_with_its_own_stack(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scope.STACK_ENV, STACK_ID)
    arn = world.lam.get_function(FunctionName="orders")["Configuration"]["FunctionArn"]
    world.lam.tag_resource(Resource=arn, Tags={scope.STACK_TAG: STACK_ID})
    with pytest.raises(InvalidRolloutRequest, match="orders is a function of the rollout itself"):
        prepare({"functionName": "orders", "alias": "live", "targetVersion": "4"}, EXECUTION)
    assert world.lock_owner() is None


def test_a_publish_event_outside_the_scope_is_skipped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(scope.PATTERN_ENV, "billing-*")
    event = {
        "source": "aws.lambda",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventName": "PublishVersion20150331",
            "responseElements": {
                "functionArn": f"arn:aws:lambda:us-east-1:{world.account}:function:orders:4",
                "version": "4",
            },
        },
    }
    plan = prepare(event, EXECUTION)["plan"]
    assert plan["action"] == "skip"
    assert "outside this deployment's scope" in plan["reason"]


def test_tasks_recheck_the_scope_before_moving_an_alias(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rollout_core import aliases

    monkeypatch.setenv(scope.PATTERN_ENV, "billing-*")
    with pytest.raises(InvalidRolloutRequest, match="outside"):
        aliases.move("orders", "live", [aliases.Position("3")], aliases.Position("4"))
    assert world.alias_state() == ("3", {})
