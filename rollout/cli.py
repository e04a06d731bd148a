"""The `rollout` command: one subcommand per module in rollout/commands. Its exit codes
are rollout/exits.py's, documented in the README's "Exit codes"."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rollout.commands import (
    analyze,
    console,
    control,
    demo,
    graph,
    local,
    plan,
    prune,
    release,
    report,
    start,
    status,
    watch,
)
from rollout.exits import Exit

COMMANDS = [
    demo,
    local,
    start,
    release,
    plan,
    watch,
    status,
    report,
    analyze,
    graph,
    control,
    prune,
    console,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollout",
        description="Safe AWS Lambda rollouts driven by AWS Step Functions.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return Exit.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
