"""`rollout start`: build the console input from flags (and/or a file) and start a rollout."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.validation import validate_input

from rollout.aws import (
    ACCESS_DENIED_CODES,
    AwsContext,
    CliError,
    add_aws_arguments,
    as_cli_error,
    aws_errors,
    error_code,
    execution_arn,
    find_state_machine,
    reports_errors,
)
from rollout.commands.watch import add_watch_arguments, watch_execution
from rollout.dry_run import dry_run, prepare_function
from rollout.exits import ROLLOUT, Exit, help_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "start",
        help="start a rollout of a Lambda version behind an alias",
        description="Start a rollout with the same input the Step Functions console takes,\n"
        "built from flags and/or --input FILE (flags win). Prints the execution ARN.",
        epilog=help_text(ROLLOUT, note="(without --watch: 0 once the execution has started)"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_rollout_arguments(parser)
    parser.set_defaults(run=run_start)


def add_rollout_arguments(parser: Any, *, version: bool = True, name: bool = True) -> None:
    """start's flags, for the commands that build the same input and start it (release:
    without --version and --name, which it decides itself)."""
    add_input_arguments(parser, version=version)
    follow = parser.add_argument_group("following it")
    if name:
        follow.add_argument("--name", help="execution name (default: generated)")
    follow.add_argument("--watch", action="store_true", help="follow it live; exit with verdict")
    add_watch_arguments(follow)
    parser.set_defaults(version=None, name=None)


def add_input_arguments(parser: argparse.ArgumentParser, *, version: bool = True) -> None:
    """The flags that build the console input (`start`, `release` and `plan`), and the AWS
    ones."""
    what = parser.add_argument_group("what to roll out")
    what.add_argument("--input", type=Path, metavar="FILE", help="console input JSON ('-': stdin)")
    what.add_argument("--function", help="function name or ARN")
    what.add_argument("--alias", help="alias to shift, e.g. live")
    if version:
        what.add_argument(
            "--version",
            help="version to roll out (default: newest published), even one rolled back on "
            "the alias before (input retryRolledBack)",
        )
    _add_how(parser.add_argument_group("how"))
    _add_checks(parser.add_argument_group("checks"))
    add_aws_arguments(parser)


def _add_how(group: Any) -> None:
    group.add_argument(
        "--strategy",
        help="preset name (e.g. Linear10PercentEvery1Minute) or a JSON object, "
        'e.g. \'{"steps": [{"percentage": 5, "waitSeconds": 60}]}\'',
    )
    group.add_argument("--time-scale", type=float, help="multiply every wait (0 < x <= 10)")
    group.add_argument(
        "--check-interval", type=int, metavar="SECONDS", help="health check interval during waits"
    )
    group.add_argument("--bake-seconds", type=int, help="keep checking this long after 100%%")
    group.add_argument(
        "--approval",
        choices=["before-promote", "each-step"],
        help="hold for `rollout approve` before Promote, or at the end of every step",
    )
    group.add_argument(
        "--approval-timeout", type=int, metavar="SECONDS", help="60-86400 (default 3600)"
    )
    group.add_argument(
        "--on-timeout", choices=["rollback", "proceed"], help="when nobody answers in time"
    )


def _add_checks(group: Any) -> None:
    group.add_argument(
        "--alarms",
        action="append",
        metavar="NAMES",
        help="CloudWatch alarm names, comma-separated or repeated",
    )
    group.add_argument(
        "--ignore-firing-alarms",
        action="store_true",
        default=None,
        help="start even if some of the alarms are in ALARM now",
    )
    group.add_argument(
        "--error-rate-percent", type=float, help="new version error rate above this fails a check"
    )
    group.add_argument(
        "--min-invocations",
        type=int,
        help="below this many invocations the rate is not judged, unless the failures "
        "already settle it",
    )
    group.add_argument(
        "--bypass",
        choices=["fail", "warn"],
        help="a traffic source that invokes another qualifier than the alias: refuse the "
        "rollout (fail, the default) or roll out and list it (warn)",
    )
    group.add_argument(
        "--pre-traffic-payload",
        metavar="JSON",
        help="invoke the new version with this before any traffic",
    )
    group.add_argument(
        "--post-traffic-payload", metavar="JSON", help="invoke the new version with this at 100%%"
    )
    group.add_argument(
        "--hook",
        metavar="FUNCTION",
        help="a Lambda invoked before and after traffic with "
        "{functionName, alias, targetVersion, stableVersion, phase}; "
        'it must return {"passed": true}',
    )


@reports_errors
def run_start(args: argparse.Namespace) -> int:
    document = valid_input(args)  # exit 2 on what Prepare would refuse, before touching AWS
    aws = AwsContext(args.region, args.profile)
    machine = find_state_machine(aws, args.state_machine)
    if args.watch:
        preflight(aws, document)  # the workflow's own refusal comes back through --watch
    else:
        ask_prepare(aws, document)
    arn = start_execution(aws, machine, document, args.name)
    return follow_execution(aws, arn, args)


def ask_prepare(aws: AwsContext, document: dict[str, Any]) -> dict[str, Any] | None:
    """Refuse now, before anything starts, what Prepare refuses against the account
    (rollout/dry_run.py: exit 2 on invalid input, 1 when it can't start now); Prepare's plan.
    Without the `rollout` stack (a state machine named by --state-machine), its Prepare
    can't be found: the aliases are checked instead, and None."""
    try:
        prepare = prepare_function(aws, document)
    except CliError:
        preflight(aws, document)
        return None
    return dry_run(aws, document, prepare)


class ExecutionExists(CliError):
    """StartExecution refused the name: an execution with it exists (finished, or running
    with another input)."""

    def __init__(self, message: str, arn: str) -> None:
        super().__init__(message)
        self.arn = arn


def start_execution(
    aws: AwsContext, machine: str, document: dict[str, Any], name: str | None = None
) -> str:
    """Start the rollout; its execution ARN."""
    request: dict[str, Any] = {"stateMachineArn": machine, "input": json.dumps(document)}
    if name:
        request["name"] = name
    what = f"starting on {machine}"
    with aws_errors(what):
        try:
            return str(aws.client("stepfunctions").start_execution(**request)["executionArn"])
        except ClientError as error:
            if name and error_code(error) == "ExecutionAlreadyExists":
                message = str(as_cli_error(error, what))
                raise ExecutionExists(message, execution_arn(machine, name)) from None
            raise


def follow_execution(
    aws: AwsContext, arn: str, args: argparse.Namespace, duplicate_note: str | None = None
) -> int:
    """Print the ARN; with --watch follow it and exit with its verdict. When it ends as the
    duplicate of a rollout of the same version already under way (EventBridge started one
    for the same publish, or CI started it twice), follow that one: its verdict is ours
    (`duplicate_note` says what that means for the caller, e.g. flags not applied)."""
    print(arn, flush=True)
    if not args.watch:
        return Exit.OK
    code = watch_execution(aws, arn, args.interval, args.timeout, console=Console())
    holder = rolled_out_by(aws, arn)
    if holder is None:
        return code
    note = f" ({duplicate_note})" if duplicate_note else ""
    print(f"this version is being rolled out by {holder}; following it{note}", file=sys.stderr)
    return follow_execution(aws, holder, args)


def rolled_out_by(aws: AwsContext, arn: str) -> str | None:
    """The execution rolling this version out, when `arn` ended as its duplicate."""
    with aws_errors("reading the execution"):
        described = aws.client("stepfunctions").describe_execution(executionArn=arn)
    if described["status"] != "SUCCEEDED":
        return None
    plan = json.loads(described.get("output") or "{}").get("plan") or {}
    return str(plan["rolledOutBy"]) if plan.get("action") == "duplicate" else None


# -- the input document ---------------------------------------------------------------


def valid_input(args: argparse.Namespace) -> dict[str, Any]:
    """The console input from the flags, checked as Prepare checks it (`check`)."""
    document = build_input(args)
    check(document)
    return document


def check(document: dict[str, Any]) -> None:
    """Everything Prepare checks without the account, by Prepare's own code
    (rollout_core.validation): CliError(exit 2) with Prepare's message."""
    try:
        validate_input(document)  # a rollout, or a pipeline of waves
    except InvalidRolloutRequest as error:
        raise CliError(f"InvalidRolloutRequest: {error}", Exit.INVALID) from None


def build_input(args: argparse.Namespace) -> dict[str, Any]:
    """The console input: the file's keys, overridden by the flags given (unchecked)."""
    document = _read_input_file(args.input) if args.input else {}
    flags = {
        "functionName": args.function,
        "alias": args.alias,
        "targetVersion": args.version,
        # naming the version asks for it, even one rolled back on the alias before
        "retryRolledBack": True if args.version is not None else None,
        "strategy": _strategy(args.strategy),
        "alarms": _alarm_names(args.alarms),
        "ignoreFiringAlarms": args.ignore_firing_alarms,
        "timeScale": args.time_scale,
        "checkIntervalSeconds": args.check_interval,
        "bakeSeconds": args.bake_seconds,
        "bypass": args.bypass,
    }
    document.update({key: value for key, value in flags.items() if value is not None})
    _merge(
        document,
        "health",
        {"errorRatePercent": args.error_rate_percent, "minInvocations": args.min_invocations},
    )
    _merge(
        document,
        "approval",
        {
            "before": {"before-promote": "promote", "each-step": "each-step"}.get(
                args.approval or ""
            ),
            "timeoutSeconds": args.approval_timeout,
            "onTimeout": args.on_timeout,
        },
    )
    _merge(
        document,
        "preTraffic",
        {
            "payload": _json_flag("--pre-traffic-payload", args.pre_traffic_payload),
            "hookFunction": args.hook,
        },
    )
    _merge(
        document,
        "postTraffic",
        {
            "payload": _json_flag("--post-traffic-payload", args.post_traffic_payload),
            "hookFunction": args.hook,
        },
    )
    return document


def _read_input_file(path: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as error:
        raise CliError(f"cannot read --input {path}: {error.strerror}", Exit.INVALID) from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise CliError(f"--input {path} is not valid JSON: {error}", Exit.INVALID) from None
    if not isinstance(document, dict):
        raise CliError(f"--input {path} must hold a JSON object", Exit.INVALID)
    return document


def _merge(document: dict[str, Any], key: str, values: dict[str, Any]) -> None:
    given = {name: value for name, value in values.items() if value is not None}
    if not given:
        return
    current = document.get(key)
    document[key] = {**(current if isinstance(current, dict) else {}), **given}


def _strategy(value: str | None) -> str | dict[str, Any] | None:
    if value is None or not value.lstrip().startswith("{"):
        return value
    parsed = _json_flag("--strategy", value)
    if not isinstance(parsed, dict):
        raise CliError("--strategy must be a preset name or a JSON object", Exit.INVALID)
    return parsed


def _alarm_names(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _json_flag(flag: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as error:
        raise CliError(f"{flag} is not valid JSON: {error}", Exit.INVALID) from None


def entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The functions a console input names: each entry of a release, or the input itself."""
    return list(document["functions"]) if "functions" in document else [document]


def preflight(aws: AwsContext, document: dict[str, Any]) -> dict[str, Any] | None:
    """Say "no such function or alias" now rather than after a trip through the workflow,
    for every function a release names. The (first) alias (GetAlias), or None when the
    caller may not read Lambda: Prepare checks again anyway."""
    if "waves" in document:  # in other accounts and Regions: Prepare pipeline checks each
        return None
    found = [_alias(aws, entry["functionName"], entry["alias"]) for entry in entries(document)]
    return found[0]


def _alias(aws: AwsContext, function: str, alias: str) -> dict[str, Any] | None:
    try:
        return dict(aws.client("lambda").get_alias(FunctionName=function, Name=alias))
    except ClientError as error:
        if error_code(error) in ACCESS_DENIED_CODES:
            return None
        if error_code(error) != "ResourceNotFoundException":
            raise as_cli_error(error, "checking the function") from None
        message = error.response["Error"].get("Message", "")
        raise CliError(
            f"function {function!r} with alias {alias!r} not found in {aws.region} ({message})",
            Exit.INVALID,
        ) from None
    except BotoCoreError as error:
        raise as_cli_error(error, "checking the function") from None
