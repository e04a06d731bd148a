"""`rollout console`: serve the web console (rollout/console) until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from rollout.aws import AwsContext, CliError, add_aws_arguments, reports_errors
from rollout.console.access import is_loopback
from rollout.console.app import open_console
from rollout.exits import Exit


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "console",
        help="a web console on 127.0.0.1: live rollouts, their graph and health, controls, "
        "a start form that shows the plan first",
        description="Serve a web console for the rollout state machine, with the CLI's\n"
        "credentials (AWS or the local cloud). It prints a URL carrying a secret token, made\n"
        "anew at each start; requests without it are refused.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else is reachable from other "
        "machines, guarded by the token alone)",
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run_console)


@reports_errors
def run_console(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    if not is_loopback(args.host):
        print(
            f"warning: listening on {args.host}: anyone who can reach this machine and has "
            "the URL can steer rollouts with your credentials; the traffic is not encrypted",
            file=sys.stderr,
        )
    aws = AwsContext(args.region, args.profile)
    try:
        server = open_console(aws, args.state_machine, args.host, args.port)
    except OSError as error:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    stop = stop or _stop_on_signals()
    print(f"rollout console for {server.console.state_machine}", flush=True)
    print(f"acting as {server.console.identity}", flush=True)
    print(f"open {server.console.access.url()}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
    return Exit.OK


def _stop_on_signals() -> threading.Event:
    """Ctrl-C and SIGTERM stop the console cleanly."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    return stop
