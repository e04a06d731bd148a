"""Releases of several functions (rollout_core.release): shifted together, judged per
function, rolled back together, locked all or none, steered as one.

Every scenario runs at once, each with its own sample functions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from rollout_core.channel import Control
from rollout_core.results import ReleaseCheckResult

from rollout.commands.control import caller, send
from rollout.local.faults import FaultRule
from rollout.samples import code_zip, lambda_role
from tests.workflow.conftest import (
    ALIAS,
    ALIAS_READ_EVERY,
    ROLE_NAME,
    Finished,
    SampleFunction,
    Workflow,
    deadline_poll,
    traffic,
    unique,
    weights_of,
)

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

GOOD, BAD = {"order": "ok"}, {"order": "bad"}
QUICK = {"steps": [{"percentage": 10, "waitSeconds": 1}, {"percentage": 50, "waitSeconds": 1}]}
# Seconds a rollout holds its lock while another one is started against it: at 8 s, a loaded
# machine let the holder finish before the other's Prepare ran (nothing was refused).
HOLD = 30
STATE_DATA_LIMIT = 256 * 1024  # Step Functions' limit on a state's input or output
HOOK = "def handler(event, context):\n    return {'passed': True}\n"
Release = tuple[list[SampleFunction], list[str], Finished]


def release_input(functions: list[SampleFunction], targets: list[str], **options: Any) -> dict:
    entries = [
        {"functionName": f.name, "alias": ALIAS, "targetVersion": t}
        for f, t in zip(functions, targets, strict=True)
    ]
    return {"functions": entries, "checkIntervalSeconds": 1, **options}


def sample_functions(cloud: Any, prefix: str, count: int) -> list[SampleFunction]:
    return [SampleFunction(cloud, f"{prefix}{index}") for index in range(count)]


def succeeds(cloud: Any, workflow: Workflow) -> Release:
    functions = sample_functions(cloud, "wf-rel-ok", 3)
    for function in functions:
        function.publish()  # version 2: never rolled out, nothing uses it
    targets = [function.publish() for function in functions]
    document = release_input(functions, targets, strategy=QUICK, keepVersions=1)
    return functions, targets, workflow.run(document)


def fails_at_step_2(cloud: Any, workflow: Workflow) -> Release:
    """The second function's new version fails the bad requests, sent only once its alias
    is at step 2 (30 %); the other two are healthy."""
    functions = sample_functions(cloud, "wf-rel-fail", 3)
    modes = ["ok", "fail-bad", "ok"]
    targets = [function.publish(mode) for function, mode in zip(functions, modes, strict=True)]
    failing = functions[1]

    def payload() -> dict[str, str]:
        return BAD if failing.recent_alias()[1].get(targets[1], 0) >= 0.3 else GOOD

    steps = [
        {"percentage": 10, "waitSeconds": 1},
        {"percentage": 30, "waitSeconds": 8},
        {"percentage": 60, "waitSeconds": 1},
    ]
    document = release_input(
        functions, targets, strategy={"steps": steps}, health={"minInvocations": 3}
    )
    with traffic(failing, payload):
        return functions, targets, workflow.run(document)


def failed_restore_of_one(cloud: Any, workflow: Workflow) -> tuple[Release, FaultRule]:
    """The first function's new version fails every request; the rollback's UpdateAlias
    of the second function is refused once (an update in progress), so the Roll back
    task restores the first and third and fails; the guard then restores the second."""
    functions = sample_functions(cloud, "wf-rel-restore", 3)
    modes = ["fail", "ok", "ok"]
    targets = [function.publish(mode) for function, mode in zip(functions, modes, strict=True)]
    second = functions[1]
    rule = cloud.faults.add(
        FaultRule(
            "lambda",
            "UpdateAlias",
            "ResourceConflictException",
            409,
            "The operation cannot be performed at this time. An update is in progress.",
            count=1,
            resource=second.name,
            body_contains=(f'"FunctionVersion":"{second.stable}"', '"AdditionalVersionWeights":{}'),
        )
    )
    steps = [{"percentage": 20, "waitSeconds": 4}, {"percentage": 60, "waitSeconds": 1}]
    document = release_input(
        functions, targets, strategy={"steps": steps}, health={"minInvocations": 2}
    )
    try:
        with traffic(functions[0]):
            return (functions, targets, workflow.run(document)), rule
    finally:
        cloud.faults.remove(rule)


def release_then_single(cloud: Any, workflow: Workflow) -> tuple[Release, Finished]:
    """A single rollout of one of a running release's functions is refused."""
    functions = sample_functions(cloud, "wf-rel-first", 2)
    targets = [function.publish() for function in functions]
    steps = {"steps": [{"percentage": 10, "waitSeconds": HOLD}]}
    arn = workflow.start(release_input(functions, targets, strategy=steps))
    deadline_poll("the release's locks", lambda: workflow.lock(functions[1].name))
    another = functions[1].publish()  # (the same version would be "Already rolling out")
    single = workflow.run(functions[1].rollout(another, strategy=QUICK))
    return (functions, targets, workflow.wait(arn)), single


def single_then_release(cloud: Any, workflow: Workflow) -> tuple[Release, Finished, Any]:
    """A release naming a function that a single rollout holds is refused, and takes no
    lock at all (not even the other function's)."""
    functions = sample_functions(cloud, "wf-rel-second", 2)
    targets = [function.publish() for function in functions]
    steps = {"steps": [{"percentage": 10, "waitSeconds": HOLD}]}
    single_arn = workflow.start(functions[1].rollout(targets[1], strategy=steps))
    deadline_poll("the single rollout's lock", lambda: workflow.lock(functions[1].name))
    refused = workflow.run(release_input(functions, targets, strategy=QUICK))
    other_lock_after_refusal = workflow.lock(functions[0].name)
    single = workflow.wait(single_arn)
    return (functions, targets, refused), single, other_lock_after_refusal


def aborted_by_naming_a_member(cloud: Any, workflow: Workflow) -> tuple[Release, dict]:
    """An operator names the release by its second function, as `rollout abort --function`
    does: that function's lock item points to the release's control channel."""
    functions = sample_functions(cloud, "wf-rel-abort", 3)
    targets = [function.publish() for function in functions]
    steps = {"steps": [{"percentage": 10, "waitSeconds": 30}]}
    arn = workflow.start(release_input(functions, targets, strategy=steps))
    primary = f"{functions[0].name}:{ALIAS}"
    deadline_poll(
        "the release in its step",
        lambda: (workflow.lock(functions[0].name) or {}).get("phase") == "step",
    )
    member = workflow.lock(functions[1].name) or {}
    control = Control.new("abort", "wrong release", caller(cloud.client("sts")))
    send(cloud.client("dynamodb"), workflow.table, member.get("controlKey", primary), arn, control)
    return (functions, targets, workflow.wait(arn)), member


def stopped_from_the_console(cloud: Any, workflow: Workflow) -> Release:
    """StopExecution mid-step: the guard restores every alias and releases every lock."""
    functions = sample_functions(cloud, "wf-rel-stop", 3)
    targets = [function.publish() for function in functions]
    steps = {"steps": [{"percentage": 10, "waitSeconds": 30}]}
    arn = workflow.start(release_input(functions, targets, strategy=steps))
    deadline_poll(
        "every alias at 10 %",
        lambda: all(f.alias()[1] for f in functions),
        every=ALIAS_READ_EVERY,
    )
    workflow.sfn.stop_execution(executionArn=arn, cause="stopped from the console")
    return functions, targets, workflow.wait(arn)


def drift_in_one_alias(cloud: Any, workflow: Workflow) -> Release:
    """Someone moves the second alias during step 1: the next shift finds it changed
    (ReleaseDrift), the first alias is rolled back, the second is left as they set it."""
    functions = sample_functions(cloud, "wf-rel-drift", 2)
    targets = [function.publish() for function in functions]
    steps = [{"percentage": 10, "waitSeconds": 6}, {"percentage": 50, "waitSeconds": 1}]
    arn = workflow.start(release_input(functions, targets, strategy={"steps": steps}))
    deadline_poll(
        "every alias at 10 %",
        lambda: all(f.alias()[1] for f in functions),
        every=ALIAS_READ_EVERY,
    )
    functions[1].set_alias(functions[1].stable, {targets[1]: 0.25})  # someone, by hand
    return functions, targets, workflow.wait(arn)


def ten_functions_with_hooks(cloud: Any, workflow: Workflow) -> tuple[Release, Finished]:
    """Ten functions, each with pre- and post-traffic payloads, expectations and hooks, the
    whole check budget used; and one function alone with the same strategy."""
    hook = _passing_hook(cloud)
    functions = sample_functions(cloud, "wf-rel-ten", 10)
    targets = [function.publish() for function in functions]
    filler = "x" * 1400  # ten entries x two checks ≈ the 32 KB the plan allows for checks
    check = {
        "payload": {"order": "ok", "note": filler},
        "expect": {"ok": True},
        "hookFunction": hook,
    }
    document = release_input(functions, targets, strategy=QUICK)
    for entry in document["functions"]:
        entry |= {"preTraffic": check, "postTraffic": check}
    single_function = SampleFunction(cloud, "wf-rel-one")
    single_target = single_function.publish()
    single = workflow.run(
        single_function.rollout(single_target, strategy=QUICK, checkIntervalSeconds=1)
    )
    return (functions, targets, workflow.run(document)), single


def _passing_hook(cloud: Any) -> str:
    name = unique("wf-rel-hook")
    cloud.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(cloud.client("iam"), ROLE_NAME),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": HOOK})},
        Timeout=60,
    )
    return name


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        name: partial(scenario, cloud, workflow)
        for name, scenario in {
            "succeeds": succeeds,
            "fails-at-step-2": fails_at_step_2,
            "failed-restore": failed_restore_of_one,
            "release-first": release_then_single,
            "single-first": single_then_release,
            "abort-by-member": aborted_by_naming_a_member,
            "ten": ten_functions_with_hooks,
            "stopped": stopped_from_the_console,
            "drift": drift_in_one_alias,
        }.items()
    }


def assert_all_restored(functions: list[SampleFunction], workflow: Workflow) -> None:
    for function in functions:
        assert function.alias() == (function.stable, {}), function.name
        assert workflow.lock(function.name) is None, function.name


def test_a_release_moves_every_alias_together_and_releases_every_lock(runs, alias_log, workflow):
    functions, targets, run = runs["succeeds"]
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    for function, target in zip(functions, targets, strict=True):
        assert function.alias() == (target, {})
        assert alias_log.of(function.name) == weights_of(function.stable, target, [10, 50])
        assert workflow.lock(function.name) is None
    assert [m.functionName for m in run.plan.functions] == [f.name for f in functions]
    assert run.alias_weights() == [0.1, 0.5, 1.0]
    rows = run.health_checks()[-1].functions
    assert [row.functionName for row in rows] == [f.name for f in functions]
    assert all(row.healthy and row.newVersion and row.newVersion.version for row in rows)
    assert [f.targetVersion for f in run.summary().functions] == targets
    cleanup = run.output["cleanup"]  # each function's unused version 2, and only that
    assert sorted((d["functionName"], d["version"]) for d in cleanup["deleted"]) == sorted(
        (f.name, "2") for f in functions
    )


def test_one_failing_function_rolls_back_every_alias(runs, alias_log, workflow):
    functions, targets, run = runs["fails-at-step-2"]
    assert (run.status, run.error) == ("FAILED", "HealthCheckFailed"), run.cause
    assert run.cause.startswith("Rolled back every alias of the release (")
    assert f"{functions[1].name}: " in run.cause  # the reason names the failing function
    assert "step 2/3" in run.cause
    assert run.states_entered()[-3:] == ["Roll back", "Notify rollback", "Rolled back"]
    assert_all_restored(functions, workflow)
    for function, target in zip(functions, targets, strict=True):
        assert alias_log.of(function.name) == [
            *weights_of(function.stable, target, [10, 30])[:2],
            (function.stable, {}),
        ]
    assert [row.restored for row in run.rollback().aliases] == [True, True, True]


def test_a_failed_restore_of_one_alias_still_restores_the_others_then_the_guard(
    runs, alias_log, workflow
):
    (functions, _, run), rule = runs["failed-restore"]
    assert rule.fired == 1
    assert (run.status, run.error) == ("FAILED", "RollbackFailed"), run.cause
    second = functions[1]
    assert f"Could not roll back {second.name}:{ALIAS}" in run.cause
    assert f"restored {functions[0].name}:{ALIAS}, {functions[2].name}:{ALIAS}" in run.cause
    for function in (functions[0], functions[2]):
        assert function.alias() == (function.stable, {})
    deadline_poll(
        "the guard restoring the second alias",
        lambda: second.alias() == (second.stable, {}),
        every=ALIAS_READ_EVERY,
    )
    assert_all_restored(functions, workflow)


def test_a_single_rollout_is_refused_while_a_release_holds_its_function(runs, workflow):
    (functions, targets, release), single = runs["release-first"]
    assert (single.status, single.error) == ("FAILED", "RolloutInProgress"), single.cause
    assert release.arn in single.cause
    assert release.status == "SUCCEEDED", release.cause
    for function, target in zip(functions, targets, strict=True):
        assert function.alias() == (target, {})


def test_a_release_is_refused_while_a_single_rollout_holds_one_of_its_functions(runs, workflow):
    (functions, targets, refused), single, other_lock = runs["single-first"]
    assert (refused.status, refused.error) == ("FAILED", "RolloutInProgress"), refused.cause
    assert f"functions.1 ({functions[1].name}:{ALIAS})" in refused.cause
    assert other_lock is None  # all or none: the free function's lock was not taken
    assert functions[0].alias() == (functions[0].stable, {})
    assert single.status == "SUCCEEDED", single.cause
    assert functions[1].alias() == (targets[1], {})


def test_an_operator_can_name_the_release_by_any_of_its_functions(runs, workflow):
    (functions, _, run), member_lock = runs["abort-by-member"]
    assert member_lock["controlKey"] == f"{functions[0].name}:{ALIAS}"
    assert (run.status, run.error) == ("FAILED", "RolloutAborted"), run.cause
    assert "wrong release" in run.cause
    assert_all_restored(functions, workflow)


def test_a_stopped_release_is_restored_by_the_guard(runs, workflow):
    functions, _, run = runs["stopped"]
    assert run.status == "ABORTED"
    deadline_poll(
        "the guard restoring every alias and lock",
        lambda: all(
            f.alias() == (f.stable, {}) and workflow.lock(f.name) is None for f in functions
        ),
        every=ALIAS_READ_EVERY,
    )


def test_an_alias_changed_by_someone_else_rolls_back_the_others(runs, workflow):
    functions, targets, run = runs["drift"]
    assert (run.status, run.error) == ("FAILED", "RollbackFailed"), run.cause
    assert "ReleaseDrift" in run.cause and "someone else changed it" in run.cause
    assert functions[0].alias() == (functions[0].stable, {})
    assert functions[1].alias() == (functions[1].stable, {targets[1]: 0.25})  # left alone
    deadline_poll(
        "every lock released",
        lambda: all(workflow.lock(f.name) is None for f in functions),
    )


def test_ten_functions_with_hooks_stay_under_the_state_data_limit(runs, workflow):
    (functions, targets, run), single = runs["ten"]
    assert run.status == "SUCCEEDED", run.cause
    assert all(f.alias() == (t, {}) for f, t in zip(functions, targets, strict=True))
    largest = max(_state_data_sizes(run))
    assert largest < STATE_DATA_LIMIT, largest
    pre = ReleaseCheckResult.model_validate(
        run.outputs_of("Pre-traffic check")[0]["checks"]["preTraffic"]["result"]
    )
    assert [len(f.results) for f in pre.functions] == [3] * 10  # readiness, invoke, hook
    # every task handles the whole list: the same states, as often, as for one function
    assert run.states_entered() == single.states_entered()


def _state_data_sizes(run: Finished) -> list[int]:
    sizes = []
    for event in run.history:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for field in ("input", "output"):
                    if isinstance(details.get(field), str):
                        sizes.append(len(details[field].encode()))
    return sizes


def test_release_input_is_validated_before_anything_is_touched(workflow):
    run = workflow.run({"functions": [{"functionName": "a", "alias": ALIAS}]})
    assert (run.status, run.error) == ("FAILED", "InvalidRolloutRequest")
    assert "functions: List should have at least 2 items" in run.cause
    both = workflow.run(
        {
            "functionName": "a",
            "alias": ALIAS,
            "functions": [{"functionName": "a", "alias": ALIAS}] * 2,
        }
    )
    assert "functionName, alias: not allowed beside functions" in both.cause
