"""Acceptance: one publish starts one rollout, even a publish that hands back a version
just rolled back (README, "One publish starts one rollout").

`rollout local up` in its own process; the user's steps with the AWS CLI and plain boto3,
the `rollout` commands in their own processes. A function tagged for rollouts gets
version 2; the PublishVersion trigger rolls it out; an operator aborts it; a second
`aws lambda publish-version` with nothing new hands back version 2 (CloudTrail records
the call all the same) and its run ends in *Previously rolled back* without touching the
alias; `rollout release` says so and starts nothing; `rollout start --version 2` rolls it
out as asked."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rollout.samples import code_zip
from tests.local.served import REPO, ServedCloud, aws, client, served_cloud
from tests.reliability.rollouts import wait_until

pytestmark = pytest.mark.cloud

FUNCTION, ALIAS = "republished", "live"
HANDLER = 'def handler(event, context):\n    return {"version": context.function_version}\n'
# A 60 s step (Canary10Percent5Minutes at 0.2) that only the abort ends, checked every second.
TAGS = (
    f"rollout:alias={ALIAS},rollout:strategy=Canary10Percent5Minutes,"
    "rollout:time-scale=0.2,rollout:check-interval=1"
)
DEADLINE = 90.0  # seconds for anything the test waits for
RUN_TIMEOUT = 150  # a `rollout` subprocess's deadline


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    with served_cloud() as env:
        yield env


@pytest.fixture(scope="module")
def tagged(served: dict[str, str]) -> str:
    """Version 1 behind `live`, the function tagged for rollouts; its ARN."""
    lam, iam = client(served, "lambda"), client(served, "iam")
    role = iam.create_role(RoleName="republished-role", AssumeRolePolicyDocument="{}")["Role"]
    arn = lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": HANDLER})},
        Environment={"Variables": {"RELEASE_TAG": "good"}},
    )["FunctionArn"]
    first = lam.publish_version(FunctionName=FUNCTION)["Version"]
    lam.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=first)
    aws(served, "lambda", "tag-resource", "--resource", arn, "--tags", TAGS)
    return str(arn)


def rollout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollout.cli", *args],
        env=env | {"COLUMNS": "200"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def publish(env: dict[str, str]) -> str:
    return aws(
        env, "lambda", "publish-version", "--function-name", FUNCTION,
        "--query", "Version", "--output", "text",
    )  # fmt: skip


def until(what: str, check: Callable[[], Any]) -> Any:
    return wait_until(check, DEADLINE, what, every=0.3)


def triggered(env: dict[str, str], version: str) -> list[str]:
    """The executions the PublishVersion rule started for `version`, oldest first."""
    sfn = client(env, "stepfunctions")
    machine = ServedCloud(env).stack_outputs["RolloutStateMachineArn"]
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
    found = []
    for execution in sorted(
        (e for page in pages for e in page["executions"]), key=lambda e: e["startDate"]
    ):
        document = json.loads(
            sfn.describe_execution(executionArn=execution["executionArn"])["input"]
        )
        published = (document.get("detail") or {}).get("responseElements") or {}
        if (published.get("functionName"), published.get("version")) == (FUNCTION, version):
            found.append(str(execution["executionArn"]))
    return found


def names(env: dict[str, str]) -> list[str]:
    machine = ServedCloud(env).stack_outputs["RolloutStateMachineArn"]
    pages = client(env, "stepfunctions").get_paginator("list_executions")
    return [
        e["name"] for page in pages.paginate(stateMachineArn=machine) for e in page["executions"]
    ]


def outcome(env: dict[str, str], arn: str) -> tuple[str, str | None]:
    """(status, the plan's action) once the execution has ended."""
    sfn = client(env, "stepfunctions")

    def ended() -> dict[str, Any] | None:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return None if described["status"] == "RUNNING" else described

    found = until(f"the end of {arn}", ended)
    plan = json.loads(found.get("output") or "{}").get("plan") or {}
    return str(found["status"]), plan.get("action")


def in_step(env: dict[str, str]) -> bool:
    table = ServedCloud(env).stack_outputs["RolloutTableName"]
    item = (
        client(env, "dynamodb")
        .get_item(
            TableName=table, Key={"lockKey": {"S": f"{FUNCTION}:{ALIAS}"}}, ConsistentRead=True
        )
        .get("Item")
    )
    return bool(item and item["phase"]["S"] == "step")


def alias(env: dict[str, str]) -> tuple[str, dict[str, float]]:
    found = client(env, "lambda").get_alias(FunctionName=FUNCTION, Name=ALIAS)
    weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return str(found["FunctionVersion"]), weights


def test_a_version_rolled_back_is_not_rolled_out_again_by_a_second_publish(served, tagged):
    aws(
        served, "lambda", "update-function-configuration", "--function-name", FUNCTION,
        "--environment", "Variables={RELEASE_TAG=bad}",
    )  # fmt: skip
    target = publish(served)
    assert target == "2"
    [first] = until("the trigger's rollout of version 2", lambda: triggered(served, target))
    until("its first step", lambda: in_step(served))
    aborted = rollout(served, "abort", first, "--reason", "bad release")
    assert aborted.returncode == 0, aborted.stderr
    watched = rollout(served, "watch", first, "--timeout", "60")
    assert watched.returncode == 1 and "Rolled back" in watched.stdout, watched.stdout
    assert alias(served) == ("1", {})

    # Nothing new since version 2: Lambda hands it back, and CloudTrail records the call.
    assert publish(served) == target
    second = until("the second publish's run", lambda: triggered(served, target)[1:])[0]
    refused = rollout(served, "watch", second, "--timeout", "60")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Previously rolled back" in refused.stdout, refused.stdout
    assert f"version 2 was rolled back on {FUNCTION}:{ALIAS} by {first}" in refused.stdout
    assert "rollout start --function republished --alias live --version 2" in refused.stdout
    assert outcome(served, second) == ("SUCCEEDED", "previouslyRolledBack")  # like Skipped
    assert alias(served) == ("1", {})  # the refused run touched nothing
    status = rollout(served, "status")
    assert "Previously rolled back" in status.stdout, status.stdout
    assert f"v2 was rolled back by {first.rsplit(':', 1)[-1]}" in status.stdout, status.stdout

    # `rollout release` publishes, gets version 2 back, says why and starts nothing; its
    # publish is a PublishVersion too, whose trigger run ends as the second one did.
    released = rollout(served, "release", "--function", FUNCTION, "--alias", ALIAS)
    assert released.returncode == 1, released.stdout + released.stderr
    assert "Previously rolled back" in released.stderr, released.stderr
    assert f"rolled back on {FUNCTION}:{ALIAS} by {first}" in released.stderr
    assert released.stdout == ""  # no execution ARN: nothing started
    third = until("the release's publish's run", lambda: triggered(served, target)[2:])[0]
    assert outcome(served, third) == ("SUCCEEDED", "previouslyRolledBack")
    assert [name for name in names(served) if name.startswith("release-")] == []
    assert alias(served) == ("1", {})

    # Asked for explicitly, it rolls out.
    asked = rollout(
        served, "start", "--function", FUNCTION, "--alias", ALIAS, "--version", target,
        "--strategy", "AllAtOnce", "--watch", "--timeout", "60",
    )  # fmt: skip
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert alias(served) == (target, {})
