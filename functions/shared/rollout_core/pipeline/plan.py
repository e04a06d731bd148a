"""Prepare pipeline: check every target before anything moves, plan the waves, open the
pipeline's control channel.

For each target, through the target role there (which proves the role can be assumed):
the rollout stack exists, its Prepare plans the rollout as a dry run (the function and
alias exist, the versions, alarms and hooks are right, nothing touched), and no lock is
held on an alias it would move. Any refusal names the wave and the target and stops the
pipeline before it starts. The plan is written once; every later state reads it.
"""

from __future__ import annotations

import hashlib
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from .. import channel, remote, settings
from ..errors import InvalidRolloutRequest, RolloutError, RolloutInProgress
from ..models import LockRef, PipelineRef, dump
from ..scope import STACK_ENV
from ..validation import (
    Defaults,
    ValidPipeline,
    longest_seconds,
    round_half_up_seconds,
    validate_input,
)
from . import targets
from .blockers import alarm_states
from .controls import channel_key
from .models import (
    BlockerAlarm,
    Blockers,
    PipelineCursor,
    PipelinePlan,
    PipelineTarget,
    Place,
    Wave,
    WaveApproval,
    Window,
)
from .spec import AlarmRef, PipelineRequest, TargetSpec

HOLD_SECONDS = 600  # one Before wave / Bake wave / Follow target task (Lambda timeout 660 s)
# The most events a pipeline's history may be planned to reach: Step Functions keeps 25,000.
MAX_HISTORY_EVENTS = 20000
CHECK_INTERVAL_SECONDS = 10  # how often a held wave reads its blocker alarms
PARALLEL_CHECKS = 8
_NAME_ROOM = 80 - len("-12345678-w10-t20")  # execution names: at most 80 characters


def prepare(document: Any, execution_id: str) -> dict[str, Any]:
    """{plan, cursor}; raises the contract's named errors, naming the target refused."""
    config = settings.load()
    defaults = Defaults(strategy=config.default_strategy, approval=config.default_approval)
    valid = validate_input(document, defaults)
    if not isinstance(valid, ValidPipeline):
        raise InvalidRolloutRequest("waves: required (this state machine runs pipelines)")
    if valid.rollout.schedule is None:
        raise RuntimeError("validated without the deployment's defaults")
    plan = build(valid, execution_id, config)
    cursor = PipelineCursor(waveCount=len(plan.waves))
    if plan.action == "pipeline":
        _open_channel(plan)
    return {"plan": dump(plan), "cursor": dump(cursor)}


def build(valid: ValidPipeline, execution_id: str, config: settings.Settings) -> PipelinePlan:
    request, scale = valid.request, valid.rollout.request.timeScale
    partition, region, account, name = _execution_parts(execution_id)
    home = Place(account=account, region=region)
    stack = stack_name()
    table = settings.required(config.lock_table, "LOCK_TABLE")
    waves = _resolve_waves(request, valid.rollout_document, execution_id, home, stack, partition)
    plan = PipelinePlan(
        action="dryRun" if request.dryRun else "pipeline",
        executionId=execution_id,
        name=name,
        home=home,
        onFailure=request.onFailure,
        waves=[
            wave.model_copy(update={"bakeSeconds": round_half_up_seconds(spec.bakeSeconds, scale)})
            for wave, spec in zip(waves, request.waves, strict=True)
        ],
        blockers=Blockers(
            alarms=_blocker_alarms(request, home, stack, partition),
            windows=[Window.model_validate(w.model_dump()) for w in request.blockers.windows],
            timeoutSeconds=max(1, round_half_up_seconds(request.blockers.timeoutSeconds, scale)),
        ),
        approval=_approval(request, scale),
        checkIntervalSeconds=CHECK_INTERVAL_SECONDS,
        rollout=valid.rollout_document,
        channel=LockRef(table=table, key=channel_key(execution_id), owner=execution_id),
    )
    assert valid.rollout.schedule is not None
    events = history_events(plan, longest_seconds(valid.rollout.schedule))
    if events > MAX_HISTORY_EVENTS:
        raise InvalidRolloutRequest(
            f"waves: this pipeline could write {events} events to its execution history, "
            f"more than {MAX_HISTORY_EVENTS} (Step Functions keeps 25,000): fewer targets "
            "outside this Region, shorter rollouts, bakes or blocker timeouts"
        )
    seconds = lifetime(plan, longest_seconds(valid.rollout.schedule))
    return plan.model_copy(update={"historyEvents": events, "channelSeconds": seconds})


def stack_name() -> str:
    """This stack's name, from its id (the stack deployed everywhere has the same name)."""
    stack_id = os.environ.get(STACK_ENV) or ""
    if ":stack/" not in stack_id:
        raise RuntimeError(f"{STACK_ENV} is not a stack id; the template sets it")
    return stack_id.split(":stack/", 1)[1].split("/", 1)[0]


def _execution_parts(execution_id: str) -> tuple[str, str, str, str]:
    """(partition, region, account, name) of an execution ARN."""
    parts = execution_id.split(":")
    if len(parts) < 8 or parts[5] != "execution":
        raise RuntimeError(f"not an execution ARN: {execution_id!r}")
    return parts[1], parts[3], parts[4], parts[7]


# -- the targets ---------------------------------------------------------------------------


def _resolve_waves(
    request: PipelineRequest,
    rollout: dict[str, Any],
    execution_id: str,
    home: Place,
    stack: str,
    partition: str,
) -> list[Wave]:
    """Every target checked against its account, side by side; the first refusal (in wave
    and target order) is raised, naming its target."""
    jobs = [
        (w, t, wave.name, spec)
        for w, wave in enumerate(request.waves)
        for t, spec in enumerate(wave.targets)
    ]
    context = (rollout, execution_id, home, stack, partition)
    with ThreadPoolExecutor(max_workers=PARALLEL_CHECKS) as pool:
        results = list(pool.map(lambda job: _attempt(*job, *context), jobs))
    for result in results:
        if isinstance(result, BaseException):
            raise result
    resolved = [result for result in results if isinstance(result, PipelineTarget)]
    return [
        Wave(
            name=wave.name,
            bakeSeconds=wave.bakeSeconds,
            targets=[t for t in resolved if t.wave == w],
        )
        for w, wave in enumerate(request.waves)
    ]


def _attempt(*args: Any) -> PipelineTarget | BaseException:
    try:
        return resolve_target(*args)
    except (RolloutError, RuntimeError, ClientError) as error:
        return error


def resolve_target(
    wave: int,
    index: int,
    wave_name: str,
    spec: TargetSpec,
    rollout: dict[str, Any],
    execution_id: str,
    home: Place,
    stack: str,
    partition: str,
) -> PipelineTarget:
    where = f"waves.{wave}.targets.{index} ({spec.region} in {spec.account})"
    role = targets.role_arn(partition, spec.account, stack, spec.region)
    there = remote.Target(spec.account, spec.region, role)
    ref = PipelineRef(executionArn=execution_id, wave=wave_name, waveIndex=wave, target=index)
    try:
        outputs = targets.stack_outputs(there, stack)
        plan = targets.dry_run(
            there, outputs[targets.PREPARE_OUTPUT], {**rollout, "pipeline": dump(ref)}, execution_id
        )
        table = outputs[targets.TABLE_OUTPUT]
        keys = targets.lock_keys(plan)
        for key in keys:
            holder = targets.lock_holder(there, table, key)
            if holder is not None:
                raise RolloutInProgress(f"{key} is locked by {holder}")
    except RolloutError as error:
        raise type(error)(f"{where}: {error.message}") from None
    except ClientError as error:
        raise _unreachable(where, role, error) from None
    return PipelineTarget(
        account=spec.account,
        region=spec.region,
        wave=wave,
        index=index,
        roleArn=role,
        stateMachineArn=outputs[targets.STATE_MACHINE_OUTPUT],
        table=table,
        executionName=child_name(execution_id, wave, index),
        sameRegion=spec.region == home.region,
        controlKey=keys[0] if keys else None,
        functions=targets.moved_by(plan),
        childInput={"pipeline": dump(ref)},
    )


def _unreachable(where: str, role: str, error: ClientError) -> RolloutError:
    code = error.response["Error"]["Code"]
    message = error.response["Error"].get("Message", "")
    if error.operation_name == "AssumeRole":
        return InvalidRolloutRequest(
            f"{where}: the role {role} can't be assumed ({code}: {message}); deploy the stack "
            "there with this account as PipelineAccountId (README, Waves)"
        )
    return InvalidRolloutRequest(f"{where}: {error.operation_name} refused ({code}: {message})")


def child_name(execution_id: str, wave: int, index: int) -> str:
    """The target's rollout's execution name: the pipeline's, a hash of its ARN (unique even
    when names are cut), the wave and the target (1-based), within 80 characters."""
    name = execution_id.rsplit(":", 1)[-1]
    digest = hashlib.sha256(execution_id.encode()).hexdigest()[:8]
    return f"{name[:_NAME_ROOM]}-{digest}-w{wave + 1}-t{index + 1}"


# -- blockers and gates --------------------------------------------------------------------


def _blocker_alarms(
    request: PipelineRequest, home: Place, stack: str, partition: str
) -> list[BlockerAlarm]:
    found = []
    for index, alarm in enumerate(request.blockers.alarms):
        ref = alarm if isinstance(alarm, AlarmRef) else AlarmRef(alarmName=alarm)
        account, region = ref.account or home.account, ref.region or home.region
        own = (account, region) == (home.account, home.region)
        role = None if own else targets.role_arn(partition, account, stack, region)
        found.append(
            BlockerAlarm(alarmName=ref.alarmName, account=account, region=region, roleArn=role)
        )
        _alarm_exists(found[-1], f"blockers.alarms.{index}")
    return found


def _alarm_exists(alarm: BlockerAlarm, where: str) -> None:
    try:
        state = alarm_states([alarm])[0][1]
    except ClientError as error:
        role = alarm.roleArn or "this function's role"
        raise _unreachable(where, role, error) from None
    if state == "MISSING":
        raise InvalidRolloutRequest(
            f"{where}: alarm {alarm.alarmName} not found in {alarm.region} in {alarm.account}"
        )


def _approval(request: PipelineRequest, scale: float) -> WaveApproval | None:
    if request.approval is None:
        return None
    return WaveApproval(
        timeoutSeconds=max(1, round_half_up_seconds(request.approval.timeoutSeconds, scale)),
        onTimeout=request.approval.onTimeout,
    )


# -- budgets -------------------------------------------------------------------------------

# History events per state visit (GetExecutionHistory): a Task 5 (entered, scheduled,
# started, succeeded, exited), a Choice or Pass 2, a nested execution task 6 (+ submitted),
# a Map 4 plus 2 per iteration.
_TASK, _CHOICE, _NESTED, _MAP, _ITERATION = 5, 2, 6, 4, 2


def history_events(plan: PipelinePlan, rollout_seconds: int) -> int:
    """The most events the pipeline's history can reach: every hold and follow cycle at its
    longest, every target restored."""
    holds = _cycles(
        plan.blockers.timeoutSeconds + (plan.approval.timeoutSeconds if plan.approval else 0)
    )
    events = 2 * _TASK + 3 * _CHOICE  # Prepare, Dry run?, finish or failure
    for wave in plan.waves:
        events += _CHOICE + holds * (_TASK + _CHOICE) + _MAP + _TASK  # gate, map, close
        events += _cycles(wave.bakeSeconds) * (_TASK + _CHOICE)
        for target in wave.targets:
            events += _ITERATION + _CHOICE + _TASK  # its iteration, In its Region?, Record
            if target.sameRegion:
                events += _NESTED
            else:
                events += _TASK + _cycles(rollout_seconds) * (_TASK + _CHOICE)
            events += _ITERATION + _TASK  # restored, if it comes to that
    return events + _MAP * (len(plan.waves) + 1) + 2 * _TASK + _CHOICE


def _cycles(seconds: int) -> int:
    return math.ceil(seconds / HOLD_SECONDS) + 1


def lifetime(plan: PipelinePlan, rollout_seconds: int) -> int:
    """How long the pipeline's channel item lives, at most (holds renew it)."""
    per_wave = (
        rollout_seconds
        + plan.blockers.timeoutSeconds
        + (plan.approval.timeoutSeconds if plan.approval else 0)
    )
    return sum(per_wave + wave.bakeSeconds for wave in plan.waves) + 3600


def _open_channel(plan: PipelinePlan) -> None:
    """The pipeline's item in the home rollout table: its controls arrive there."""
    items = channel.of(plan.channel.table)
    if not items.acquire(plan.channel.key, plan.channel.owner, plan.channelSeconds):
        raise RolloutInProgress(f"{plan.channel.key} is held by another execution")
