"""`rollout prune --function F [--keep N] [--dry-run]` / `--all`: delete old versions.

The same rules as the "Clean up old versions" state (rollout_core.versions), for
functions never rolled out, or many at once. Exit codes: 0 done, 1 an AWS error,
2 invalid input (nothing changed).
"""

from __future__ import annotations

import argparse
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich import box
from rich.console import Console
from rich.table import Table
from rollout_core import scope, versions
from rollout_core.errors import InvalidRolloutRequest

from rollout.aws import (
    STACK_NAME,
    AwsContext,
    CliError,
    add_aws_arguments,
    as_cli_error,
    core_clients_of,
    error_code,
    reports_errors,
)
from rollout.exits import PRUNE, Exit, help_text

DEFAULT_KEEP = 10  # the template's DefaultKeepVersions


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="delete old versions of a function that nothing uses",
        description="Delete published versions beyond the newest N that no alias (or alias "
        "weight), provisioned concurrency config or event source mapping uses - the rules "
        "of the workflow's 'Clean up old versions' state. Prints each version's decision.",
        epilog=help_text(PRUNE),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--function", metavar="F", help="function name")
    target.add_argument(
        "--all",
        action="store_true",
        help="every function within TargetFunctionNamePattern (the rollout stack's parameter, "
        "or --pattern), except the rollout's own",
    )
    parser.add_argument(
        "--keep",
        type=int,
        default=DEFAULT_KEEP,
        metavar="N",
        help=f"published versions to keep, newest first (default {DEFAULT_KEEP}; 0 = none deleted)",
    )
    parser.add_argument("--dry-run", action="store_true", help="decide and print; delete nothing")
    parser.add_argument(
        "--pattern", metavar="GLOB", help="with --all: the function name pattern (IAM wildcards)"
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run_prune)


@reports_errors
def run_prune(args: argparse.Namespace) -> int:
    if args.keep < 0:
        raise CliError("--keep: must be 0 or more", exit_code=Exit.INVALID)
    if args.pattern and not args.all:
        raise CliError("--pattern: only with --all", exit_code=Exit.INVALID)
    aws = AwsContext(args.region, args.profile)
    console = Console()
    with core_clients_of(aws, {scope.PATTERN_ENV: _pattern(aws, args)}):
        try:
            names = _functions(aws) if args.all else [_checked(args.function)]
            for name in names:
                result = versions.clean_up(name, args.keep, dry_run=args.dry_run)
                console.print(prune_table(result))
                console.print(_summary(result))
        except InvalidRolloutRequest as error:
            raise CliError(str(error), exit_code=Exit.INVALID) from None
        except ClientError as error:
            cli_error = as_cli_error(error)
            if error_code(error) == "ResourceNotFoundException":  # no such function: nothing done
                cli_error.exit_code = Exit.INVALID
            raise cli_error from None
        except BotoCoreError as error:
            raise as_cli_error(error) from None
    return Exit.OK


def _checked(name: str) -> str:
    scope.check_name("--function", name)
    return name


def _pattern(aws: AwsContext, args: argparse.Namespace) -> str:
    """--pattern, else the stack's TargetFunctionNamePattern, else "*" (for --function)."""
    if args.pattern:
        return str(args.pattern)
    try:
        stack = aws.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    except (ClientError, BotoCoreError):
        if args.all:
            raise CliError(
                f"--all: no stack '{STACK_NAME}' to read TargetFunctionNamePattern from; "
                "pass --pattern",
                exit_code=Exit.INVALID,
            ) from None
        return "*"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
    return parameters.get("TargetFunctionNamePattern") or "*"


def _functions(aws: AwsContext) -> list[str]:
    """Functions in the pattern, without the rollout's own (tagged with a stack id)."""
    lam = aws.client("lambda")
    names = [
        f["FunctionName"]
        for page in lam.get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if scope.in_scope(f["FunctionName"])
    ]
    own = (scope.STACK_TAG, scope.CLOUDFORMATION_STACK_TAG)
    return sorted(
        name
        for name, arn in ((n, _arn(lam, n)) for n in names)
        if not any(tag in lam.list_tags(Resource=arn).get("Tags", {}) for tag in own)
    )


def _arn(lam: Any, name: str) -> str:
    return str(lam.get_function_configuration(FunctionName=name)["FunctionArn"])


def prune_table(result: versions.Result) -> Table:
    verb = "would delete" if result.dry_run else "deleted"
    title = f"{result.function}: keep {result.keep}" + (" (dry run)" if result.dry_run else "")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Version", "Size", "Last modified", "Decision", "Reason"):
        table.add_column(column, justify="right" if column in ("Version", "Size") else "left")
    for verdict in result.verdicts:
        decision = verb if verdict.decision == "delete" else "kept"
        style = "red" if verdict.decision == "delete" else None
        table.add_row(
            str(verdict.version.number),
            human_bytes(verdict.version.code_size),
            verdict.version.last_modified[:19].replace("T", " "),
            decision,
            verdict.reason,
            style=style,
        )
    return table


def _summary(result: versions.Result) -> str:
    count = len(result.deleted)
    if result.dry_run:
        size = human_bytes(sum(v.version.code_size for v in result.deleted))
        line = f"{result.function}: would delete {count} version(s), {size}"
    else:
        freed = human_bytes(result.bytes_freed)
        line = f"{result.function}: deleted {count} version(s), freed {freed}"
    return "\n".join([line, *(f"note: {note}" for note in result.notes)])


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
