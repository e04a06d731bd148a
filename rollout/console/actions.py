"""What the console's buttons do, by the CLI's own code, so they refuse and succeed alike:

- a control is `rollout abort | promote | pause | resume | approve | reject`'s
  `send_control` (signed with the caller's identity from STS; a control that doesn't apply
  is refused with the CLI's message and changes nothing);
- the start form's Plan is `rollout plan`: Prepare's offline checks, then Prepare itself
  with `dryRun`, and the plan printed as `rollout plan` prints it;
- Start is `rollout start`: the same checks, the same preflight, StartExecution.

Each returns the JSON the page shows, or raises Refused with the CLI's message and the exit
code the CLI would have used.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from rollout.aws import AwsContext, CliError
from rollout.commands import plan, start
from rollout.commands.control import HELP, send_control
from rollout.dry_run import dry_run
from rollout.exits import Exit

# The samples the start form offers: the console inputs of events/console/.
SAMPLES = Path(__file__).resolve().parents[2] / "events" / "console"
# What each control does, in the words of its command's --help (promote --full: promote's).
CONTROL_HELP = {**HELP, "promote-full": HELP["promote"]}
CONTROLS = frozenset(CONTROL_HELP)
PLAN_WIDTH = 100  # columns of the plan as `rollout plan` prints it


class Refused(Exception):
    """The CLI's message for a request it would refuse, and its exit code."""

    def __init__(self, message: str, exit_code: int = Exit.INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def samples() -> list[dict[str, Any]]:
    """Each sample's name and its input, for the start form."""
    if not SAMPLES.is_dir():
        return []
    return [
        {"name": path.stem, "input": path.read_text(encoding="utf-8")}
        for path in sorted(SAMPLES.glob("*.json"))
    ]


def control(aws: AwsContext, machine: str, body: dict[str, Any]) -> dict[str, Any]:
    """One operator control on the execution named, as `rollout ACTION EXECUTION --reason`."""
    action, arn, reason = body.get("action"), body.get("execution"), body.get("reason")
    if action not in CONTROLS:
        raise Refused(f"unknown control {action!r}: one of {', '.join(sorted(CONTROLS))}")
    if not isinstance(arn, str) or not arn:
        raise Refused("name the rollout: its execution ARN")
    if not isinstance(reason, str) or not reason.strip():
        raise Refused(f"{action}: give a reason; it is recorded with your identity")
    try:
        sent = send_control(aws, action, reason.strip(), execution=arn, state_machine=machine)
    except CliError as error:
        raise Refused(str(error), error.exit_code) from None
    return {"message": str(sent), "by": sent.control.by, "execution": sent.arn}


def plan_of(aws: AwsContext, body: dict[str, Any]) -> dict[str, Any]:
    """`rollout plan --input`: the plan, and its text as the command prints it."""
    document = _document(body)
    try:
        start.check(document)
        planned = dry_run(aws, document)
    except CliError as error:
        raise Refused(str(error), error.exit_code) from None
    printed = Console(
        file=io.StringIO(), record=True, width=PLAN_WIDTH, color_system=None, soft_wrap=True
    )
    plan.show(planned, printed)
    return {"plan": planned, "text": printed.export_text(), "estimate": _estimate(planned)}


def start_rollout(aws: AwsContext, machine: str, body: dict[str, Any]) -> dict[str, Any]:
    """`rollout start --input`: checked as Prepare checks it, then started."""
    document = _document(body)
    try:
        start.check(document)
        start.preflight(aws, document)
        arn = start.start_execution(aws, machine, document)
    except CliError as error:
        raise Refused(str(error), error.exit_code) from None
    return {"execution": arn}


def _document(body: dict[str, Any]) -> dict[str, Any]:
    """The input as the form holds it (its text), parsed as `--input FILE` is."""
    text = body.get("input")
    if not isinstance(text, str):
        raise Refused("the input is missing")
    try:
        document = json.loads(text)
    except ValueError as error:
        raise Refused(f"the input is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise Refused("the input must hold a JSON object")
    return document


def _estimate(planned: dict[str, Any]) -> dict[str, Any] | None:
    """The plan's numbers (`rollout plan`'s estimate), when it plans a rollout."""
    if planned.get("action") == "noop" or not planned.get("strategy") or "waves" in planned:
        return None
    return plan.estimate(planned)
