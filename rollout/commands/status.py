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
from rollout.exits import Exit
from rollout.view import verdicts
from rollout.view.fetch import fetch_history
from rollout.view.history import build_run
from rollout.view.pipeline import fetch_pipeline, handed_over, lines
from rollout.view.release import FunctionRow, function_rows
from rollout.view.run import CheckVerdict, Outcome, Run, check_verdict, short_function_name
from rollout.view.watch import VERDICTS, row_weight, status_label

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
        return Exit.OK
    console.print(status_table(runs, datetime.now(UTC), console.width))
    _pipelines(aws, console, runs)
    return Exit.OK


def _pipelines(aws: AwsContext, console: Console, runs: list[Run]) -> None:
    """The pipelines of waves the rollouts shown handed over (README, Waves): each as its
    waves and targets, their outcomes and where each one's own rollout is."""
    handed = [run for run in runs if run.outcome is Outcome.PIPELINE]
    if not handed:
        return
    sfn = aws.client("stepfunctions")
    console.print("\nPipelines (rollout watch PIPELINE for one):", highlight=False)
    for rollout in handed:
        with aws_errors(f"reading the pipeline of {rollout.execution_arn}"):
            arn = handed_over(sfn, rollout.execution_arn)
            if arn is None:
                continue
            run = fetch_pipeline(sfn, arn)
        console.print(Text(f"{run.name}  {run.status}  {run.arn}"), highlight=False, soft_wrap=True)
        for line in lines(run)[1:]:
            console.print(Text(f"  {line}"), highlight=False, soft_wrap=True)


def recent_runs(
    sfn: Any, machine: str, function: str | None, limit: int, skipped: bool = False
) -> list[Run]:
    """Newest first. DescribeExecution filters by function (a release matches any of its
    functions) and, unless `skipped`, leaves out
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
        if wanted and wanted not in described.function_names:
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


MAX_REASON = 60  # a member's reason in the table; `rollout watch` and the report show it all


def status_table(runs: list[Run], now: datetime, width: int = FULL_WIDTH) -> Table:
    """One row per run; a release's functions follow it, one row each, with its alias's
    weight in the Step column (the release's step is on the release's row)."""
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
        _add_run(table, run, now)
    return table


def _add_run(table: Table, run: Run, now: datetime) -> None:
    label, colour = status_label(run)
    step = f"{run.step_number}/{run.step_count}" if run.steps else "—"
    versions = f"{run.stable_version or '?'} → {run.target_version or '?'}"
    table.add_row(
        f"release of {len(run.function_names)}" if run.is_release else run.function or "?",
        "" if run.is_release else run.alias or "?",
        "" if run.is_release else versions,
        Text(label, style=colour) + Text(_detail(run), style="dim"),
        step,
        run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
        _duration((run.stopped_at or now) - run.started_at),
        run.name,
    )
    rows = function_rows(run)
    for number, row in enumerate(rows, start=1):
        branch = "└" if number == len(rows) else "├"
        table.add_row(
            f" {branch} {row.function}",
            row.alias,
            f"{row.stable_version or '?'} → {row.target_version or '?'}",
            _member_outcome(row),
            Text(f"@{row_weight(row)}", style="dim"),
            "",
            "",
            "",
        )


def _member_outcome(row: FunctionRow) -> Text:
    label, colour = VERDICTS[row.verdict]
    text = Text(label, style=colour)
    if row.restored is not None:
        text.append(" · restored" if row.restored else " · NOT restored", style="dim")
    for reason in row.reasons:
        short = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
        text.append(f"\n{short}", style="dim")
    return text


def _detail(run: Run) -> str:
    """The error; else the rollback that refused the version, new code live without a
    rollout, or no evidence; else the latest verdict of the canary judge and any extended
    step."""
    if run.error:
        return f"\n{run.error}"
    if run.plan is not None and run.outcome is Outcome.PREVIOUSLY_ROLLED_BACK:
        lines = []
        for prior in run.plan.rolledBackBefore:  # a release names each function
            which = f"{prior.functionName} " if run.is_release else ""
            by = prior.executionId.rsplit(":", 1)[-1]
            lines.append(f"\n{which}v{prior.version} was rolled back by {by} at {prior.at}")
        return "".join(lines)
    moved = run.plan.movedWithoutRollout if run.plan is not None else None
    if moved is not None:
        by = f"stack {moved.stack}'s template?" if moved.stack else "its template?"
        return f"\nnew code, no rollout: AutoPublishAlias on {run.alias} in {by}"
    latest = None if run.is_release else run.latest_judgement
    thin = check_verdict(latest) if latest is not None else None
    if thin is CheckVerdict.NO_EVIDENCE:
        return f"\nno evidence: v{run.target_version} served no invocation"
    if thin is CheckVerdict.LOW_TRAFFIC:
        return f"\nlow traffic: v{run.target_version} served fewer than minInvocations"
    lines = [verdicts.headline(run.last_check), verdicts.extensions(run)]
    return "".join(f"\n{line}" for line in lines if line)


def _duration(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
