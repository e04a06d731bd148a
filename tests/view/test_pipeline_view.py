"""A pipeline of waves as every view reads it (rollout.view.pipeline): from its history's
documents alone, each target with its outcome and health, leading into its own rollout;
the console's row and page (rollout.console.views) worded the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from rollout_core.pipeline.names import PipelineState as S

from rollout.console import views
from rollout.view.pipeline import build_pipeline, is_pipeline, lines, pipeline_in
from rollout.view.report_pipeline import build_pipeline_report

HOME, MEMBER = "123456789012", "210987654321"
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PIPELINE = f"arn:aws:states:us-east-1:{HOME}:execution:rollout-PipelineStateMachine-x:p1"
Json = dict[str, Any]


def machine(account: str, region: str) -> str:
    return f"arn:aws:states:{region}:{account}:stateMachine:rollout-RolloutStateMachine-x"


def execution(account: str, region: str, name: str) -> str:
    return f"{machine(account, region)}:{name}".replace(":stateMachine:", ":execution:")


def target(wave: int, index: int, account: str, region: str) -> Json:
    return {
        "account": account,
        "region": region,
        "wave": wave,
        "index": index,
        "roleArn": f"arn:aws:iam::{account}:role/rollout-target-{region}",
        "stateMachineArn": machine(account, region),
        "table": "rollout-table",
        "executionName": f"p1-w{wave + 1}-t{index + 1}",
        "sameRegion": region == "us-east-1",
        "functions": [
            {"functionName": "orders", "alias": "live", "stableVersion": "1", "targetVersion": "2"}
        ],
    }


PLAN = {
    "action": "pipeline",
    "executionId": PIPELINE,
    "name": "p1",
    "home": {"account": HOME, "region": "us-east-1"},
    "waves": [
        {"name": "one-box", "bakeSeconds": 60, "targets": [target(0, 0, HOME, "us-east-1")]},
        {
            "name": "rest",
            "bakeSeconds": 60,
            "targets": [target(1, 0, HOME, "eu-west-1"), target(1, 1, MEMBER, "eu-west-1")],
        },
    ],
    "rollout": {"functionName": "orders", "alias": "live", "strategy": "AllAtOnce"},
    "channel": {"table": "rollout-table", "key": "pipeline:p1", "owner": PIPELINE},
}


class History:
    def __init__(self) -> None:
        self.events: list[Json] = []

    def at(self) -> datetime:
        return START + timedelta(seconds=10 * len(self.events))

    def add(self, kind: str, **details: Any) -> None:
        number = len(self.events) + 1
        self.events.append({"id": number, "type": kind, "timestamp": self.at(), **details})

    def enter(self, state: str, document: Json) -> None:
        details = {"name": state, "input": json.dumps(document)}
        self.add("TaskStateEntered", stateEnteredEventDetails=details)

    def exit(self, state: str, document: Json) -> None:
        details = {"name": state, "output": json.dumps(document)}
        self.add("TaskStateExited", stateExitedEventDetails=details)

    def outcome(self, spec: Json, status: str, **extra: Any) -> None:
        self.enter(S.RUN_TARGET, {"target": spec})
        self.exit(
            S.RECORD_TARGET,
            {
                "account": spec["account"],
                "region": spec["region"],
                "wave": spec["wave"],
                "index": spec["index"],
                "executionArn": f"{machine(spec['account'], spec['region'])}:x",
                "status": status,
                "moved": spec["functions"],
                **extra,
            },
        )


def running_second_wave() -> History:
    """Wave 1 succeeded; in wave 2 the home eu-west-1 target failed, the member's runs."""
    history = History()
    history.exit(S.PREPARE, {"plan": PLAN})
    history.outcome(target(0, 0, HOME, "us-east-1"), "succeeded")
    cursor = {"phase": "wave", "waveIndex": 1, "waveCount": 2}
    history.exit(S.BEFORE_WAVE, {"cursor": cursor})
    history.outcome(
        target(1, 0, HOME, "eu-west-1"),
        "failed",
        error="PreTrafficCheckFailed",
        cause="release 2 failed",
    )
    history.enter(S.START_TARGET, {"target": target(1, 1, MEMBER, "eu-west-1")})
    return history


def described(status: str = "RUNNING") -> Json:
    return {"executionArn": PIPELINE, "status": status, "startDate": START}


def test_each_target_has_its_outcome_its_health_and_its_own_rollout() -> None:
    run = build_pipeline(described(), running_second_wave().events)
    shown = lines(run)
    assert shown[0] == "pipeline p1: 2 waves, 3 targets, onFailure rollback-all"
    assert shown[2].startswith(f"  us-east-1 in {HOME}: succeeded [healthy] orders:live 1→2")
    assert shown[4].startswith(
        f"  eu-west-1 in {HOME}: failed [PreTrafficCheckFailed] orders:live 1→2 — "
        "PreTrafficCheckFailed: release 2 failed"
    )
    member = f"  eu-west-1 in {MEMBER}: running [checking] orders:live 1→2 (rollout watch "
    assert (
        shown[5]
        == member
        + f"{machine(MEMBER, 'eu-west-1')}:p1-w2-t2".replace(":stateMachine:", ":execution:")
        + ")"
    )
    assert run.stage == "wave 2/2"


def test_the_console_shows_a_pipeline_as_one_row_with_a_member_per_target() -> None:
    run = build_pipeline(described(), running_second_wave().events)
    row = views.pipeline_row(run)
    assert (row["pipeline"], row["title"], row["label"]) == (True, "pipeline p1", "Wave 2/2")
    assert row["health"] == "1/3 targets healthy" and row["healthTone"] == views.BAD
    assert [(m["name"], m["verdict"], m["health"]) for m in row["members"]] == [
        (f"one-box: us-east-1 in {HOME}", "succeeded", "healthy"),
        (f"rest: eu-west-1 in {HOME}", "failed", "PreTrafficCheckFailed"),
        (f"rest: eu-west-1 in {MEMBER}", "running", "checking"),
    ]
    page = views.pipeline_detail(run)
    targets = [t for wave in page["waves"] for t in wave["targets"]]
    assert [t["here"] for t in targets] == [True, False, False]  # the console's own place
    assert targets[1]["why"] == "PreTrafficCheckFailed: release 2 failed"
    assert page["lines"] == lines(run)
    assert page["axis"]["from"] == "2026-12-01T12:00:00Z"


def test_a_rollout_that_handed_over_names_its_pipeline() -> None:
    output = {"plan": {"action": "pipeline"}, "pipeline": {"executionArn": PIPELINE}}
    assert pipeline_in(output) == PIPELINE and is_pipeline(PIPELINE)
    assert pipeline_in({"plan": {"action": "rollout"}}) is None
    assert not is_pipeline(
        f"{machine(HOME, 'us-east-1')}:r1".replace(":stateMachine:", ":execution:")
    )


def test_the_report_and_the_console_draw_the_same_bakes_and_holds() -> None:
    history = running_second_wave()
    for state in (S.BAKE_WAVE, S.BEFORE_WAVE, S.CLOSE_WAVE):
        history.enter(state, {})
    run = build_pipeline(described(), history.events)
    bake, hold, closed = (history.events[index]["timestamp"] for index in (-3, -2, -1))
    assert run.holds() == [(S.BAKE_WAVE, bake, hold), (S.BEFORE_WAVE, hold, closed)]
    assert run.end == closed  # still running: the last event read
    axis = views.pipeline_detail(run)["axis"]
    assert [span["state"] for span in axis["holds"]] == [S.BAKE_WAVE, S.BEFORE_WAVE]
    assert axis["to"] == f"{closed:%Y-%m-%dT%H:%M:%SZ}"
    report = build_pipeline_report(run)
    assert f"<title>{S.BAKE_WAVE}</title>" in report and f"<title>{S.BEFORE_WAVE}</title>" in report
