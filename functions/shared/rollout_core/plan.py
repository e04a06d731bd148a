"""Prepare: normalise the input, validate it against the live account, plan, lock.

Nothing is changed before the lock is taken, and the lock is the last step, so a
rejected request leaves no trace.
"""

from __future__ import annotations

import math
from typing import Any

from . import eventbridge, lock, resolve, rolled_back, scope, settings
from .controls import HOLD_SECONDS
from .errors import AlarmsAlreadyFiring, InvalidRolloutRequest, RolloutInProgress
from .health import alarms, inconclusive
from .lifetime import lock_ttl
from .models import (
    AlarmReading,
    CheckConfig,
    HealthPolicy,
    LatencyPolicy,
    LockRef,
    Member,
    PipelineRef,
    Plan,
    PriorRollback,
    Progress,
    RolloutPlan,
    UserMetric,
    dump,
)
from .progress import initial
from .request import CheckSpec, LatencySpec, ReleaseEntry, ReleaseRequest, RolloutRequest
from .traffic import discover, moved
from .traffic.subject import Subject
from .validation import (
    Defaults,
    Schedule,
    ValidPipeline,
    ValidRequest,
    validate,
    validate_input,
)

# Keeps an execution well inside Step Functions' 25,000-event history: a check cycle is 13
# events (Wait for next check's task 6, Check health 5, Step done? 2).
MAX_CHECKS = 1500


def prepare(document: Any, execution_id: str) -> dict[str, Any]:
    """{plan, progress} for the state machine; raises the contract's named errors. The
    input is checked first by validation.validate, the entry point the CLI calls too."""
    config = settings.load()
    defaults = Defaults(strategy=config.default_strategy, approval=config.default_approval)
    if eventbridge.is_publish_event(document):
        found = _from_event(document, execution_id, defaults)
        if isinstance(found, Plan):
            return {"plan": dump(found), "progress": dump(initial(found))}
        plan = build(*found, "eventbridge", execution_id)
        if plan.action == "noop":  # live already: did a rollout put it there?
            plan = moved.explain(plan)
    else:
        found = validate_input(document, defaults)
        if isinstance(found, ValidPipeline):
            return {"plan": dump(_pipeline(found, execution_id)), "progress": dump(Progress())}
        request, schedule = found.request, _scheduled(found)
        if isinstance(request, ReleaseRequest):
            plan = build_release(request, schedule, execution_id, dry_run=request.dryRun)
        else:
            plan = build(request, schedule, "console", execution_id, dry_run=request.dryRun)
    return {"plan": dump(plan), "progress": dump(initial(plan))}


def _from_event(
    event: dict[str, Any], execution_id: str, defaults: Defaults
) -> tuple[RolloutRequest, Schedule] | Plan:
    function, version = eventbridge.published(event)
    if not scope.in_scope(function.rsplit(":", 1)[-1]):
        # Every PublishVersion in the account reaches the rule; IAM can't even read the
        # tags of functions outside the pattern, so those are skipped, not failed.
        reason = f"{function} is outside this deployment's scope ({scope.pattern()!r})"
        return _skip(reason, execution_id, function, version)
    if eventbridge.published_for_a_release(function, version):
        reason = (
            f"version {version} was published by a release of several functions "
            "(rollout release --stack) or by rollout release --function, which rolls it out"
        )
        return _skip(reason, execution_id, function, version)
    tags = eventbridge.read_tags(function)
    if eventbridge.ALIAS_TAG not in tags:
        reason = f"{function} has no {eventbridge.ALIAS_TAG} tag; not opted in to rollouts"
        return _skip(reason, execution_id, function, version)
    try:
        valid = validate(eventbridge.request_from_tags(function, version, tags), defaults)
    except InvalidRolloutRequest as error:
        raise InvalidRolloutRequest(f"from the function's rollout:* tags: {error}") from None
    assert isinstance(valid.request, RolloutRequest)  # tags name no release
    return valid.request, _scheduled(valid)


def _pipeline(valid: ValidPipeline, execution_id: str) -> Plan:
    """Waves (rollout_core.pipeline): checked offline here, handed to the pipeline state
    machine, whose Prepare pipeline checks every target against its account."""
    waves = valid.request.waves
    targets = sum(len(wave.targets) for wave in waves)
    reason = (
        f"a pipeline of {len(waves)} wave{'s' if len(waves) != 1 else ''} and {targets} "
        f"target{'s' if targets != 1 else ''}: started on the pipeline state machine"
    )
    return Plan(action="pipeline", reason=reason, executionId=execution_id)


def _skip(reason: str, execution_id: str, function: str, version: str) -> Plan:
    return Plan(
        action="skip",
        reason=reason,
        source="eventbridge",
        executionId=execution_id,
        functionName=function,
        targetVersion=version,
    )


def build(
    request: RolloutRequest,
    schedule: Schedule,
    source: str,
    execution_id: str,
    *,
    dry_run: bool = False,
) -> Plan:
    """The plan; takes the lock unless `dry_run` (then the plan's action is "dryRun")."""
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
    readings = _existing_alarms(request.alarms)
    states = {reading.name: reading.state for reading in readings}
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
        "preTraffic": _check(request.preTraffic, readiness=True),
        "postTraffic": _check(request.postTraffic, readiness=False),
        "pipeline": _pipeline_ref(request),
    }
    if target["Version"] == stable:
        reason = f"version {stable} is already live on {name}:{request.alias}"
        return Plan(action="noop", reason=reason, **_without_checks(common))
    prior = rolled_back.find(config.lock_table, name, request.alias, target["Version"])
    priors = [prior] if prior else []
    if priors and not request.retryRolledBack:
        return rolled_back.refusal(priors, _without_checks(common), several=False)
    stable_config = resolve.compatible(name, stable, target)
    ignored = _firing(request, states)
    destinations = [
        resolve.log_destination(name, stable, stable_config),
        resolve.log_destination(name, target["Version"], target),
    ]
    traffic = _traffic(request, [Subject(name, arn, request.alias, (stable, target["Version"]))])
    plan = _rollout_plan(request, schedule, config, common | traffic, ignored)
    plan = plan.model_copy(update={"logDestinations": destinations, "alarmStates": readings})
    plan = _rolled_out_again(plan, priors)
    if dry_run:  # validated exactly as a rollout, and nothing touched
        return plan.model_copy(update={"action": "dryRun"})
    try:
        lock.acquire(
            plan.lock.table, plan.lock.key, execution_id, lock_ttl(plan), plan.targetVersion
        )
    except RolloutInProgress:  # started at the same moment as a twin that won the lock
        duplicate = _already_rolling_out(
            config, name, request.alias, plan.targetVersion, execution_id
        )
        if duplicate is None:
            raise
        return _duplicate(duplicate, source, execution_id, name, arn, request.alias, target)
    return plan


def build_release(
    request: ReleaseRequest, schedule: Schedule, execution_id: str, *, dry_run: bool = False
) -> Plan:
    """The plan of a release (rollout_core.release): every entry resolved and validated as
    a single rollout's, entries already live left out, then every lock in one transaction."""
    config = settings.load()
    resolved = [_member(index, entry, config) for index, entry in enumerate(request.functions)]
    moving = [member for member in resolved if member.targetVersion != member.stableVersion]
    notes = [
        f"{m.functionName}:{m.alias} already runs version {m.stableVersion}; left out"
        for m in resolved
        if m not in moving
    ]
    common = {"source": "console", "executionId": execution_id, "pipeline": _pipeline_ref(request)}
    if not moving:
        reason = "every function of the release already runs its version"
        return Plan(action="noop", reason=reason, notes=notes, **common)
    primary = moving[0].model_dump(exclude={"lockKey"})
    priors = rolled_back.found(config.lock_table, moving)
    refused = rolled_back.refusing(priors, several=True)
    if refused and not request.retryRolledBack:
        common |= {**_without_checks(primary), "functions": moving}
        return rolled_back.refusal(refused, common, several=True)
    readings = _existing_alarms(request.alarms)
    ignored = _firing(request, {reading.name: reading.state for reading in readings})
    subjects = [
        Subject(m.functionName, m.functionArn, m.alias, (m.stableVersion, m.targetVersion))
        for m in moving
    ]
    traffic = _traffic(request, subjects)
    plan = _rollout_plan(request, schedule, config, common | primary | traffic, ignored)
    plan = plan.model_copy(
        update={"functions": moving, "notes": [*notes, *plan.notes], "alarmStates": readings}
    )
    plan = _rolled_out_again(plan, priors)
    if dry_run:
        return plan.model_copy(update={"action": "dryRun"})
    keys = [(member.lockKey, member.targetVersion) for member in moving]
    try:
        lock.acquire_all(plan.lock.table, keys, execution_id, lock_ttl(plan))
    except RolloutInProgress as error:
        index = [member.lockKey for member in resolved].index(error.key or keys[0][0])
        raise RolloutInProgress(f"functions.{index} ({error.key}): {error}") from None
    return plan


def _rolled_out_again(plan: RolloutPlan, priors: list[PriorRollback]) -> RolloutPlan:
    """A target rolled back on its alias before, rolled out all the same (retryRolledBack,
    or a release's member rolled back with another release): said in the plan, and
    forgotten when this rollout succeeds (rollout_core.rolled_back)."""
    if not priors:
        return plan
    notes = [*plan.notes, *rolled_back.retry_notes(priors)]
    return plan.model_copy(update={"rolledBackBefore": priors, "notes": notes})


def _member(index: int, entry: ReleaseEntry, config: settings.Settings) -> Member:
    """One entry resolved as a single rollout's target; errors name the entry."""
    where = f"functions.{index} ({entry.functionName}:{entry.alias})"
    try:
        name = resolve.function_name(entry.functionName)
        alias_arn, stable = resolve.stable_alias(name, entry.alias, config.lock_table)
        target = resolve.target_version(name, entry.targetVersion)
        resolve.hook_exists("preTraffic", _hook(entry.preTraffic))
        resolve.hook_exists("postTraffic", _hook(entry.postTraffic))
        destinations = []
        if target["Version"] != stable:
            stable_config = resolve.compatible(name, stable, target)
            destinations = [
                resolve.log_destination(name, stable, stable_config),
                resolve.log_destination(name, target["Version"], target),
            ]
    except (InvalidRolloutRequest, RolloutInProgress) as error:
        raise type(error)(f"{where}: {error}") from None
    return Member(
        functionName=name,
        functionArn=resolve.function_arn(name),
        alias=entry.alias,
        aliasArn=alias_arn,
        stableVersion=stable,
        targetVersion=target["Version"],
        preTraffic=_check(entry.preTraffic, readiness=True),
        postTraffic=_check(entry.postTraffic, readiness=False),
        lockKey=lock.lock_key(name, entry.alias),
        logDestinations=destinations,
    )


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


def _scheduled(valid: ValidRequest) -> Schedule:
    if valid.schedule is None:  # Prepare always knows DefaultStrategy
        raise RuntimeError("validated without the deployment's defaults")
    return valid.schedule


def _existing_alarms(names: list[str]) -> list[AlarmReading]:
    """Each alarm as the one DescribeAlarms of the rollout reads it (the pushed states'
    seed: rollout_core.telemetry.alarm_states)."""
    found = alarms.readings(names)
    missing = [name for name, reading in found.items() if reading["state"] == alarms.MISSING]
    if missing:
        raise InvalidRolloutRequest(f"alarms: not found: {', '.join(missing)}")
    return [AlarmReading.model_validate({"name": name, **found[name]}) for name in names]


def _firing(request: RolloutRequest | ReleaseRequest, states: dict[str, str]) -> list[str]:
    """Alarms already in ALARM: refused unless ignored (then watched once they clear)."""
    firing = [name for name, state in states.items() if state == "ALARM"]
    if firing and not request.ignoreFiringAlarms:
        raise AlarmsAlreadyFiring(
            f"alarms already in ALARM before the rollout: {', '.join(firing)}; "
            "set ignoreFiringAlarms to roll out a fix anyway"
        )
    return firing


def _traffic(request: RolloutRequest | ReleaseRequest, subjects: list[Subject]) -> dict[str, Any]:
    """The plan's traffic sources (rollout_core.traffic), read before anything moves: a
    source that bypasses a rolled alias refuses the rollout unless `bypass` is "warn"."""
    found = discover.discover(subjects)
    refusal = discover.refusal(found)
    if refusal and request.bypass == "fail":
        raise InvalidRolloutRequest(refusal)
    return {
        "bypass": request.bypass,
        "traffic": found,
        "notes": discover.notes(found, request.bypass),
    }


def _without_checks(common: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in common.items() if k not in ("preTraffic", "postTraffic")}


def _rollout_plan(
    request: RolloutRequest | ReleaseRequest,
    schedule: Schedule,
    config: settings.Settings,
    common: dict[str, Any],
    ignored: list[str],
) -> RolloutPlan:
    table = settings.required(config.lock_table, "LOCK_TABLE")
    steps, bake, approval = schedule.steps, schedule.bake_seconds, schedule.approval
    health = request.health
    policy = HealthPolicy(
        errorRatePercent=_default(health.errorRatePercent, config.default_error_rate_percent),
        minInvocations=_default(health.minInvocations, config.default_min_invocations),
        compareToStable=health.compareToStable,
        lowTraffic=health.lowTraffic,
        logs=health.logs,
        latency=latency_policy(health.latency),
        inconclusive=health.inconclusive,
        metrics=[UserMetric.model_validate(m.model_dump()) for m in health.metrics],
    )
    holds = schedule.gates * math.ceil(approval.timeoutSeconds / HOLD_SECONDS) if approval else 0
    holds += inconclusive.extension_checks(policy, len(steps), bake)
    interval, notes = _interval(
        request.checkIntervalSeconds or config.default_check_interval_seconds, steps, bake, holds
    )
    common = {**common, "notes": [*notes, *common.get("notes", [])]}
    return RolloutPlan(
        action="rollout",
        **common,
        strategy=schedule.strategy,
        timeScale=request.timeScale,
        checkIntervalSeconds=interval,
        steps=steps,
        totalWaitSeconds=sum(step["waitSeconds"] for step in steps),
        alarms=request.alarms,
        ignoredAlarms=ignored,
        insufficientData=request.insufficientData,
        health=policy,
        bakeSeconds=bake,
        keepVersions=_default(request.keepVersions, config.default_keep_versions),
        approval=approval,
        lock=LockRef(
            table=table,
            key=lock.lock_key(common["functionName"], common["alias"]),
            owner=common["executionId"],
        ),
    )


def _interval(
    requested: int, steps: list[dict[str, Any]], bake: int, holds: int = 0
) -> tuple[int, list[str]]:
    """Stretch the check interval when the checks (and the approval gates' hold cycles,
    each about as many history events as a check, and the checks inconclusive steps may
    add) would overflow the execution history."""
    waits = [step["waitSeconds"] for step in steps] + [bake]
    interval = requested
    while _checks(waits, interval) + holds > MAX_CHECKS:
        interval += 1
    if interval == requested:
        return requested, []
    return interval, [
        f"checkIntervalSeconds raised from {requested} to {interval} so the "
        f"execution stays under {MAX_CHECKS} health checks"
    ]


def _checks(waits: list[int], interval: int) -> int:
    return sum(max(1, math.ceil(wait / interval)) for wait in waits)


def latency_policy(option: LatencySpec | bool) -> LatencyPolicy | None:
    """true = the default test; false = off."""
    if option is False:
        return None
    return LatencyPolicy() if option is True else LatencyPolicy(**option.model_dump())


def _pipeline_ref(request: RolloutRequest | ReleaseRequest) -> PipelineRef | None:
    """The pipeline that started this rollout, if one did (rollout_core.pipeline)."""
    ref = request.pipeline
    return None if ref is None else PipelineRef.model_validate(ref.model_dump())


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
