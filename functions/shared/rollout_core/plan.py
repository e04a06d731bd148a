"""Prepare: normalise the input, validate it against the live account, plan, lock.

Nothing is changed before the lock is taken, and the lock is the last step, so a
rejected request leaves no trace.
"""

from __future__ import annotations

import math
from typing import Any

from . import eventbridge, lock, resolve, scope, settings
from .errors import AlarmsAlreadyFiring, InvalidRolloutRequest, RolloutInProgress
from .health import MISSING, alarm_states
from .models import CheckConfig, HealthPolicy, LockRef, Plan, RolloutPlan, StrategyRef, dump
from .progress import initial
from .request import CheckSpec, RolloutRequest, parse_request
from .strategies import plan_steps, scale

MAX_CHECKS = 2000  # keeps an execution well inside Step Functions' 25,000-event history
LOCK_MARGIN_SECONDS = 3600


def prepare(document: Any, execution_id: str) -> dict[str, Any]:
    """{plan, progress} for the state machine; raises the contract's named errors."""
    if eventbridge.is_publish_event(document):
        request = _from_event(document, execution_id)
        if isinstance(request, Plan):
            return {"plan": dump(request), "progress": dump(initial(request))}
        plan = build(request, "eventbridge", execution_id)
    else:
        plan = build(parse_request(document), "console", execution_id)
    return {"plan": dump(plan), "progress": dump(initial(plan))}


def _from_event(event: dict[str, Any], execution_id: str) -> RolloutRequest | Plan:
    function, version = eventbridge.published(event)
    if not scope.in_scope(function.rsplit(":", 1)[-1]):
        # Every PublishVersion in the account reaches the rule; IAM can't even read the
        # tags of functions outside the pattern, so those are skipped, not failed.
        reason = f"{function} is outside this deployment's scope ({scope.pattern()!r})"
        return _skip(reason, execution_id, function, version)
    tags = eventbridge.read_tags(function)
    if eventbridge.ALIAS_TAG not in tags:
        reason = f"{function} has no {eventbridge.ALIAS_TAG} tag; not opted in to rollouts"
        return _skip(reason, execution_id, function, version)
    try:
        return parse_request(eventbridge.request_from_tags(function, version, tags))
    except InvalidRolloutRequest as error:
        raise InvalidRolloutRequest(f"from the function's rollout:* tags: {error}") from None


def _skip(reason: str, execution_id: str, function: str, version: str) -> Plan:
    return Plan(
        action="skip",
        reason=reason,
        source="eventbridge",
        executionId=execution_id,
        functionName=function,
        targetVersion=version,
    )


def build(request: RolloutRequest, source: str, execution_id: str) -> Plan:
    config = settings.load()
    name = resolve.function_name(request.functionName)
    arn = resolve.function_arn(name)
    try:
        alias_arn, stable = resolve.stable_alias(name, request.alias, config.lock_table)
    except RolloutInProgress:  # split by a rollout: of this very version, or another one?
        target = resolve.target_version(name, request.targetVersion)
        holder = _already_rolling_out(config, name, request.alias, target["Version"], execution_id)
        if holder is None:
            raise
        return _duplicate(holder, source, execution_id, name, arn, request.alias, target)
    target = resolve.target_version(name, request.targetVersion)
    states = _existing_alarms(request.alarms)
    strategy, kind, steps = plan_steps(
        request.strategy or config.default_strategy, request.timeScale
    )
    resolve.hook_exists("preTraffic", _hook(request.preTraffic))
    resolve.hook_exists("postTraffic", _hook(request.postTraffic))
    common = {
        "source": source,
        "executionId": execution_id,
        "functionName": name,
        "functionArn": arn,
        "alias": request.alias,
        "aliasArn": alias_arn,
        "stableVersion": stable,
        "targetVersion": target["Version"],
    }
    if target["Version"] == stable:
        reason = f"version {stable} is already live on {name}:{request.alias}"
        return Plan(action="noop", reason=reason, **common)
    resolve.compatible(name, stable, target)
    ignored = _firing(request, states)
    plan = _rollout_plan(
        request, config, common, StrategyRef(name=strategy, kind=kind), steps, ignored
    )
    try:
        lock.acquire(
            plan.lock.table, plan.lock.key, execution_id, _lock_ttl(plan), plan.targetVersion
        )
    except RolloutInProgress:  # started at the same moment as a twin that won the lock
        duplicate = _already_rolling_out(
            config, name, request.alias, plan.targetVersion, execution_id
        )
        if duplicate is None:
            raise
        return _duplicate(duplicate, source, execution_id, name, arn, request.alias, target)
    return plan


def _duplicate(
    holder: str,
    source: str,
    execution_id: str,
    name: str,
    arn: str,
    alias: str,
    target: dict[str, Any],
) -> Plan:
    version = target["Version"]
    return Plan(
        action="duplicate",
        reason=f"version {version} of {name}:{alias} is already being rolled out by {holder}",
        source=source,
        executionId=execution_id,
        functionName=name,
        functionArn=arn,
        alias=alias,
        targetVersion=version,
        rolledOutBy=holder,
    )


def _already_rolling_out(
    config: settings.Settings, function: str, alias: str, target: str, execution_id: str
) -> str | None:
    """Another execution holding this alias's lock for this very version: the same release
    started twice (EventBridge delivers at least once; CI's `rollout release` and the
    PublishVersion rule both fire). That one does the rollout; this one ends quietly."""
    if not config.lock_table:
        return None
    holding = lock.held(config.lock_table, lock.lock_key(function, alias))
    if holding is None or holding.owner == execution_id or holding.target != target:
        return None
    return holding.owner


def _existing_alarms(names: list[str]) -> dict[str, str]:
    states = alarm_states(names)
    missing = [name for name, state in states.items() if state == MISSING]
    if missing:
        raise InvalidRolloutRequest(f"alarms: not found: {', '.join(missing)}")
    return states


def _firing(request: RolloutRequest, states: dict[str, str]) -> list[str]:
    """Alarms already in ALARM: refused unless ignored (then watched once they clear)."""
    firing = [name for name, state in states.items() if state == "ALARM"]
    if firing and not request.ignoreFiringAlarms:
        raise AlarmsAlreadyFiring(
            f"alarms already in ALARM before the rollout: {', '.join(firing)}; "
            "set ignoreFiringAlarms to roll out a fix anyway"
        )
    return firing


def _rollout_plan(
    request: RolloutRequest,
    config: settings.Settings,
    common: dict[str, Any],
    strategy: StrategyRef,
    steps: list[dict[str, Any]],
    ignored: list[str],
) -> RolloutPlan:
    if not config.lock_table:
        raise RuntimeError("LOCK_TABLE is not set; the template sets it on every function")
    bake = round_half_up_seconds(request.bakeSeconds, request.timeScale)
    interval, notes = _interval(
        request.checkIntervalSeconds or config.default_check_interval_seconds, steps, bake
    )
    health = request.health
    return RolloutPlan(
        action="rollout",
        **common,
        strategy=strategy,
        timeScale=request.timeScale,
        checkIntervalSeconds=interval,
        steps=steps,
        totalWaitSeconds=sum(step["waitSeconds"] for step in steps),
        alarms=request.alarms,
        ignoredAlarms=ignored,
        insufficientData=request.insufficientData,
        health=HealthPolicy(
            errorRatePercent=_default(health.errorRatePercent, config.default_error_rate_percent),
            minInvocations=_default(health.minInvocations, config.default_min_invocations),
            compareToStable=health.compareToStable,
            lowTraffic=health.lowTraffic,
            logs=health.logs,
        ),
        preTraffic=_check(request.preTraffic, readiness=True),
        postTraffic=_check(request.postTraffic, readiness=False),
        bakeSeconds=bake,
        keepVersions=_default(request.keepVersions, config.default_keep_versions),
        lock=LockRef(
            table=config.lock_table,
            key=lock.lock_key(common["functionName"], common["alias"]),
            owner=common["executionId"],
        ),
        notes=notes,
    )


def round_half_up_seconds(seconds: int, time_scale: float) -> int:
    return scale([seconds], time_scale)[0] if seconds else 0


def _interval(requested: int, steps: list[dict[str, Any]], bake: int) -> tuple[int, list[str]]:
    """Stretch the check interval when the checks would overflow the execution history."""
    waits = [step["waitSeconds"] for step in steps] + [bake]
    interval = requested
    while _checks(waits, interval) > MAX_CHECKS:
        interval += 1
    if interval == requested:
        return requested, []
    return interval, [
        f"checkIntervalSeconds raised from {requested} to {interval} so the "
        f"execution stays under {MAX_CHECKS} health checks"
    ]


def _checks(waits: list[int], interval: int) -> int:
    return sum(max(1, math.ceil(wait / interval)) for wait in waits)


def _default(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def _hook(option: CheckSpec | bool) -> str | None:
    return option.hookFunction if isinstance(option, CheckSpec) else None


def _check(option: CheckSpec | bool, *, readiness: bool) -> CheckConfig | None:
    """true = the default (readiness before traffic, nothing after); false = no check."""
    if option is False or (option is True and not readiness):
        return None
    if option is True:
        return CheckConfig(readiness=True)
    invoke = "payload" in option.model_fields_set or option.expect is not None
    return CheckConfig(
        readiness=readiness,
        invoke=invoke,
        payload=option.payload,
        expect=option.expect,
        hookFunction=option.hookFunction,
    )


def _lock_ttl(plan: RolloutPlan) -> int:
    return plan.totalWaitSeconds + plan.bakeSeconds + LOCK_MARGIN_SECONDS
