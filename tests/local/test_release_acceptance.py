"""Acceptance: `rollout release --watch` as CI runs it after `sam deploy`, in its own process,
against `rollout local up` in another, through AWS_ENDPOINT_URL and fake credentials.

The function is not tagged for rollouts: a tagged one would also get an EventBridge-started
rollout of the same publish (README, "From CI, after `sam deploy`")."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from rollout.commands.release import release_name
from rollout.samples import code_zip
from tests.local.served import REPO, ServedCloud, client, served_cloud

FUNCTION, ALIAS = "released", "live"
HANDLER = 'def handler(event, context):\n    return {"build": "%s"}\n'
FAST = [
    "--strategy",
    "Canary10Percent5Minutes",
    "--time-scale",
    "0.01",  # 3 s at 10 %
    "--check-interval",
    "1",
    "--watch",
    "--interval",
    "0.2",
    "--timeout",
    "120",
]
RELEASE = [sys.executable, "-m", "rollout.cli", "release"]
RUN_TIMEOUT = 180  # the subprocess's deadline; --timeout above ends the watch before it


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    with served_cloud() as env:
        yield env


@pytest.fixture(scope="module")
def deployed(served: dict[str, str]) -> dict[str, str]:
    """What a first `sam deploy` leaves: version 1 behind `live`. Then a second deploy
    changes the code of $LATEST and leaves the alias alone."""
    lam, iam = client(served, "lambda"), client(served, "iam")
    role = iam.create_role(RoleName="released-role", AssumeRolePolicyDocument="{}")["Role"]
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": HANDLER % "1"})},
    )
    first = lam.publish_version(FunctionName=FUNCTION)["Version"]
    lam.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=first)
    lam.update_function_code(FunctionName=FUNCTION, ZipFile=code_zip({"app.py": HANDLER % "2"}))
    return {"first": first}


def _release(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RELEASE, "--function", FUNCTION, "--alias", ALIAS, *FAST],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def _releases(env: dict[str, str]) -> list[str]:
    machine = ServedCloud(env).stack_outputs["RolloutStateMachineArn"]
    pages = client(env, "stepfunctions").get_paginator("list_executions")
    names = [
        e["name"] for page in pages.paginate(stateMachineArn=machine) for e in page["executions"]
    ]
    return [name for name in names if name.startswith(f"release-{FUNCTION}-")]


def test_release_publishes_and_rolls_out_then_a_rerun_rolls_out_nothing(served, deployed):
    lam = client(served, "lambda")

    first = _release(served)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    version = str(int(deployed["first"]) + 1)
    name = release_name(FUNCTION, ALIAS, version)
    assert first.stdout.splitlines()[0].endswith(f":{name}"), first.stdout
    assert f"published version {version}; rolling it out as {name}" in first.stderr
    alias = lam.get_alias(FunctionName=FUNCTION, Name=ALIAS)
    assert alias["FunctionVersion"] == version
    assert not alias.get("RoutingConfig", {}).get("AdditionalVersionWeights")
    assert lam.invoke(FunctionName=FUNCTION, Qualifier=ALIAS)["ExecutedVersion"] == version
    assert _releases(served) == [name]

    # The same CI step again, nothing deployed in between: nothing published, nothing started.
    second = _release(served)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert second.stdout == ""
    assert f"nothing to roll out: {ALIAS} already serves version {version}" in second.stderr
    versions = lam.list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", deployed["first"], version]
    assert _releases(served) == [name]
    assert lam.get_alias(FunctionName=FUNCTION, Name=ALIAS)["FunctionVersion"] == version
