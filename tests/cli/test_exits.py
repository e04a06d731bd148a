"""One set of exit codes (rollout/exits.py): each command's help is built from it, and a
refusal's code is decided in one place."""

from __future__ import annotations

import re

import pytest

from rollout.cli import build_parser
from rollout.exits import CONTROL, PLAN, PRUNE, ROLLOUT, Exit, for_refusal, help_text


def _help(command: str) -> str:
    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    return str(subcommands[command].format_help())


@pytest.mark.parametrize(
    ("command", "meanings"),
    [
        ("start", ROLLOUT),
        ("release", ROLLOUT),
        ("watch", ROLLOUT),
        ("plan", PLAN),
        ("abort", CONTROL),
        ("approve", CONTROL),
        ("prune", PRUNE),
    ],
)
def test_each_commands_help_lists_its_codes_from_the_module(command, meanings):
    shown = _help(command)
    assert help_text(meanings) in shown  # verbatim (a command may add a note after it)
    codes = re.findall(r"^  (\d+) ", shown.split("exit codes:\n", 1)[1], re.M)
    assert [int(code) for code in codes] == [int(code) for code in meanings]


def test_help_text_wraps_each_meaning_under_its_code():
    text = help_text({Exit.OK: "word " * 30, Exit.INVALID: "short"}, note="(a note)")
    lines = text.splitlines()
    assert lines[0] == "exit codes:" and lines[1].startswith("  0  word")
    assert all(len(line) <= 88 for line in lines)
    assert lines[2].startswith("     word") and "  2  short" in lines and lines[-1] == "  (a note)"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("InvalidRolloutRequest", Exit.INVALID),
        ("RolloutInProgress", Exit.FAILED),
        ("AlarmsAlreadyFiring", Exit.FAILED),
        ("States.Runtime", Exit.FAILED),
    ],
)
def test_only_invalid_input_is_exit_2(error, code):
    assert for_refusal(error) is code
