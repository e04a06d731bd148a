"""The run model (rollout/view/run.py) from hand-made AWS-shaped histories."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rollout_core.models import CheckResult, Step

from rollout.commands.watch import exit_code
from rollout.view.history import build_run
from rollout.view.run import CheckVerdict, Outcome, cause_summary, check_verdict
from rollout.view.watch import status_label
from tests.cli.histories import (
    MEMBERS,
    RELEASE_ARN,
    RELEASE_INPUT,
    ROLLBACK_CAUSE,
    T0,
    History,
    moved_without_rollout,
    previously_rolled_back,
    rejected,
    rolled_back,
    shifted_and_waiting,
    skipped,
    succeeded,
)

MACHINE = {"name": "rollout", "definition": '{"StartAt": "Prepare", "States": {"Prepare": {}}}'}


def test_success_reads_plan_steps_weights_and_outcome():
    h = succeeded()
    run = build_run(h.describe("SUCCEEDED"), h.events, MACHINE)

    assert run.outcome is Outcome.SUCCEEDED
    assert (run.function, run.alias, run.stable_version, run.target_version) == (
        "orders",
        "live",
        "3",
        "4",
    )
    assert run.strategy == "Canary10Percent5Minutes"
    assert run.steps == [Step(percentage=10.0, weight=0.1, waitSeconds=300)]
    assert [(p.state, p.weight) for p in run.weights] == [
        ("start", 0.0),
        ("Shift traffic", 0.1),
        ("Promote", 1.0),
    ]
    assert run.weight == 1.0
    assert run.step_number == run.step_count == 1
    assert run.reason == "version 4 is live on orders:live"
    assert run.next_step_at is None
    assert run.state_machine_name == "rollout" and run.state_names == ["Prepare"]
    assert exit_code(run) == 0


def test_success_lists_every_state_entry_and_exit_in_order():
    h = succeeded()
    run = build_run(h.describe("SUCCEEDED"), h.events)

    entered = [e.state for e in run.events if e.entered]
    assert entered[:4] == ["Prepare", "Roll out?", "Pre-traffic check", "Shift traffic"]
    assert entered[-1] == "Rolled out"
    assert sum(e.exited for e in run.events) == len(entered)
    assert [e.at for e in run.events] == sorted(e.at for e in run.events)
    assert run.events[-1].type == "ExecutionSucceeded"


def test_health_check_is_parsed_and_not_repeated_by_later_states():
    h = succeeded()
    run = build_run(h.describe("SUCCEEDED"), h.events)

    assert len(run.checks) == 1
    last = run.last_check
    assert last is not None and last.healthy
    assert last.alarms == {"orders-errors": "OK"}
    assert last.newVersion is not None
    assert (last.newVersion.version, last.newVersion.invocations) == ("4", 120)
    assert last.stableVersion is not None
    assert last.stableVersion.errorRatePercent == pytest.approx(0.28)


def test_rollback_keeps_error_cause_and_puts_weight_back_to_zero():
    h = rolled_back()
    run = build_run(h.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE), h.events)

    assert run.outcome is Outcome.ROLLED_BACK
    assert run.error == "HealthCheckFailed" and run.cause == ROLLBACK_CAUSE
    assert (
        run.reason == "HealthCheckFailed: Health check failed at 10% (step 1/1): error rate "
        "25.0% > 1.0%"
    )
    assert [(p.state, p.weight) for p in run.weights][-2:] == [
        ("Shift traffic", 0.1),
        ("Roll back", 0.0),
    ]
    assert any(e.type == "TaskFailed" and e.error == "HealthCheckFailed" for e in run.events)
    assert not run.promoted
    assert exit_code(run) == 1


def test_rejection_has_no_plan_and_exit_code_two():
    h = rejected()
    run = build_run(
        h.describe("FAILED", "InvalidRolloutRequest", "alias 'live' does not exist"), h.events
    )

    assert run.outcome is Outcome.REJECTED
    assert run.plan is None and run.function == "orders" and run.alias == "live"
    assert run.current_state == "Request rejected"
    assert run.weights == [] and run.weight == 0.0
    assert exit_code(run) == 2


@pytest.mark.parametrize("error", ["RolloutInProgress", "AlarmsAlreadyFiring"])
def test_refusals_that_are_not_bad_input_exit_one(error):
    h = rejected(error)
    run = build_run(h.describe("FAILED", error, "busy"), h.events)

    assert run.outcome is Outcome.REJECTED
    assert exit_code(run) == 1


def test_running_rollout_knows_its_step_weight_and_next_times():
    h = shifted_and_waiting()
    run = build_run(h.describe("RUNNING"), h.events)

    assert run.outcome is Outcome.RUNNING
    assert run.current_state == "Wait for next check"
    assert (run.step_number, run.step_count, run.weight) == (1, 1, 0.1)
    wait_entered = run.events[-1].at
    assert run.next_check_at == wait_entered + timedelta(seconds=10)
    assert run.next_step_at == wait_entered + timedelta(seconds=300 - 10)
    assert run.seconds_to_next_step(wait_entered + timedelta(seconds=90)) == 200
    assert run.duration is None
    assert exit_code(run) == 3


def test_skip_is_a_good_outcome_with_the_plans_reason():
    h = skipped()
    run = build_run(h.describe("SUCCEEDED"), h.events)

    assert run.outcome is Outcome.SKIPPED
    assert run.reason == "function is not tagged rollout:alias"
    assert exit_code(run) == 0


def test_new_code_live_without_a_rollout_is_not_already_live():
    h = moved_without_rollout()
    run = build_run(h.describe("SUCCEEDED"), h.events)

    assert run.outcome is Outcome.MOVED_WITHOUT_ROLLOUT and not run.outcome.good
    assert run.reason.startswith("orders:live already serves version 4, new code since")
    assert exit_code(run) == 1
    assert status_label(run) == ("✖ Moved without a rollout", "red")


def test_a_version_rolled_back_before_is_an_ending_of_its_own_that_exits_1():
    h = previously_rolled_back()
    run = build_run(h.describe("SUCCEEDED"), h.events)

    assert run.outcome is Outcome.PREVIOUSLY_ROLLED_BACK and not run.outcome.good
    assert run.reason.startswith("version 4 was rolled back on orders:live by arn:aws:states:")
    assert run.plan is not None
    assert [prior.error for prior in run.plan.rolledBackBefore] == ["RolloutAborted"]
    assert exit_code(run) == 1  # the alias doesn't serve what was published (README)
    assert status_label(run) == ("✖ Previously rolled back", "red")


@pytest.mark.parametrize(
    ("status", "outcome"), [("ABORTED", Outcome.ABORTED), ("TIMED_OUT", Outcome.TIMED_OUT)]
)
def test_stopped_executions(status, outcome):
    h = shifted_and_waiting()
    run = build_run(h.describe(status), h.events)

    assert run.outcome is outcome
    assert run.duration is not None and run.duration > timedelta(0)
    assert exit_code(run) == 1


def test_eventbridge_input_names_the_function_before_prepare_ran():
    event = {
        "source": "aws.lambda",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventName": "PublishVersion20150331",
            "requestParameters": {
                "functionName": "arn:aws:lambda:us-east-1:123456789012:function:orders"
            },
        },
    }
    describe = {
        "executionArn": "arn:x:execution:rollout:e",
        "status": "RUNNING",
        "startDate": T0,
        "input": json.dumps(event),
    }

    assert build_run(describe, []).function == "orders"


def test_a_lambda_error_cause_is_summarised_by_its_error_message():
    cause = json.dumps(
        {
            "errorMessage": "lock table missing\nmore",
            "errorType": "ClientError",
            "stackTrace": ["  File x"],
        }
    )
    h = rejected()
    run = build_run(h.describe("FAILED", "ClientError", cause), h.events)

    assert run.reason == "ClientError: lock table missing"
    assert cause_summary("plain cause\ndetails") == "plain cause"
    assert cause_summary(None) == ""


def test_a_release_check_with_a_member_that_served_nothing_is_no_evidence():
    """A release's top-level evidence is its first function's: the verdict reads each row."""
    rows = [
        {"functionName": "api", "alias": "live", "evidence": "seen"},
        {"functionName": "worker", "alias": "live", "evidence": "none"},
    ]
    check = CheckResult(healthy=True, evidence="seen", functions=rows)
    assert check_verdict(check) is CheckVerdict.NO_EVIDENCE
    rows[1]["evidence"] = "seen"
    assert check_verdict(CheckResult(healthy=True, functions=rows)) is CheckVerdict.HEALTHY


def test_a_refused_release_keeps_the_target_versions_its_input_named():
    """Prepare refused it (no plan): its functions and the versions asked for come from the
    input, so `rollout status` shows `? → 5` rather than `? → ?`."""
    document = {
        **RELEASE_INPUT,
        "functions": [
            {"functionName": name, "alias": "live", "targetVersion": target}
            for name, _, target in MEMBERS
        ],
    }
    cause = json.dumps({"errorMessage": "orders-api:live is being rolled out", "errorType": "x"})
    h = History(document, arn=RELEASE_ARN).enter("Prepare").task_failed("RolloutInProgress", cause)
    run = build_run(h.describe("FAILED", "RolloutInProgress", "busy"), h.events)

    assert run.plan is None
    assert [(m.function, m.stable_version, m.target_version) for m in run.members] == [
        (name, None, target) for name, _, target in MEMBERS
    ]
