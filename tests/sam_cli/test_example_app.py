"""A SAM user's release cycle, end to end: the real SAM CLI deploys examples/orders to
`rollout local up` (a subprocess); each code change is published by CloudFormation, which
starts its rollout through EventBridge, and `rollout release --watch` (CI's step) follows
it to its verdict.

One scenario in order, as a team would live it: first deploy and requests through
`live`; a code change deployed (CloudFormation doesn't move `live`) and rolled out
gradually with both hooks; a redeploy with no change (nothing published, nothing rolled
out); a faulty change (30 % of requests fail) rolled back.
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

from rollout.samples import Traffic
from tests.local.served import ServedCloud, served_cloud

pytestmark = pytest.mark.cloud

REPO = Path(__file__).resolve().parents[2]
SAM = Path(os.environ.get("SAM_CLI", REPO / ".venv-sam" / "bin" / "sam"))
FUNCTION, HOOK, ALIAS = "orders-api", "orders-smoke-test", "live"
# Nine 60 s steps at 0.05: 3 s each; the same on both starts (the tags' and release's).
FAST = {"rollout:time-scale": "0.05", "rollout:check-interval": "1"}
RELEASE_FLAGS = ["--time-scale", "0.05", "--check-interval", "1", "--hook", HOOK]


@pytest.fixture(scope="module")
def cloud() -> Iterator[ServedCloud]:
    with served_cloud() as env:
        yield ServedCloud(env)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example, tagged to run fast: the team's own checkout."""
    folder = tmp_path_factory.mktemp("orders") / "orders"
    shutil.copytree(REPO / "examples" / "orders", folder)
    template = folder / "template.yaml"
    fast = "".join(f'        {key}: "{value}"\n' for key, value in FAST.items())
    text = template.read_text().replace(
        "        rollout:alias: live\n", f"        rollout:alias: live\n{fast}"
    )
    template.write_text(text)
    return folder


def sam_deploy(cloud: ServedCloud, app: Path) -> subprocess.CompletedProcess[str]:
    assert SAM.is_file(), f"no SAM CLI at {SAM}: run `make setup` (or set SAM_CLI)"
    return subprocess.run(
        [
            str(SAM), "deploy", "--stack-name", "orders-app", "--resolve-s3",
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
    return subprocess.run(
        [
            sys.executable, "-m", "rollout.cli", "release", "--function", FUNCTION,
            "--alias", ALIAS, *RELEASE_FLAGS, "--watch", "--interval", "0.5",
        ],
        env=cloud.env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


def change(app: Path, release_name: str, failure_rate: float) -> None:
    code = app / "src" / "orders" / "app.py"
    text = code.read_text()
    text = "\n".join(
        f'RELEASE = "{release_name}"' if line.startswith("RELEASE = ")
        else f"FAILURE_RATE = {failure_rate}" if line.startswith("FAILURE_RATE = ")
        else line
        for line in text.splitlines()
    )  # fmt: skip
    code.write_text(text + "\n")


def alias(cloud: ServedCloud) -> tuple[str, dict[str, float]]:
    found = cloud.client("lambda").get_alias(FunctionName=FUNCTION, Name=ALIAS)
    return found["FunctionVersion"], (found.get("RoutingConfig") or {}).get(
        "AdditionalVersionWeights"
    ) or {}


def versions(cloud: ServedCloud) -> list[str]:
    listed = cloud.client("lambda").list_versions_by_function(FunctionName=FUNCTION)
    return [v["Version"] for v in listed["Versions"] if v["Version"] != "$LATEST"]


def rollouts_of(cloud: ServedCloud, version: str) -> list[dict[str, Any]]:
    """Executions that rolled `version` of the app out (not duplicates, skips or no-ops)."""
    sfn = cloud.client("stepfunctions")
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    found = []
    for summary in sfn.list_executions(stateMachineArn=machine)["executions"]:
        described = sfn.describe_execution(executionArn=summary["executionArn"])
        events = sfn.get_execution_history(executionArn=summary["executionArn"], maxResults=1000)
        entered = [
            e["stateEnteredEventDetails"]["name"]
            for e in events["events"]
            if "stateEnteredEventDetails" in e
        ]
        if "Pre-traffic check" in entered and f'"{FUNCTION}"' in described["input"]:
            plan = next(
                json.loads(e["stateExitedEventDetails"]["output"])["plan"]
                for e in events["events"]
                if e.get("stateExitedEventDetails", {}).get("name") == "Prepare"
            )
            if plan["targetVersion"] == version:
                found.append({**described, "states": entered})
    return found


def test_a_sam_apps_release_cycle(cloud, app):
    lam = cloud.client("lambda")

    first = sam_deploy(cloud, app)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Successfully created/updated stack - orders-app" in first.stdout
    answers = [
        json.loads(json.loads(lam.invoke(FunctionName=FUNCTION, Qualifier=ALIAS)["Payload"].read())[
            "body"])
        for _ in range(5)
    ]  # fmt: skip
    assert {(a["release"], a["version"]) for a in answers} == {("1", "1")}

    # A code change: CloudFormation publishes version 2 and leaves `live` where it is; the
    # publish starts the rollout (EventBridge: the function's rollout:* tags).
    change(app, "2", 0.0)
    second = sam_deploy(cloud, app)
    assert second.returncode == 0, second.stdout + second.stderr
    assert alias(cloud)[0] == "1" and versions(cloud) == ["1", "2"]
    errors_alarm = cloud.client("cloudwatch").describe_alarms(AlarmNames=["orders-api-errors"])
    dimensions = {d["Name"]: d["Value"] for d in errors_alarm["MetricAlarms"][0]["Dimensions"]}
    assert dimensions["ExecutedVersion"] == "2"  # the alarm follows the new version

    with Traffic(lam, FUNCTION, ALIAS, per_second=20) as traffic:
        released = release(cloud)
    assert released.returncode == 0, released.stdout + released.stderr
    assert alias(cloud) == ("2", {})
    (rollout,) = rollouts_of(cloud, "2")
    assert rollout["status"] == "SUCCEEDED"
    states = rollout["states"]
    assert states.count("Shift traffic") == 9  # gradual: 10 %, 20 % … 90 %, then Promote
    assert {"Pre-traffic check", "Post-traffic check", "Rolled out"} <= set(states)
    assert traffic.failed == 0

    # Nothing changed: nothing published, nothing rolled out.
    third = sam_deploy(cloud, app)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "No changes to deploy" in third.stdout
    again = release(cloud)
    assert again.returncode == 0, again.stderr
    assert "nothing to roll out" in again.stderr
    assert versions(cloud) == ["1", "2"] and alias(cloud) == ("2", {})
    assert len(rollouts_of(cloud, "2")) == 1

    # A faulty change: 30 % of its requests fail. Rolled back, exit 1.
    change(app, "3", 0.3)
    fourth = sam_deploy(cloud, app)
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    with Traffic(lam, FUNCTION, ALIAS, per_second=20):
        faulty = release(cloud)
    assert faulty.returncode == 1, faulty.stdout + faulty.stderr
    assert alias(cloud) == ("2", {})
    # EventBridge's rollout of 3, and release's own when that one had already rolled back
    rolled_back = rollouts_of(cloud, "3")
    assert rolled_back and {r["status"] for r in rolled_back} == {"FAILED"}
    for run in rolled_back:
        assert {"Roll back", "Pre-traffic check failed"} & set(run["states"]), run["states"]
