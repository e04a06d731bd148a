"""Acceptance: a release of several functions started, planned and steered with the
`rollout` CLI in its own process, against `rollout local up` in another.

- `rollout plan --input release.json` lists every function and changes nothing;
- `rollout start --input release.json --watch` exits 0 with every alias moved;
- a release whose second function fails its pre-traffic check exits 1, no alias moved;
- `rollout abort --function <its second function>` stops a running release: every alias
  back on its stable version, every lock released.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollout.samples import code_zip
from tests.local.served import REPO, ServedCloud, client, served_cloud

ALIAS = "live"
NAMES = ("shop-api", "shop-worker", "shop-cron")
HANDLER = """\
def handler(event, context):
    if "{mode}" == "fail":
        raise RuntimeError("release {build} is broken")
    return {{"ok": True, "build": "{build}"}}
"""
ROLLOUT = [sys.executable, "-m", "rollout.cli"]
WATCH = ["--watch", "--interval", "0.2", "--timeout", "120"]
RUN_TIMEOUT = 180
POLL_DEADLINE = 60.0


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    with served_cloud() as env:
        yield env


def _publish(lam: Any, name: str, build: int, mode: str = "ok") -> str:
    source = HANDLER.format(mode=mode, build=build)
    lam.update_function_code(FunctionName=name, ZipFile=code_zip({"app.py": source}))
    return str(lam.publish_version(FunctionName=name)["Version"])


@pytest.fixture(scope="module")
def functions(served: dict[str, str]) -> dict[str, Any]:
    """Three functions, version 1 live behind `live`."""
    lam, iam = client(served, "lambda"), client(served, "iam")
    role = iam.create_role(RoleName="shop-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for name in NAMES:
        source = HANDLER.format(mode="ok", build=1)
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code_zip({"app.py": source})},
            Timeout=30,
        )
        version = str(lam.publish_version(FunctionName=name)["Version"])
        lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
    return {"lam": lam}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ROLLOUT, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def _input(tmp_path: Path, targets: dict[str, str], **options: Any) -> str:
    document = {
        "functions": [
            {"functionName": name, "alias": ALIAS, "targetVersion": version}
            for name, version in targets.items()
        ],
        "checkIntervalSeconds": 1,
        **options,
    }
    path = tmp_path / "release.json"
    path.write_text(json.dumps(document))
    return str(path)


def _alias(lam: Any, name: str) -> tuple[str, dict[str, float]]:
    found = lam.get_alias(FunctionName=name, Name=ALIAS)
    weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return str(found["FunctionVersion"]), {v: float(w) for v, w in weights.items()}


def _lock(env: dict[str, str], name: str) -> dict[str, Any] | None:
    table = ServedCloud(env).stack_outputs["RolloutTableName"]
    key = {"lockKey": {"S": f"{name}:{ALIAS}"}}
    item = client(env, "dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)
    return item.get("Item")


QUICK = {"steps": [{"percentage": 20, "waitSeconds": 1}, {"percentage": 60, "waitSeconds": 1}]}


def test_plan_then_start_a_release_of_three_functions(served, functions, tmp_path):
    lam = functions["lam"]
    before = {name: _alias(lam, name)[0] for name in NAMES}
    targets = {name: _publish(lam, name, build=2) for name in NAMES}
    path = _input(tmp_path, targets, strategy=QUICK)

    planned = _cli(served, "plan", "--input", path)
    assert planned.returncode == 0, planned.stderr
    assert "release of 3 functions" in planned.stdout
    for name in NAMES:
        assert f"{name}:{ALIAS}: version {before[name]} → {targets[name]}" in planned.stdout
        assert _lock(served, name) is None

    started = _cli(served, "start", "--input", path, *WATCH)
    assert started.returncode == 0, (started.stdout, started.stderr)
    for name in NAMES:
        assert _alias(lam, name) == (targets[name], {})
        assert _lock(served, name) is None


def test_a_failing_pre_traffic_check_moves_no_alias(served, functions, tmp_path):
    lam = functions["lam"]
    live = {name: _alias(lam, name)[0] for name in NAMES}
    targets = {
        name: _publish(lam, name, build=3, mode="fail" if name == NAMES[1] else "ok")
        for name in NAMES
    }
    path = _input(tmp_path, targets, strategy=QUICK)
    document = json.loads(Path(path).read_text())
    for entry in document["functions"]:
        entry["preTraffic"] = {"payload": {"ping": True}}
    Path(path).write_text(json.dumps(document))

    started = _cli(served, "start", "--input", path, *WATCH)
    assert started.returncode == 1, (started.stdout, started.stderr)
    for name in NAMES:
        assert _alias(lam, name) == (live[name], {})
        assert _lock(served, name) is None


def test_abort_names_the_release_by_any_of_its_functions(served, functions, tmp_path):
    lam = functions["lam"]
    live = {name: _alias(lam, name)[0] for name in NAMES}
    targets = {name: _publish(lam, name, build=4) for name in NAMES}
    slow = {"steps": [{"percentage": 10, "waitSeconds": 60}]}
    started = _cli(served, "start", "--input", _input(tmp_path, targets, strategy=slow))
    assert started.returncode == 0, started.stderr
    arn = started.stdout.strip().splitlines()[-1]
    _until(lambda: _alias(lam, NAMES[2])[1], "the release's first step")

    aborted = _cli(
        served, "abort", "--function", NAMES[1], "--alias", ALIAS, "--reason", "wrong build"
    )
    assert aborted.returncode == 0, aborted.stderr
    assert arn in aborted.stdout

    sfn = client(served, "stepfunctions")
    ended = _until(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        "the release's end",
    )
    assert (ended["status"], ended["error"]) == ("FAILED", "RolloutAborted")
    assert "every alias of the release" in ended["cause"]
    for name in NAMES:
        assert _alias(lam, name) == (live[name], {})
        assert _lock(served, name) is None


def _until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + POLL_DEADLINE
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not happen within {POLL_DEADLINE:.0f} s")
