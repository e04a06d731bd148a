"""Acceptance: `rollout local up --metric-delay 60` in its own process, used as a user would
(AWS_ENDPOINT_URL, fake credentials, the AWS CLI and `rollout start --watch`).

With AWS's delays, an invocation's metrics are not readable for a minute or more, while
its log events are readable in the function's log group within seconds; a faulty release
is then rolled back by the logs signal, before any metric could have told."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rollout.samples import Traffic, code_zip
from tests.local.served import REPO, aws, client, served_cloud

pytestmark = pytest.mark.cloud
HANDLER = """
import os


def handler(event, context):
    if os.environ.get("FAIL"):
        raise RuntimeError("release 2 is broken")
    return {"version": context.function_version}
"""
POLL, DEADLINE = 0.5, 60.0


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    with served_cloud("--metric-delay", "60") as env:
        yield env


def _function(env: dict[str, str], name: str) -> tuple[str, str]:
    """`name` v1 (healthy) behind `live`, v2 (failing every request) published."""
    lam, iam = client(env, "lambda"), client(env, "iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": HANDLER})},
    )
    first = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=first)
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"FAIL": "1"}})
    return first, lam.publish_version(FunctionName=name)["Version"]


def _invocations(env: dict[str, str], name: str, version: str) -> float:
    result = client(env, "cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "inv",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Invocations",
                        "Dimensions": [
                            {"Name": "FunctionName", "Value": name},
                            {"Name": "Resource", "Value": f"{name}:live"},
                            {"Name": "ExecutedVersion", "Value": version},
                        ],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=time.time() - 600,
        EndTime=time.time() + 60,
    )
    return float(sum(result["MetricDataResults"][0]["Values"]))


def _report_lines(env: dict[str, str], name: str) -> list[Any]:
    """The REPORT lines `aws logs filter-log-events` shows for the function (none while
    its log group doesn't exist yet: Lambda creates it with its first events)."""
    try:
        out = aws(
            env,
            "logs",
            "filter-log-events",
            "--log-group-name",
            f"/aws/lambda/{name}",
            "--start-time",
            str(int(time.time() * 1000) - 600_000),
        )
    except subprocess.CalledProcessError as error:
        assert "ResourceNotFoundException" in error.stderr, error.stderr
        return []
    return [e for e in json.loads(out)["events"] if e["message"].startswith("REPORT ")]


def test_logs_are_readable_in_seconds_while_the_metrics_are_held(served):
    stable, _ = _function(served, "delayed-logs")
    lam = client(served, "lambda")
    for _ in range(3):
        lam.invoke(FunctionName="delayed-logs", Qualifier="live", Payload=b"{}")
    deadline = time.monotonic() + DEADLINE
    reports: list[Any] = []
    while len(reports) < 3 and time.monotonic() < deadline:
        time.sleep(POLL)
        reports = _report_lines(served, "delayed-logs")
    assert len(reports) == 3
    assert all(f"/[{stable}]" in e["logStreamName"] for e in reports)
    # the minute these ran in is readable only after it ends, plus 60 s
    assert _invocations(served, "delayed-logs", stable) == 0


def test_a_faulty_release_is_rolled_back_by_the_logs_signal(served):
    stable, target = _function(served, "delayed-release")
    strategy = {"steps": [{"percentage": 50, "waitSeconds": 60}]}
    start = [sys.executable, "-m", "rollout.cli", "start", "--function", "delayed-release"]
    options = ["--alias", "live", "--version", target, "--strategy", json.dumps(strategy)]
    checks = ["--check-interval", "2", "--min-invocations", "3", "--watch", "--timeout", "120"]
    with Traffic(client(served, "lambda"), "delayed-release", "live", per_second=10):
        done = subprocess.run(
            [*start, *options, *checks],
            cwd=REPO,
            env=served,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    arn = re.search(r"arn:aws:states:\S+:execution:\S+", done.stdout)
    assert arn is not None, done.stdout
    cause = client(served, "stepfunctions").describe_execution(executionArn=arn[0])["cause"]
    # every invocation read failed; the first may settle it (rollout_core/error_rate.py)
    assert re.search(rf"logs: version {target} error rate [^(]*\((\d+)/\1 invocations", cause)
    assert "metrics: " not in cause  # nothing was readable yet
    alias = client(served, "lambda").get_alias(FunctionName="delayed-release", Name="live")
    assert alias["FunctionVersion"] == stable
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
