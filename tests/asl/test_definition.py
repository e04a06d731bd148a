"""Static checks of statemachine/rollout.asl.json against docs/workflow.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

Json = dict[str, Any]

CONTRACT_STATES = {
    "Prepare", "Roll out?", "Skipped", "Already live", "Already rolling out",
    "Previously rolled back",
    "Pre-traffic check", "Start telemetry", "Shift traffic", "Wait for next check",
    "Check health", "Step done?",
    "Next step?", "Promote",
    "Post-traffic check", "Bake?", "Wait during bake", "Check bake health", "Finalize",
    "Clean up old versions", "Rolled out", "Release lock", "Pre-traffic check failed",
    "Roll back", "Notify rollback", "Rolled back", "Notify rollback failure", "Rollback failed",
    "Notify drift", "Alias changed elsewhere", "Explain rejection", "Request rejected",
    "Dry run", "Wait for operator", "Wait for operator during bake",
    "Start pipeline", "Pipeline started",
}  # fmt: skip
# Not drawn in the contract: where Prepare's unexpected (unnamed) errors end.
EXTRA_STATES = {"Prepare failed", "Release Prepare's lock"}

# States that run once traffic may have moved: a failure there must restore the alias.
AFTER_TRAFFIC_MOVED = {
    "Shift traffic", "Check health", "Promote", "Post-traffic check", "Check bake health",
    "Wait for operator", "Wait for operator during bake",
}  # fmt: skip
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
# Tasks safe to run twice (docs/workflow.md, "Retries") are retried on Lambda's transient
# errors and on a timeout too; the traffic checks invoke the new version and the hook,
# whose side effects must not run twice, so only a throttled start (nothing ran) is.
RUN_TWICE_SAFE_ERRORS = LAMBDA_SERVICE_ERRORS | {"Sandbox.Timedout"}
SENT_ONCE = {"Pre-traffic check": {"Lambda.TooManyRequestsException"}}
SENT_ONCE["Post-traffic check"] = SENT_ONCE["Pre-traffic check"]
PROGRESS_KEYS = {
    "phase", "stepIndex", "stepCount", "percentage", "weight", "stepStartedAt", "stepWaitSeconds",
    "waitedSeconds", "nextWaitSeconds", "stepComplete", "hasNextStep", "checks", "extensions",
    "lastCheck", "rearmedAlarms", "hold", "lastControl",
}  # fmt: skip
NAMED_REJECTIONS = {"InvalidRolloutRequest", "RolloutInProgress", "AlarmsAlreadyFiring"}
WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"
# Each wait ends by the clock (TimeoutSecondsPath) or by evidence (SendTaskSuccess), and
# either way goes to its check.
WAITS = {"Wait for next check": "Check health", "Wait during bake": "Check bake health"}


def targets(state: Json) -> Iterator[str]:
    """Every state name this state can transition to."""
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def choice_variables(rule: Json) -> Iterator[Json]:
    """The leaf comparisons of a Choice rule (through And / Or / Not)."""
    for key in ("And", "Or"):
        for sub in rule.get(key, []):
            yield from choice_variables(sub)
    if "Not" in rule:
        yield from choice_variables(rule["Not"])
    if "Variable" in rule:
        yield rule


def lambda_tasks(states: Json) -> dict[str, Json]:
    return {
        name: state
        for name, state in states.items()
        if state["Type"] == "Task" and state["Resource"] == "arn:aws:states:::lambda:invoke"
    }


def test_top_level(asl: Json) -> None:
    assert asl["QueryLanguage"] == "JSONPath"
    assert asl["StartAt"] == "Prepare"
    # Two days of steps (CodeDeploy's limit) + a day of bake + margin.
    assert asl["TimeoutSeconds"] >= 2 * 86400 + 86400
    assert asl["Comment"]


def test_state_names_match_the_contract(asl: Json) -> None:
    assert set(asl["States"]) == CONTRACT_STATES | EXTRA_STATES


def test_every_transition_target_exists(asl: Json) -> None:
    states = asl["States"]
    missing = {
        (name, target)
        for name, state in states.items()
        for target in targets(state)
        if target not in states
    }
    assert missing == set()


def test_every_state_is_reachable(asl: Json) -> None:
    states = asl["States"]
    seen, todo = set(), [asl["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(targets(states[name]))
    assert set(states) - seen == set()


def test_only_terminal_states_end(asl: Json) -> None:
    for name, state in asl["States"].items():
        terminal = state["Type"] in ("Succeed", "Fail") or state.get("End") is True
        assert terminal == (not list(targets(state))), name


def test_every_state_has_a_comment(asl: Json) -> None:
    missing = [name for name, state in asl["States"].items() if not state.get("Comment")]
    assert missing == []


def test_lambda_tasks_use_placeholders_and_pass_the_execution_id(asl: Json) -> None:
    tasks = lambda_tasks(asl["States"])
    every_task = {name for name, s in asl["States"].items() if s["Type"] == "Task"}
    others = {"Start pipeline"}  # states:startExecution: hands `waves` to the pipeline
    assert set(tasks) | set(WAITS) | others == every_task
    for name, state in tasks.items():
        parameters = state["Parameters"]
        assert parameters["FunctionName"].startswith("${"), name
        assert parameters["FunctionName"].endswith("FunctionArn}"), name
        assert parameters["Payload"]["executionId.$"] == "$$.Execution.Id", name
        selected = state["ResultSelector"].values()
        assert all(path.startswith("$.Payload") for path in selected), name
        assert 0 < state["TimeoutSeconds"] <= 900, name


def test_placeholders_name_every_task_function(
    asl_placeholders: set[str], task_functions: dict[str, str]
) -> None:
    assert asl_placeholders == set(task_functions)


def test_progress_tasks_keep_every_progress_key(asl: Json) -> None:
    progress_tasks = ("Shift traffic", "Check health", "Promote", "Check bake health")
    for name in (*progress_tasks, "Wait for operator", "Wait for operator during bake"):
        state = asl["States"][name]
        assert state["ResultPath"] == "$.progress", name
        assert {key.removesuffix(".$") for key in state["ResultSelector"]} == PROGRESS_KEYS


def test_result_paths_follow_the_contract(asl: Json) -> None:
    states = asl["States"]
    assert states["Prepare"]["ResultPath"] == "$"
    assert states["Pre-traffic check"]["ResultPath"] == "$.checks.preTraffic"
    assert states["Post-traffic check"]["ResultPath"] == "$.checks.postTraffic"
    assert states["Roll back"]["ResultPath"] == "$.rollback"
    failing = ("Release lock", "Notify rollback", "Notify rollback failure", "Notify drift")
    for name in failing:
        assert states[name]["ResultPath"] == "$.outcome", name
        assert set(states[name]["ResultSelector"]) == {"outcome.$", "error.$", "cause.$"}, name
    assert states["Finalize"]["ResultPath"] == "$.outcome"
    assert states["Finalize"]["ResultSelector"]["summary.$"] == "$.Payload"


def test_payload_phases_and_outcomes(asl: Json) -> None:
    def payload(name: str) -> Json:
        result: Json = asl["States"][name]["Parameters"]["Payload"]
        return result

    assert payload("Pre-traffic check")["phase"] == "preTraffic"
    assert payload("Post-traffic check")["phase"] == "postTraffic"
    assert payload("Check health")["phase"] == "step"
    assert payload("Check bake health")["phase"] == "bake"
    outcomes = {
        "Finalize": "succeeded",
        "Release lock": "check_failed",
        "Notify rollback": "rolled_back",
        "Notify rollback failure": "rollback_failed",
        "Notify drift": "drifted",
    }
    assert {name: payload(name)["outcome"] for name in outcomes} == outcomes


def test_waits_come_from_the_progress_and_evidence_can_end_them(asl: Json) -> None:
    """Each wait is a task token the telemetry can send (rollout_core.waiting), up to the
    cursor's next wait; its end, clock or evidence, is $.wake for the check."""
    states = asl["States"]
    assert not [name for name, s in states.items() if s["Type"] == "Wait"]
    for name, check in WAITS.items():
        state = states[name]
        assert (state["Type"], state["Resource"]) == ("Task", WAIT_FOR_TOKEN), name
        assert state["TimeoutSecondsPath"] == "$.progress.nextWaitSeconds", name
        assert not {"TimeoutSeconds", "HeartbeatSeconds", "ResultSelector"} & set(state), name
        parameters = state["Parameters"]
        assert parameters["FunctionName"] == "${WaitForCheckFunctionArn}", name
        assert parameters["Payload"]["token.$"] == "$$.Task.Token", name
        assert parameters["Payload"]["executionId.$"] == "$$.Execution.Id", name
        assert (state["ResultPath"], state["Next"]) == ("$.wake", check), name
        timeout, other = state["Catch"]
        assert timeout == {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.wake", "Next": check}
        assert other == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.wake", "Next": check}
        (retrier,) = state["Retry"]
        assert set(retrier["ErrorEquals"]) == RUN_TWICE_SAFE_ERRORS, name
        payload = states[check]["Parameters"]["Payload"]
        assert (payload["wake.$"], payload["telemetry.$"]) == ("$.wake", "$.telemetry"), check


def test_start_telemetry_never_stops_the_rollout(asl: Json) -> None:
    states = asl["States"]
    assert states["Pre-traffic check"]["Next"] == "Start telemetry"
    start = states["Start telemetry"]
    assert (start["ResultPath"], start["Next"]) == ("$.telemetry", "Shift traffic")
    (catcher,) = start["Catch"]
    assert catcher == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.telemetry",
        "Next": "Shift traffic",
    }
    for name in ("Wait for operator", "Wait for operator during bake"):
        assert states[name]["Parameters"]["Payload"]["telemetry.$"] == "$.telemetry", name


def test_no_retry_on_states_all(asl: Json) -> None:
    for name, state in asl["States"].items():
        for retrier in state.get("Retry", []):
            assert "States.ALL" not in retrier["ErrorEquals"], name
            assert "States.TaskFailed" not in retrier["ErrorEquals"], name


def test_every_lambda_task_retries_what_is_safe_with_backoff_and_jitter(asl: Json) -> None:
    for name, state in lambda_tasks(asl["States"]).items():
        (retrier,) = state["Retry"]
        assert set(retrier["ErrorEquals"]) == SENT_ONCE.get(name, RUN_TWICE_SAFE_ERRORS), name
        assert retrier["BackoffRate"] > 1, name
        assert retrier["JitterStrategy"] == "FULL", name
        assert retrier["MaxAttempts"] >= 2, name


def test_every_task_after_traffic_moved_rolls_back(asl: Json) -> None:
    for name in AFTER_TRAFFIC_MOVED:
        catchers = asl["States"][name]["Catch"]
        last = catchers[-1]
        assert last["ErrorEquals"] == ["States.ALL"], name
        assert (last["Next"], last["ResultPath"]) == ("Roll back", "$.failure"), name


def test_alias_drift_is_not_rolled_back(asl: Json) -> None:
    for name in ("Shift traffic", "Promote"):
        first = asl["States"][name]["Catch"][0]
        assert first["ErrorEquals"] == ["AliasDrift"], name
        assert first["Next"] == "Notify drift", name
    assert asl["States"]["Notify drift"]["Next"] == "Alias changed elsewhere"


def test_pre_traffic_failure_releases_the_lock(asl: Json) -> None:
    (catcher,) = asl["States"]["Pre-traffic check"]["Catch"]
    assert (catcher["ErrorEquals"], catcher["Next"]) == (["States.ALL"], "Release lock")
    assert asl["States"]["Release lock"]["Next"] == "Pre-traffic check failed"


def test_prepare_rejections_are_explained(asl: Json) -> None:
    named, other = asl["States"]["Prepare"]["Catch"]
    assert set(named["ErrorEquals"]) == NAMED_REJECTIONS
    assert named["Next"] == "Explain rejection"
    assert (other["ErrorEquals"], other["Next"]) == (["States.ALL"], "Release Prepare's lock")
    # The error replaces the document: the input may not be an object (a list, a string,
    # null), and a Catch can't add a key to it; the input stays in the execution's record.
    assert named["ResultPath"] == other["ResultPath"] == "$"
    explain = asl["States"]["Explain rejection"]
    assert explain["Type"] == "Pass"
    assert "States.StringToJson($.Cause)" in explain["Parameters"].values()
    assert asl["States"]["Prepare failed"]["ErrorPath"] == "$.Error"
    rejected = asl["States"]["Request rejected"]
    assert rejected["ErrorPath"] == "$.rejection.error"
    assert rejected["CausePath"] == "$.rejection.details.errorMessage"


def test_rollback_failure_has_its_own_ending(asl: Json) -> None:
    (catcher,) = asl["States"]["Roll back"]["Catch"]
    assert (catcher["ErrorEquals"], catcher["Next"]) == (["States.ALL"], "Notify rollback failure")
    assert catcher["ResultPath"] == "$.failure"
    assert asl["States"]["Notify rollback failure"]["Next"] == "Rollback failed"


@pytest.mark.parametrize(
    ("fail", "source"),
    [
        ("Rolled back", "$.rollback"),
        ("Rollback failed", "$.outcome"),
        ("Pre-traffic check failed", "$.outcome"),
        ("Alias changed elsewhere", "$.outcome"),
    ],
)
def test_fail_states_take_error_and_cause_from_the_tasks(asl: Json, fail: str, source: str) -> None:
    state = asl["States"][fail]
    assert state["Type"] == "Fail"
    assert (state["ErrorPath"], state["CausePath"]) == (f"{source}.error", f"{source}.cause")


def test_choices_compare_no_floats_for_equality(asl: Json) -> None:
    choices = [s for s in asl["States"].values() if s["Type"] == "Choice"]
    leaves = [leaf for c in choices for rule in c["Choices"] for leaf in choice_variables(rule)]
    assert len(leaves) == 14
    for leaf in leaves:
        assert "NumericEquals" not in leaf and "NumericEqualsPath" not in leaf, leaf


def test_choices_read_what_the_contract_says(asl: Json) -> None:
    def variables(name: str) -> set[str]:
        rules = asl["States"][name]["Choices"]
        return {leaf["Variable"] for rule in rules for leaf in choice_variables(rule)}

    assert variables("Roll out?") == {"$.plan.action"}
    assert variables("Step done?") == {"$.progress.hold", "$.progress.stepComplete"}
    assert variables("Next step?") == {"$.progress.hasNextStep"}
    assert variables("Bake?") == {
        "$.progress.hold",
        "$.plan.bakeSeconds",
        "$.progress.stepComplete",
    }
    # a hold (pause, approval gate) comes first: it keeps the weight whatever the clock says
    assert asl["States"]["Step done?"]["Choices"][0]["Next"] == "Wait for operator"
    assert asl["States"]["Bake?"]["Choices"][0]["Next"] == "Wait for operator during bake"
    assert asl["States"]["Step done?"]["Choices"][1]["Next"] == "Wait for next check"
    assert asl["States"]["Wait for operator"]["Next"] == "Step done?"
    assert asl["States"]["Wait for operator during bake"]["Next"] == "Bake?"
    assert asl["States"]["Next step?"]["Choices"][0]["Next"] == "Shift traffic"
    assert asl["States"]["Next step?"]["Default"] == "Promote"
    assert asl["States"]["Bake?"]["Default"] == "Finalize"


def test_finalize_does_not_roll_back_a_promoted_version(asl: Json) -> None:
    # Finalize runs after promotion, post-traffic check and bake all passed: a failure to
    # release the lock or notify must not take a healthy version away from users.
    finalize = asl["States"]["Finalize"]
    assert "Catch" not in finalize
    assert finalize["Next"] == "Clean up old versions"
    after = asl["States"]["Clean up old versions"]
    assert set(targets(after)) == {"Rolled out"}


def test_a_failed_rollback_notification_still_ends_rolled_back(asl: Json) -> None:
    (catcher,) = asl["States"]["Notify rollback"]["Catch"]
    assert (catcher["ErrorEquals"], catcher["Next"]) == (["States.ALL"], "Rolled back")
    assert catcher["ResultPath"] not in ("$.rollback", "$.failure", "$")


def test_a_failed_prepare_releases_only_its_own_lock(asl: Json) -> None:
    release = asl["States"]["Release Prepare's lock"]
    assert release["Parameters"]["FunctionName"] == "${FinalizeFunctionArn}"
    payload = release["Parameters"]["Payload"]
    # no plan reached the workflow: the lock is found by its owner, this execution
    assert payload == {
        "outcome": "prepare_failed",
        "failure.$": "$",
        "executionId.$": "$$.Execution.Id",
    }
    assert release["Next"] == "Prepare failed"
    (catcher,) = release["Catch"]
    assert (catcher["ErrorEquals"], catcher["Next"]) == (["States.ALL"], "Prepare failed")
    # Prepare failed still reports Prepare's own Error and Cause
    assert {release["ResultPath"], catcher["ResultPath"]}.isdisjoint({"$", "$.Error", "$.Cause"})
    assert asl["States"]["Prepare failed"]["CausePath"] == "$.Cause"


def test_clean_up_runs_after_a_success_only_and_never_rolls_back(asl: Json) -> None:
    states = asl["States"]
    clean_up = states["Clean up old versions"]
    assert states["Finalize"]["Next"] == "Clean up old versions"
    # Finalize releases the lock; the clean-up announces the success with its record
    assert states["Finalize"]["Parameters"]["Payload"]["announce"] is False
    assert clean_up["Parameters"]["FunctionName"] == "${CleanUpFunctionArn}"
    assert clean_up["Parameters"]["Payload"]["summary.$"] == "$.outcome.summary"
    assert clean_up["Next"] == "Rolled out"
    assert [(c["ErrorEquals"], c["Next"], c["ResultPath"]) for c in clean_up["Catch"]] == [
        (["States.ALL"], "Rolled out", "$.cleanup")
    ]
    assert clean_up["ResultPath"] == "$.cleanup"
    into = {name for name, state in states.items() if "Clean up old versions" in targets(state)}
    assert into == {"Finalize"}  # failed and rolled-back paths never reach it
