"""The exit codes of every `rollout` command (README, "Exit codes"), and the help texts
that explain them, built from here so a command's `--help` can't disagree with its code."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from enum import IntEnum

from rollout_core.errors import InvalidRolloutRequest


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # rolled back or failed, refused for now, timed out, or AWS said no
    INVALID = 2  # invalid input, or a control that doesn't apply: nothing started or changed
    RUNNING = 3  # still running (`watch --once`)
    INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


# What a rollout's verdict means to CI: `start --watch`, `release --watch`, `watch`.
ROLLOUT: dict[Exit, str] = {
    Exit.OK: "the rollout succeeded (or was skipped, or the version was already live)",
    Exit.FAILED: "it rolled back or failed, was refused because another rollout holds the "
    "alias (RolloutInProgress) or alarms were already firing (AlarmsAlreadyFiring), was "
    "aborted, found its new code already live without a rollout (Moved without a rollout: "
    "a template's AutoPublishAlias on the alias), found its version rolled back on the alias "
    "before (Previously rolled back: rollout start --version N tries it again), or --timeout "
    "passed first",
    Exit.INVALID: "invalid input (InvalidRolloutRequest, with Prepare's message): refused "
    "before anything started, or by the workflow",
    Exit.RUNNING: "still running (only with --once)",
}
PLAN: dict[Exit, str] = {
    Exit.OK: "the plan is valid",
    Exit.FAILED: "a valid rollout that could not start now (RolloutInProgress, "
    "AlarmsAlreadyFiring, a version previously rolled back on the alias), or Prepare could "
    "not be asked (credentials, network, no stack)",
    Exit.INVALID: "invalid input (InvalidRolloutRequest), with Prepare's message",
}
CONTROL: dict[Exit, str] = {
    Exit.OK: "the control was accepted; the workflow acts on it at its next health check "
    "(within one check interval; within a second while paused or awaiting approval)",
    Exit.FAILED: "the rollout was still in Prepare, without its lock, after 60 s of waiting "
    "(rollout/lock_wait.py), or AWS refused a call; nothing was changed",
    Exit.INVALID: "it does not apply (the rollout has ended, nothing to approve, not "
    "paused, …); nothing was changed",
}
PRUNE: dict[Exit, str] = {
    Exit.OK: "every version was decided (and, unless --dry-run, deleted or kept)",
    Exit.FAILED: "AWS refused a call",
    Exit.INVALID: "invalid input; nothing was changed",
}
WIDTH = 88


def for_refusal(error: str) -> Exit:
    """The code of a rollout refused with this Error. Only InvalidRolloutRequest is "your
    input is wrong": RolloutInProgress and AlarmsAlreadyFiring refuse valid requests for
    now, and anything else failed."""
    return Exit.INVALID if error == InvalidRolloutRequest.__name__ else Exit.FAILED


def help_text(meanings: Mapping[Exit, str], *, note: str = "") -> str:
    """`exit codes:` and one wrapped entry per code, for an argparse epilog."""
    lines = ["exit codes:"]
    for code, meaning in meanings.items():
        lines += textwrap.wrap(
            meaning,
            WIDTH,
            initial_indent=f"  {int(code):<3}",
            subsequent_indent="     ",
            break_on_hyphens=False,
        )
    if note:
        lines += textwrap.wrap(note, WIDTH, initial_indent="  ", subsequent_indent="  ")
    return "\n".join(lines) + "\n"
