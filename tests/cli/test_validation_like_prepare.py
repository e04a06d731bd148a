"""`rollout start`, `release` and `plan` refuse what Prepare refuses without the account,
by Prepare's own code (rollout_core.validation): exit 2 with Prepare's message, before
anything starts. On the local cloud, so the deployed Prepare is asked the same question
and must answer with the very same message (the two can't drift), and ListExecutions
proves nothing started."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollout import samples
from rollout.cli import build_parser, main
from rollout.commands.start import build_input
from rollout.samples import lambda_role

pytestmark = pytest.mark.cloud

FUNCTION = "cli-validation"
OTHER = "cli-validation-other"
ALIAS = "live"
TARGET = ["--function", FUNCTION, "--alias", ALIAS]

# (case, flags or an --input document, Prepare's message), each refused without the account
REFUSED: list[tuple[str, list[str] | dict[str, Any], str]] = [
    (
        "misspelled preset",
        ["--strategy", "Linear10PercentEvery1Minutes"],
        "strategy: unknown preset 'Linear10PercentEvery1Minutes'; use one of AllAtOnce, "
        "Canary10Percent5Minutes, Canary10Percent10Minutes, Canary10Percent15Minutes, "
        "Canary10Percent30Minutes, Linear10PercentEvery1Minute, Linear10PercentEvery2Minutes, "
        "Linear10PercentEvery3Minutes, Linear10PercentEvery10Minutes",
    ),
    (
        "a step of 120 %",
        ["--strategy", '{"steps": [{"percentage": 120, "waitSeconds": 60}]}'],
        "strategy.steps.0.percentage: Input should be less than or equal to 99.99",
    ),
    ("time scale 0", ["--time-scale", "0"], "timeScale: Input should be greater than 0"),
    (
        "keepVersions",
        {"keepVersions": -1},
        "keepVersions: Input should be greater than or equal to 0",
    ),
    ("health.logs", {"health": {"logs": "yes"}}, "health.logs: Input should be a valid boolean"),
    (
        "a latency confidence of 1",
        {"health": {"latency": {"confidence": 1}}},
        "health.latency.confidence: Input should be less than or equal to 0.9999",
    ),
    (
        "latency neither an object nor a switch",
        {"health": {"latency": "on"}},
        'health.latency: an object {"maxIncreasePercent", "confidence"}, true or false',
    ),
    (
        "an unknown inconclusive policy",
        {"health": {"inconclusive": "wait"}},
        "health.inconclusive: Input should be 'extend', 'pause' or 'proceed'",
    ),
    (
        "too many steps (planned from the strategy)",
        ["--strategy", '{"type": "linear", "percentage": 0.5, "intervalSeconds": 60}'],
        "strategy: 199 steps; at most 100",
    ),
    (
        "approval gates that outlast the execution",
        [
            "--strategy",
            "Linear10PercentEvery10Minutes",
            "--approval",
            "each-step",
            "--approval-timeout",
            "86400",
        ],
        "approval: 9 gate(s) of up to 86400 s on top of the waits could take 783000 s; an "
        "execution may take at most 259200 s: shorten approval.timeoutSeconds or gate fewer "
        "steps",
    ),
    (
        "a check payload over 32 KB",
        ["--pre-traffic-payload", json.dumps("x" * 40_000)],
        "preTraffic: payload and expect take 40010 bytes of JSON; at most 32768 (the plan "
        "carries them through every state)",
    ),
]
RELEASE_ENTRY = {
    "functions": [
        {"functionName": FUNCTION, "alias": ALIAS},
        {"functionName": OTHER, "alias": "123"},
    ]
}
RELEASE_ENTRY_MESSAGE = "functions.1.alias: an alias name can't be all digits (that is a version)"
IDS = [case for case, _, _ in REFUSED]


@pytest.fixture(scope="module")
def env(cloud: Any) -> Iterator[None]:
    """Point the CLI at the local cloud the way a user would: environment variables only."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in cloud.client_env().items():
            patch.setenv(key, value)
        patch.delenv("ROLLOUT_STATE_MACHINE_ARN", raising=False)
        yield


@pytest.fixture(scope="module")
def world(cloud: Any, env: None) -> dict[str, Any]:
    """Two functions, version 1 live behind the alias; the state machine and Prepare."""
    role = lambda_role(cloud.client("iam"), "cli-validation")
    lam = cloud.client("lambda")
    for name in (FUNCTION, OTHER):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": samples.code_zip({"app.py": "def handler(e, c):\n    return 1\n"})},
        )
        version = lam.publish_version(FunctionName=name)["Version"]
        lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
    lam.update_function_configuration(  # $LATEST differs: a release would publish version 2
        FunctionName=FUNCTION, Environment={"Variables": {"BUILD": "2"}}
    )
    return {
        "lambda": lam,
        "sfn": cloud.client("stepfunctions"),
        "machine": cloud.stack_outputs["RolloutStateMachineArn"],
        "prepare": cloud.stack_outputs["PrepareFunctionName"],
    }


def _arguments(given: list[str] | dict[str, Any], tmp_path: Path) -> list[str]:
    if isinstance(given, list):
        return [*TARGET, *given]
    document = tmp_path / "input.json"
    document.write_text(json.dumps(given))
    return ["--input", str(document), *([] if "functions" in given else TARGET)]


def _executions(world: dict[str, Any]) -> set[str]:
    pages = world["sfn"].get_paginator("list_executions").paginate(stateMachineArn=world["machine"])
    return {execution["executionArn"] for page in pages for execution in page["executions"]}


def _started_since(world: dict[str, Any], before: set[str]) -> list[str]:
    """Executions started since `before` that name this module's functions (another test's
    rollout may start meanwhile: EventBridge starts one a moment after a publish)."""
    sfn = world["sfn"]
    return [
        arn
        for arn in sorted(_executions(world) - before)
        if FUNCTION in sfn.describe_execution(executionArn=arn)["input"]
    ]


def _versions(world: dict[str, Any]) -> list[str]:
    listed = world["lambda"].list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    return [version["Version"] for version in listed]


def _prepare_says(world: dict[str, Any], document: dict[str, Any]) -> str:
    """What the deployed Prepare answers `rollout plan`'s question (a dry run)."""
    payload = {"input": {**document, "dryRun": True}, "executionId": "validation-test"}
    reply = world["lambda"].invoke(FunctionName=world["prepare"], Payload=json.dumps(payload))
    body = json.loads(reply["Payload"].read())
    assert reply.get("FunctionError") and body["errorType"] == "InvalidRolloutRequest", body
    return str(body["errorMessage"])


def _refused(
    world: dict[str, Any], capsys: Any, command: str, arguments: list[str], message: str
) -> None:
    """`rollout COMMAND …` exits 2 with Prepare's message, and starts nothing."""
    before, versions = _executions(world), _versions(world)
    code = main([command, *arguments])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert err == f"rollout: InvalidRolloutRequest: {message}\n"
    assert out == ""  # no execution ARN
    assert _started_since(world, before) == []
    assert _versions(world) == versions  # `release` published nothing


@pytest.mark.parametrize(("case", "given", "message"), REFUSED, ids=IDS)
def test_prepare_refuses_each_case_with_this_message(world, tmp_path, case, given, message):
    document = build_input(build_parser().parse_args(["start", *_arguments(given, tmp_path)]))
    assert _prepare_says(world, document) == message


@pytest.mark.parametrize("command", ["start", "plan", "release"])
@pytest.mark.parametrize(("case", "given", "message"), REFUSED, ids=IDS)
def test_each_command_refuses_it_with_prepares_message_before_starting(
    world, capsys, tmp_path, command, case, given, message
):
    _refused(world, capsys, command, _arguments(given, tmp_path), message)


def test_prepare_refuses_a_bad_release_entry_with_this_message(world):
    assert _prepare_says(world, RELEASE_ENTRY) == RELEASE_ENTRY_MESSAGE


@pytest.mark.parametrize("command", ["start", "plan"])
def test_a_bad_release_entry_is_refused_before_starting(world, capsys, tmp_path, command):
    _refused(world, capsys, command, _arguments(RELEASE_ENTRY, tmp_path), RELEASE_ENTRY_MESSAGE)
