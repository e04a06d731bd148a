"""`rollout analyze EXECUTION [--input FILE]`: the canary judge replayed over a finished
rollout's recorded samples (rollout_core.health.replay), with the health configuration of
FILE (a JSON object shaped like the rollout input; its `health` key is used) or, without
it, the run's own. Prints each check's verdict then and now, and each user metric's
(judged again on the values the check recorded). Changes nothing: it reads the
execution's history and the telemetry table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rollout_core.errors import InvalidRolloutRequest
from rollout_core.health import metric_replay, replay
from rollout_core.health.metric_replay import MetricReplayed
from rollout_core.health.user_metrics import MetricVerdict
from rollout_core.health.verdict import Judgement

from rollout.aws import (
    AwsContext,
    CliError,
    add_aws_arguments,
    aws_errors,
    core_clients_of,
    execution_region,
    find_stack_output,
    reports_errors,
    resolve_execution,
)
from rollout.exits import Exit
from rollout.view.fetch import fetch_run
from rollout.view.run import Run
from rollout.view.verdicts import MARKS

TABLE_OUTPUT = "TelemetryTableName"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="replay the canary judge over a finished rollout, with another configuration",
        description="Replay the canary judge over a finished rollout's recorded samples and "
        "print each check's verdict then (as the run judged it) and now (with FILE's health "
        "configuration, else the run's own), and each user metric's, judged again on the "
        "values the check recorded. Changes nothing.",
    )
    parser.add_argument("execution", metavar="EXECUTION", help="execution ARN, or its name")
    parser.add_argument(
        "--input",
        type=Path,
        metavar="FILE",
        help='a JSON object shaped like the rollout input; its "health" is used, e.g. '
        '{"health": {"latency": {"maxIncreasePercent": 50}}}',
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run_analyze)


@reports_errors
def run_analyze(args: argparse.Namespace) -> int:
    document = _document(args.input)
    aws = AwsContext(execution_region(args), args.profile)
    arn = resolve_execution(aws, args)
    with aws_errors(f"execution {arn}"):
        run = fetch_run(aws.client("stepfunctions"), arn)
    if run.status == "RUNNING":
        raise CliError(f"{arn} is still running: analyze a finished rollout", Exit.INVALID)
    if run.plan is None or run.plan.action != "rollout":
        raise CliError(f"{arn} rolled nothing out: no checks to replay", Exit.INVALID)
    plan = run.plan.rollout_ready()
    try:
        health = replay.reconfigured(plan.health, document)
    except InvalidRolloutRequest as error:
        raise CliError(f"InvalidRolloutRequest: {args.input}: {error}", Exit.INVALID) from None
    table = find_stack_output(aws, TABLE_OUTPUT)
    with core_clients_of(aws, {"TELEMETRY_TABLE": table}), aws_errors("the telemetry table"):
        rows = replay.replay(plan, [*run.checks, *run.failed_checks], health)
    print(render(run, rows))
    return Exit.OK


def _document(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read {path}: {error}", Exit.INVALID) from None
    if not isinstance(document, dict):
        raise CliError(f"{path}: expected a JSON object", Exit.INVALID)
    return document


def render(run: Run, rows: list[replay.Replayed]) -> str:
    """One line per check and function: when, the weight, then → now, and each signal;
    then one line per user metric, then → now."""
    if not rows:
        return f"{run.execution_arn}\nno judged checks with samples to replay"
    lines = [run.execution_arn, "check  at        weight  function  then → now"]
    for number, row in enumerate(rows, start=1):
        marker = "≠" if replay.changed(row) else " "
        lines.append(
            f"{number:>5}  {row.at:%H:%M:%S}  {row.percentage:>5g}%  {row.function}  "
            f"{_outcome(row.then)} → {_outcome(row.now)} {marker}"
        )
        lines += [f"         now  {line}" for line in _signals(row.now)]
        lines += [f"        user  {_metric(metric)}" for metric in row.metrics]
    changed = sum(replay.changed(row) for row in rows)
    lines.append(f"{changed} of {len(rows)} verdicts differ")
    return "\n".join(lines)


def _outcome(judged: Judgement | None) -> str:
    return "-" if judged is None else f"{MARKS[judged.outcome]} {judged.outcome}"


def _metric(row: MetricReplayed) -> str:
    """`✔ pass → ✖ fail ≠  metric p95: version 4 at 912, above the threshold 800 (…)`"""
    now = _verdict(row.now) if row.replayable else "not replayable"
    marker = "≠" if metric_replay.changed(row) else " "
    why = row.now.why if row.now is not None else f"metric {row.name}: {row.unjudged}"
    return f"{_verdict(row.then)} → {now} {marker}  {why}"


def _verdict(found: MetricVerdict | None) -> str:
    if found is None:
        return "-"
    dry = " (dry run)" if found.dryRun else ""
    return f"{MARKS[found.outcome]} {found.outcome}{dry}"


def _signals(judged: Judgement | None) -> list[str]:
    if judged is None:
        return []
    return [f"{MARKS[v.outcome]} {v.why}" for v in judged.checks]  # why names its check
