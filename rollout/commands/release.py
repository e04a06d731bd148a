"""`rollout release`: publish `$LATEST` as a version and roll it out — the CI step after
`sam deploy`.

One rollout per published version. PublishVersion returns the existing version when
nothing changed since the last publish; when the alias already serves it there is nothing
to roll out. Otherwise the execution is named after function, alias and version, so a
second run for the same publish meets the first one (ExecutionAlreadyExists) and reports
or follows it instead of starting another. On a function tagged for rollouts the publish
also starts one through EventBridge; whichever takes the alias's lock first rolls it out,
the other ends in "Already rolling out", and `--watch` follows the one that rolls out.
Everything else is `rollout start`'s: the same flags and input, the same checks, the same
exit codes.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from typing import Any

from rich.console import Console

from rollout.aws import AwsContext, CliError, aws_errors, find_state_machine, reports_errors
from rollout.commands.start import (
    ExecutionExists,
    add_rollout_arguments,
    build_input,
    follow_execution,
    preflight,
    start_execution,
)
from rollout.commands.watch import (
    EXIT_CODES_HELP,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_RUNNING,
    watch_execution,
)

MAX_NAME = 80  # StartExecution's limit on an execution name
UNSAFE = re.compile(r"[^A-Za-z0-9_-]")  # what CloudWatch Logs accepts in an execution name
DIGEST = 8


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "release",
        help="publish $LATEST as a version and roll it out (the CI step after sam deploy)",
        description="Publish $LATEST as a version and start its rollout, with the same flags\n"
        "and input as `rollout start`. One rollout per published version: nothing is\n"
        "started when the alias already serves it, and a second run for the same version\n"
        "reports (or with --watch follows) the rollout the first one started.",
        epilog=EXIT_CODES_HELP + "  (without --watch: 0 once the execution has started, or when\n"
        "   there is nothing to roll out)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_rollout_arguments(parser, version=False, name=False)
    parser.set_defaults(run=run_release)


def release_name(function: str, alias: str, version: str) -> str:
    """`release-<function>-<alias>-v<version>-<digest>`: the same for the same release,
    different for any other. The digest of the exact function and alias keeps names apart
    that read alike (function `a-b` alias `c`, function `a` alias `b-c`), and stays when a
    long name is cut to the 80 characters Step Functions allows."""
    name = function_name(function)
    digest = hashlib.sha256(f"{name}\n{alias}".encode()).hexdigest()[:DIGEST]
    suffix = f"-v{UNSAFE.sub('-', version)}-{digest}"
    head = UNSAFE.sub("-", f"release-{name}-{alias}")
    return head[: MAX_NAME - len(suffix)] + suffix


def function_name(function: str) -> str:
    """The name in a function name or (partial) ARN: `…:function:NAME[:qualifier]`."""
    parts = function.split(":")
    return parts[parts.index("function") + 1] if "function" in parts[:-1] else function


@reports_errors
def run_release(args: argparse.Namespace) -> int:
    document = build_input(args)  # CliError(exit 2) on bad input, before touching AWS
    if "targetVersion" in document:
        raise CliError(
            "release rolls out the version it publishes: drop targetVersion from --input "
            "(rollout start --version N rolls out another)",
            EXIT_INVALID,
        )
    aws = AwsContext(args.region, args.profile)
    machine = find_state_machine(aws, args.state_machine)
    alias = preflight(aws, document)  # exit 2 before publishing when there is no such alias
    function = document["functionName"]
    with aws_errors(f"publishing {function}"):
        version = str(aws.client("lambda").publish_version(FunctionName=function)["Version"])
    if alias is not None and str(alias.get("FunctionVersion")) == version:
        _say(
            f"nothing to roll out: {document['alias']} already serves version {version} of "
            f"{function}, which is what $LATEST publishes as"
        )
        return EXIT_OK
    document["targetVersion"] = version
    name = release_name(function, document["alias"], version)
    try:
        arn = start_execution(aws, machine, document, name)
    except ExecutionExists as exists:
        _say(f"version {version} was released before; its rollout is {name}")
        return _follow_existing(aws, exists.arn, args)
    _say(f"published version {version}; rolling it out as {name}")
    # On a tagged function the same publish also started a rollout through EventBridge;
    # whichever took the lock rolls it out, and --watch follows that one (start's follow).
    return follow_execution(aws, arn, args)


def _follow_existing(aws: AwsContext, arn: str, args: argparse.Namespace) -> int:
    """With --watch: follow it to its verdict. Without: one snapshot; its verdict when it
    has ended, 0 while it runs (as start exits 0 once started)."""
    if args.watch:
        return follow_execution(aws, arn, args)
    print(arn, flush=True)
    code = watch_execution(aws, arn, args.interval, args.timeout, once=True, console=_stderr())
    return EXIT_OK if code == EXIT_RUNNING else code


def _stderr() -> Console:
    return Console(stderr=True)


def _say(message: str) -> None:
    """What happened, for people: on stderr, so stdout holds only the execution ARN."""
    print(message, file=sys.stderr, flush=True)
