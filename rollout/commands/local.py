"""`rollout local up`: the embedded local cloud, served until interrupted."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

from rich.console import Console

from rollout.local.cloud import DEFAULT_TEMPLATE, LocalCloud


def register(subparsers: Any) -> None:
    local = subparsers.add_parser("local", help="the embedded local cloud (moto + seams)")
    actions = local.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser(
        "up",
        help="serve the AWS APIs on 127.0.0.1 with template.yaml deployed as stack 'rollout'",
    )
    up.add_argument("--port", type=int, default=4566, help="port to listen on (default 4566)")
    up.add_argument(
        "--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template to deploy"
    )
    up.add_argument(
        "--no-deploy", action="store_true", help="start an empty cloud, without the stack"
    )
    up.set_defaults(run=run_up)


def run_up(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or until `stop` is set, for tests)."""
    console = Console(stderr=True)  # progress and status; the ready banner goes to stdout
    out = Console(soft_wrap=True)  # ARNs stay on one line, greppable
    template = None if args.no_deploy else args.template
    if template is not None and not template.is_file():
        console.print(f"[red]no template at {template}[/]: pass --template or run from the repo")
        return 2
    cloud = LocalCloud(port=args.port, template=template)
    what = "" if template is None else f" and deploying {template.name} as stack 'rollout'"
    try:
        with console.status(f"starting the local cloud on 127.0.0.1:{args.port}{what} …"):
            cloud.start()
    except RuntimeError as error:
        console.print(f"[red]could not start the local cloud:[/] {error}")
        return 1
    try:
        _print_ready(out, cloud)
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a person stops it: a clean exit, not an error
    finally:
        with console.status("stopping …"):
            cloud.stop()
    return 0


def _print_ready(console: Console, cloud: LocalCloud) -> None:
    console.print(f"[bold green]local cloud ready[/] at {cloud.endpoint} (region {cloud.region})")
    for key, value in sorted(cloud.stack_outputs.items()):
        console.print(f"  {key:<28} {value}")
    console.print("Use it with plain boto3 or the AWS CLI:")
    console.print(f"  export AWS_ENDPOINT_URL={cloud.endpoint} AWS_DEFAULT_REGION={cloud.region}")
    console.print("  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
    console.print("Press Ctrl-C to stop.")
