"""`rollout watch EXECUTION`: follow one rollout live until it ends; exit with its verdict."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rich.console import Console
from rich.text import Text

from rollout.aws import (
    AwsContext,
    CliError,
    add_aws_arguments,
    aws_errors,
    execution_region,
    reports_errors,
    resolve_execution,
)
from rollout.exits import ROLLOUT, Exit, for_refusal, help_text
from rollout.view.fetch import fetch_run
from rollout.view.pipeline import PipelineRun, fetch_pipeline, is_pipeline, lines, pipeline_in
from rollout.view.run import Outcome, Run
from rollout.view.watch import LinePrinter, WatchTimeout, follow, print_outcome, render

HANDOVER_SECONDS = 120  # a rollout execution given `waves` hands them over within this


def exit_code(run: Run) -> Exit:
    """The CI verdict for a run (exits.for_refusal says which refusals are bad input)."""
    if not run.outcome.finished:
        return Exit.RUNNING
    if run.outcome.good:
        return Exit.OK
    if run.outcome is Outcome.REJECTED:
        return for_refusal(run.error or "")
    return Exit.FAILED


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "watch",
        help="follow a rollout live until it ends",
        description="Follow a rollout execution live: step, weight, health, events, outcome.\n"
        "On a terminal the view redraws in place; otherwise it prints one line per change.",
        epilog=help_text(ROLLOUT),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("execution", metavar="EXECUTION", help="execution ARN, or its name")
    add_watch_arguments(parser)
    parser.add_argument("--once", action="store_true", help="print one snapshot and exit")
    add_aws_arguments(parser)
    parser.set_defaults(run=run_watch)


def add_watch_arguments(parser: Any) -> None:
    """--interval and --timeout (on a parser or an argument group)."""
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often to poll Step Functions (default 1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up (exit 1) if the rollout has not ended by then; the rollout keeps going",
    )


@reports_errors
def run_watch(args: argparse.Namespace) -> int:
    aws = AwsContext(execution_region(args), args.profile)
    arn = resolve_execution(aws, args)
    return watch_execution(aws, arn, args.interval, args.timeout, once=args.once)


def watch_execution(
    aws: AwsContext,
    arn: str,
    interval: float,
    timeout: float | None,
    once: bool = False,
    console: Console | None = None,
) -> int:
    console = console or Console()
    sfn = aws.client("stepfunctions")
    pipeline = arn if is_pipeline(arn) else _pipeline_of(sfn, arn, interval)
    if pipeline is not None:
        return watch_pipeline(sfn, pipeline, interval, timeout, once, console)
    with aws_errors(f"execution {arn}"):
        machine = sfn.describe_state_machine_for_execution(executionArn=arn)

    def fetch() -> Run:
        with aws_errors(f"execution {arn}"):
            return fetch_run(sfn, arn, machine)

    if once:
        return _snapshot(fetch(), console)
    try:
        run = follow(fetch, console, interval=max(interval, 0.1), timeout=timeout)
    except WatchTimeout as timed_out:
        raise CliError(f"{timed_out} — still going: rollout watch {arn}") from None
    return exit_code(run)


def _snapshot(run: Run, console: Console) -> int:
    if console.is_terminal:
        console.print(render(run))
        return exit_code(run)
    LinePrinter(console).update(run)
    if run.outcome.finished:
        print_outcome(run, console)
    else:
        console.print(Text(f"… {run.reason}"), highlight=False, soft_wrap=True)
    return exit_code(run)


# -- a pipeline of waves (rollout.view.pipeline) ------------------------------------------


def _pipeline_of(sfn: Any, arn: str, interval: float) -> str | None:
    """The pipeline a rollout execution handed `waves` to (it ends at once, Start pipeline):
    one DescribeExecution a poll, polling only while an input with `waves` runs."""
    deadline = time.monotonic() + HANDOVER_SECONDS
    while True:
        with aws_errors(f"execution {arn}"):
            described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return pipeline_in(json.loads(described.get("output") or "{}"))
        waves = "waves" in json.loads(described.get("input") or "{}")
        if not waves or time.monotonic() > deadline:
            return None
        time.sleep(max(interval, 0.1))


def pipeline_exit_code(run: PipelineRun) -> Exit:
    if not run.finished:
        return Exit.RUNNING
    if run.status == "SUCCEEDED":
        return Exit.OK
    if run.plan is None:  # refused by Prepare pipeline
        return for_refusal(run.error or "")
    return Exit.FAILED


def watch_pipeline(
    sfn: Any, arn: str, interval: float, timeout: float | None, once: bool, console: Console
) -> int:
    """Print the pipeline's waves and targets, each line once it changes, until it ends."""
    printed: list[str] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with aws_errors(f"execution {arn}"):
            run = fetch_pipeline(sfn, arn)
        shown = lines(run)
        for line in shown:
            if line not in printed:
                console.print(Text(line), highlight=False, soft_wrap=True)
        printed = shown
        if once or run.finished:
            return pipeline_exit_code(run)
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(f"the pipeline has not ended yet — still going: rollout watch {arn}")
        time.sleep(max(interval, 0.1))
