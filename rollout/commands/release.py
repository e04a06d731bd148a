"""`rollout release`: publish `$LATEST` as a version and roll it out — the CI step after
`sam deploy`.

One rollout per published version. PublishVersion returns the existing version when
nothing changed since the last publish; when the alias already serves it there is nothing
to roll out. Otherwise the execution is named after function, alias and version, so a
second run for the same publish meets the first one (ExecutionAlreadyExists) and reports
or follows it instead of starting another; a version rolled back on the alias before is
refused by Prepare's dry run (rollout_core.rolled_back), exit 1 with nothing started: the
alias doesn't serve what `$LATEST` holds. On a function tagged for rollouts the publish
also starts one through EventBridge; whichever takes the alias's lock first rolls it out,
the other ends in "Already rolling out", and `--watch` follows the one that rolls out.
Everything else is `rollout start`'s: the same flags and input, the same checks, the same
exit codes.

With `--stack NAME` it releases a whole CloudFormation stack: every function of it whose
`$LATEST` changed, rolled out together by one coordinated rollout (rollout/stack.py finds
them, rollout/release_input.py writes the input). CI starts it, not EventBridge: each
PublishVersion event names one function, and nothing in it says which others one
`sam deploy` changed alongside it.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from typing import Any

from rich.console import Console
from rollout_core.eventbridge import RELEASE_MARKER
from rollout_core.request import MAX_RELEASE_FUNCTIONS

from rollout import stack
from rollout.aws import AwsContext, CliError, aws_errors, find_state_machine, reports_errors
from rollout.commands.start import (
    ExecutionExists,
    add_rollout_arguments,
    ask_prepare,
    build_input,
    check,
    follow_execution,
    preflight,
    start_execution,
)
from rollout.commands.watch import watch_execution
from rollout.exits import ROLLOUT, Exit, help_text
from rollout.release_input import check_tags, refuse_decided_keys, release_input

# What a stack release's settings are checked with before the stack names its functions:
# each member's rollout takes them (flags and --input), so they must suit one function.
STAND_IN = {"functionName": "stack-function", "alias": "live"}

MAX_NAME = 80  # StartExecution's limit on an execution name
UNSAFE = re.compile(r"[^A-Za-z0-9_-]")  # what CloudWatch Logs accepts in an execution name
DIGEST = 8
# The Description of a version `release --function` publishes: the EventBridge trigger skips
# it (rollout_core.eventbridge.RELEASE_MARKER), so one publish starts one rollout.
FUNCTION_RELEASE_MARKER = f"{RELEASE_MARKER} by rollout release --function"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "release",
        help="publish $LATEST as a version and roll it out (the CI step after sam deploy)",
        description="Publish $LATEST as a version and start its rollout, with the same flags\n"
        "and input as `rollout start`. One rollout per published version: nothing is\n"
        "started when the alias already serves it, a second run for the same version\n"
        "reports (or with --watch follows) the rollout the first one started, and a\n"
        "version rolled back on the alias before is refused (exit 1; rollout start\n"
        "--version N tries it again).\n\n"
        "--stack NAME does the same for every function of a CloudFormation stack tagged\n"
        "rollout:alias: the changed ones are rolled out together, by one coordinated\n"
        "rollout configured by their rollout:* tags (flags win).",
        epilog=help_text(
            ROLLOUT,
            note="(without --watch: 0 once the execution has started, or when there is "
            "nothing to roll out)",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_rollout_arguments(parser, version=False, name=False)
    whole = parser.add_argument_group("a whole stack (instead of --function)")
    whole.add_argument(
        "--stack",
        metavar="NAME",
        help="publish every function of this CloudFormation stack tagged rollout:alias and "
        "roll out the changed ones together (--alias: the same alias on each)",
    )
    whole.add_argument(
        "--all-functions",
        action="store_true",
        help="with --stack: every function of the stack, tagged or not (untagged ones need "
        "--alias)",
    )
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


def stack_release_name(stack_name: str, changed: list[tuple[str, str, str]]) -> str:
    """`release-<stack>-<digest>` for (function, alias, version) of each changed function:
    a re-run that finds the same changes meets the first run's execution. One function
    takes `release_name`, so `--stack` and `--function` meet each other too."""
    if len(changed) == 1:
        return release_name(*changed[0])
    lines = "\n".join(sorted(f"{f}\t{a}\t{v}" for f, a, v in changed))
    digest = hashlib.sha256(f"{stack_name}\n{lines}".encode()).hexdigest()[:DIGEST]
    head = UNSAFE.sub("-", f"release-{stack_name}")
    return f"{head[: MAX_NAME - DIGEST - 1]}-{digest}"


@reports_errors
def run_release(args: argparse.Namespace) -> int:
    if args.stack is not None:
        return run_stack_release(args)
    if args.all_functions:
        raise CliError("--all-functions goes with --stack", Exit.INVALID)
    document = build_input(args)
    if "functions" in document:
        raise CliError(
            "release rolls out one function (--function) or a stack's (--stack): drop "
            "functions from --input (rollout start --input rolls out a list you give)",
            Exit.INVALID,
        )
    if "targetVersion" in document:
        raise CliError(
            "release rolls out the version it publishes: drop targetVersion from --input "
            "(rollout start --version N rolls out another)",
            Exit.INVALID,
        )
    check(document)  # exit 2 on what Prepare would refuse, before touching AWS
    aws = AwsContext(args.region, args.profile)
    machine = find_state_machine(aws, args.state_machine)
    alias = preflight(aws, document)  # exit 2 before publishing when there is no such alias
    function = document["functionName"]
    version, marked = _publish(aws, function)
    if alias is not None and str(alias.get("FunctionVersion")) == version:
        _say(
            f"nothing to roll out: {document['alias']} already serves version {version} of "
            f"{function}, which is what $LATEST publishes as"
        )
        return Exit.OK
    document["targetVersion"] = version
    name = release_name(function, document["alias"], version)
    # A version this release published carries the marker, so the EventBridge trigger
    # skips it and this rollout is the one its flags describe. One published earlier
    # without it may already be rolling out on the function's tags: then it is followed,
    # and that is said.
    if not marked:
        _say(_published_earlier(function, version))
    return _start_release(
        aws,
        machine,
        document,
        name,
        args,
        before=f"version {version} was released before; its rollout is {name}",
        started=f"published version {version}; rolling it out as {name}",
        duplicate_note=None if marked else "this release's flags were not applied to it",
    )


def _publish(aws: AwsContext, function: str) -> tuple[str, bool]:
    """Publish `$LATEST` with the release marker; (version, whether it carries the marker).
    Lambda hands back an existing version, with its own Description, when nothing changed."""
    with aws_errors(f"publishing {function}"):
        found = aws.client("lambda").publish_version(
            FunctionName=function, Description=FUNCTION_RELEASE_MARKER
        )
    return str(found["Version"]), str(found.get("Description") or "").startswith(RELEASE_MARKER)


def _published_earlier(function: str, version: str) -> str:
    return (
        f"{function}: version {version} was published earlier without the {RELEASE_MARKER!r} "
        "Description (by aws lambda publish-version, or a template's AutoPublishAlias), so "
        "the EventBridge trigger may be rolling it out on the function's rollout:* tags; if "
        "it holds the alias, this release follows that rollout"
    )


def run_stack_release(args: argparse.Namespace) -> int:
    """Publish the stack's functions, then start one rollout of the changed ones."""
    options = _stack_options(args)  # exit 2 on bad input, before touching AWS
    alias = options.pop("alias", None)
    aws = AwsContext(args.region, args.profile)
    machine = find_state_machine(aws, args.state_machine)
    changed = _publish_stack(aws, args.stack, alias, args.all_functions)
    if not changed:
        _say(f"nothing to roll out: every alias of stack {args.stack} serves its $LATEST")
        return Exit.OK
    document = release_input(changed, options)
    name = stack_release_name(args.stack, [(p.name, p.member.alias, p.version) for p in changed])
    return _start_release(
        aws,
        machine,
        document,
        name,
        args,
        before=f"these versions were released before; their rollout is {name}",
        started=f"rolling out {_what(document)} as {name}",
    )


def _stack_options(args: argparse.Namespace) -> dict[str, Any]:
    """The release-wide input from flags and --input; the stack decides the functions."""
    if args.function is not None:
        raise CliError("--stack and --function are exclusive: name one of them", Exit.INVALID)
    options = build_input(args)
    refuse_decided_keys(options)
    check({**STAND_IN, **options})
    return options


def _publish_stack(
    aws: AwsContext, stack_name: str, alias: str | None, all_functions: bool
) -> list[stack.Published]:
    """Publish the stack's chosen functions; the ones whose alias serves another version."""
    functions = stack.stack_functions(aws, stack_name)
    members = stack.members(aws, stack.choose(stack_name, functions, alias, all_functions))
    check_tags(members)
    moved = stack.template_moves(aws, stack_name, members)
    if moved:  # instead of "nothing to roll out", or a rollout of a version already live
        raise CliError("; ".join(moved), Exit.INVALID)
    _say(f"stack {stack_name}: {', '.join(f'{m.function.name}:{m.alias}' for m in members)}")
    changed = [p for p in stack.publish_all(aws, members, stack_name, _say) if p.changed]
    if len(changed) > MAX_RELEASE_FUNCTIONS:
        raise CliError(
            f"{len(changed)} functions changed; one release rolls out at most "
            f"{MAX_RELEASE_FUNCTIONS}: release some with --function first",
            Exit.INVALID,
        )
    return changed


def _start_release(
    aws: AwsContext,
    machine: str,
    document: dict[str, Any],
    name: str,
    args: argparse.Namespace,
    *,
    before: str,
    started: str,
    duplicate_note: str | None = None,
) -> int:
    """Start it, or meet the execution a previous run started for the same versions (the
    name is derived from them); says `started` or `before`. Prepare is asked first (a dry
    run), so what it refuses (a traffic source bypassing an alias, say) starts nothing: a
    rejected execution would hold the name a corrected re-run of the same versions needs."""
    check(document)  # a stack's tags and flags together (one function: checked already)
    ask_prepare(aws, document)
    try:
        arn = start_execution(aws, machine, document, name)
    except ExecutionExists as exists:
        _say(before)
        return _follow_existing(aws, exists.arn, args)
    _say(started)
    return follow_execution(aws, arn, args, duplicate_note)


def _what(document: dict[str, Any]) -> str:
    entries = document.get("functions") or [document]
    return ", ".join(f"{e['functionName']}:{e['alias']} → {e['targetVersion']}" for e in entries)


def _follow_existing(aws: AwsContext, arn: str, args: argparse.Namespace) -> int:
    """With --watch: follow it to its verdict. Without: one snapshot; its verdict when it
    has ended, 0 while it runs (as start exits 0 once started)."""
    if args.watch:
        return follow_execution(aws, arn, args)
    print(arn, flush=True)
    code = watch_execution(aws, arn, args.interval, args.timeout, once=True, console=_stderr())
    return Exit.OK if code == Exit.RUNNING else code


def _stderr() -> Console:
    return Console(stderr=True)


def _say(message: str) -> None:
    """What happened, for people: on stderr, so stdout holds only the execution ARN."""
    print(message, file=sys.stderr, flush=True)
