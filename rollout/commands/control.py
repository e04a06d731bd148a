"""`rollout abort | promote [--full] | pause | resume | approve | reject`: operator controls.

A control is one conditional DynamoDB UpdateItem of the rollout's lock item
(`<function>:<alias>` in the rollout table): it sets `control` = {action, reason, by, at}
only while the item is owned by the execution named and the control applies to the state
the workflow keeps there. The workflow consumes it; which control applies when is one table,
rollout_core.controls.APPLIES, read here and by the workflow alike. Anything that
doesn't apply — a finished rollout, nothing to approve — exits 2 and changes nothing.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from rollout_core.controls import APPLIES, AWAITING, BEFORE_BAKE_ONLY, PAUSED, RUNNING
from rollout_core.lock import CONTROL_KEY

from rollout.aws import (
    AwsContext,
    CliError,
    add_aws_arguments,
    aws_errors,
    error_code,
    execution_arn,
    find_stack_output,
    find_state_machine,
    reports_errors,
)
from rollout.exits import CONTROL, Exit, help_text

TABLE_OUTPUT = "RolloutTableName"
HELP = {
    "abort": "roll back now through the workflow's Roll back branch (Error RolloutAborted)",
    "promote": "end the current step now (--full: skip every remaining step to Promote)",
    "pause": "hold the current weight past its step's end until resume, promote or abort",
    "resume": "end a pause; the paused step's remaining time then runs",
    "approve": "answer an approval gate: go on",
    "reject": "answer an approval gate: roll back (like abort)",
}


def register(subparsers: Any) -> None:
    for command, text in HELP.items():
        parser = subparsers.add_parser(
            command,
            help=text,
            description=f"{text[0].upper()}{text[1:]}.\nName the rollout by its execution "
            "(ARN or name) or by --function and --alias.",
            epilog=help_text(CONTROL),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument(
            "execution", metavar="EXECUTION", nargs="?", help="execution ARN, or its name"
        )
        parser.add_argument("--function", help="the function being rolled out (name or ARN)")
        parser.add_argument("--alias", help="its alias")
        parser.add_argument(
            "--reason", required=True, help="why; recorded with your identity (STS)"
        )
        if command == "promote":
            parser.add_argument(
                "--full",
                action="store_true",
                help="skip every remaining step and go to Promote (post-traffic check and "
                "bake still run)",
            )
        add_aws_arguments(parser)
        parser.set_defaults(run=run_control, control=command)


@reports_errors
def run_control(args: argparse.Namespace) -> int:
    action = "promote-full" if args.control == "promote" and args.full else args.control
    if not args.execution and not (args.function and args.alias):
        raise CliError("name the rollout: EXECUTION, or --function and --alias", Exit.INVALID)
    aws = AwsContext(args.region, args.profile)
    table = find_stack_output(aws, TABLE_OUTPUT)
    key, arn = _target(aws, args, table)
    control = make_control(action, args.reason, caller(aws.client("sts")))
    with aws_errors(f"sending {action}"):
        send(aws.client("dynamodb"), table, key, arn, control)
    print(f"{action} sent to {arn} ({key}) by {control['by']}: {args.reason}", flush=True)
    return Exit.OK


def make_control(action: str, reason: str, by: str) -> dict[str, str]:
    """The `control` attribute: `at` (milliseconds) also tells one control from the next."""
    at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"action": action, "reason": reason, "by": by, "at": at}


def caller(sts: Any) -> str:
    """Who is asking: the ARN STS GetCallerIdentity returns (no permission needed)."""
    with aws_errors("asking STS who you are"):
        return str(sts.get_caller_identity()["Arn"])


def _target(aws: AwsContext, args: argparse.Namespace, table: str) -> tuple[str, str]:
    """(lock key, execution ARN) of the running rollout named."""
    if args.execution:
        machine = find_state_machine(aws, args.state_machine)
        arn = execution_arn(machine, args.execution)
        return lock_key_of(aws, arn), arn
    name = str(args.function).split(":function:", 1)[-1].split(":", 1)[0]
    key = f"{name}:{args.alias}"
    with aws_errors(f"reading the rollout table {table}"):
        item = read_item(aws.client("dynamodb"), table, key)
    if item is None:
        raise CliError(f"no rollout of {key} is running; nothing changed", Exit.INVALID)
    # a release's controls go to its first function's item, which every member names
    return str(item.get(CONTROL_KEY) or key), item["owner"]


def lock_key_of(aws: AwsContext, arn: str) -> str:
    """The plan's lock key, from Prepare's output; exit 2 when the execution has ended."""
    sfn = aws.client("stepfunctions")
    with aws_errors(f"reading {arn}"):
        status = sfn.describe_execution(executionArn=arn)["status"]
        if status != "RUNNING":
            raise CliError(f"{arn} has ended ({status}); nothing changed", Exit.INVALID)
        pages = sfn.get_paginator("get_execution_history").paginate(
            executionArn=arn, includeExecutionData=True
        )
        for page in pages:
            for event in page["events"]:
                details = event.get("stateExitedEventDetails") or {}
                if details.get("name") == "Prepare":
                    lock = (json.loads(details["output"]).get("plan") or {}).get("lock")
                    if lock:
                        return str(lock["key"])
                    break
    raise CliError(f"{arn} has no lock yet (still in Prepare?); try again", Exit.INVALID)


def read_item(ddb: Any, table: str, key: str) -> dict[str, Any] | None:
    """The lock item as plain values, or None when no rollout holds `key`."""
    item = ddb.get_item(TableName=table, Key={"lockKey": {"S": key}}, ConsistentRead=True).get(
        "Item"
    )
    if not item:
        return None
    return {name: _plain(value) for name, value in item.items()}


def _plain(value: dict[str, Any]) -> Any:
    if "M" in value:
        return {name: _plain(inner) for name, inner in value["M"].items()}
    return next(iter(value.values()))


def condition(action: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(ConditionExpression, names, values) that make `action` apply or change nothing."""
    names = {"#owner": "owner", "#state": "state", "#control": "control"}
    states = APPLIES[action]
    values: dict[str, Any] = {f":s{i}": {"S": state} for i, state in enumerate(states)}
    text = f"#owner = :exec AND #state IN ({', '.join(values)})"
    if action in BEFORE_BAKE_ONLY:
        names["#phase"] = "phase"
        values[":bake"] = {"S": "bake"}
        text += " AND #phase <> :bake"
    if action != "abort":  # abort replaces a pending control; the others wait their turn
        text += " AND attribute_not_exists(#control)"
    return text, names, values


def send(ddb: Any, table: str, key: str, arn: str, control: dict[str, str]) -> None:
    """Write `control` for the execution `arn`, or CliError(2) saying why it doesn't apply."""
    expression, names, values = condition(control["action"])
    values[":exec"] = {"S": arn}
    values[":control"] = {"M": {name: {"S": text} for name, text in control.items()}}
    try:
        ddb.update_item(
            TableName=table,
            Key={"lockKey": {"S": key}},
            UpdateExpression="SET #control = :control",
            ConditionExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        refusal = _refusal(ddb, table, key, arn, control["action"])
        raise CliError(refusal, Exit.INVALID) from None


def _refusal(ddb: Any, table: str, key: str, arn: str, action: str) -> str:
    """Why the condition failed, in words; nothing was changed."""
    item = read_item(ddb, table, key)
    verb = action.replace("-full", " --full")
    if item is None or item.get("owner") != arn:
        return f"{verb}: {arn} is not running any more (its lock is released); nothing changed"
    state, pending = item.get("state", RUNNING), item.get("control")
    if state not in APPLIES[action]:
        hint = {
            AWAITING: "it is awaiting approval: approve or reject it",
            PAUSED: "it is paused: resume, promote or abort it",
            RUNNING: "it is running (not paused, not awaiting approval)",
        }.get(state, state)
        return f"{verb} does not apply: {hint}; nothing changed"
    if action in BEFORE_BAKE_ONLY and item.get("phase") == "bake":
        return f"{verb} does not apply during the bake (already promoted); nothing changed"
    if isinstance(pending, dict):
        return (
            f"{verb}: a {pending.get('action')} from {pending.get('by')} is still waiting for "
            "the workflow's next check; try again in a few seconds; nothing changed"
        )
    return f"{verb} does not apply now; nothing changed"
