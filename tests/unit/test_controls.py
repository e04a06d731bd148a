"""Operator controls in the core: the channel (the lock item), what each control does to
the cursor, approval gates, holding the weight, and the request/plan side of approvals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from rollout_core import channel, clock, controls, eventbridge, holding
from rollout_core.channel import Control
from rollout_core.errors import (
    ApprovalTimedOut,
    InvalidRolloutRequest,
    RolloutAborted,
    read_cause,
    split_details,
)
from rollout_core.health.inconclusive import MAX_EXTENSIONS
from rollout_core.lifetime import lock_ttl
from rollout_core.models import Inconclusive, Pause, Progress, RolloutPlan
from rollout_core.plan import prepare

from rollout.commands import control as cli

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rollout:unit-controls"
OTHER = "arn:aws:states:us-east-1:123456789012:execution:rollout:someone-else"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
BASE = {"functionName": "orders", "alias": "live", "targetVersion": "4"}
STEPS = {"steps": [{"percentage": 10, "waitSeconds": 60}, {"percentage": 50, "waitSeconds": 60}]}


def planned(world, **options) -> RolloutPlan:
    document = {**BASE, "strategy": STEPS, "checkIntervalSeconds": 10, **options}
    plan = prepare(document, EXECUTION)["plan"]
    return RolloutPlan.model_validate(plan)


def in_step(plan: RolloutPlan, index: int = 0, complete: bool = False, **more) -> Progress:
    step = plan.steps[index]
    return Progress(
        phase="step",
        stepIndex=index,
        stepCount=len(plan.steps),
        percentage=step.percentage,
        weight=step.weight,
        stepStartedAt="2026-11-30T09:59:00Z",
        stepWaitSeconds=step.waitSeconds,
        waitedSeconds=step.waitSeconds if complete else 20,
        nextWaitSeconds=0 if complete else 10,
        stepComplete=complete,
        hasNextStep=index + 1 < len(plan.steps),
        **more,
    )


def send(world, action: str, owner: str = EXECUTION, at: str = "2026-11-30T10:00:00.000Z"):
    control = Control(action=action, reason="because", by="arn:aws:iam::1:user/ann", at=at)
    cli.send(world.ddb, world.table, "orders:live", owner, control)


def item(world) -> dict:
    raw = world.ddb.get_item(TableName=world.table, Key={"lockKey": {"S": "orders:live"}})["Item"]
    return {k: next(iter(v.values())) for k, v in raw.items()}


def test_the_cli_reads_the_workflows_rules():
    """One table decides which control applies when, for the sender and the workflow: the
    CLI sends through the channel, whose condition the workflow's reading follows."""
    assert cli.Channel is channel.Channel
    assert controls.APPLIES is channel.APPLIES
    assert controls.BEFORE_BAKE_ONLY is channel.BEFORE_BAKE_ONLY


def test_prepare_opens_the_channel_and_a_control_needs_the_owner(world):
    plan = planned(world)
    assert item(world)["state"] == "running" and item(world)["phase"] == "pending"
    with pytest.raises(cli.CliError) as refused:
        send(world, "abort", owner=OTHER)
    assert refused.value.exit_code == 2 and "not running any more" in str(refused.value)
    assert "control" not in item(world)
    assert controls.read(plan)[1] is None


def test_abort_raises_rollout_aborted_with_who_and_why_and_consumes_it(world):
    plan = planned(world)
    send(world, "abort")
    with pytest.raises(RolloutAborted) as aborted:
        controls.after_check(plan, in_step(plan), NOW, "Check health")
    assert str(aborted.value).startswith(
        "Aborted by arn:aws:iam::1:user/ann: because (during Check health, step 1/2 at 10%)"
    )
    assert "control" not in item(world)


def test_abort_reject_and_an_unanswered_gate_carry_what_ended_the_rollout_as_data(world):
    """Views tell abort, reject and an approval timeout apart from the error's details (the
    control that ended it), never from the words of its message."""
    plan = planned(world, approval={"before": "promote", "timeoutSeconds": 600})
    send(world, "abort")
    with pytest.raises(RolloutAborted) as aborted:
        controls.after_check(plan, in_step(plan), NOW, "Check health")
    held = controls.after_check(plan, in_step(plan, 1, complete=True), NOW, "Check health")
    send(world, "reject", at="2026-11-30T10:00:05.000Z")
    with pytest.raises(RolloutAborted) as rejected:
        holding.hold(plan, held, "step", now=lambda: NOW)
    with pytest.raises(ApprovalTimedOut) as timed_out:
        holding.hold(plan, held, "step", now=lambda: NOW + timedelta(seconds=601))

    ended = {}
    for error in (aborted.value, rejected.value, timed_out.value):
        line, details = split_details(str(error))
        assert line == error.message and details is not None and details.control == error.control
        cause = json.dumps({"errorMessage": str(error), "errorType": type(error).__name__})
        assert read_cause(cause) == (line, details)  # as Step Functions records it
        ended[details.control.action] = details.control
    assert set(ended) == {"abort", "reject", "approval-timeout"}
    assert (ended["abort"].by, ended["abort"].reason) == ("arn:aws:iam::1:user/ann", "because")
    assert ended["abort"].state == "Check health" and ended["abort"].result == "RolloutAborted"
    assert ended["reject"].state == "Wait for operator" and ended["reject"].by.endswith("ann")
    timeout = ended["approval-timeout"]
    assert (timeout.by, timeout.result) == ("the workflow", "ApprovalTimedOut")
    assert timeout.reason == "no answer by 2026-11-30T10:10:00Z; onTimeout is rollback"


def test_only_the_owner_consumes(world):
    plan = planned(world)
    send(world, "abort")
    stranger = plan.model_copy(update={"executionId": OTHER})
    assert controls.read(stranger) == (None, None)
    assert controls.after_check(stranger, in_step(plan), NOW, "Check health") == in_step(plan)
    assert item(world)["control"]["action"] == {"S": "abort"}  # still there for its owner


def test_promote_ends_the_step_and_promote_full_skips_the_rest(world):
    plan = planned(world)
    send(world, "promote")
    promoted = controls.after_check(plan, in_step(plan), NOW, "Check health")
    assert promoted.stepComplete and promoted.hasNextStep and promoted.nextWaitSeconds == 0
    assert promoted.lastControl is not None and promoted.lastControl.action == "promote"
    send(world, "promote-full", at="2026-11-30T10:00:01.000Z")
    full = controls.after_check(plan, in_step(plan), NOW, "Check health")
    assert full.stepComplete and not full.hasNextStep


def test_pause_holds_resume_releases_and_the_state_follows(world):
    plan = planned(world)
    send(world, "pause")
    paused = controls.after_check(plan, in_step(plan), NOW, "Check health")
    assert isinstance(paused.hold, Pause) and not paused.stepComplete
    assert item(world)["state"] == "paused" and "control" not in item(world)
    with pytest.raises(cli.CliError, match="it is paused"):
        send(world, "pause", at="2026-11-30T10:00:01.000Z")
    send(world, "resume", at="2026-11-30T10:00:02.000Z")
    resumed = controls.after_check(plan, paused, NOW, "Check health")
    assert resumed.hold is None and resumed.waitedSeconds == paused.waitedSeconds
    assert item(world)["state"] == "running"


def test_a_second_control_waits_for_the_first_except_abort(world):
    planned(world)
    send(world, "pause")
    with pytest.raises(cli.CliError, match="still waiting"):
        send(world, "promote", at="2026-11-30T10:00:01.000Z")
    send(world, "abort", at="2026-11-30T10:00:02.000Z")
    assert item(world)["control"]["action"] == {"S": "abort"}


def test_promote_does_not_apply_in_the_bake(world):
    plan = planned(world)
    controls.write(plan, phase="bake")
    with pytest.raises(cli.CliError, match="during the bake"):
        send(world, "promote")


def test_a_control_that_raced_a_change_of_state_is_recorded_as_ignored(world):
    plan = planned(world)
    world.ddb.update_item(  # as if written just before the workflow paused
        TableName=world.table,
        Key={"lockKey": {"S": "orders:live"}},
        UpdateExpression="SET #c = :c",
        ExpressionAttributeNames={"#c": "control"},
        ExpressionAttributeValues={
            ":c": {"M": {"action": {"S": "approve"}, "at": {"S": "t1"}, "by": {"S": "x"}}}
        },
    )
    after = controls.after_check(plan, in_step(plan), NOW, "Check health")
    assert after.lastControl is not None
    assert after.lastControl.result == "ignored: does not apply when running"
    assert after.hold is None and "control" not in item(world)


def test_gates_open_where_the_policy_says(world):
    each = planned(world, approval={"before": "each-step", "timeoutSeconds": 600})
    gated = controls.gate(each, in_step(each, 0, complete=True), NOW)
    assert gated.hold is not None and gated.hold.kind == "approval"
    assert gated.hold.before == "the next step"
    assert clock.iso(gated.hold.deadline) == "2026-11-30T10:10:00Z"
    assert gated.hold.approve == f'rollout approve {EXECUTION} --reason "…"'
    assert item(world)["state"] == "running"  # the gate is the check's result, not yet written
    controls.after_check(each, in_step(each, 0, complete=True), NOW, "Check health")
    assert item(world)["state"] == "awaiting-approval"
    assert controls.gate(each, in_step(each, 0), NOW).hold is None  # not over yet

    before_promote = planned(world, approval={"before": "promote"})
    assert controls.gate(before_promote, in_step(before_promote, 0, True), NOW).hold is None
    last = controls.gate(before_promote, in_step(before_promote, 1, True), NOW)
    assert last.hold is not None and last.hold.kind == "approval"
    assert last.hold.before == "promote" and last.hold.onTimeout == "rollback"


def test_the_channel_says_what_the_checks_result_holds_even_after_a_retry(world):
    """Check health writes the channel's state once, from its result: a first run that held
    (inconclusive) and timed out, retried into a run that doesn't hold, leaves it running."""
    plan = planned(world)
    why = ["latency: too few samples"]
    held = in_step(plan, complete=True, hold=Inconclusive(since=NOW, extensions=5, why=why))
    assert controls.after_check(plan, held, NOW, "Check health").hold == held.hold
    assert item(world)["state"] == "paused"
    retried = controls.after_check(plan, in_step(plan, complete=True), NOW, "Check health")
    assert retried.hold is None and item(world)["state"] == "running"
    send(world, "pause")  # and the operator can pause it again, as the channel now says
    assert item(world)["control"]["action"] == {"S": "pause"}


def test_holding_returns_on_a_control_and_checks_health_meanwhile(world, monkeypatch):
    plan = planned(world, approval={"before": "promote", "timeoutSeconds": 600})
    held = controls.gate(plan, in_step(plan, 1, complete=True), NOW)
    clock = [NOW]
    checks = []

    def sleep(seconds: float) -> None:
        clock[0] += timedelta(seconds=seconds)
        if clock[0] >= NOW + timedelta(seconds=25):
            send(world, "approve", at="approve-1")

    def judge(plan_, cursor, moment, state, *reads):
        checks.append((moment, state))
        return cursor

    notices = []
    monkeypatch.setattr(holding.judge, "judge", judge)
    monkeypatch.setattr(holding.notify, "publish", lambda *args: notices.append(args) or {})
    after = holding.hold(plan, held, "step", now=lambda: clock[0], sleep=sleep)
    assert after.hold is None and after.lastControl is not None
    assert after.lastControl.action == "approve"
    assert [state for _, state in checks] == ["Wait for operator"] * 2  # at 10 s and 20 s
    ((outcome, summary),) = notices  # "approval needed", once, naming both commands
    assert outcome == "approval_needed" and summary["deadline"] == "2026-11-30T10:10:00Z"
    assert summary["approveCommand"].startswith(f"rollout approve {EXECUTION}")
    assert summary["rejectCommand"].startswith(f"rollout reject {EXECUTION}")
    assert item(world)["state"] == "running"


def test_an_unanswered_gate_rolls_back_or_proceeds(world):
    for on_timeout in ("rollback", "proceed"):
        plan = planned(world, approval={"before": "promote", "onTimeout": on_timeout})
        held = controls.gate(plan, in_step(plan, 1, complete=True), NOW)
        late = NOW + timedelta(seconds=3601)
        if on_timeout == "rollback":
            with pytest.raises(ApprovalTimedOut, match="onTimeout is rollback"):
                holding.hold(plan, held, "step", now=lambda late=late: late)
        else:
            after = holding.hold(plan, held, "step", now=lambda late=late: late)
            assert after.hold is None and after.lastControl is not None
            assert after.lastControl.action == "approval-timeout"
        world.ddb.delete_item(TableName=world.table, Key={"lockKey": {"S": "orders:live"}})


def test_a_hold_that_runs_its_time_comes_back_still_held(world, monkeypatch):
    plan = planned(world)
    paused = in_step(plan, hold={"kind": "pause", "since": "2026-11-30T09:59:30Z", "by": "ann"})
    clock = [NOW]

    def sleep(seconds: float) -> None:
        clock[0] += timedelta(seconds=seconds)

    monkeypatch.setattr(holding.judge, "judge", lambda plan_, cursor, moment, state, *reads: cursor)
    after = holding.hold(plan, paused, "step", seconds=30, now=lambda: clock[0], sleep=sleep)
    assert after.hold == paused.hold
    assert clock[0] - NOW == timedelta(seconds=30)


def test_approval_input_tag_and_parameter(world, monkeypatch):
    plan = planned(world, approval={"before": "each-step"}, timeScale=0.5)
    assert plan.approval.timeoutSeconds == 1800 and plan.approval.onTimeout == "rollback"
    # lock: the waits, every gate's timeout (two steps), every extension an inconclusive
    # step may have (health.inconclusive "extend", each one check interval), and the margin
    extensions = 2 * MAX_EXTENSIONS * plan.checkIntervalSeconds
    assert lock_ttl(plan) == 60 + 2 * 1800 + extensions + 3600
    with pytest.raises(InvalidRolloutRequest, match=r"approval\.timeoutSeconds"):
        prepare({**BASE, "approval": {"before": "promote", "timeoutSeconds": 30}}, EXECUTION)
    with pytest.raises(InvalidRolloutRequest, match=r"approval\.before"):
        prepare({**BASE, "approval": {"before": "later"}}, EXECUTION)
    request = eventbridge.request_from_tags("orders", "4", {"rollout:approval": "each-step"})
    assert request["approval"] == {"before": "each-step"}
    with pytest.raises(InvalidRolloutRequest, match="rollout:approval"):
        eventbridge.request_from_tags("orders", "4", {"rollout:approval": "sometimes"})
    world.ddb.delete_item(TableName=world.table, Key={"lockKey": {"S": "orders:live"}})
    monkeypatch.setenv("DEFAULT_APPROVAL", "before-promote")
    assert planned(world).approval.before == "promote"


DAILY_EACH_STEP = {"before": "each-step", "timeoutSeconds": 86400}


def test_gates_that_could_outlast_the_execution_are_refused(world):
    steps = {"steps": [{"percentage": p, "waitSeconds": 1} for p in (10, 20, 30, 40)]}
    with pytest.raises(InvalidRolloutRequest, match="an execution may take at most"):
        prepare(
            {
                **BASE,
                "strategy": steps,
                "approval": {"before": "each-step", "timeoutSeconds": 86400},
            },
            EXECUTION,
        )
    assert world.lock_owner() is None


def test_a_dry_run_plans_everything_and_takes_no_lock(world):
    result = prepare({**BASE, "strategy": STEPS, "dryRun": True}, EXECUTION)
    assert result["plan"]["action"] == "dryRun" and len(result["plan"]["steps"]) == 2
    assert world.lock_owner() is None
    with pytest.raises(InvalidRolloutRequest, match="strategy"):
        prepare({**BASE, "strategy": "Nope", "dryRun": True}, EXECUTION)
