"""Prepare: validation against the live account, the plan, noop/skip, the lock."""

import json

import pytest
from rollout_core import clients
from rollout_core.errors import AlarmsAlreadyFiring, InvalidRolloutRequest, RolloutInProgress
from rollout_core.plan import prepare

ACCOUNT, REGION = "123456789012", "us-east-1"  # moto's default account
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rollout:unit-test"
BASE = {"functionName": "orders", "alias": "live", "targetVersion": "4"}


def with_(**changes):
    request = {**BASE, **changes}
    return {k: v for k, v in request.items() if v is not None}


def test_plan_for_a_console_request(world):
    request = with_(strategy="Linear10PercentEvery1Minute", alarms=[world.alarm], timeScale=0.5)
    result = prepare(request, EXECUTION)
    plan, progress = result["plan"], result["progress"]
    assert plan["action"] == "rollout"
    assert plan["functionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
    assert plan["aliasArn"].endswith(":function:orders:live")
    assert (plan["stableVersion"], plan["targetVersion"]) == ("3", "4")
    assert plan["strategy"] == {"name": "Linear10PercentEvery1Minute", "kind": "linear"}
    assert [s["waitSeconds"] for s in plan["steps"]] == [30] * 9
    assert plan["totalWaitSeconds"] == 270
    assert plan["health"] == {
        "errorRatePercent": 1.0,
        "minInvocations": 10,
        "compareToStable": True,
        "lowTraffic": "pass",
        "logs": True,
        "latency": {"maxIncreasePercent": 25.0, "confidence": 0.98},
        "inconclusive": "extend",
    }
    assert plan["preTraffic"]["readiness"] is True
    assert plan["postTraffic"] is None
    assert plan["lock"] == {"table": "rollout-locks", "key": "orders:live", "owner": EXECUTION}
    assert progress["stepIndex"] == -1 and progress["hasNextStep"] is True
    assert world.lock_owner() == EXECUTION
    assert world.alias_state() == ("3", {})  # Prepare never moves traffic
    json.dumps(result)  # the state machine carries it as JSON


def test_defaults_come_from_the_environment(world, monkeypatch):
    monkeypatch.setenv("DEFAULT_STRATEGY", "AllAtOnce")
    monkeypatch.setenv("DEFAULT_ERROR_RATE_PERCENT", "2.5")
    monkeypatch.setenv("DEFAULT_CHECK_INTERVAL_SECONDS", "30")
    plan = prepare({"functionName": "orders", "alias": "live"}, EXECUTION)["plan"]
    assert plan["targetVersion"] == "4"  # newest published version
    assert plan["steps"] == [] and plan["strategy"]["name"] == "AllAtOnce"
    assert plan["health"]["errorRatePercent"] == 2.5
    assert plan["checkIntervalSeconds"] == 30


def test_function_arn_of_this_account_is_accepted(world):
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
    assert prepare(with_(functionName=arn), EXECUTION)["plan"]["functionName"] == "orders"


def test_target_already_live_is_a_noop_without_lock(world):
    result = prepare(with_(targetVersion="3"), EXECUTION)
    assert result["plan"]["action"] == "noop"
    assert "already live" in result["plan"]["reason"]
    assert world.lock_owner() is None


def test_firing_alarm_refuses_the_rollout(world):
    world.set_alarm("ALARM")
    with pytest.raises(AlarmsAlreadyFiring, match=r"orders-errors.*ignoreFiringAlarms"):
        prepare(with_(alarms=[world.alarm]), EXECUTION)
    assert world.lock_owner() is None


def test_firing_alarm_can_be_ignored_and_is_recorded(world):
    world.set_alarm("ALARM")
    plan = prepare(with_(alarms=[world.alarm], ignoreFiringAlarms=True), EXECUTION)["plan"]
    assert plan["ignoredAlarms"] == [world.alarm]


def test_second_rollout_of_the_same_alias_is_refused(world):
    prepare(BASE, EXECUTION)
    with pytest.raises(RolloutInProgress, match=EXECUTION):
        prepare(with_(targetVersion="2"), EXECUTION + "-other")


def test_a_second_start_of_the_same_version_is_a_quiet_duplicate(world):
    """EventBridge delivers at least once; CI's release and the rule can both fire."""
    first = prepare(BASE, EXECUTION)["plan"]
    plan = prepare(BASE, EXECUTION + "-other")["plan"]
    assert (plan["action"], plan["rolledOutBy"]) == ("duplicate", EXECUTION)
    assert plan["targetVersion"] == first["targetVersion"]
    assert f"already being rolled out by {EXECUTION}" in plan["reason"]


def test_retried_prepare_reacquires_its_own_lock(world):
    prepare(BASE, EXECUTION)
    assert prepare(BASE, EXECUTION)["plan"]["action"] == "rollout"


def test_split_alias_held_by_a_rollout_is_in_progress(world):
    prepare(BASE, EXECUTION)
    world.route("3", {"4": 0.1})
    with pytest.raises(RolloutInProgress):
        prepare(with_(targetVersion="2"), EXECUTION + "-other")
    assert prepare(BASE, EXECUTION + "-twin")["plan"]["action"] == "duplicate"


def test_long_rollouts_stretch_the_check_interval(world):
    strategy = {"steps": [{"percentage": 50, "waitSeconds": 172800}]}
    plan = prepare(with_(strategy=strategy, checkIntervalSeconds=10), EXECUTION)["plan"]
    assert plan["checkIntervalSeconds"] == 116  # 172,800 s in at most MAX_CHECKS checks
    assert "raised from 10 to 116" in plan["notes"][0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "blue"}, "colour: unknown key"),
        ({"functionName": None}, "functionName: required"),
        ({"alias": None}, "alias: required"),
        ({"functionName": "nope"}, "function nope not found"),
        ({"functionName": "orders:live"}, "has a qualifier"),
        ({"alias": "prod"}, "orders has no alias prod"),
        ({"targetVersion": "$LATEST"}, "targetVersion: \\$LATEST can't take weighted traffic"),
        ({"targetVersion": "9"}, "targetVersion: orders has no published version 9"),
        ({"targetVersion": "v4"}, "targetVersion: 'v4' is not a published version"),
        (
            {"strategy": {"type": "canary", "percentage": 0, "intervalSeconds": 60}},
            "strategy.percentage: Input should be greater than or equal to 0.01",
        ),
        (
            {"strategy": {"type": "linear", "percentage": 100, "intervalSeconds": 60}},
            "strategy.percentage: Input should be less than or equal to 99",
        ),
        (
            {
                "strategy": {
                    "steps": [
                        {"percentage": 20, "waitSeconds": 1},
                        {"percentage": 10, "waitSeconds": 1},
                    ]
                }
            },
            "strategy: step percentages must strictly increase",
        ),
        (
            {"strategy": {"steps": [{"percentage": 10, "waitSeconds": -1}]}},
            "strategy.steps.0.waitSeconds: Input should be greater than or equal to 0",
        ),
        ({"strategy": "Fast"}, "strategy: unknown preset 'Fast'"),
        ({"timeScale": 0}, "timeScale: Input should be greater than 0"),
        ({"checkIntervalSeconds": 0}, "checkIntervalSeconds"),
        ({"health": {"errorRatePercent": 120}}, "health.errorRatePercent"),
        ({"alarms": ["missing-alarm"]}, "alarms: not found: missing-alarm"),
        ({"alarms": [f"a{i}" for i in range(11)]}, "alarms: List should have at most 10"),
        (
            {"preTraffic": {"hookFunction": "no-such-hook"}},
            "preTraffic.hookFunction: function no-such-hook not found",
        ),
        (
            {"functionName": "arn:aws:lambda:us-east-1:999999999999:function:orders"},
            "not in this account",
        ),
        (
            {"functionName": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders"},
            "not in this account, region",
        ),
        ({"functionName": f"arn:aws-cn:lambda:{REGION}:{ACCOUNT}:function:orders"}, "partition"),
    ],
)
def test_bad_requests_are_rejected_naming_the_problem(world, change, message):
    with pytest.raises(InvalidRolloutRequest, match=message):
        prepare(with_(**change), EXECUTION)
    assert world.lock_owner() is None


def test_unpublished_only_function_is_rejected(world):
    world.lam.create_function(
        FunctionName="draft",
        Runtime="python3.12",
        Role=world.role,
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    with pytest.raises(InvalidRolloutRequest, match="draft has no alias live"):
        prepare({"functionName": "draft", "alias": "live"}, EXECUTION)


def test_alias_already_split_is_rejected(world):
    world.route("3", {"4": 0.2})
    with pytest.raises(InvalidRolloutRequest, match=r"already splits traffic .*20% on version 4"):
        prepare(BASE, EXECUTION)


def test_alias_on_latest_is_rejected(world):
    world.route("$LATEST")
    with pytest.raises(InvalidRolloutRequest, match=r"points at \$LATEST"):
        prepare(BASE, EXECUTION)


def test_versions_with_different_roles_cant_share_an_alias(world):
    iam_role = world.role.replace("orders-role", "other-role")
    clients.client("iam").create_role(RoleName="other-role", AssumeRolePolicyDocument="{}")
    world.lam.update_function_configuration(FunctionName="orders", Role=iam_role)
    version = world.lam.publish_version(FunctionName="orders")["Version"]
    with pytest.raises(InvalidRolloutRequest, match="different Role"):
        prepare(with_(targetVersion=version), EXECUTION)


def test_a_bad_default_strategy_is_named(world, monkeypatch):
    monkeypatch.setenv("DEFAULT_STRATEGY", "Nope")
    with pytest.raises(InvalidRolloutRequest, match="strategy: unknown preset 'Nope'"):
        prepare(BASE, EXECUTION)


def test_the_canary_judges_policy_is_planned(world):
    off = prepare(with_(health={"latency": False, "inconclusive": "proceed"}), EXECUTION)
    assert off["plan"]["health"]["latency"] is None
    assert off["plan"]["health"]["inconclusive"] == "proceed"
    world.ddb.delete_item(TableName="rollout-locks", Key={"lockKey": {"S": "orders:live"}})
    tuned = prepare(with_(health={"latency": {"maxIncreasePercent": 50}}), EXECUTION)
    assert tuned["plan"]["health"]["latency"] == {"maxIncreasePercent": 50.0, "confidence": 0.98}
