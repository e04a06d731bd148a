"""`rollout release --stack`: which functions of a stack it publishes, what it starts, and
what it refuses with nothing published. Against moto, with a state machine that does
nothing: the coordinated rollouts it starts run on the local cloud in
tests/sam_cli/test_example_app.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from rollout.cli import main
from rollout.commands.release import MAX_NAME, release_name, stack_release_name
from rollout.samples import code_zip
from rollout.stack import RELEASE_MARKER

EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
STACK = "orders-app"
API, WORKER, SMOKE = "orders-api", "orders-worker", "orders-smoke-test"
TAGS = {
    API: {
        "rollout:alias": "live",
        "rollout:strategy": "Linear10PercentEvery1Minute",
        "rollout:alarms": "orders-api-errors",
        "rollout:time-scale": "0.05",
        "rollout:pre-traffic-hook": SMOKE,
        "rollout:post-traffic-hook": SMOKE,
    },
    WORKER: {
        "rollout:alias": "live",
        "rollout:strategy": "Linear10PercentEvery1Minute",
        "rollout:alarms": "orders-worker-errors,orders-api-errors",
        "rollout:time-scale": "0.05",
    },
    SMOKE: {},
}


def _function(name: str, role: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": role,
            "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"},
        },
    }


@pytest.fixture
def account(no_cloud, monkeypatch) -> Iterator[dict[str, Any]]:
    """Stack `orders-app`: the API and the worker tagged for rollouts, each on version 1
    behind `live`, and an untagged smoke-test function; a state machine."""
    for key in ("ROLLOUT_STATE_MACHINE_ARN", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        iam, lam = boto3.client("iam"), boto3.client("lambda")
        cfn, sfn = boto3.client("cloudformation"), boto3.client("stepfunctions")
        role = iam.create_role(RoleName="orders", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        resources = {name.title().replace("-", ""): _function(name, role) for name in TAGS}
        resources["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}  # not a function
        cfn.create_stack(StackName=STACK, TemplateBody=json.dumps({"Resources": resources}))
        for name, tags in TAGS.items():
            arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
            if tags:  # moto's CloudFormation drops a function's Tags: set them here
                lam.tag_resource(Resource=arn, Tags=tags)
            if "rollout:alias" in tags:
                version = lam.publish_version(FunctionName=name)["Version"]
                lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
        machine = sfn.create_state_machine(name="rollout", definition=PASS_MACHINE, roleArn=role)
        yield {"lambda": lam, "sfn": sfn, "machine": machine["stateMachineArn"]}


def _release(account: dict[str, Any], *flags: str) -> int:
    return main(["release", "--state-machine", account["machine"], *flags])


def _change(account: dict[str, Any], *names: str) -> None:
    """What `sam deploy` does to $LATEST: a new configuration, nothing published."""
    for name in names:
        account["lambda"].update_function_configuration(
            FunctionName=name, Environment={"Variables": {"BUILD": "2"}}
        )


def _executions(account: dict[str, Any]) -> list[dict[str, Any]]:
    sfn = account["sfn"]
    listed = sfn.list_executions(stateMachineArn=account["machine"])["executions"]
    return [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]


def _versions(account: dict[str, Any], name: str) -> list[dict[str, Any]]:
    listed = account["lambda"].list_versions_by_function(FunctionName=name)["Versions"]
    return [v for v in listed if v["Version"] != "$LATEST"]


# -- what it starts --------------------------------------------------------------------


def test_two_changed_functions_start_one_release_configured_by_their_tags(account, capsys):
    _change(account, API, WORKER)
    assert _release(account, "--stack", STACK) == 0
    out, err = capsys.readouterr()
    (execution,) = _executions(account)
    name = stack_release_name(STACK, [(API, "live", "2"), (WORKER, "live", "2")])
    assert execution["name"] == name and out.strip() == execution["executionArn"]
    assert json.loads(execution["input"]) == {
        "functions": [
            {
                "functionName": API,
                "alias": "live",
                "targetVersion": "2",
                "preTraffic": {"hookFunction": SMOKE},
                "postTraffic": {"hookFunction": SMOKE},
            },
            {"functionName": WORKER, "alias": "live", "targetVersion": "2"},
        ],
        "strategy": "Linear10PercentEvery1Minute",  # both tags agree
        "alarms": ["orders-api-errors", "orders-worker-errors"],  # every function's, once
        "timeScale": 0.05,
    }
    assert f"stack {STACK}: {API}:live, {WORKER}:live" in err
    assert f"{API}: version 2 (live serves 1)" in err
    assert f"rolling out {API}:live → 2, {WORKER}:live → 2 as {name}" in err
    for function in (API, WORKER):  # published with the marker: EventBridge leaves them be
        (_, new) = _versions(account, function)
        assert new["Description"].startswith(RELEASE_MARKER), new
    assert [v["Version"] for v in _versions(account, SMOKE)] == []  # untagged: left alone


def test_a_rerun_meets_the_first_release_and_after_it_nothing_is_left(account, capsys):
    _change(account, API, WORKER)
    assert _release(account, "--stack", STACK) == 0
    first = capsys.readouterr().out.strip()
    assert _release(account, "--stack", STACK, "--strategy", "AllAtOnce") == 0
    again = capsys.readouterr()
    assert again.out.splitlines()[0] == first
    assert "these versions were released before; their rollout is release-orders-app-" in again.err
    assert len(_executions(account)) == 1
    # The release moved both aliases (here by hand: the state machine does nothing).
    for function in (API, WORKER):
        account["lambda"].update_alias(FunctionName=function, Name="live", FunctionVersion="2")
    assert _release(account, "--stack", STACK, "--watch") == 0
    err = capsys.readouterr().err
    assert f"nothing to roll out: every alias of stack {STACK} serves its $LATEST" in err
    assert len(_executions(account)) == 1
    assert [v["Version"] for v in _versions(account, API)] == ["1", "2"]


def test_one_changed_function_starts_the_single_function_rollout(account, capsys):
    _change(account, WORKER)
    assert _release(account, "--stack", STACK) == 0
    err = capsys.readouterr().err
    assert f"{API}: nothing to roll out, live already serves version 1" in err
    (execution,) = _executions(account)
    # The name `rollout release --function orders-worker` gives it: the two meet.
    assert execution["name"] == release_name(WORKER, "live", "2")
    assert json.loads(execution["input"]) == {
        "functionName": WORKER,
        "alias": "live",
        "targetVersion": "2",
        "strategy": "Linear10PercentEvery1Minute",
        "alarms": ["orders-worker-errors", "orders-api-errors"],
        "timeScale": 0.05,
    }


def test_flags_win_over_tags(account, capsys):
    _change(account, API, WORKER)
    flags = ("--alarms", "release-errors", "--time-scale", "1", "--hook", "release-hook")
    assert _release(account, "--stack", STACK, *flags) == 0
    (execution,) = _executions(account)
    document = json.loads(execution["input"])
    assert document["alarms"] == ["release-errors"] and document["timeScale"] == 1
    for entry in document["functions"]:
        assert entry["preTraffic"] == entry["postTraffic"] == {"hookFunction": "release-hook"}


def test_checks_from_flags_add_to_each_functions_own(account, capsys, tmp_path):
    _change(account, API, WORKER)
    options = tmp_path / "input.json"
    options.write_text(json.dumps({"health": {"minInvocations": 3}, "postTraffic": False}))
    flags = ("--pre-traffic-payload", '{"dryRun": true}', "--input", str(options))
    assert _release(account, "--stack", STACK, *flags) == 0
    (execution,) = _executions(account)
    document = json.loads(execution["input"])
    assert document["health"] == {"minInvocations": 3}
    api, worker = document["functions"]
    assert api["preTraffic"] == {"hookFunction": SMOKE, "payload": {"dryRun": True}}
    assert worker["preTraffic"] == {"payload": {"dryRun": True}}
    assert api["postTraffic"] is False and worker["postTraffic"] is False


def test_nested_settings_from_tags_and_flags_merge_key_by_key(account, capsys):
    lam = account["lambda"]
    for function in (API, WORKER):
        arn = lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
        lam.tag_resource(Resource=arn, Tags={"rollout:error-rate-percent": "2"})
    _change(account, API, WORKER)
    assert _release(account, "--stack", STACK, "--min-invocations", "7") == 0
    (execution,) = _executions(account)
    health = json.loads(execution["input"])["health"]
    assert health == {"errorRatePercent": 2.0, "minInvocations": 7}


def test_all_functions_with_an_alias_rolls_untagged_functions_too(account, capsys):
    lam = account["lambda"]
    lam.create_alias(
        FunctionName=SMOKE,
        Name="live",
        FunctionVersion=lam.publish_version(FunctionName=SMOKE)["Version"],
    )
    _change(account, API, SMOKE)
    assert _release(account, "--stack", STACK, "--all-functions", "--alias", "live") == 0
    (execution,) = _executions(account)
    entries = json.loads(execution["input"])["functions"]
    assert [(e["functionName"], e["targetVersion"]) for e in entries] == [(API, "2"), (SMOKE, "2")]


def test_tags_that_disagree_need_a_flag(account, capsys):
    account["lambda"].tag_resource(
        Resource=account["lambda"].get_function(FunctionName=WORKER)["Configuration"][
            "FunctionArn"
        ],
        Tags={"rollout:strategy": "Canary10Percent5Minutes"},
    )
    _change(account, API, WORKER)
    assert _release(account, "--stack", STACK) == 2
    err = capsys.readouterr().err
    assert "rollout:strategy tags disagree" in err and "Canary10Percent5Minutes" in err
    assert _executions(account) == []
    assert _release(account, "--stack", STACK, "--strategy", "AllAtOnce") == 0
    (execution,) = _executions(account)
    assert json.loads(execution["input"])["strategy"] == "AllAtOnce"


def test_a_version_published_without_the_marker_is_rolled_out_with_a_warning(account, capsys):
    _change(account, API, WORKER)
    account["lambda"].publish_version(FunctionName=API)  # by hand: EventBridge may roll it out
    assert _release(account, "--stack", STACK) == 0
    err = capsys.readouterr().err
    assert f"{API}: warning: version 2 was published before without the" in err
    assert f"{WORKER}: warning" not in err
    assert len(_executions(account)) == 1


# -- what it refuses, with nothing published -------------------------------------------


def _nothing_published(account: dict[str, Any]) -> None:
    assert _executions(account) == []
    for function in (API, WORKER):
        assert [v["Version"] for v in _versions(account, function)] == ["1"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--stack", "no-such-stack"), "stack 'no-such-stack' not found in us-east-1"),
        (("--stack", STACK, "--function", API), "--stack and --function are exclusive"),
        (("--function", API, "--alias", "live", "--all-functions"), "--all-functions goes with"),
        (("--stack", STACK, "--all-functions"), f"no alias for {SMOKE} (no rollout:alias tag)"),
        (
            ("--stack", STACK, "--all-functions", "--alias", "live"),
            f"alias not found: {SMOKE}:live",
        ),
        (("--stack", STACK, "--alias", "prod"), f"alias not found: {API}:prod, {WORKER}:prod"),
    ],
)
def test_bad_requests_exit_2_with_nothing_published(account, capsys, flags, message):
    _change(account, API, WORKER)
    assert _release(account, *flags) == 2
    assert message in capsys.readouterr().err
    _nothing_published(account)


@pytest.mark.parametrize("key", ["functions", "functionName", "targetVersion"])
def test_input_naming_functions_or_versions_is_refused(account, capsys, tmp_path, key):
    document = tmp_path / "input.json"
    document.write_text(json.dumps({key: [] if key == "functions" else "3"}))
    _change(account, API, WORKER)
    assert _release(account, "--stack", STACK, "--input", str(document)) == 2
    assert f"drop {key} from --input" in capsys.readouterr().err
    _nothing_published(account)


def test_a_bad_tag_is_refused_before_publishing(account, capsys):
    arn = account["lambda"].get_function(FunctionName=API)["Configuration"]["FunctionArn"]
    account["lambda"].tag_resource(Resource=arn, Tags={"rollout:time-scale": "fast"})
    _change(account, API, WORKER)
    assert _release(account, "--stack", STACK) == 2
    assert f"{API}: tag rollout:time-scale: 'fast' is not valid" in capsys.readouterr().err
    _nothing_published(account)


def test_a_tag_prepare_would_refuse_is_refused_before_publishing(account, capsys):
    arn = account["lambda"].get_function(FunctionName=API)["Configuration"]["FunctionArn"]
    account["lambda"].tag_resource(
        Resource=arn, Tags={"rollout:strategy": "Linear10PercentEvery1Minutes"}
    )
    _change(account, API, WORKER)
    assert _release(account, "--stack", STACK, "--strategy", "AllAtOnce") == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"rollout: {API}: from its rollout:* tags: strategy: unknown preset "
        "'Linear10PercentEvery1Minutes'; use one of AllAtOnce,"
    )
    _nothing_published(account)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--strategy", "Linear10PercentEvery1Minutes"), "strategy: unknown preset"),
        (("--time-scale", "0"), "timeScale: Input should be greater than 0"),
        (("--alias", "123"), "alias: an alias name can't be all digits (that is a version)"),
    ],
)
def test_flags_prepare_would_refuse_are_refused_before_publishing(account, capsys, flags, message):
    _change(account, API, WORKER)
    assert _release(account, "--stack", STACK, *flags) == 2
    assert capsys.readouterr().err.startswith(f"rollout: InvalidRolloutRequest: {message}")
    _nothing_published(account)


def test_release_entries_prepare_refuses_together_start_nothing(account, capsys):
    """Each entry's check payload fits, the changed functions' together don't: found once
    the stack says which changed (after publishing, as stack.py says), before starting."""
    _change(account, API, WORKER)
    payload = json.dumps("x" * 20_000)
    assert _release(account, "--stack", STACK, "--pre-traffic-payload", payload) == 2
    assert capsys.readouterr().err.endswith(
        "\nrollout: InvalidRolloutRequest: functions: the entries' payload and expect take "
        "40038 bytes of JSON together; at most 32768 (the plan carries them through every "
        "state)\n"
    )
    assert _executions(account) == []


def test_a_stack_with_no_tagged_function_is_refused(account, capsys):
    lam = account["lambda"]
    for function in (API, WORKER):
        arn = lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
        lam.untag_resource(Resource=arn, TagKeys=["rollout:alias"])
    assert _release(account, "--stack", STACK) == 2
    err = capsys.readouterr().err
    assert f"stack '{STACK}' has no function tagged rollout:alias" in err
    assert "--all-functions --alias A" in err
    _nothing_published(account)


def test_an_alias_the_template_moves_is_refused_and_the_unrolled_code_named(account, capsys):
    """`AutoPublishAlias: live` kept after dropping DeploymentPreference: CloudFormation moved
    `live` to the new code itself. Said, with the fix, instead of "nothing to roll out"."""
    cfn, lam = boto3.client("cloudformation"), account["lambda"]
    template = dict(cfn.get_template(StackName=STACK)["TemplateBody"])
    template["Resources"]["ApiVersion"] = {
        "Type": "AWS::Lambda::Version",
        "Properties": {"FunctionName": {"Ref": "OrdersApi"}},
    }
    template["Resources"]["OrdersApiAliaslive"] = {
        "Type": "AWS::Lambda::Alias",
        "Properties": {
            "FunctionName": {"Ref": "OrdersApi"},
            "Name": "live",
            "FunctionVersion": {"Fn::GetAtt": ["ApiVersion", "Version"]},
        },
    }
    cfn.update_stack(StackName=STACK, TemplateBody=json.dumps(template))
    # what the deploy did: new code, published, live moved to it
    lam.update_function_code(FunctionName=API, ZipFile=code_zip({"index.py": "# release 2\n"}))
    lam.publish_version(FunctionName=API)
    lam.update_alias(FunctionName=API, Name="live", FunctionVersion="2")
    assert _release(account, "--stack", STACK) == 2
    err = capsys.readouterr().err
    assert f"{API}:live is moved by stack {STACK}'s template on every deploy" in err
    assert "resource OrdersApiAliaslive" in err and "AutoPublishAlias: released" in err
    assert f"it already did: {API}:live serves version 2, new code since version 1" in err
    assert [v["Version"] for v in _versions(account, WORKER)] == ["1"]  # nothing published


def test_a_stack_with_no_functions_is_refused(account, capsys):
    boto3.client("cloudformation").create_stack(
        StackName="queues",
        TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}),
    )
    assert _release(account, "--stack", "queues") == 2
    assert "stack 'queues' has no Lambda functions" in capsys.readouterr().err


def test_more_changed_functions_than_a_release_takes_are_refused(account, capsys):
    lam, cfn = account["lambda"], boto3.client("cloudformation")
    role = boto3.client("iam").get_role(RoleName="orders")["Role"]["Arn"]
    names = [f"fn-{index}" for index in range(11)]
    resources = {f"Fn{index}": _function(name, role) for index, name in enumerate(names)}
    cfn.create_stack(StackName="big", TemplateBody=json.dumps({"Resources": resources}))
    for name in names:
        version = lam.publish_version(FunctionName=name)["Version"]
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    _change(account, *names)
    assert _release(account, "--stack", "big", "--all-functions", "--alias", "live") == 2
    assert "11 functions changed; one release rolls out at most 10" in capsys.readouterr().err
    assert _executions(account) == []


# -- names -------------------------------------------------------------------------------


def test_a_stack_release_name_is_the_same_for_the_same_changes_in_any_order():
    changes = [(API, "live", "2"), (WORKER, "live", "5")]
    name = stack_release_name(STACK, changes)
    assert re.fullmatch(r"release-orders-app-[0-9a-f]{8}", name), name
    assert name == stack_release_name(STACK, changes[::-1])
    assert name != stack_release_name(STACK, [(API, "live", "2"), (WORKER, "live", "6")])
    assert name != stack_release_name("other", changes)
    assert name != stack_release_name(STACK, [*changes, ("orders-cron", "live", "1")])


@pytest.mark.parametrize("stack_name", ["s", "x" * 128, "arn-like:stack/name"])
def test_stack_release_names_are_valid_execution_names(stack_name):
    name = stack_release_name(stack_name, [(API, "live", "2"), (WORKER, "live", "3")])
    assert EXECUTION_NAME.match(name) and len(name) <= MAX_NAME, name
