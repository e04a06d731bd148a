"""Event sources in a SAM app, end to end: the real SAM CLI deploys examples/orders (an HTTP
API, a worker fed by SQS, a report on a Schedule) to `rollout local up` (a subprocess).

- In the old pattern (tests/sam_cli/old_pattern: the same app with each source an
  `Events:` entry, which SAM binds to the AutoPublishAlias `released`),
  `rollout release --stack` refuses to roll out, naming each source, and starts nothing;
  `sam delete` then removes the stack, its event source mapping on an alias included.
- In the documented pattern (every source declared on a `live` alias), the orders sent
  during a 50 % step reach both versions of the worker, counted from its per-version log
  streams, and the report runs through its `live` alias on its schedule.
- A worker version failing its SQS messages is rolled back, with the rest of the release.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout.samples import Traffic
from rollout.view.fetch import fetch_history
from tests.local.served import ServedCloud, served_cloud

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAM = Path(os.environ.get("SAM_CLI", REPO / ".venv-sam" / "bin" / "sam"))
STACK, API, WORKER, REPORT, ALIAS = (
    "orders-app",
    "orders-api",
    "orders-worker",
    "orders-report",
    "live",
)
SOURCES = {API: "orders", WORKER: "worker", REPORT: "report"}
HALF = json.dumps({"steps": [{"percentage": 50, "waitSeconds": 30}]})
ORDER = {
    "requestContext": {"http": {"method": "POST"}},
    "body": json.dumps({"items": [{"quantity": 1, "price": 3}]}),
}


@pytest.fixture(scope="module")
def cloud() -> Iterator[ServedCloud]:
    with served_cloud() as env:
        yield ServedCloud(env)


def copy_of_the_example(folder: Path, template: Path | None = None) -> Path:
    shutil.copytree(REPO / "examples" / "orders", folder)
    if template is not None:
        shutil.copy(template, folder / "template.yaml")
    return folder


def sam(cloud: ServedCloud, app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert SAM.is_file(), f"no SAM CLI at {SAM}: run `make setup` (or set SAM_CLI)"
    return subprocess.run(
        [str(SAM), *args],
        cwd=app,
        env={**cloud.env, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def deploy(cloud: ServedCloud, app: Path) -> None:
    deployed = sam(
        cloud, app, "deploy", "--stack-name", STACK, "--resolve-s3", "--capabilities",
        "CAPABILITY_IAM", "--no-confirm-changeset", "--no-fail-on-empty-changeset",
        "--no-progressbar",
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr


def release(cloud: ServedCloud, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "rollout.cli", "release", "--stack", STACK, "--strategy",
            HALF, "--check-interval", "2", "--watch", "--interval", "0.5", "--timeout",
            "240", *flags,
        ],
        env=cloud.env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


def change(app: Path, function: str, build: str, failure_rate: float = 0.0) -> None:
    code = app / "src" / SOURCES[function] / "app.py"
    lines = [
        f'RELEASE = "{build}"' if line.startswith("RELEASE = ")
        else f"FAILURE_RATE = {failure_rate}" if line.startswith("FAILURE_RATE = ")
        else line
        for line in code.read_text().splitlines()
    ]  # fmt: skip
    code.write_text("\n".join(lines) + "\n")


def records(
    cloud: ServedCloud, function: str, version: str, key: str, window: tuple[int, int] | None = None
) -> int:
    """How many `{key: …}` records the version printed (in `window`, epoch ms), read from its
    own log streams (`YYYY/MM/DD/[VERSION]…`), as the logs signal reads them."""
    logs = cloud.client("logs")
    group = f"/aws/lambda/{function}"
    streams = [
        s["logStreamName"]
        for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
        for s in page["logStreams"]
        if f"[{version}]" in s["logStreamName"]
    ]
    between = {"startTime": window[0], "endTime": window[1]} if window else {}
    return sum(
        1
        for stream in streams
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, logStreamNames=[stream], **between
        )
        for event in page["events"]
        if event["message"].startswith(f'{{"{key}"')
    )


def half_step(cloud: ServedCloud, execution: str) -> tuple[int, int]:
    """(start, end) in epoch ms of the release's 50 % step: from the alias shift to Promote,
    two seconds in, so orders queued before it have been fulfilled."""
    events = fetch_history(cloud.client("stepfunctions"), execution)

    def when(kind: str, state: str) -> int:
        return next(
            int(e["timestamp"].timestamp() * 1000)
            for e in events
            if e["type"] == kind
            and (e.get("stateExitedEventDetails") or e.get("stateEnteredEventDetails") or {}).get(
                "name"
            )
            == state
        )

    return when("TaskStateExited", "Shift traffic") + 2000, when("TaskStateEntered", "Promote")


def alias(cloud: ServedCloud, function: str) -> str:
    found = cloud.client("lambda").get_alias(FunctionName=function, Name=ALIAS)
    assert not (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    return str(found["FunctionVersion"])


def test_event_sources_follow_the_rollout_only_in_the_documented_pattern(
    cloud: ServedCloud, tmp_path: Path
) -> None:
    sfn, machine = cloud.client("stepfunctions"), cloud.stack_outputs["RolloutStateMachineArn"]

    # The old pattern: `Events:` on released. Refused, naming each source; nothing started.
    old = copy_of_the_example(
        tmp_path / "old", REPO / "tests" / "sam_cli" / "old_pattern" / "template.yaml"
    )
    deploy(cloud, old)
    for function in SOURCES:
        change(old, function, "2")
    deploy(cloud, old)
    refused = release(cloud)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    for source, function in (
        ("event source mapping arn:aws:sqs:", WORKER),
        ("EventBridge rule arn:aws:events:", REPORT),
        ("API Gateway ", API),
    ):
        assert source in refused.stderr and f"invokes {function}:released" in refused.stderr
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert not [e for e in executions if e["name"].startswith("release-")]  # none started
    deleted = sam(cloud, old, "delete", "--stack-name", STACK, "--no-prompts")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    statuses = cloud.client("cloudformation").list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in statuses if s["StackName"] == STACK} == {"DELETE_COMPLETE"}

    # The documented pattern: every source on a live alias.
    app = copy_of_the_example(tmp_path / "app")
    deploy(cloud, app)
    for function in SOURCES:
        change(app, function, "2")
    deploy(cloud, app)
    lam = cloud.client("lambda")
    with Traffic(lam, API, ALIAS, per_second=10, payload=lambda: ORDER) as traffic:
        released = release(cloud)
    assert released.returncode == 0, released.stdout + released.stderr
    assert "Shift traffic" in released.stdout and "50% new" in released.stdout
    assert {alias(cloud, f) for f in SOURCES} == {"2"}
    assert traffic.failed == 0 and traffic.sent > 0
    # The orders sent during the 50 % step went through live to both worker versions.
    step = half_step(cloud, released.stdout.splitlines()[0])
    assert step[1] - step[0] >= 20_000
    assert records(cloud, WORKER, "1", "fulfilled", step) > 0
    assert records(cloud, WORKER, "2", "fulfilled", step) > 0
    # The report ran on its schedule, through live.
    assert records(cloud, REPORT, "1", "report") + records(cloud, REPORT, "2", "report") > 0
    endpoints = sam(cloud, app, "list", "endpoints", "--stack-name", STACK, "--output", "json")
    assert endpoints.returncode == 0, endpoints.stdout + endpoints.stderr
    assert "OrdersApi" in endpoints.stdout

    # A worker that fails its messages: the release rolls back, every alias restored.
    change(app, API, "3")
    change(app, WORKER, "3", failure_rate=1.0)
    change(app, REPORT, "3")
    deploy(cloud, app)
    with Traffic(lam, API, ALIAS, per_second=10, payload=lambda: ORDER):
        failed = release(cloud)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Rolled back" in failed.stdout and WORKER in failed.stdout
    assert {alias(cloud, f) for f in SOURCES} == {"2"}
