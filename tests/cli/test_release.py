"""`rollout release`: its execution names, and the releases that start nothing.
The rollouts it starts run on the local cloud in tests/local/test_release_acceptance.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from rollout.cli import main
from rollout.commands.release import MAX_NAME, function_name, release_name
from rollout.samples import code_zip

# What StartExecution accepts and CloudWatch Logs can log: 1-80 of these characters.
EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


# -- names ---------------------------------------------------------------------------------


def test_the_name_reads_as_function_alias_and_version():
    name = release_name("orders", "live", "7")
    assert re.fullmatch(r"release-orders-live-v7-[0-9a-f]{8}", name), name
    assert name == release_name("orders", "live", "7")  # deterministic


def test_an_arn_names_the_same_release_as_the_name():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    assert release_name(arn, "live", "7") == release_name("orders", "live", "7")
    assert function_name(arn) == function_name(f"{arn}:live") == "orders"
    assert function_name("123456789012:function:orders") == "orders"
    assert function_name("function") == "function"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("a-b", "c", "1"), ("a", "b-c", "1")),  # read alike
        (("orders", "live", "7"), ("orders", "live", "17")),
        (("orders", "live", "7"), ("orders", "prod", "7")),
        (("x" * 64, "live", "7"), ("x" * 63 + "y", "live", "7")),  # cut to the same head
    ],
)
def test_different_releases_get_different_names(a, b):
    assert release_name(*a) != release_name(*b)


@pytest.mark.parametrize(
    ("function", "alias", "version"),
    [
        ("f", "a", "1"),
        ("f" * 64, "live", "1"),
        ("f" * 64, "a" * 128, "123456"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:" + "g" * 64, "live", "99"),
    ],
)
def test_names_are_valid_execution_names_and_keep_the_version(function, alias, version):
    name = release_name(function, alias, version)
    assert EXECUTION_NAME.match(name), name
    assert len(name) <= MAX_NAME
    assert f"-v{version}-" in name


# -- runs against moto: what happens before anything starts ------------------------------


@pytest.fixture
def account(no_cloud, monkeypatch) -> Iterator[dict[str, Any]]:
    """A function `orders` with version 1 behind `live`, and a state machine."""
    for key in ("ROLLOUT_STATE_MACHINE_ARN", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        iam, lam = boto3.client("iam"), boto3.client("lambda")
        sfn = boto3.client("stepfunctions")
        role = iam.create_role(RoleName="orders", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam.create_function(
            FunctionName="orders",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code_zip({"app.py": b"def handler(event, context):\n    return 1\n"})},
        )
        version = lam.publish_version(FunctionName="orders")["Version"]
        lam.create_alias(FunctionName="orders", Name="live", FunctionVersion=version)
        machine = sfn.create_state_machine(name="rollout", definition=PASS_MACHINE, roleArn=role)
        yield {"lambda": lam, "sfn": sfn, "machine": machine["stateMachineArn"]}


def _release(account: dict[str, Any], *flags: str) -> int:
    return main(["release", "--state-machine", account["machine"], *flags])


def test_nothing_changed_since_the_live_version_rolls_out_nothing(account, capsys):
    code = _release(account, "--function", "orders", "--alias", "live", "--watch")
    out, err = capsys.readouterr()
    assert code == 0
    assert out == ""  # no execution ARN: none was started
    assert "nothing to roll out: live already serves version 1 of orders" in err
    assert account["sfn"].list_executions(stateMachineArn=account["machine"])["executions"] == []
    versions = account["lambda"].list_versions_by_function(FunctionName="orders")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]  # the publish made no new one


def test_a_missing_alias_exits_2_before_publishing(account, capsys):
    assert _release(account, "--function", "orders", "--alias", "prod") == 2
    assert "function 'orders' with alias 'prod' not found" in capsys.readouterr().err
    versions = account["lambda"].list_versions_by_function(FunctionName="orders")["Versions"]
    assert len(versions) == 2


def test_a_target_version_in_the_input_is_refused(account, tmp_path, capsys):
    document = tmp_path / "input.json"
    document.write_text(json.dumps({"functionName": "orders", "alias": "live", "targetVersion": 3}))
    assert _release(account, "--input", str(document)) == 2
    assert "release rolls out the version it publishes" in capsys.readouterr().err


def test_a_list_of_functions_in_the_input_is_refused(account, tmp_path, capsys):
    document = tmp_path / "input.json"
    entries = [{"functionName": "orders", "alias": "live"}, {"functionName": "b", "alias": "live"}]
    document.write_text(json.dumps({"functions": entries}))
    assert _release(account, "--input", str(document)) == 2
    assert "drop functions from --input" in capsys.readouterr().err
    versions = account["lambda"].list_versions_by_function(FunctionName="orders")["Versions"]
    assert len(versions) == 2


def test_release_takes_no_version_or_name(capsys):
    for flag in ("--version", "--name"):
        with pytest.raises(SystemExit) as exited:
            main(["release", "--function", "orders", "--alias", "live", flag, "3"])
        assert exited.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_a_new_version_starts_one_rollout_named_after_it(account, capsys):
    account["lambda"].update_function_configuration(
        FunctionName="orders", Environment={"Variables": {"RELEASE": "2"}}
    )
    flags = ("--function", "orders", "--alias", "live", "--strategy", "AllAtOnce")
    assert _release(account, *flags) == 0
    first = capsys.readouterr()
    name = release_name("orders", "live", "2")
    assert first.out.strip().endswith(f":{name}")
    assert "published version 2" in first.err
    started = account["sfn"].describe_execution(executionArn=first.out.strip())
    assert json.loads(started["input"]) == {
        "functionName": "orders",
        "alias": "live",
        "strategy": "AllAtOnce",
        "targetVersion": "2",
    }
    # Again with nothing changed (other flags even): the same version, so the same execution
    # name; StartExecution refuses it and release reports the rollout already started.
    assert _release(account, "--function", "orders", "--alias", "live") == 0
    again = capsys.readouterr()
    assert again.out.splitlines()[0] == first.out.strip()
    assert f"version 2 was released before; its rollout is {name}" in again.err
    executions = account["sfn"].list_executions(stateMachineArn=account["machine"])
    assert [e["name"] for e in executions["executions"]] == [name]
