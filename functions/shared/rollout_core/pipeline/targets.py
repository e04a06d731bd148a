"""What the pipeline does in a target's account and Region, through the target role there
(rollout_core.remote): read its stack, ask its Prepare for a dry run, read a lock, start and
follow its rollout, send that rollout an abort, put its aliases back.

Each target runs the ordinary rollout state machine of the stack deployed there; the
pipeline never changes a target's alias except to restore a completed target after a
failure elsewhere (`restore`), and then only from where that target's rollout left it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from botocore.exceptions import ClientError

from .. import channel, clock, remote
from ..aliases import WEIGHT_TOLERANCE
from ..channel import Control
from ..errors import AlarmsAlreadyFiring, InvalidRolloutRequest, RolloutError, RolloutInProgress
from ..errors import read_cause as read_rollout_cause
from .models import AliasRestore, Moved, PipelineTarget, Restored, TargetOutcome

# What a target's stack must publish (template.yaml Outputs).
STATE_MACHINE_OUTPUT = "RolloutStateMachineArn"
TABLE_OUTPUT = "RolloutTableName"
PREPARE_OUTPUT = "PrepareFunctionName"
TARGET_ROLE = "{stack}-target-{region}"  # template.yaml, TargetRole's RoleName
# Prepare's refusals, re-raised by name so the pipeline's Catch treats them like its own.
REFUSALS: dict[str, type[RolloutError]] = {
    InvalidRolloutRequest.__name__: InvalidRolloutRequest,
    RolloutInProgress.__name__: RolloutInProgress,
    AlarmsAlreadyFiring.__name__: AlarmsAlreadyFiring,
}


def role_arn(partition: str, account: str, stack: str, region: str) -> str:
    """The target role of the stack `stack` in that account and Region."""
    name = TARGET_ROLE.format(stack=stack, region=region)
    return f"arn:{partition}:iam::{account}:role/{name}"


def as_remote(target: PipelineTarget) -> remote.Target:
    return remote.Target(target.account, target.region, target.roleArn)


# -- Prepare pipeline: what is there --------------------------------------------------------


def stack_outputs(there: remote.Target, stack: str) -> dict[str, str]:
    """The rollout stack's outputs there; InvalidRolloutRequest when there is none."""
    try:
        found = remote.cloudformation(there).describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if "does not exist" not in str(error):
            raise
        found = []
    outputs = {o["OutputKey"]: o["OutputValue"] for s in found for o in s.get("Outputs", [])}
    missing = [k for k in (STATE_MACHINE_OUTPUT, TABLE_OUTPUT, PREPARE_OUTPUT) if k not in outputs]
    if missing:
        raise InvalidRolloutRequest(
            f"no rollout stack {stack!r} with {', '.join(missing)} there: deploy it in that "
            "account and Region (README, Waves)"
        )
    return outputs


def dry_run(there: remote.Target, prepare: str, document: dict[str, Any], owner: str) -> Any:
    """That Prepare's plan of `document` with dryRun (nothing touched); its refusal is
    raised as the same named error."""
    answer = remote.lambda_(there).invoke(
        FunctionName=prepare,
        Payload=json.dumps({"input": {**document, "dryRun": True}, "executionId": owner}),
    )
    payload = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError"):
        error_type = str((payload or {}).get("errorType"))
        line = read_rollout_cause(json.dumps(payload))[0]
        refusal = REFUSALS.get(error_type)
        if refusal is None:
            raise RuntimeError(f"its Prepare failed: {error_type}: {line}")
        raise refusal(line)
    return payload["plan"]


def moved_by(plan: dict[str, Any]) -> list[Moved]:
    """What a (dry-run or finished) rollout plan moves: each release member, or the one
    function; nothing for a plan that rolls nothing out (already live)."""
    if plan.get("action") not in ("rollout", "dryRun"):
        return []
    members = plan.get("functions") or [plan]
    return [
        Moved(
            functionName=m["functionName"],
            alias=m["alias"],
            stableVersion=m["stableVersion"],
            targetVersion=m["targetVersion"],
        )
        for m in members
    ]


def lock_keys(plan: dict[str, Any]) -> list[str]:
    """The rollout's lock keys (a release: one per member; the first is its channel)."""
    if plan.get("functions"):
        return [str(member["lockKey"]) for member in plan["functions"]]
    lock = plan.get("lock") or {}
    return [str(lock["key"])] if lock.get("key") else []


def lock_holder(there: remote.Target, table: str, key: str) -> str | None:
    """The execution holding a lock there, if any (an expired lock holds nothing)."""
    item = (
        remote.dynamodb(there)
        .get_item(TableName=table, Key={channel.KEY: {"S": key}}, ConsistentRead=True)
        .get("Item")
    )
    if not item or int(item.get(channel.EXPIRES, {}).get("N", "0")) < clock.now().timestamp():
        return None
    return str(item.get(channel.OWNER, {}).get("S", "")) or None


def alarm_exists(there: remote.Target, name: str) -> bool:
    found = remote.cloudwatch(there).describe_alarms(
        AlarmNames=[name], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    return bool(found.get("MetricAlarms") or found.get("CompositeAlarms"))


# -- a wave: start, follow, record ----------------------------------------------------------


def child_input(target: PipelineTarget, rollout: dict[str, Any]) -> dict[str, Any]:
    return {**rollout, **target.childInput}


def start(target: PipelineTarget, rollout: dict[str, Any]) -> str:
    """Start the target's rollout in its Region (a Lambda can, a Task can't); a start that
    already happened (a retried task) is the same execution. Its ARN."""
    sfn = remote.stepfunctions(as_remote(target))
    try:
        sfn.start_execution(
            stateMachineArn=target.stateMachineArn,
            name=target.executionName,
            input=json.dumps(child_input(target, rollout)),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
    return target.executionArn


def describe(target: PipelineTarget) -> dict[str, Any]:
    """DescribeExecution of the target's rollout."""
    sfn = remote.stepfunctions(as_remote(target))
    return dict(sfn.describe_execution(executionArn=target.executionArn))


def outcome(target: PipelineTarget, described: dict[str, Any]) -> TargetOutcome:
    """What the target's rollout did, from its DescribeExecution."""
    status = str(described.get("status"))
    output = _json(described.get("output")) or {}
    plan = output.get("plan") or {}
    common = {
        "wave": target.wave,
        "index": target.index,
        "account": target.account,
        "region": target.region,
        "executionArn": target.executionArn,
        "childStatus": status,
        "action": plan.get("action"),
        "startedAt": _iso(described.get("startDate")),
        "stoppedAt": _iso(described.get("stopDate")),
    }
    if status == "SUCCEEDED" and plan.get("action") in ("rollout", "noop"):
        return TargetOutcome(status="succeeded", moved=moved_by(plan), **common)
    if status == "SUCCEEDED":
        reason = plan.get("reason") or f"it ended as {plan.get('action')}"
        return TargetOutcome(status="failed", error="NotRolledOut", cause=reason, **common)
    error = described.get("error") or status
    cause = read_rollout_cause(described.get("cause"))[0] or f"the execution is {status}"
    return TargetOutcome(status="failed", error=error, cause=cause, **common)


def not_started(target: PipelineTarget, failure: dict[str, Any]) -> TargetOutcome:
    """The outcome of a target whose rollout could not even be started or read."""
    return TargetOutcome(
        wave=target.wave,
        index=target.index,
        account=target.account,
        region=target.region,
        executionArn=target.executionArn,
        status="failed",
        error=str(failure.get("Error") or "StartFailed"),
        cause=read_rollout_cause(str(failure.get("Cause") or ""))[0] or "it could not start",
    )


def abort(target: PipelineTarget, control: Control) -> bool:
    """Send the target's running rollout an abort through its own channel (as `rollout
    abort` would there); False when it doesn't apply (not running, or not yet holding its
    lock: the pipeline then rolls it back when the wave closes)."""
    if target.controlKey is None:
        return False
    expression, names, values = channel.condition("abort")
    values[":exec"] = {"S": target.executionArn}
    values[":control"] = {"M": {name: {"S": text} for name, text in control}}
    try:
        remote.dynamodb(as_remote(target)).update_item(
            TableName=target.table,
            Key={channel.KEY: {"S": target.controlKey}},
            UpdateExpression="SET #control = :control",
            ConditionExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


# -- after a failure: restore ---------------------------------------------------------------


def restore(target: PipelineTarget, moved: list[Moved]) -> Restored:
    """Put each alias the target's rollout moved back on its stable version, only from
    where that rollout left it (the new version, no routing): anything else is someone
    else's change since, left alone and said so."""
    lam = remote.lambda_(as_remote(target))
    done = [_restore_or_say_why(lam, member) for member in moved]
    return Restored(
        wave=target.wave,
        index=target.index,
        account=target.account,
        region=target.region,
        aliases=done,
    )


def _restore_or_say_why(lam: Any, member: Moved) -> AliasRestore:
    """One alias restored; an error on it is its result, and the others go on."""
    try:
        return _restore_alias(lam, member)
    except ClientError as error:
        code, message = error.response["Error"]["Code"], error.response["Error"].get("Message", "")
        return AliasRestore(
            functionName=member.functionName,
            alias=member.alias,
            version=member.stableVersion,
            result=f"NOT restored: {code}: {message}",
            at=clock.now(),
        )


def _restore_alias(lam: Any, member: Moved) -> AliasRestore:
    def result(text: str) -> AliasRestore:
        return AliasRestore(
            functionName=member.functionName,
            alias=member.alias,
            version=member.stableVersion,
            result=text,
            at=clock.now(),
        )

    found = lam.get_alias(FunctionName=member.functionName, Name=member.alias)
    version, weights = found["FunctionVersion"], _weights(found)
    if version == member.stableVersion and not weights:
        return result("already there")
    if version != member.targetVersion or weights:
        where = f"version {version}" + (f" with routing {weights}" if weights else "")
        return result(f"left alone: at {where}, not where the rollout left it")
    try:
        lam.update_alias(
            FunctionName=member.functionName,
            Name=member.alias,
            FunctionVersion=member.stableVersion,
            RoutingConfig={"AdditionalVersionWeights": {}},
            RevisionId=found["RevisionId"],
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "PreconditionFailedException":
            raise
        return result("left alone: changed by someone else while restoring")
    after = lam.get_alias(FunctionName=member.functionName, Name=member.alias)
    if after["FunctionVersion"] != member.stableVersion or _weights(after):
        return result(f"left alone: reads version {after['FunctionVersion']} after restoring")
    return result("restored")


def _weights(alias: dict[str, Any]) -> dict[str, float]:
    routing = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    weights = {version: float(weight) for version, weight in routing.items()}
    return {v: w for v, w in weights.items() if not math.isclose(w, 0, abs_tol=WEIGHT_TOLERANCE)}


def _json(text: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return clock.iso(value)
    return str(value)
