"""`rollout local up`: the embedded local cloud, served until interrupted.

The cloud is imported when it is started: its seams import moto's backends, seconds that
every other command would otherwise pay at start-up."""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from rollout import demo
from rollout.aws import AwsContext, CliError, aws_errors, reports_errors
from rollout.exits import Exit
from rollout.local.quota_table import ENFORCED_BY_DEFAULT

if TYPE_CHECKING:
    from rollout.local.cloud import LocalCloud


KINDER_THAN_AWS = (
    "[yellow]warning:[/] quotas off: this cloud answers every call at any rate, kinder than "
    "AWS, which throttles each API per account and Region (rollout/local/quota_table.py); "
    "code that passes here can be throttled on a real account"
)


def register(subparsers: Any) -> None:
    local = subparsers.add_parser("local", help="the embedded local cloud (moto + seams)")
    actions = local.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser(
        "up",
        help="serve the AWS APIs on 127.0.0.1 with template.yaml deployed as stack 'rollout'",
    )
    up.add_argument("--port", type=int, default=4566, help="port to listen on (default 4566)")
    up.add_argument(
        "--template", type=Path, help="SAM template to deploy (default: this project's)"
    )
    up.add_argument(
        "--no-deploy", action="store_true", help="start an empty cloud, without the stack"
    )
    up.add_argument(
        "--metric-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="AWS/Lambda datapoints per minute, readable SECONDS after their minute ends, as "
        "on AWS (60 models what AWS shows; default 0: instant)",
    )
    up.add_argument(
        "--log-delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds before Lambda's log events are readable (default: 2 with a metric "
        "delay, else 0)",
    )
    up.add_argument(
        "--regions",
        metavar="R1,R2",
        help="deploy the stack in each of these Regions (the first is the home Region; "
        "default us-east-1): pipelines of waves run across them (README, Waves)",
    )
    up.add_argument(
        "--accounts",
        metavar="A,B",
        help="12-digit account IDs, the first 123456789012 (the `testing` credentials act "
        "there); each other one is a member account with OrganizationAccountAccessRole, "
        "and the stack is deployed in every account and Region",
    )
    up.add_argument(
        "--quotas",
        choices=("on", "off"),
        default="on" if ENFORCED_BY_DEFAULT else "off",
        help="AWS's API rate quotas per account and Region, answered with each service's own "
        "throttling error (default: %(default)s); off is kinder than AWS, for experiments",
    )
    up.set_defaults(run=run_up)
    sample = actions.add_parser(
        "sample",
        help="create the sample function 'orders' (v1 behind alias 'live') in a running cloud",
        description="Creates function 'orders' with version 1 behind alias 'live' where "
        "AWS_ENDPOINT_URL points (start one with `rollout local up`).",
    )
    sample.add_argument(
        "--tagged",
        action="store_true",
        help="tag it for EventBridge-triggered rollouts (Linear10PercentEvery1Minute, "
        "time scale 0.1, check interval 2 s)",
    )
    sample.set_defaults(run=run_sample)


def run_up(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM (or until `stop` is set, for tests)."""
    from rollout.local.cloud import DEFAULT_TEMPLATE, LocalCloud

    stop = stop or threading.Event()
    _stop_on_signals(stop)
    console = Console(stderr=True)  # progress and status; the ready banner goes to stdout
    out = Console(soft_wrap=True)  # ARNs stay on one line, greppable
    template = None if args.no_deploy else args.template or DEFAULT_TEMPLATE
    if template is not None and not template.is_file():
        console.print(f"[red]no template at {template}[/]: pass --template or run from the repo")
        return Exit.INVALID
    try:
        cloud = LocalCloud(
            port=args.port,
            template=template,
            metric_delay=getattr(args, "metric_delay", 0.0),
            log_delay=getattr(args, "log_delay", None),
            quotas=_quotas_on(args),
            regions=_listed(getattr(args, "regions", None)),
            accounts=_listed(getattr(args, "accounts", None)),
        )
    except ValueError as error:
        console.print(f"[red]{error}[/]")
        return Exit.INVALID
    if not cloud.quotas.enforced:
        console.print(KINDER_THAN_AWS)
    what = "" if template is None else f" and deploying {template.name} as stack 'rollout'"
    try:
        with console.status(f"starting the local cloud on 127.0.0.1:{args.port}{what} …"):
            cloud.start()
    except RuntimeError as error:
        console.print(f"[red]could not start the local cloud:[/] {error}")
        return Exit.FAILED
    try:
        _print_ready(out, cloud)
        while not stop.wait(0.5):
            pass
    finally:
        with console.status("stopping …"):
            cloud.stop()
    return Exit.OK


def _quotas_on(args: argparse.Namespace) -> bool:
    """`--quotas on|off`; a Namespace built without it (tests) takes the cloud's default."""
    choice = getattr(args, "quotas", None)
    return ENFORCED_BY_DEFAULT if choice is None else choice == "on"


def _stop_on_signals(stop: threading.Event) -> None:
    """Ctrl-C and SIGTERM stop the cloud cleanly. Set explicitly: a process started with
    SIGINT ignored (a background job, some CI runners) gets no KeyboardInterrupt from Python,
    and Ctrl-C would do nothing. `kill -USR1 <pid>` prints every thread's stack."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers belong to the main thread; tests set `stop` themselves
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    faulthandler.register(signal.SIGUSR1, all_threads=True)


@reports_errors
def run_sample(args: argparse.Namespace) -> int:
    if not os.environ.get("AWS_ENDPOINT_URL"):
        raise CliError(
            "AWS_ENDPOINT_URL is not set: this creates a sample function in the "
            "local cloud only (see `rollout local up`)"
        )
    aws = AwsContext(None, None)
    with aws_errors():
        tags = demo.rollout_tags() if args.tagged else {}
        version = demo.create_sample_function(aws.client("lambda"), aws.client("iam"), tags)
    print(
        f"created {demo.FUNCTION} version {version} behind alias {demo.ALIAS}"
        + (" (tagged for rollouts)" if args.tagged else "")
    )
    return Exit.OK


def _listed(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _print_ready(console: Console, cloud: LocalCloud) -> None:
    console.print(f"[bold green]local cloud ready[/] at {cloud.endpoint} (region {cloud.region})")
    quotas = "enforced" if cloud.quotas.enforced else "off (counted only)"
    console.print(f"  AWS's API rate quotas: {quotas}; counters at {cloud.quotas_url}")
    for key, value in sorted(cloud.stack_outputs.items()):
        console.print(f"  {key:<28} {value}")
    others = [place for place in cloud.stacks if place != cloud.places[0]]
    if others:
        console.print(f"  the stack also in: {', '.join(str(place) for place in others)}")
        members = cloud.accounts[1:]
        if members:
            console.print(
                f"  member accounts {', '.join(members)}: assume "
                "arn:aws:iam::ACCOUNT:role/OrganizationAccountAccessRole to act there"
            )
    console.print("Use it with plain boto3 or the AWS CLI:")
    console.print(f"  export AWS_ENDPOINT_URL={cloud.endpoint} AWS_DEFAULT_REGION={cloud.region}")
    console.print("  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
    console.print("Function URLs and HTTP APIs answer here, by Host (plain HTTP):")
    console.print(
        f"  curl --connect-to ::127.0.0.1:{cloud.port} http://<url-id>.lambda-url.{cloud.region}"
        ".on.aws/"
    )
    console.print("Press Ctrl-C to stop.")
