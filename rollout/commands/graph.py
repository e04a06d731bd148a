"""`rollout graph`: the workflow as a Mermaid diagram, from the ASL."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rollout.exits import Exit
from rollout.graph import DEFINITION, load_definition, mermaid


def register(subparsers: Any) -> None:
    graph = subparsers.add_parser("graph", help="print the workflow as a Mermaid diagram")
    graph.add_argument("--definition", type=Path, default=DEFINITION, help="ASL file to draw")
    graph.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(mermaid(load_definition(args.definition)), end="")
    return Exit.OK
