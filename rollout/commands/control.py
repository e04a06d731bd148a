"""`rollout abort | promote [--full] | pause | resume | approve | reject`: operator controls.

A control is one conditional write of the rollout's item in the rollout table
(`<function>:<alias>`), sent through rollout_core.channel: it applies only while the item
is owned by the execution named and the control applies to the state the workflow keeps
there, by the same table (channel.APPLIES) the workflow reads. Anything that doesn't apply
— a finished rollout, nothing to approve — exits 2 and changes nothing. A rollout still in
Prepare has no item yet: the control waits for Prepare to take it (rollout/lock_wait.py).
This module reads the arguments, finds the rollout, and prints; `send_control` is also what
the console's buttons call (rollout/console), so both send the same control and say the same.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from rollout_core.channel import Channel, Control, ControlRefused
from rollout_core.lock import function_key, lock_key

from rollout.aws import (
    AwsContext,
    CliError,
    add_aws_arguments,
    aws_errors,
    execution_arn,
    execution_region,
    find_stack_output,
    find_state_machine,
    reports_errors,
)
from rollout.exits import CONTROL, Exit, help_text
from rollout.lock_wait import Patience, execution_status, held_after_prepare, lock_of
from rollout.view.pipeline import handed_over, is_pipeline

TABLE_OUTPUT = "RolloutTableName"
PIPELINE_CONTROL_OUTPUT = "PipelineControlFunctionName"
WAIT_FOR_PREPARE = Patience()
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
    aws = AwsContext(execution_region(args), args.profile)
    sent = send_control(
        aws,
        action,
        args.reason,
        execution=args.execution,
        function=args.function,
        alias=args.alias,
        state_machine=args.state_machine,
    )
    print(sent, flush=True)
    return Exit.OK


@dataclass(frozen=True)
class Sent:
    """A control the rollout table accepted; printed as the CLI's confirmation."""

    control: Control
    arn: str
    key: str

    def __str__(self) -> str:
        control = self.control
        return f"{control.action} sent to {self.arn} ({self.key}) by {control.by}: {control.reason}"


def send_control(
    aws: AwsContext,
    action: str,
    reason: str,
    *,
    execution: str | None = None,
    function: str | None = None,
    alias: str | None = None,
    state_machine: str | None = None,
    patience: Patience = WAIT_FOR_PREPARE,
) -> Sent:
    """Find the running rollout named (EXECUTION, or function and alias) and send it
    `action` with `reason`, signed with the caller's identity (STS). What the CLI and the
    console both do: a control that doesn't apply is a CliError(2) saying why, and nothing
    changed. A rollout still in Prepare is waited for (`patience`) until it holds its lock."""
    if not execution and not (function and alias):
        raise CliError("name the rollout: EXECUTION, or --function and --alias", Exit.INVALID)
    pipeline = _pipeline_named(aws, execution, state_machine) if execution else None
    if pipeline is not None:
        return send_pipeline_control(aws, pipeline, action, reason)
    table = find_stack_output(aws, TABLE_OUTPUT)
    if execution:
        key, arn = _by_execution(aws, execution, state_machine, patience)
    else:
        key, arn = _by_alias(aws, table, (str(function), str(alias)), state_machine, patience)
    control = Control.new(action, reason, caller(aws.client("sts")))
    with aws_errors(f"sending {action}"):
        send(aws.client("dynamodb"), table, key, arn, control)
    return Sent(control, arn, key)


def _pipeline_named(aws: AwsContext, execution: str, state_machine: str | None) -> str | None:
    """The pipeline of waves EXECUTION names: its own ARN, or the rollout execution that
    handed it over (same name)."""
    if is_pipeline(execution):
        return execution
    arn = execution_arn(find_state_machine(aws, state_machine), execution)
    sfn = aws.client("stepfunctions")
    with aws_errors(f"reading {arn}"):
        execution_status(sfn, arn)  # exit 2 when there is no such execution
        return handed_over(sfn, arn)


def send_pipeline_control(aws: AwsContext, arn: str, action: str, reason: str) -> Sent:
    """A pipeline's control goes through its control function (PipelineControlFunctionName),
    which also carries an abort to the rollouts its running wave started elsewhere; a
    control that doesn't apply is a CliError(2) saying why, and nothing changed."""
    if action == "promote-full":
        raise CliError("promote --full applies to a rollout, not a pipeline", Exit.INVALID)
    function = find_stack_output(aws, PIPELINE_CONTROL_OUTPUT)
    control = Control.new(action, reason, caller(aws.client("sts")))
    payload = {"executionArn": arn, "action": action, "reason": reason, "by": control.by}
    with aws_errors(f"sending {action}"):
        reply = aws.client("lambda").invoke(FunctionName=function, Payload=json.dumps(payload))
    body = json.loads(reply["Payload"].read() or b"null") or {}
    if reply.get("FunctionError"):
        raise CliError(f"{body.get('errorType')}: {body.get('errorMessage')}")
    if not body.get("accepted"):
        raise CliError(str(body.get("refusal")), Exit.INVALID)
    return Sent(Control.model_validate(body["control"]), arn, "pipeline")


def caller(sts: Any) -> str:
    """Who is asking: the ARN STS GetCallerIdentity returns (no permission needed)."""
    with aws_errors("asking STS who you are"):
        return str(sts.get_caller_identity()["Arn"])


def _by_execution(
    aws: AwsContext, execution: str, state_machine: str | None, patience: Patience
) -> tuple[str, str]:
    """(lock key, execution ARN) of the execution named, once Prepare has taken its lock."""
    arn = execution_arn(find_state_machine(aws, state_machine), execution)
    with aws_errors(f"reading {arn}"):
        return lock_of(aws.client("stepfunctions"), arn, patience), arn


def _by_alias(
    aws: AwsContext,
    table: str,
    target: tuple[str, str],
    state_machine: str | None,
    patience: Patience,
) -> tuple[str, str]:
    """(lock key, execution ARN) of the rollout holding the lock of (function, alias), or
    of the one still in Prepare for it once it has taken the lock (rollout/lock_wait.py)."""
    name, alias = function_key(target[0]), target[1]
    key = lock_key(name, alias)
    channel = Channel(table, aws.client("dynamodb"))
    with aws_errors(f"reading the rollout table {table}"):
        item = channel.item(key)
    if item is None:
        machine = find_state_machine(aws, state_machine)
        with aws_errors(f"looking for a rollout of {key} still in Prepare"):
            item = held_after_prepare(
                aws.client("stepfunctions"),
                machine,
                (name, alias),
                lambda: channel.item(key),
                patience,
            )
    if item is None:
        raise CliError(f"no rollout of {key} is running; nothing changed", Exit.INVALID)
    # a release's controls go to its first function's item, which every member names
    return item.control_key or key, item.owner


def send(ddb: Any, table: str, key: str, arn: str, control: Control) -> None:
    """Write `control` for the execution `arn`, or CliError(2) saying why it doesn't apply."""
    try:
        Channel(table, ddb).send(key, arn, control)
    except ControlRefused as refused:
        raise CliError(str(refused), Exit.INVALID) from None
