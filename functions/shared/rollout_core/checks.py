"""Pre- and post-traffic checks: invoke the new version itself (Qualifier=<version>).

Each check returns a CheckStep (name, passed, detail); the first failure stops the rest, so a
version that isn't ready is never invoked with a real payload. The invoke and the hook
wait as long as the invoked function may run and are never sent twice (invoke.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from . import clients, release, scope
from . import invoke as invoking
from .errors import PostTrafficCheckFailed, PreTrafficCheckFailed
from .models import CheckConfig, RolloutPlan
from .names import State
from .results import CheckStep, MemberCheckResult, ReleaseCheckResult, TrafficCheckResult

LABELS = {"preTraffic": State.PRE_TRAFFIC_CHECK, "postTraffic": State.POST_TRAFFIC_CHECK}


TimeLeft = Callable[[], float] | None  # seconds the calling task has left


def run_all(
    plan: RolloutPlan, phase: str, time_left: TimeLeft = None
) -> TrafficCheckResult | ReleaseCheckResult:
    """`$.checks.<phase>`: one function's check, or each member's in turn for a release
    (rollout_core.release), so every pre-traffic check passes before any alias moves. The
    first failure raises the phase's named error, naming its function."""
    if not release.is_release(plan):
        return run(plan, phase, time_left)
    results = [
        MemberCheckResult(
            functionName=member.functionName,
            alias=member.alias,
            **dict(run(member, phase, time_left)),
        )
        for member in release.members(plan)
    ]
    skipped = all(result.skipped for result in results)
    return ReleaseCheckResult(phase=phase, passed=True, skipped=skipped, functions=results)


def run(plan: RolloutPlan, phase: str, time_left: TimeLeft = None) -> TrafficCheckResult:
    """The check result for `$.checks.<phase>`; raises the phase's named error on failure."""
    config = plan.preTraffic if phase == "preTraffic" else plan.postTraffic
    if config is None:
        return TrafficCheckResult(phase=phase, version=plan.targetVersion, skipped=True)
    results = []
    for check in _checks(config):
        outcome = check(plan, config, phase, time_left)
        results.append(outcome)
        if not outcome.passed:
            error = PreTrafficCheckFailed if phase == "preTraffic" else PostTrafficCheckFailed
            failed = MemberCheckResult(
                functionName=plan.functionName,
                alias=plan.alias,
                phase=phase,
                version=plan.targetVersion,
                results=results,
                passed=False,
            )
            raise error(
                f"{LABELS[phase]} of {plan.functionName} version {plan.targetVersion} failed: "
                f"{outcome.name}: {outcome.detail}",
                failed,
            )
    return TrafficCheckResult(phase=phase, version=plan.targetVersion, results=results)


Check = Callable[[RolloutPlan, CheckConfig, str, TimeLeft], CheckStep]


def _checks(config: CheckConfig) -> list[Check]:
    selected = [(config.readiness, readiness), (config.invoke, invoke), (config.hookFunction, hook)]
    return [check for wanted, check in selected if wanted]


def readiness(
    plan: RolloutPlan, config: CheckConfig, phase: str, time_left: TimeLeft = None
) -> CheckStep:
    """The version is Active and Lambda accepts an invoke of it (DryRun: nothing runs)."""
    scope.recheck("functionName", plan.functionName)
    lam = clients.lambda_()
    try:
        state = lam.get_function_configuration(
            FunctionName=plan.functionName, Qualifier=plan.targetVersion
        ).get("State", "Active")
        if state != "Active":
            return _outcome("readiness", False, f"version state is {state}, not Active")
        lam.invoke(
            FunctionName=plan.functionName, Qualifier=plan.targetVersion, InvocationType="DryRun"
        )
    except ClientError as error:
        return _outcome("readiness", False, _client_error(error))
    return _outcome("readiness", True, "version is Active and invocable")


def invoke(
    plan: RolloutPlan, config: CheckConfig, phase: str, time_left: TimeLeft = None
) -> CheckStep:
    scope.recheck("functionName", plan.functionName)
    passed, detail, response = _call(
        plan.functionName, plan.targetVersion, config.payload, time_left
    )
    if passed and config.expect is not None and not contains(response, config.expect):
        passed, detail = (
            False,
            f"response {_short(response)} doesn't contain {_short(config.expect)}",
        )
    return _outcome("invoke", passed, detail)


def hook(
    plan: RolloutPlan, config: CheckConfig, phase: str, time_left: TimeLeft = None
) -> CheckStep:
    event = {
        "functionName": plan.functionName,
        "alias": plan.alias,
        "targetVersion": plan.targetVersion,
        "stableVersion": plan.stableVersion,
        "phase": phase,
    }
    assert config.hookFunction is not None
    scope.recheck("hookFunction", config.hookFunction)
    passed, detail, response = _call(config.hookFunction, None, event, time_left)
    if passed:
        verdict = response if isinstance(response, dict) else {}
        passed = verdict.get("passed") is True
        detail = str(
            verdict.get("reason") or ("passed" if passed else f"returned {_short(response)}")
        )
    return _outcome(f"hook {config.hookFunction}", passed, detail)


def _call(
    function: str, qualifier: str | None, payload: Any, time_left: TimeLeft
) -> tuple[bool, str, Any]:
    """(ok, detail, decoded response) of a synchronous invoke, sent once."""
    args: dict[str, Any] = {"FunctionName": function, "Payload": json.dumps(payload).encode()}
    if qualifier:
        args["Qualifier"] = qualifier
    try:
        reply = invoking.call(args, time_left)
    except ClientError as error:
        return False, _client_error(error), None
    except invoking.InvokeFailed as error:
        return False, str(error), None
    body = reply["Payload"].read().decode() if reply.get("Payload") else ""
    response = _decode(body)
    if reply.get("FunctionError"):
        message = response.get("errorMessage", body) if isinstance(response, dict) else body
        return False, f"function error ({reply['FunctionError']}): {_short(message)}", response
    return True, f"returned {_short(response)}", response


def contains(actual: Any, expected: Any) -> bool:
    """Subset match: every key of `expected` is in `actual` with a matching value."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return actual == expected


def _decode(body: str) -> Any:
    try:
        return json.loads(body) if body else None
    except json.JSONDecodeError:
        return body


def _client_error(error: ClientError) -> str:
    return f"{error.response['Error']['Code']}: {error.response['Error'].get('Message', '')}"


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _outcome(name: str, passed: bool, detail: str) -> CheckStep:
    return CheckStep(name=name, passed=passed, detail=detail)
