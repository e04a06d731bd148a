"""`rollout start` flags and --input → the console input document; bad input → exit 2
before anything talks to AWS."""

from __future__ import annotations

import json

import pytest

from rollout.cli import build_parser, main
from rollout.commands.start import build_input

BASE = ["start", "--function", "orders", "--alias", "live"]


def input_for(*flags: str) -> dict:
    return build_input(build_parser().parse_args([*BASE, *flags]))


@pytest.fixture(autouse=True)
def no_aws(monkeypatch):
    """Invalid input must be refused locally: any AWS call here would be a bug."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_minimal_input_has_only_the_given_keys():
    assert input_for() == {"functionName": "orders", "alias": "live"}


def test_every_flag_maps_to_the_contracts_camel_case_keys():
    document = input_for(
        "--version",
        "4",
        "--strategy",
        "Linear10PercentEvery1Minute",
        "--alarms",
        "a,b",
        "--alarms",
        " c ",
        "--time-scale",
        "0.01",
        "--check-interval",
        "1",
        "--bake-seconds",
        "30",
        "--error-rate-percent",
        "2.5",
        "--min-invocations",
        "5",
        "--ignore-firing-alarms",
        "--pre-traffic-payload",
        '{"ping": true}',
        "--post-traffic-payload",
        "[1, 2]",
        "--hook",
        "orders-hook",
        "--bypass",
        "warn",
    )

    assert document == {
        "functionName": "orders",
        "alias": "live",
        "targetVersion": "4",
        "retryRolledBack": True,  # naming the version asks for it (rollout_core.rolled_back)
        "strategy": "Linear10PercentEvery1Minute",
        "alarms": ["a", "b", "c"],
        "ignoreFiringAlarms": True,
        "timeScale": 0.01,
        "checkIntervalSeconds": 1,
        "bakeSeconds": 30,
        "bypass": "warn",
        "health": {"errorRatePercent": 2.5, "minInvocations": 5},
        "preTraffic": {"payload": {"ping": True}, "hookFunction": "orders-hook"},
        "postTraffic": {"payload": [1, 2], "hookFunction": "orders-hook"},
    }
    json.dumps(document)  # it is what StartExecution receives


def test_strategy_json_object():
    steps = {"steps": [{"percentage": 1, "waitSeconds": 60}, {"percentage": 25, "waitSeconds": 60}]}
    assert input_for("--strategy", json.dumps(steps))["strategy"] == steps


def test_flags_override_the_input_file_and_merge_nested_objects(tmp_path):
    file = tmp_path / "input.json"
    file.write_text(
        json.dumps(
            {
                "functionName": "other",
                "alias": "live",
                "strategy": "AllAtOnce",
                "health": {"errorRatePercent": 1, "lowTraffic": "fail"},
                "preTraffic": False,
            }
        )
    )

    document = build_input(
        build_parser().parse_args(
            [
                "start",
                "--input",
                str(file),
                "--function",
                "orders",
                "--min-invocations",
                "0",
                "--pre-traffic-payload",
                "{}",
            ]
        )
    )

    assert document == {
        "functionName": "orders",
        "alias": "live",
        "strategy": "AllAtOnce",
        "health": {"errorRatePercent": 1, "lowTraffic": "fail", "minInvocations": 0},
        "preTraffic": {"payload": {}},
    }


def test_input_file_keys_pass_through_for_the_workflow_to_judge(tmp_path):
    file = tmp_path / "input.json"
    file.write_text(
        json.dumps(
            {
                "functionName": "orders",
                "alias": "live",
                "insufficientData": "fail",
                "somethingNew": 1,
            }
        )
    )

    document = build_input(build_parser().parse_args(["start", "--input", str(file)]))

    assert document["insufficientData"] == "fail" and document["somethingNew"] == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--strategy", "{not json"], "--strategy is not valid JSON"),
        (["--pre-traffic-payload", "{"], "--pre-traffic-payload is not valid JSON"),
        (["--post-traffic-payload", "nope"], "--post-traffic-payload is not valid JSON"),
        (["--version", "$LATEST"], "targetVersion: $LATEST can't take weighted traffic"),
    ],
)
def test_bad_values_exit_2_with_a_clear_message(flags, message, capsys):
    assert main([*BASE, *flags]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "is not valid JSON"),
        ("[]", "must hold a JSON object"),
        ('{"alias": "live"}', "InvalidRolloutRequest: functionName: required"),
        (
            '{"functionName": "f", "alias": "live", "timeScale": "fast"}',
            "timeScale: Input should be a valid number",
        ),
        (
            '{"functionName": "f", "alias": "live", "alarms": "a,b"}',
            "alarms: Input should be a valid list",
        ),
        (
            '{"functionName": "f", "alias": "live", "alarms": [1]}',
            "alarms.0: Input should be a valid string",
        ),
        (
            '{"functionName": "f", "alias": "live", "ignoreFiringAlarms": "yes"}',
            "ignoreFiringAlarms: Input should be a valid boolean",
        ),
        (
            '{"functionName": "f", "alias": "live", "bakeSeconds": true}',
            "bakeSeconds: Input should be a valid integer",
        ),
        (
            '{"functionName": "f", "alias": "live", "health": {"minInvocations": 1.5}}',
            "health.minInvocations: Input should be a valid integer",
        ),
        (
            '{"functionName": "f", "alias": "live", "preTraffic": "yes"}',
            'preTraffic: an object {"payload", "expect", "hookFunction"} or false',
        ),
    ],
)
def test_bad_input_files_exit_2(content, message, tmp_path, capsys):
    file = tmp_path / "input.json"
    file.write_text(content)

    assert main(["start", "--input", str(file)]) == 2
    assert message in capsys.readouterr().err


def test_missing_input_file_exits_2(tmp_path, capsys):
    assert main(["start", "--input", str(tmp_path / "nope.json")]) == 2
    assert "cannot read --input" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags",
    [
        ["--time-scale", "fast"],
        ["--check-interval", "1.5"],
        ["--min-invocations", "x"],
        ["--bogus"],
    ],
)
def test_flags_of_the_wrong_type_exit_2(flags, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*BASE, *flags])

    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["start", "--help"])

    out = capsys.readouterr().out
    assert "InvalidRolloutRequest" in out and "RolloutInProgress" in out
