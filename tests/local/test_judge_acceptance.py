"""Acceptance (issue 24): the canary judge as a user meets it. `rollout local up` in its own
process; a function whose new version is 150 ms slower per request, under 10 requests/s;
`rollout start --watch` (a subprocess, as from a terminal or CI) exits 1, the printed Cause
naming latency and its numbers, a dry-run user metric recorded failing beside it; then
`rollout analyze` replays that run with latency off and the metric acting: the check that
failed would have passed the canary judge, and the metric's fail would now act. Nothing is
changed by the replay; a replay with an invalid health is refused with Prepare's message."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout import samples
from tests.local.served import ServedCloud, served_cloud

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

FUNCTION, ALIAS = "judged-orders", "live"
HANDLER = """
import time

def handler(event, context):
    time.sleep({sleep})
    return {{"ok": True}}
"""
INPUT = {
    "functionName": FUNCTION,
    "alias": ALIAS,
    "strategy": {"steps": [{"percentage": 50, "waitSeconds": 20}]},
    "checkIntervalSeconds": 2,
    "health": {"minInvocations": 5},
}


@pytest.fixture(scope="module")
def cloud() -> Iterator[ServedCloud]:
    with served_cloud() as env:
        yield ServedCloud(env)


def cli(cloud: ServedCloud, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollout.cli", *args],
        env=cloud.env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def slower_version(cloud: ServedCloud) -> str:
    lam = cloud.client("lambda")
    role = samples.lambda_role(cloud.client("iam"), "judged-orders")
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": samples.code_zip({"app.py": HANDLER.format(sleep=0)})},
    )
    stable = lam.publish_version(FunctionName=FUNCTION)["Version"]
    lam.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=stable)
    slower = samples.code_zip({"app.py": HANDLER.format(sleep=0.15)})
    lam.update_function_code(FunctionName=FUNCTION, ZipFile=slower)
    return str(lam.publish_version(FunctionName=FUNCTION)["Version"])


def test_a_slower_version_is_rolled_back_and_analyze_replays_the_run(
    cloud, tmp_path: Path, load_event
):
    target = slower_version(cloud)
    replayed_with = load_event("analyze/latency-off-metric-acts.json")
    (cap,) = replayed_with["health"]["metrics"]  # every version's average is above it
    health = {**INPUT["health"], "metrics": [{**cap, "dryRun": True}]}
    document = tmp_path / "rollout.json"
    document.write_text(json.dumps({**INPUT, "targetVersion": target, "health": health}))
    lam = cloud.client("lambda")
    with samples.Traffic(lam, FUNCTION, ALIAS, per_second=10):
        started = cli(cloud, "start", "--input", str(document), "--watch", "--interval", "0.5")
    assert started.returncode == 1, started.stdout + started.stderr
    assert f"latency: version {target} is slower than version 1 beyond the tolerance" in (
        started.stdout
    )
    for words in ("median", "p99", "Mann-Whitney U="):
        assert words in started.stdout
    arn = started.stdout.splitlines()[0]
    assert arn.startswith("arn:aws:states:")

    off = tmp_path / "latency-off-metric-acts.json"
    off.write_text(json.dumps(replayed_with))
    replayed = cli(cloud, "analyze", arn, "--input", str(off))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    lines = replayed.stdout.splitlines()
    failed = [line for line in lines if FUNCTION in line and "✖ fail →" in line]
    assert failed and all("→ ✔ pass ≠" in line for line in failed), replayed.stdout
    dry = [line.strip() for line in lines if "user  ✖ fail (dry run) →" in line]
    assert dry and all(
        line.startswith("user  ✖ fail (dry run) → ✖ fail ≠  metric duration-cap: version")
        for line in dry
    ), replayed.stdout
    alias = lam.get_alias(FunctionName=FUNCTION, Name=ALIAS)
    assert alias["FunctionVersion"] == "1" and not (alias.get("RoutingConfig") or {}).get(
        "AdditionalVersionWeights"
    )

    running = cli(cloud, "analyze", "no-such-run")
    assert running.returncode != 0

    too_loose = tmp_path / "too-loose.json"
    too_loose.write_text(json.dumps({"health": {"latency": {"maxIncreasePercent": 10000}}}))
    refused = cli(cloud, "analyze", arn, "--input", str(too_loose))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "InvalidRolloutRequest" in refused.stderr, refused.stderr
    assert "health.latency.maxIncreasePercent: Input should be less than" in refused.stderr
    assert "pydantic" not in refused.stderr
