"""`rollout local up --regions us-east-1,eu-west-1 --accounts A,B` in its own process, a
pipeline of waves across it driven by the `rollout` CLI as a user drives it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from rollout.samples import code_zip, lambda_role
from tests.local.served import client, served_cloud
from tests.pipeline.conftest import ACCOUNTS, HANDLER, PLACES, REGIONS

pytestmark = pytest.mark.timeout(1800)
FUNCTION = "orders"


def place_client(env: dict[str, str], service: str, account: str, region: str) -> Any:
    """A client acting in `account` (a member: through OrganizationAccountAccessRole)."""
    if account == ACCOUNTS[0]:
        return boto3.client(
            service,
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    issued = client(env, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="acceptance",
    )["Credentials"]
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=region,
        aws_access_key_id=issued["AccessKeyId"],
        aws_secret_access_key=issued["SecretAccessKey"],
        aws_session_token=issued["SessionToken"],
    )


def rollout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollout.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def test_a_pipeline_across_two_regions_and_two_accounts_from_the_cli(tmp_path: Path) -> None:
    places = ",".join(REGIONS)
    accounts = ",".join(ACCOUNTS)
    # four stacks to deploy: up to 6 minutes on a loaded, shared machine
    with served_cloud("--regions", places, "--accounts", accounts, start_deadline=360) as env:
        assert "the stack also in:" in env["BANNER"]
        for account, region in PLACES:
            lam = place_client(env, "lambda", account, region)
            iam = place_client(env, "iam", account, region)
            lam.create_function(
                FunctionName=FUNCTION,
                Runtime="python3.12",
                Role=lambda_role(iam, "acceptance-function"),
                Handler="app.handler",
                Code={"ZipFile": code_zip({"app.py": HANDLER})},
                Environment={"Variables": {"MODE": "ok"}},
            )
            lam.publish_version(FunctionName=FUNCTION)
            lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
            lam.update_function_configuration(
                FunctionName=FUNCTION, Environment={"Variables": {"MODE": "ok", "RELEASE": "2"}}
            )
            lam.publish_version(FunctionName=FUNCTION)
        document = {
            "functionName": FUNCTION,
            "alias": "live",
            "strategy": "AllAtOnce",
            "waves": [
                {"name": "one-box", "targets": [{"region": "us-east-1", "account": ACCOUNTS[0]}]},
                {
                    "name": "rest",
                    "targets": [
                        {"region": region, "account": account} for account, region in PLACES[1:]
                    ],
                },
            ],
        }
        path = tmp_path / "pipeline.json"
        path.write_text(json.dumps(document))

        planned = rollout(env, "plan", "--input", str(path))
        assert planned.returncode == 0, planned.stderr
        assert "pipeline of 2 waves" in planned.stdout
        assert f"eu-west-1 in {ACCOUNTS[1]}: {FUNCTION}:live 1 → 2" in planned.stdout

        started = rollout(env, "start", "--input", str(path), "--watch")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "outcome: succeeded" in started.stdout
        assert f"eu-west-1 in {ACCOUNTS[1]}: succeeded" in started.stdout
        for account, region in PLACES:
            alias = place_client(env, "lambda", account, region).get_alias(
                FunctionName=FUNCTION, Name="live"
            )
            assert alias["FunctionVersion"] == "2", (account, region)

        status = rollout(env, "status")
        assert status.returncode == 0, status.stderr
        assert "Pipelines" in status.stdout and "wave rest (2/2)" in status.stdout
        name = started.stdout.splitlines()[0].rsplit(":", 1)[-1]
        report = tmp_path / "report.html"
        reported = rollout(env, "report", name, "-o", str(report))
        assert reported.returncode == 0, reported.stderr
        assert "When each target moved" in report.read_text() and "<svg" in report.read_text()
        late = rollout(env, "abort", name, "--reason", "too late")
        assert late.returncode == 2, late.stdout + late.stderr  # ended: nothing changed
