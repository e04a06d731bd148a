"""`rollout demo` (what `make demo` runs): a healthy and a faulty rollout, live, locally."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from rollout import demo
from rollout.aws import AwsContext
from rollout.commands.prune import human_bytes, prune_table
from rollout.console.app import open_console
from rollout.console.server import ConsoleServer
from rollout.exits import Exit
from rollout.local.metric_delay import AWS_METRIC_DELAY_SECONDS
from rollout.samples import Traffic
from rollout.view.fetch import fetch_run
from rollout.view.watch import follow

if TYPE_CHECKING:
    from rollout.local.cloud import LocalCloud

HEALTHY, FAULTY = 0.0, 0.4  # share of requests each release fails
KEEP = 1  # the demo's `rollout prune --keep`: only three versions exist


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a healthy and a faulty rollout live on the local cloud (about 90 s)",
        description="Starts the local cloud, deploys the stack, creates a sample function "
        "'orders' behind alias 'live' with steady traffic, then publishes a healthy release "
        "(rolled out step by step by EventBridge) and a faulty one (caught and rolled back).",
    )
    parser.add_argument("--port", type=int, default=0, help="local cloud port (default: any free)")
    parser.add_argument("--rate", type=float, default=30.0, help="requests per second to the alias")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.1,
        help="rollout:time-scale tag of the sample function (default 0.1)",
    )
    parser.add_argument(
        "--check-interval",
        type=int,
        default=2,
        help="rollout:check-interval tag, in seconds (default 2)",
    )
    parser.add_argument(
        "--metric-delay",
        type=float,
        default=AWS_METRIC_DELAY_SECONDS,
        metavar="SECONDS",
        help="the local cloud's metric delay, as `rollout local up --metric-delay` (default "
        f"{AWS_METRIC_DELAY_SECONDS:g}: what AWS shows; logs then arrive 2 s late; 0: instant)",
    )
    parser.add_argument(
        "--console-port",
        type=int,
        default=0,
        help="port of the web console that follows the demo (default: any free)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # imported here: the cloud's seams import moto's backends, seconds every other command
    # would pay at start-up
    from rollout.local.cloud import LocalCloud
    from rollout.local.quotas import use as quota_line

    console = Console()
    started = time.monotonic()
    with console.status("starting the local cloud; deploying template.yaml as stack 'rollout' …"):
        cloud = LocalCloud(port=args.port, metric_delay=args.metric_delay).start()
    web: ConsoleServer | None = None
    try:
        web = _open_console(console, cloud, args.console_port)
        tags = demo.rollout_tags(args.time_scale, args.check_interval)
        outcomes = _story(console, cloud, args.rate, tags)
        cleaned = demo.clean_up_versions(cloud, KEEP)
        quota_use = quota_line(cloud.quotas.stats())
    finally:
        with console.status("stopping the console and the local cloud …"):
            if web is not None:
                web.stop()
            cloud.stop()
    console.print(_summary(outcomes, time.monotonic() - started))
    _show_clean_up(console, cleaned)
    console.print(quota_use, soft_wrap=True)
    return Exit.OK if _as_expected(outcomes) else Exit.FAILED


def _open_console(console: Console, cloud: LocalCloud, port: int) -> ConsoleServer:
    """`rollout console` on the demo's cloud, for as long as the demo runs."""
    aws = AwsContext(
        cloud.region,
        endpoint_url=cloud.endpoint,
        credentials={"aws_access_key_id": "testing", "aws_secret_access_key": "testing"},
    )
    web = open_console(aws, cloud.stack_outputs["RolloutStateMachineArn"], port=port)
    console.print(
        f"[bold]Console[/] (live while the demo runs): {web.console.access.url()}",
        soft_wrap=True,
        highlight=False,
    )
    return web


def _show_clean_up(console: Console, cleaned: demo.CleanUp) -> None:
    """The demo's ending: old versions cleaned up, what stayed and why, the storage freed."""
    console.print(
        f"\nOld versions cleaned up ([bold]rollout prune --function {demo.FUNCTION} "
        f"--keep {KEEP}[/], the rules of the workflow's 'Clean up old versions' state):"
    )
    console.print(prune_table(cleaned.result))
    kept = ", ".join(f"v{v.version.number}" for v in cleaned.result.kept)
    console.print(
        f"Versions kept: {kept}. Code storage (GetAccountSettings TotalCodeSize): "
        f"{human_bytes(cleaned.stored_before)} → {human_bytes(cleaned.stored_after)}, "
        f"freed {human_bytes(cleaned.stored_before - cleaned.stored_after)}"
    )


def _story(
    console: Console, cloud: LocalCloud, rate: float, tags: dict[str, str]
) -> list[demo.Outcome]:
    clients = {name: cloud.client(name) for name in ("lambda", "iam", "stepfunctions")}
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    console.print(f"[bold]Local cloud[/] at {cloud.endpoint}; state machine {machine}")
    console.print(
        f"AWS's delays: Lambda metrics readable {cloud.metric_delay:g} s after their minute "
        f"ends, logs {cloud.log_delay:g} s after each invocation"
    )
    if cloud.quotas.enforced:
        console.print(
            "AWS's API rate quotas enforced per account and Region, each throttled call "
            "answered with the service's own error (rollout/local/quota_table.py)"
        )
    stable = demo.create_sample_function(clients["lambda"], clients["iam"], tags)
    listed = ", ".join(f"{key}={value}" for key, value in tags.items())
    console.print(
        f"Created [bold]{demo.FUNCTION}[/] v{stable} behind alias "
        f"[bold]{demo.ALIAS}[/], tagged {listed}"
    )
    outcomes = []
    with Traffic(clients["lambda"], demo.FUNCTION, demo.ALIAS, per_second=rate) as traffic:
        console.print(f"Sending about {rate:.0f} requests/s to {demo.FUNCTION}:{demo.ALIAS}\n")
        for release, failure_rate, title in (
            (2, HEALTHY, "a healthy release"),
            (3, FAULTY, f"a faulty release (fails {FAULTY:.0%} of requests)"),
        ):
            console.rule(f"Release {release}: {title} — published; EventBridge starts the rollout")
            outcome = demo.roll_out(
                clients, machine, release, failure_rate, lambda arn: _follow(console, clients, arn)
            )
            for signal, saw in outcome.caught_by:
                console.print(f"[bold red]Caught by the {signal}:[/] {saw}", soft_wrap=True)
            outcomes.append(outcome)
        console.print(f"\nTraffic: {traffic.sent} requests, {traffic.failed} failed")
    return outcomes


def _follow(console: Console, clients: dict[str, Any], execution_arn: str) -> None:
    sfn = clients["stepfunctions"]
    follow(lambda: fetch_run(sfn, execution_arn), console, interval=0.5, timeout=300)


def _as_expected(outcomes: list[demo.Outcome]) -> bool:
    healthy, faulty = outcomes
    return (
        healthy.status == "SUCCEEDED"
        and healthy.alias_version == healthy.version
        and faulty.status == "FAILED"
        and faulty.alias_version == healthy.version
    )


def _summary(outcomes: list[demo.Outcome], seconds: float) -> Table:
    table = Table(title=f"Demo summary ({seconds:.0f} s)")
    for column in ("release", "version", "outcome", "took", f"{demo.ALIAS} afterwards"):
        table.add_column(column)
    for release, outcome in enumerate(outcomes, start=2):
        verdict = "rolled out" if outcome.status == "SUCCEEDED" else _rolled_back(outcome)
        table.add_row(
            str(release),
            outcome.version,
            verdict,
            f"{outcome.seconds:.0f} s",
            f"v{outcome.alias_version}",
        )
    return table


def _rolled_back(outcome: demo.Outcome) -> str:
    """'rolled back by the logs signal' (the numbers are printed when it happens)."""
    if outcome.caught_by:
        return "rolled back by the " + " and the ".join(s for s, _ in outcome.caught_by)
    return f"rolled back ({outcome.error})"
