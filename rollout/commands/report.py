"""`rollout report EXECUTION [-o FILE]`: one self-contained HTML page about a rollout."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rollout.aws import (
    AwsContext,
    CliError,
    add_aws_arguments,
    aws_errors,
    execution_region,
    reports_errors,
    resolve_execution,
)
from rollout.exits import Exit
from rollout.view.fetch import fetch_run
from rollout.view.pipeline import fetch_pipeline, handed_over, is_pipeline
from rollout.view.report import build_report, default_path
from rollout.view.report_pipeline import build_pipeline_report


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an HTML report of one rollout",
        description="Write one self-contained HTML file about a rollout execution (finished or "
        "still running): summary, the workflow graph with the path taken, traffic over time, "
        "health checks and the event timeline. No network access is needed to open it.",
    )
    parser.add_argument("execution", metavar="EXECUTION", help="execution ARN, or its name")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="FILE",
        help="where to write it (default: ./rollout-report-<execution name>.html)",
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run_report)


@reports_errors
def run_report(args: argparse.Namespace) -> int:
    aws = AwsContext(execution_region(args), args.profile)
    arn = resolve_execution(aws, args)
    sfn = aws.client("stepfunctions")
    with aws_errors(f"execution {arn}"):
        pipeline = arn if is_pipeline(arn) else handed_over(sfn, arn)
        if pipeline is not None:  # a pipeline of waves (README, Waves)
            path = args.output or Path(f"rollout-report-{pipeline.rsplit(':', 1)[-1]}.html")
            html = build_pipeline_report(fetch_pipeline(sfn, pipeline))
        else:
            run = fetch_run(sfn, arn)
            path = args.output or default_path(run)
            html = build_report(run)
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror}") from None
    print(path)
    return Exit.OK
