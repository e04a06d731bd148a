"""`rollout local up --regions us-east-1,eu-west-1 --accounts A,B` in its own process, and
pipelines of waves across it, driven as a user drives them: the `rollout` CLI and plain
boto3.

The issue's scenarios start at once on the one served cloud (`runs`), each with functions of
its own; each test then takes its own result:
- three waves across both Regions and both accounts succeed in order (`rollout plan`,
  `start --watch`, `status`, `report`);
- a failure in the last wave restores every target (onFailure rollback-all, the default);
- a blocker alarm holds the first wave until it clears;
- a window that opens two minutes after the start defers the first wave until it opens;
- `rollout abort` while the second wave bakes restores what moved; the third never starts;
- the README's "Try it locally" block, run as written (AWS CLI and `rollout`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import boto3
import pytest
from rollout_core.pipeline.models import Restored, TargetOutcome
from rollout_core.pipeline.names import PipelineState as S

from rollout.local.deploy import stack_outputs
from tests.local.served import REPO, client, served_cloud
from tests.pipeline.conftest import (
    ACCOUNTS,
    HOME,
    HOME_EU,
    MEMBER_EU,
    MEMBER_US,
    PLACES,
    REGIONS,
    Fleet,
    Gate,
    Pipelines,
    deadline_poll,
    waves,
)

pytestmark = [pytest.mark.timeout(1800), pytest.mark.slow]
Json = dict[str, Any]
THREE_WAVES = ([HOME], [MEMBER_US], [HOME_EU, MEMBER_EU])
WINDOW_OPENS_AFTER = 120  # s: beyond Prepare pipeline's dry runs in four places, under load
ABORT_BAKE = 900  # s: the second wave's bake, which the abort cuts short


class ServedPlaces:
    """The served cloud seen as tests/pipeline's helpers take it (conftest.PlaceClients): a
    member account through OrganizationAccountAccessRole, as its people reach it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.stack_outputs = stack_outputs(client(env, "cloudformation"), "rollout")
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()  # scenarios run on threads; boto3 builds clients serially

    def client(self, service: str, *, region: str | None = None, account: str | None = None) -> Any:
        key = (service, account or ACCOUNTS[0], region or self.env["AWS_DEFAULT_REGION"])
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._build(*key)
            return self._clients[key]

    def _build(self, service: str, account: str, region: str) -> Any:
        credentials = {
            "aws_access_key_id": self.env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": self.env["AWS_SECRET_ACCESS_KEY"],
        }
        if account != ACCOUNTS[0]:
            issued = client(self.env, "sts").assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                RoleSessionName="acceptance",
            )["Credentials"]
            credentials = {
                "aws_access_key_id": issued["AccessKeyId"],
                "aws_secret_access_key": issued["SecretAccessKey"],
                "aws_session_token": issued["SessionToken"],
            }
        return boto3.client(
            service, endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name=region, **credentials
        )


def rollout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollout.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


# -- the scenarios --------------------------------------------------------------------------


def in_order_from_the_cli(env: dict[str, str], cloud: ServedPlaces, tmp: Path) -> Json:
    fleet = Fleet(cloud, "cli")
    path = tmp / "pipeline.json"
    path.write_text(json.dumps({**fleet.rollout(), "waves": waves(*THREE_WAVES, bake=2)}))
    seen: Json = {"fleet": fleet, "planned": rollout(env, "plan", "--input", str(path))}
    started = seen["started"] = rollout(env, "start", "--input", str(path), "--watch")
    name = started.stdout.splitlines()[0].rsplit(":", 1)[-1] if started.stdout else ""
    seen["ended"] = Pipelines(cloud).wait(Pipelines(cloud).arn_of(name))
    seen["status"] = rollout(env, "status")
    report = tmp / "report.html"
    seen["reported"] = rollout(env, "report", name, "-o", str(report))
    seen["report"] = report.read_text() if report.exists() else ""
    seen["late abort"] = rollout(env, "abort", name, "--reason", "too late")
    return seen


def fails_in_the_last_wave(env: dict[str, str], cloud: ServedPlaces, tmp: Path) -> Json:
    fleet = Fleet(cloud, "last-fails", failing=(MEMBER_EU,))
    pipelines = Pipelines(cloud)
    arn = pipelines.start({**fleet.rollout(), "waves": waves(*THREE_WAVES)})
    return {"fleet": fleet, "ended": pipelines.wait(arn)}


def held_by_an_alarm(env: dict[str, str], cloud: ServedPlaces, tmp: Path) -> Json:
    fleet, gate, pipelines = Fleet(cloud, "alarm-held"), Gate(cloud), Pipelines(cloud)
    gate.hold()
    try:
        document = {
            **fleet.rollout(),
            "waves": waves([HOME], [MEMBER_EU]),
            "blockers": {"alarms": [gate.name]},
        }
        arn = pipelines.start(document)
        hold = deadline_poll("a blocked Before wave", lambda: pipelines.blocked(arn), 300)
        seen = {
            "fleet": fleet,
            "hold": hold,
            "watched": rollout(env, "watch", arn.rsplit(":", 1)[-1], "--once"),
            "live while held": fleet.live(HOME),
        }
    finally:
        gate.clear()
    deadline_poll(f"{gate.name} out of ALARM", lambda: gate.state() != "ALARM", 120)
    alarm = gate.cw.describe_alarms(AlarmNames=[gate.name])["MetricAlarms"][0]
    seen["cleared at"] = alarm["StateUpdatedTimestamp"]
    return seen | {"ended": pipelines.wait(arn)}


def deferred_by_a_window(env: dict[str, str], cloud: ServedPlaces, tmp: Path) -> Json:
    fleet, pipelines = Fleet(cloud, "window"), Pipelines(cloud)
    opens = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=WINDOW_OPENS_AFTER)
    window = {
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "start": f"{opens:%H:%M:%S}",
        "end": f"{opens + timedelta(hours=2):%H:%M:%S}",
        "timeZone": "UTC",
    }
    blockers = {"windows": [window]}
    document = {**fleet.rollout(), "waves": waves([HOME], [HOME_EU]), "blockers": blockers}
    arn = pipelines.start(document)
    hold = deadline_poll("a Before wave outside the window", lambda: pipelines.blocked(arn), 300)
    seen = {"fleet": fleet, "opens": opens, "hold": hold, "live while held": fleet.live(HOME)}
    return seen | {"ended": pipelines.wait(arn)}


def aborted_in_the_second_bake(env: dict[str, str], cloud: ServedPlaces, tmp: Path) -> Json:
    fleet, pipelines = Fleet(cloud, "aborted"), Pipelines(cloud)
    groups = waves(*THREE_WAVES)
    groups[1]["bakeSeconds"] = ABORT_BAKE
    arn = pipelines.start({**fleet.rollout(), "waves": groups})

    def second_wave_closed() -> bool:
        return len(pipelines.cursors_so_far(arn, S.CLOSE_WAVE)) >= 2

    deadline_poll("the second wave's bake", second_wave_closed)
    sent = rollout(env, "abort", arn.rsplit(":", 1)[-1], "--reason", "wrong build")
    return {"fleet": fleet, "sent": sent, "ended": pipelines.wait(arn)}


def the_readmes_walkthrough(env: dict[str, str], cloud: ServedPlaces, tmp: Path) -> Json:
    """The block after `rollout local up` in README's "Try it locally", in bash, from a
    folder that has the repository's events/ (its own build/ and AWS CLI config), against
    this cloud's port instead of 4566."""
    section = (REPO / "README.md").read_text().split("### Try it locally", 1)[1]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    script = blocks[1].replace("http://127.0.0.1:4566", env["AWS_ENDPOINT_URL"])
    (tmp / "events").symlink_to(REPO / "events")
    shell = {
        **env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "AWS_CONFIG_FILE": str(tmp / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "aws-credentials"),
    }
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp,
        env=shell,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if ran.returncode != 0:
        return {"ran": ran}  # the test says what the script printed
    live = {
        place: cloud.client("lambda", account=place[0], region=place[1]).get_alias(
            FunctionName="orders", Name="live"
        )["FunctionVersion"]
        for place in PLACES
    }
    return {"ran": ran, "live": live}


Scenario = Callable[[dict[str, str], ServedPlaces, Path], Json]
SCENARIOS: dict[str, Scenario] = {
    "in order": in_order_from_the_cli,
    "fails last": fails_in_the_last_wave,
    "alarm": held_by_an_alarm,
    "window": deferred_by_a_window,
    "aborted": aborted_in_the_second_bake,
    "readme": the_readmes_walkthrough,
}


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    # four stacks to deploy: up to 6 minutes on a loaded, shared machine
    with served_cloud(
        "--regions", ",".join(REGIONS), "--accounts", ",".join(ACCOUNTS), start_deadline=360
    ) as env:
        yield env


@pytest.fixture(scope="module")
def runs(
    served: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Json]]]:
    cloud = ServedPlaces(served)
    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        futures = {}
        for name, scenario in SCENARIOS.items():
            tmp = tmp_path_factory.mktemp(name.replace(" ", "-"))
            futures[name] = pool.submit(scenario, served, cloud, tmp)
            time.sleep(0.5)
        yield futures


def result(runs: dict[str, Future[Json]], name: str) -> Json:
    return runs[name].result(timeout=1500)


# -- the tests ------------------------------------------------------------------------------


def test_the_stack_is_in_every_account_and_region(served: dict[str, str]) -> None:
    assert "the stack also in:" in served["BANNER"]
    cloud = ServedPlaces(served)
    for account, region in PLACES:
        stacks = cloud.client("cloudformation", account=account, region=region)
        found = stacks.describe_stacks(StackName="rollout")["Stacks"][0]
        assert found["StackStatus"] == "CREATE_COMPLETE", (account, region)


def test_three_waves_across_two_regions_and_two_accounts_succeed_in_order(
    runs: dict[str, Future[Json]],
) -> None:
    seen = result(runs, "in order")
    fleet, planned, started = seen["fleet"], seen["planned"], seen["started"]
    assert planned.returncode == 0, planned.stderr
    assert "pipeline of 3 waves" in planned.stdout
    assert f"eu-west-1 in {ACCOUNTS[1]}: {fleet.name}:live 1 → 2" in planned.stdout
    assert started.returncode == 0, started.stdout + started.stderr
    assert "outcome: succeeded" in started.stdout
    assert f"eu-west-1 in {ACCOUNTS[1]}: succeeded" in started.stdout
    for place in PLACES:
        assert fleet.live(place) == ("2", {}), place
    # wave N+1 started only once every target of wave N had ended and its bake was over
    ended = seen["ended"]
    closed = ended.cursors(S.CLOSE_WAVE)
    assert [len(c.outcomes) for c in closed] == [1, 2, 4]
    by_wave = [[o for o in closed[-1].outcomes if o.wave == w] for w in range(3)]
    for earlier, later in pairwise(by_wave):
        last_end = max(at(o.stoppedAt) for o in earlier)
        assert all(at(o.startedAt) >= last_end + timedelta(seconds=2) for o in later)
    for outcome in closed[-1].outcomes:
        assert f":{outcome.region}:{outcome.account}:execution:" in outcome.executionArn


def test_status_report_and_a_late_control_on_the_pipeline(runs: dict[str, Future[Json]]) -> None:
    seen = result(runs, "in order")
    status, reported = seen["status"], seen["reported"]
    assert status.returncode == 0, status.stderr
    assert "Pipelines" in status.stdout and "wave wave-3 (3/3)" in status.stdout
    assert reported.returncode == 0, reported.stderr
    assert "When each target moved" in seen["report"] and "<svg" in seen["report"]
    late = seen["late abort"]
    assert late.returncode == 2, late.stdout + late.stderr  # ended: nothing changed


def test_a_failure_in_the_last_wave_restores_every_target(runs: dict[str, Future[Json]]) -> None:
    seen = result(runs, "fails last")
    fleet, ended = seen["fleet"], seen["ended"]
    assert (ended.status, ended.error) == ("FAILED", "TargetFailed")
    cause = ended.cause or ""
    assert f"Wave wave-3 (3/3): the rollout in eu-west-1 in {ACCOUNTS[1]} failed" in cause
    assert "PreTrafficCheckFailed" in cause
    assert "every completed target restored, newest wave first" in cause
    for place in PLACES:
        assert fleet.live(place) == ("1", {}), place
    restored = [
        Restored.model_validate(r)
        for wave in ended.outputs_of(S.RESTORE_TARGETS)[0]["restored"]
        for r in wave
    ]
    assert [(r.wave, r.region, r.account) for r in restored] == [
        (2, HOME_EU[1], HOME_EU[0]),
        (1, MEMBER_US[1], MEMBER_US[0]),
        (0, HOME[1], HOME[0]),
    ]
    assert all(r.ok for r in restored)


def test_a_blocker_alarm_holds_the_wave_until_it_clears(runs: dict[str, Future[Json]]) -> None:
    seen = result(runs, "alarm")
    fleet, ended = seen["fleet"], seen["ended"]
    assert seen["live while held"] == ("1", {})  # nothing moved while blocked
    assert any("is ALARM" in reason for reason in seen["hold"].reasons), seen["hold"]
    watched = seen["watched"]
    assert "holding: blocked since" in watched.stdout and "is ALARM" in watched.stdout
    assert ended.status == "SUCCEEDED", (ended.error, ended.cause)
    (first,) = ended.cursors(S.CLOSE_WAVE)[0].outcomes
    # it moved once the alarm had cleared (both to the second: the start is written so)
    assert at(first.startedAt) >= seen["cleared at"].replace(microsecond=0)
    assert fleet.live(HOME) == ("2", {}) and fleet.live(MEMBER_EU) == ("2", {})


def test_a_window_defers_the_wave_until_it_opens(runs: dict[str, Future[Json]]) -> None:
    seen = result(runs, "window")
    fleet, ended = seen["fleet"], seen["ended"]
    assert seen["live while held"] == ("1", {})
    (reason,) = seen["hold"].reasons
    assert reason.startswith("outside every window") and "next opens" in reason
    assert ended.status == "SUCCEEDED", (ended.error, ended.cause)
    (first,) = ended.cursors(S.CLOSE_WAVE)[0].outcomes
    assert at(first.startedAt) >= seen["opens"]
    assert fleet.live(HOME) == ("2", {}) and fleet.live(HOME_EU) == ("2", {})


def test_an_abort_mid_pipeline_restores_what_moved(runs: dict[str, Future[Json]]) -> None:
    seen = result(runs, "aborted")
    fleet, ended, sent = seen["fleet"], seen["ended"], seen["sent"]
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert (ended.status, ended.error) == ("FAILED", "PipelineAborted")
    assert "wrong build" in (ended.cause or "")
    for place in PLACES:
        assert fleet.live(place) == ("1", {}), place
    outcomes = [
        TargetOutcome.model_validate(o)
        for o in ended.outputs_of(S.PLAN_RESTORE)[0]["restore"]["outcomes"]
    ]
    assert [(o.wave, o.status) for o in outcomes] == [(0, "succeeded"), (1, "succeeded")]
    # the third wave never started: its targets were never run
    started = {
        (json.loads(e["stateEnteredEventDetails"]["input"])["target"]["wave"])
        for e in ended.history
        if e.get("stateEnteredEventDetails", {}).get("name") in (S.RUN_TARGET, S.START_TARGET)
    }
    assert started == {0, 1}


def test_the_readmes_walkthrough_works_as_written(runs: dict[str, Future[Json]]) -> None:
    seen = result(runs, "readme")
    ran = seen["ran"]
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "pipeline of 3 waves" in ran.stdout
    assert "outcome: succeeded" in ran.stdout
    assert "wave europe (3/3)" in ran.stdout
    assert seen["live"] == {place: "2" for place in PLACES}
