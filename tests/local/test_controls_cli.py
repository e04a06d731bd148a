"""Acceptance: the operator commands as people run them — `rollout plan|start|pause|
resume|promote|approve|abort|watch|status|report` in their own processes — against
`rollout local up` in its own process, and the documented `aws dynamodb update-item`
doing what `rollout abort` does."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rollout.local.deploy import stack_outputs
from rollout.local.faults import FaultRule
from rollout.samples import code_zip
from tests.execution_ends import wait_for_end
from tests.local.served import REPO, aws, client, served_cloud
from tests.reliability.rollouts import wait_until

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

FUNCTION = "acceptance-controls"
HANDLER = b"""
def handler(event, context):
    return {"version": context.function_version}
"""
DEADLINE = 60.0
LONG_STEP = json.dumps({"steps": [{"percentage": 10, "waitSeconds": 120}]})
# An alias whose lock Prepare takes slowly: the cloud delays the PutItem that takes it, so a
# control sent right after `rollout start` surely finds the rollout still in Prepare.
SLOW = "slow-lock"
SLOW_LOCK = FaultRule(
    "dynamodb",
    "PutItem",
    error_code=None,
    count=None,
    delay_seconds=10.0,
    body_contains=f'"lockKey": {{"S": "{FUNCTION}:{SLOW}"}}',
)


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    with served_cloud(faults=(SLOW_LOCK,)) as env:
        yield env


@pytest.fixture(scope="module")
def versions(served: dict[str, str]) -> dict[str, str]:
    lam, iam = client(served, "lambda"), client(served, "iam")
    role = iam.create_role(RoleName="controls-role", AssumeRolePolicyDocument="{}")["Role"]
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": HANDLER})},
        Environment={"Variables": {"RELEASE": "1"}},
    )
    first = lam.publish_version(FunctionName=FUNCTION)["Version"]
    for name in ("live", SLOW):
        lam.create_alias(FunctionName=FUNCTION, Name=name, FunctionVersion=first)
    return {"stable": first}


def publish(env: dict[str, str], release: str) -> str:
    lam = client(env, "lambda")
    variables = {"Variables": {"RELEASE": release}}
    lam.update_function_configuration(FunctionName=FUNCTION, Environment=variables)
    return str(lam.publish_version(FunctionName=FUNCTION)["Version"])


def rollout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollout.cli", *args],
        env=env | {"COLUMNS": "200"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def lock(env: dict[str, str], name: str = "live") -> dict[str, Any] | None:
    table = _output(env, "RolloutTableName")
    key = {"lockKey": {"S": f"{FUNCTION}:{name}"}}
    item = (
        client(env, "dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    )
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def _output(env: dict[str, str], key: str) -> str:
    return stack_outputs(client(env, "cloudformation"), "rollout")[key]


def start_long_step(served: dict[str, str], target: str, *extra: str, name: str = "live") -> str:
    """`rollout start` of `target` on alias `name` in one long step checked every second;
    its ARN. `start` returns when the execution starts, before Prepare takes the lock: a
    control sent next waits for it."""
    started = rollout(
        served, "start", "--function", FUNCTION, "--alias", name, "--version", target,
        "--strategy", LONG_STEP, "--check-interval", "1", *extra,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    return started.stdout.strip()


def until(what: str, check: Callable[[], Any]) -> Any:
    return wait_until(check, DEADLINE, what, every=0.2)


def in_state(env: dict[str, str], state: str, name: str = "live") -> Callable[[], bool]:
    def check() -> bool:
        item = lock(env, name)
        return bool(item and item.get("state") == state and "control" not in item)

    return check


def alias(env: dict[str, str], name: str = "live") -> tuple[str, dict[str, float]]:
    found = client(env, "lambda").get_alias(FunctionName=FUNCTION, Name=name)
    weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return str(found["FunctionVersion"]), weights


def test_plan_validates_like_prepare_and_changes_nothing(served, versions):
    before = alias(served)  # the module's other tests may have rolled out a version already
    assert before[1] == {}
    target = publish(served, "plan")
    planned = rollout(
        served,
        "plan",
        "--function",
        FUNCTION,
        "--alias",
        "live",
        "--version",
        target,
        "--strategy",
        "Linear10PercentEvery1Minute",
        "--approval",
        "before-promote",
    )
    assert planned.returncode == 0, planned.stderr
    text = planned.stdout
    assert "90%" in text and "Promote" in text and "state transitions" in text, text
    assert "approval: before Promote" in text and "nothing was changed" in text, text
    assert lock(served) is None and alias(served) == before

    refused = rollout(
        served, "plan", "--function", FUNCTION, "--alias", "live", "--strategy", "Canary7"
    )
    assert refused.returncode == 2, refused.stdout
    assert "InvalidRolloutRequest: strategy: unknown preset 'Canary7'" in refused.stderr


def test_pause_resume_promote_full_approve_from_the_cli(served, versions, tmp_path: Path):
    target = publish(served, "controls")
    arn = start_long_step(served, target, "--approval", "before-promote")

    paused = rollout(
        served, "pause", "--function", FUNCTION, "--alias", "live", "--reason", "look at logs"
    )
    assert paused.returncode == 0, paused.stderr
    until("paused", in_state(served, "paused"))
    snapshot = rollout(served, "watch", arn, "--once")
    assert snapshot.returncode == 3 and "Paused" in snapshot.stdout, snapshot.stdout
    assert "paused by" in snapshot.stdout
    assert "Paused" in rollout(served, "status").stdout

    assert rollout(served, "resume", arn, "--reason", "logs clean").returncode == 0
    until("running again", in_state(served, "running"))
    full = rollout(served, "promote", arn, "--full", "--reason", "confident")
    assert full.returncode == 0, full.stderr

    until("awaiting approval", in_state(served, "awaiting-approval"))
    assert alias(served) == (versions["stable"], {target: 0.1})  # held before Promote
    snapshot = rollout(served, "watch", arn, "--once")
    assert "Awaiting approval" in snapshot.stdout, snapshot.stdout
    assert "approve with: rollout approve" in snapshot.stdout and "left, then" in snapshot.stdout
    assert "Awaiting approval" in rollout(served, "status").stdout
    wrong = rollout(served, "resume", arn, "--reason", "not paused")
    assert wrong.returncode == 2 and "awaiting approval" in wrong.stderr, wrong.stderr

    approved = rollout(
        served, "approve", "--function", FUNCTION, "--alias", "live", "--reason", "lgtm"
    )
    assert approved.returncode == 0, approved.stderr
    watched = rollout(served, "watch", arn, "--timeout", "60")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert alias(served) == (target, {}) and lock(served) is None

    late = rollout(served, "abort", arn, "--reason", "too late")
    assert late.returncode == 2 and "has ended (SUCCEEDED)" in late.stderr, late.stderr
    unknown = rollout(served, "abort", "no-such-execution", "--reason", "typo")
    assert unknown.returncode == 2 and "no execution" in unknown.stderr, unknown.stderr

    report = tmp_path / "report.html"
    assert rollout(served, "report", arn, "--output", str(report)).returncode == 0
    html = report.read_text()
    for action, reason in [("pause", "look at logs"), ("resume", "logs clean")]:
        assert f"Operator: {action}" in html and reason in html, action
    assert "Operator: promote-full" in html and "Operator: approve" in html
    assert "assumed-role" in html or ":user/" in html or ":root" in html  # the caller


@pytest.mark.parametrize("named", ["by function and alias", "by execution name"])
def test_a_control_right_after_start_waits_for_prepare_to_take_the_lock(served, versions, named):
    """CI's next line after `rollout start`: the rollout is still in Prepare (taking its
    lock slowly here), so the control waits for the lock, then pauses it."""
    target = publish(served, f"right after start, {named}")
    arn = start_long_step(served, target, name=SLOW)
    who = {
        "by function and alias": ["--function", FUNCTION, "--alias", SLOW],
        "by execution name": [arn.rsplit(":", 1)[-1]],
    }[named]

    paused = rollout(served, "pause", *who, "--reason", "hold it from the start")

    assert paused.returncode == 0, paused.stderr
    assert f"waiting for {arn} to take its lock" in paused.stderr, paused.stderr
    assert f"pause sent to {arn} ({FUNCTION}:{SLOW})" in paused.stdout, paused.stdout
    until("paused", in_state(served, "paused", SLOW))
    assert rollout(served, "abort", arn, "--reason", "done").returncode == 0
    ended = wait_for_end(served, client(served, "stepfunctions"), arn, DEADLINE, every=0.5)
    assert ended["error"] == "RolloutAborted", ended
    assert alias(served, SLOW) == (versions["stable"], {}) and lock(served, SLOW) is None


def test_the_documented_aws_cli_command_aborts(served, versions):
    stable, _ = alias(served)  # where the earlier tests left it
    target = publish(served, "aws-cli")
    arn = start_long_step(served, target)
    until("in step 1", lambda: (lock(served) or {}).get("phase") == "step")
    caller = aws(served, "sts", "get-caller-identity", "--query", "Arn", "--output", "text")
    values = {
        ":exec": {"S": arn},
        ":s0": {"S": "running"},
        ":s1": {"S": "paused"},
        ":s2": {"S": "awaiting-approval"},
        ":control": {
            "M": {
                "action": {"S": "abort"},
                "reason": {"S": "error spike"},
                "by": {"S": caller},
                "at": {"S": "2026-11-30T10:00:00.000Z"},
            }
        },
    }
    aws(
        served,
        "dynamodb",
        "update-item",
        "--table-name",
        _output(served, "RolloutTableName"),
        "--key",
        json.dumps({"lockKey": {"S": f"{FUNCTION}:live"}}),
        "--update-expression",
        "SET #control = :control",
        "--condition-expression",
        "#owner = :exec AND #state IN (:s0, :s1, :s2)",
        "--expression-attribute-names",
        json.dumps({"#owner": "owner", "#state": "state", "#control": "control"}),
        "--expression-attribute-values",
        json.dumps(values),
    )
    sfn = client(served, "stepfunctions")
    ended = until(
        "the end of the aborted rollout",
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
    )
    assert ended["status"] == "FAILED" and ended["error"] == "RolloutAborted", ended
    assert f"Aborted by {caller}: error spike" in ended["cause"]
    assert alias(served) == (stable, {}) and lock(served) is None
