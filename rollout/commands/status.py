"""`rollout status`: recent rollouts as a table, newest first."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rollout.aws import (
    AwsContext,
    add_aws_arguments,
    aws_errors,
    find_state_machine,
    reports_errors,
)
from rollout.view.run import Outcome, Run, build_run, fetch_history, short_function_name
from rollout.view.watch import status_label

SCAN_LIMIT = 200  # executions looked at when filtering by function
WIDE = 160


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="recent rollouts: function, alias, versions, outcome, step, timing",
        description="Recent rollouts of the rollout state machine, newest first.",
    )
    parser.add_argument("--function", help="only rollouts of this function (name or ARN)")
    parser.add_argument("--limit", type=int, default=10, help="how many to show (default 10)")
    parser.add_argument(
        "--all",
        action="store_true",
        dest="show_all",
        help="also show Skipped runs (function not opted in) and duplicates (Already rolling out)",
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run_status)


@reports_errors
def run_status(args: argparse.Namespace) -> int:
    aws = AwsContext(args.region, args.profile)
    machine = find_state_machine(aws, args.state_machine)
    with aws_errors(f"listing rollouts of {machine}"):
        runs = recent_runs(
            aws.client("stepfunctions"), machine, args.function, args.limit, args.show_all
        )
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, WIDE)  # logs and pipes: no reason to squash columns
    if not runs:
        which = f" of {args.function}" if args.function else ""
        hint = "" if args.show_all else " (skipped runs hidden: --all shows them)"
        console.print(f"no rollouts{which} yet on {machine}{hint}", highlight=False)
        return 0
    console.print(status_table(runs, datetime.now(UTC), console.width))
    return 0


def recent_runs(
    sfn: Any, machine: str, function: str | None, limit: int, skipped: bool = False
) -> list[Run]:
    """Newest first. DescribeExecution filters by function and, unless `skipped`, leaves out
    Skipped runs (a PublishVersion of a function not opted in: its output names the plan);
    the history (needed for the step and the plan of a running rollout) is read only for the
    rollouts shown."""
    wanted = short_function_name(function) if function else None
    runs: list[Run] = []
    for summary in _executions(sfn, machine):
        if len(runs) >= max(limit, 0):
            break
        describe = sfn.describe_execution(executionArn=summary["executionArn"])
        described = build_run(describe, [])
        if wanted and described.function != wanted:
            continue
        if not skipped and described.outcome in (Outcome.SKIPPED, Outcome.DUPLICATE):
            continue
        history = fetch_history(sfn, summary["executionArn"])
        runs.append(build_run(describe, history))
    return runs


def _executions(sfn: Any, machine: str) -> Iterator[dict[str, Any]]:
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=machine, PaginationConfig={"MaxItems": SCAN_LIMIT}
    )
    summaries = [s for page in pages for s in page["executions"]]
    yield from sorted(summaries, key=lambda s: s["startDate"], reverse=True)


FULL_WIDTH = 140  # wide enough for every column, the execution name in full


def status_table(runs: list[Run], now: datetime, width: int = FULL_WIDTH) -> Table:
    table = Table(title="Recent rollouts", title_justify="left", box=box.SIMPLE_HEAD)
    for column in (
        "Function",
        "Alias",
        "Versions",
        "Outcome",
        "Step",
        "Started (UTC)",
        "Duration",
        "Execution",
    ):
        # Outcome wraps (label, then the error) and never shrinks below 20; on a narrow
        # terminal the execution name is cut short (…) rather than a column hidden.
        if column == "Outcome":
            table.add_column(column, min_width=20)
        elif column == "Execution":
            narrow = width < FULL_WIDTH
            table.add_column(column, no_wrap=True, max_width=14 if narrow else None)
        else:
            table.add_column(column, no_wrap=True)
    for run in runs:
        label, colour = status_label(run)
        step = f"{run.step_number}/{run.step_count}" if run.steps else "—"
        table.add_row(
            run.function or "?",
            run.alias or "?",
            f"{run.stable_version or '?'} → {run.target_version or '?'}",
            Text(label, style=colour) + Text(_detail(run), style="dim"),
            step,
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            _duration((run.stopped_at or now) - run.started_at),
            run.name,
        )
    return table


def _detail(run: Run) -> str:
    return f"\n{run.error}" if run.error else ""


def _duration(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
