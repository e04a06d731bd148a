"""rollout/aws.py: finding the state machine, and errors that say what to do."""

from __future__ import annotations

import argparse
import os
import re

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber
from rollout_core import clients as core_clients

from rollout.aws import (
    AwsContext,
    CliError,
    as_cli_error,
    aws_errors,
    core_clients_of,
    execution_arn,
    execution_region,
    find_state_machine,
)
from rollout.cli import main

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:rollout-abc"


@pytest.fixture
def aws(monkeypatch) -> AwsContext:
    monkeypatch.delenv("ROLLOUT_STATE_MACHINE_ARN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return AwsContext(region="us-east-1")


def stubbed_cloudformation(aws: AwsContext) -> Stubber:
    stubber = Stubber(aws.client("cloudformation"))
    stubber.activate()
    return stubber


def test_explicit_arn_wins_then_the_environment(aws, monkeypatch):
    monkeypatch.setenv("ROLLOUT_STATE_MACHINE_ARN", "arn:from:env")

    assert find_state_machine(aws, MACHINE) == MACHINE
    assert find_state_machine(aws) == "arn:from:env"


def test_stack_output_is_the_fallback(aws):
    stubber = stubbed_cloudformation(aws)
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "rollout",
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": "RolloutStateMachineArn", "OutputValue": MACHINE}],
                }
            ]
        },
        {"StackName": "rollout"},
    )

    assert find_state_machine(aws) == MACHINE
    stubber.assert_no_pending_responses()


def test_missing_stack_says_the_three_ways_to_name_the_state_machine(aws):
    stubber = stubbed_cloudformation(aws)
    stubber.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id rollout does not exist"
    )

    with pytest.raises(CliError) as error:
        find_state_machine(aws)

    message = str(error.value)
    assert "--state-machine" in message and "ROLLOUT_STATE_MACHINE_ARN" in message
    assert "rollout local up" in message


def test_execution_arn_from_a_name():
    assert execution_arn(MACHINE, "run-7") == (
        "arn:aws:states:us-east-1:123456789012:execution:rollout-abc:run-7"
    )
    assert execution_arn(MACHINE, "arn:x") == "arn:x"
    with pytest.raises(CliError):
        execution_arn("not-an-arn", "run-7")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NoCredentialsError(), "no AWS credentials found"),
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:4566"),
            "cannot reach http://127.0.0.1:4566",
        ),
        (
            ClientError({"Error": {"Code": "StateMachineDoesNotExist", "Message": "m"}}, "Op"),
            "state machine not found (m)",
        ),
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Op"),
            "AWS refused the credentials in use",
        ),
    ],
)
def test_errors_are_translated(error, expected):
    assert expected in str(as_cli_error(error))


def test_an_unreachable_endpoint_is_reported_as_such():
    client = boto3.client(
        "stepfunctions",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )

    with pytest.raises(CliError, match=re.escape("cannot reach http://127.0.0.1:9")), aws_errors():
        client.list_state_machines()


def test_no_credentials_exit_1_with_a_hint(monkeypatch, tmp_path, capsys):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    assert main(["watch", MACHINE.replace("stateMachine", "execution") + ":x", "--once"]) == 1
    assert "no AWS credentials found" in capsys.readouterr().err


EU_ARN = "arn:aws:states:eu-west-1:123456789012:execution:rollout:waves-1-w2-t1"


def test_a_command_naming_an_execution_arn_calls_its_region():
    """The watch command a pipeline view prints for a target in another Region works as
    printed: the ARN's Region, unless --region names it."""
    args = argparse.Namespace(execution=EU_ARN, region=None, profile=None)
    assert execution_region(args) == "eu-west-1"
    named = argparse.Namespace(execution="run-1", region=None, profile=None)
    assert execution_region(named) is None  # the chain's


def test_a_region_that_contradicts_the_execution_arn_is_refused():
    args = argparse.Namespace(execution=EU_ARN, region="us-east-1", profile=None)
    with pytest.raises(CliError, match="is in eu-west-1, not in --region us-east-1") as refused:
        execution_region(args)
    assert refused.value.exit_code == 2


@pytest.mark.parametrize("command", [["watch", "--once"], ["report"], ["analyze"]])
def test_every_command_naming_an_execution_refuses_a_contradicting_region(command, capsys):
    """`analyze` too: a target's ARN printed by a pipeline view is read in its own Region."""
    name, *flags = command
    assert main([name, EU_ARN, *flags, "--region", "us-east-1"]) == 2
    assert "is in eu-west-1, not in --region us-east-1" in capsys.readouterr().err


def test_the_cores_clients_are_in_the_commands_region(monkeypatch):
    """`analyze` and `prune` run rollout_core's code: its clients in the Region the command
    was given (boto3 reads AWS_DEFAULT_REGION; AWS_REGION is Lambda's and not read)."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with core_clients_of(AwsContext("eu-west-1"), {"TELEMETRY_TABLE": "telemetry"}):
        assert core_clients.client("dynamodb").meta.region_name == "eu-west-1"
        assert os.environ["TELEMETRY_TABLE"] == "telemetry"
    assert "TELEMETRY_TABLE" not in os.environ
