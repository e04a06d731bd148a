"""A SAM user's release cycle, end to end: the real SAM CLI deploys examples/orders (an API,
the worker its orders queue feeds and a scheduled report, each behind `live`) to `rollout
local up` (a subprocess); CloudFormation publishes each changed function with the stack
release's marker, so the per-function EventBridge trigger leaves those versions alone, and
`rollout release --stack --watch` (CI's step) rolls the changed functions out together
and exits with the verdict.

One scenario in order, as a team would live it: first deploy, orders through `live`; the
API and the worker changed in one deploy and rolled out together, gradually, with the
API's hooks and orders flowing through both; a redeploy with no change (nothing
published, nothing rolled out); a release whose worker fails 30 % of its orders, in which
the healthy API is rolled back with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollout.aws import execution_arn
from rollout.commands.release import function_name, stack_release_name
from rollout.samples import Traffic
from rollout.view.fetch import fetch_history
from tests.local.served import ServedCloud, served_cloud

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAM = Path(os.environ.get("SAM_CLI", REPO / ".venv-sam" / "bin" / "sam"))
STACK, API, WORKER, ALIAS = "orders-app", "orders-api", "orders-worker", "live"
SOURCES = {API: "orders", WORKER: "worker"}
# Nine 60 s steps at 0.05: 3 s each, one check at each step's end. The functions are tagged
# alike, so the release agrees. The check interval is the default 10 s, not 1 s: it is also
# how long each of a step's 5 extensions lasts while the canary judge is inconclusive
# (health/inconclusive.py). On a loaded machine Traffic's requests, one at a time, slow to
# about 5 a second and preempted invocations make durations bimodal (6-10 ms, or 50-300 ms),
# so a healthy canary needs 20-30 settled durations to be confirmed within the tolerance
# at 98 %; a 10 % canary gets one every 2 s, and five 1 s extensions held the release.
FAST = {"rollout:time-scale": "0.05", "rollout:check-interval": "10"}
ORDER = {
    "requestContext": {"http": {"method": "POST"}},
    "body": json.dumps({"items": [{"quantity": 2, "price": 4.5}]}),
}


@pytest.fixture(scope="module")
def cloud() -> Iterator[ServedCloud]:
    with served_cloud() as env:
        yield ServedCloud(env)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example, both functions tagged to run fast: the team's own checkout."""
    folder = tmp_path_factory.mktemp("orders") / "orders"
    shutil.copytree(REPO / "examples" / "orders", folder)
    template = folder / "template.yaml"
    fast = "".join(f'        {key}: "{value}"\n' for key, value in FAST.items())
    tag = "        rollout:alias: live\n"
    text = template.read_text()
    assert text.count(tag) == 3  # the API, the worker and the report
    template.write_text(text.replace(tag, f"{tag}{fast}"))
    return folder


def sam_deploy(cloud: ServedCloud, app: Path) -> subprocess.CompletedProcess[str]:
    assert SAM.is_file(), f"no SAM CLI at {SAM}: run `make setup` (or set SAM_CLI)"
    return subprocess.run(
        [
            str(SAM), "deploy", "--stack-name", STACK, "--resolve-s3",
            "--capabilities", "CAPABILITY_IAM", "--no-confirm-changeset",
            "--no-fail-on-empty-changeset", "--no-progressbar",
        ],
        cwd=app,
        env={**cloud.env, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


def release(cloud: ServedCloud) -> subprocess.CompletedProcess[str]:
    """CI's step after `sam deploy`: no flags, the functions' tags configure the release."""
    return subprocess.run(
        [
            sys.executable, "-m", "rollout.cli", "release", "--stack", STACK,
            "--watch", "--interval", "0.5", "--timeout", "240",
        ],
        env=cloud.env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


def change(app: Path, function: str, release_name: str, failure_rate: float) -> None:
    code = app / "src" / SOURCES[function] / "app.py"
    text = code.read_text()
    text = "\n".join(
        f'RELEASE = "{release_name}"' if line.startswith("RELEASE = ")
        else f"FAILURE_RATE = {failure_rate}" if line.startswith("FAILURE_RATE = ")
        else line
        for line in text.splitlines()
    )  # fmt: skip
    code.write_text(text + "\n")


def alias(cloud: ServedCloud, function: str) -> tuple[str, dict[str, float]]:
    found = cloud.client("lambda").get_alias(FunctionName=function, Name=ALIAS)
    return found["FunctionVersion"], (found.get("RoutingConfig") or {}).get(
        "AdditionalVersionWeights"
    ) or {}


def versions(cloud: ServedCloud, function: str) -> list[str]:
    listed = cloud.client("lambda").list_versions_by_function(FunctionName=function)
    return [v["Version"] for v in listed["Versions"] if v["Version"] != "$LATEST"]


def rollouts(cloud: ServedCloud) -> list[dict[str, Any]]:
    """Executions that rolled something out (not skips, duplicates or no-ops), each with
    the states it entered and the (function, version) pairs its plan rolls out."""
    sfn = cloud.client("stepfunctions")
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    found = []
    for summary in sfn.list_executions(stateMachineArn=machine)["executions"]:
        arn = summary["executionArn"]
        events = fetch_history(sfn, arn)
        entered = [
            e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
        ]
        if "Pre-traffic check" not in entered:
            continue
        plan = next(
            json.loads(e["stateExitedEventDetails"]["output"])["plan"]
            for e in events
            if e.get("stateExitedEventDetails", {}).get("name") == "Prepare"
        )
        members = plan.get("functions") or [plan]
        described = sfn.describe_execution(executionArn=arn)
        rolled = {(function_name(m["functionName"]), str(m["targetVersion"])) for m in members}
        found.append({**described, "states": entered, "rolls": rolled})
    return found


def rollouts_of(cloud: ServedCloud, function: str, version: str) -> list[dict[str, Any]]:
    return [r for r in rollouts(cloud) if (function, version) in r["rolls"]]


def left_to_the_release(cloud: ServedCloud) -> set[tuple[str, str]]:
    """(function, version) of the EventBridge-started executions that skipped a version
    because its marker leaves it to the stack release."""
    sfn = cloud.client("stepfunctions")
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    skipped = set()
    for summary in sfn.list_executions(stateMachineArn=machine)["executions"]:
        described = sfn.describe_execution(executionArn=summary["executionArn"])
        plan = json.loads(described.get("output") or "{}").get("plan") or {}
        if plan.get("action") == "skip" and "rollout release --stack" in plan.get("reason", ""):
            skipped.add((function_name(plan["functionName"]), str(plan["targetVersion"])))
    return skipped


def test_a_sam_apps_release_cycle(cloud, app):
    lam = cloud.client("lambda")
    machine = cloud.stack_outputs["RolloutStateMachineArn"]

    first = sam_deploy(cloud, app)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"Successfully created/updated stack - {STACK}" in first.stdout
    answers = [
        json.loads(json.loads(lam.invoke(FunctionName=API, Qualifier=ALIAS)["Payload"].read())[
            "body"])
        for _ in range(5)
    ]  # fmt: skip
    assert {(a["release"], a["version"]) for a in answers} == {("1", "1")}
    placed = lam.invoke(FunctionName=API, Qualifier=ALIAS, Payload=json.dumps(ORDER))
    assert json.loads(placed["Payload"].read())["statusCode"] == 202

    # The API and the worker change in one deploy: CloudFormation publishes version 2 of
    # each (marked for the stack release) and leaves both `live` aliases where they are.
    change(app, API, "2", 0.0)
    change(app, WORKER, "2", 0.0)
    second = sam_deploy(cloud, app)
    assert second.returncode == 0, second.stdout + second.stderr
    for function in (API, WORKER):
        assert alias(cloud, function)[0] == "1" and versions(cloud, function) == ["1", "2"]

    with Traffic(lam, API, ALIAS, per_second=20, payload=lambda: ORDER) as traffic:
        released = release(cloud)
    assert released.returncode == 0, released.stdout + released.stderr
    name = stack_release_name(STACK, [(API, ALIAS, "2"), (WORKER, ALIAS, "2")])
    assert released.stdout.splitlines()[0] == execution_arn(machine, name), released.stdout
    assert alias(cloud, API) == ("2", {}) and alias(cloud, WORKER) == ("2", {})
    # One rollout moved both (EventBridge left CloudFormation's marked versions alone).
    (rollout,) = rollouts_of(cloud, API, "2")
    assert [r["name"] for r in rollouts_of(cloud, WORKER, "2")] == [name]
    assert {(API, "2"), (WORKER, "2")} <= left_to_the_release(cloud)
    assert rollout["name"] == name and rollout["status"] == "SUCCEEDED"
    assert rollout["rolls"] == {(API, "2"), (WORKER, "2")}
    states = rollout["states"]
    assert states.count("Shift traffic") == 9  # gradual: 10 %, 20 % … 90 %, then Promote
    assert {"Pre-traffic check", "Post-traffic check", "Rolled out"} <= set(states)
    assert traffic.failed == 0 and traffic.sent > 0

    # Nothing changed: nothing published, nothing rolled out.
    third = sam_deploy(cloud, app)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "No changes to deploy" in third.stdout
    again = release(cloud)
    assert again.returncode == 0, again.stderr
    assert "nothing to roll out" in again.stderr and again.stdout == ""
    for function in (API, WORKER):
        assert versions(cloud, function) == ["1", "2"] and alias(cloud, function) == ("2", {})
    assert len(rollouts(cloud)) == 1

    # A healthy API and a worker that fails 30 % of its orders, released together: the
    # worker's failures roll back both, so the API never runs release 3 against worker 2.
    change(app, API, "3", 0.0)
    change(app, WORKER, "3", 0.3)
    fourth = sam_deploy(cloud, app)
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    with Traffic(lam, API, ALIAS, per_second=20, payload=lambda: ORDER) as traffic:
        faulty = release(cloud)
    assert faulty.returncode == 1, faulty.stdout + faulty.stderr
    assert alias(cloud, API) == ("2", {}) and alias(cloud, WORKER) == ("2", {})
    (rolled_back,) = rollouts_of(cloud, WORKER, "3")
    assert rolled_back["rolls"] == {(API, "3"), (WORKER, "3")}
    assert rolled_back["status"] == "FAILED" and "Roll back" in rolled_back["states"]
    assert WORKER in rolled_back["cause"] and "every alias" in rolled_back["cause"]
    assert traffic.failed == 0  # the API answered every order; the worker failed some
