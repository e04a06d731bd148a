"""`rollout watch` and `rollout status` against an in-memory Step Functions (tests/cli/fakes)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from rich.console import Console

from rollout.cli import main
from rollout.commands import status as status_command
from rollout.commands import watch as watch_command
from rollout.commands.status import recent_runs, status_table
from tests.cli.fakes import FakeAws, FakeStepFunctions
from tests.cli.histories import (
    ARN,
    MACHINE,
    ROLLBACK_CAUSE,
    T0,
    previously_rolled_back,
    rejected,
    rolled_back,
    shifted_and_waiting,
    skipped,
    succeeded,
)

OTHER = ARN.replace("run-1", "run-2")
THIRD = ARN.replace("run-1", "run-3")


@pytest.fixture
def sfn(monkeypatch) -> FakeStepFunctions:
    fake = FakeStepFunctions()
    for module in (watch_command, status_command):
        monkeypatch.setattr(module, "AwsContext", lambda *_: FakeAws(fake))
    monkeypatch.setenv("ROLLOUT_STATE_MACHINE_ARN", MACHINE)
    return fake


def add_succeeding(sfn: FakeStepFunctions, arn: str = ARN) -> None:
    waiting, done = shifted_and_waiting(), succeeded()
    sfn.add(arn, (waiting, waiting.describe("RUNNING")), (done, done.describe("SUCCEEDED")))


def test_watch_follows_to_success_and_prints_plain_lines(sfn, capsys):
    add_succeeding(sfn)

    assert main(["watch", ARN, "--interval", "0.1", "--timeout", "10"]) == 0

    out = capsys.readouterr().out
    assert "→ Shift traffic" in out and "weight" in out and "health ✔ healthy" in out
    assert out.count("→ Prepare") == 1  # each change once, not a redraw per poll
    assert out.rstrip().endswith("✔ Succeeded: version 4 is live on orders:live")


def test_watch_accepts_an_execution_name(sfn):
    add_succeeding(sfn)

    assert main(["watch", "run-1", "--interval", "0.1", "--timeout", "10"]) == 0


def test_watch_exit_codes_follow_the_outcome(sfn):
    back, bad, busy = rolled_back(), rejected(), rejected("RolloutInProgress")
    sfn.add(ARN, (back, back.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE)))
    sfn.add(OTHER, (bad, bad.describe("FAILED", "InvalidRolloutRequest", "no alias")))
    sfn.add(THIRD, (busy, busy.describe("FAILED", "RolloutInProgress", "locked")))

    assert main(["watch", ARN, "--interval", "0.1"]) == 1
    assert main(["watch", OTHER, "--interval", "0.1"]) == 2
    assert main(["watch", THIRD, "--interval", "0.1"]) == 1


def test_watch_once_prints_a_snapshot_of_a_running_rollout(sfn, capsys):
    waiting = shifted_and_waiting()
    sfn.add(ARN, (waiting, waiting.describe("RUNNING")))

    assert main(["watch", ARN, "--once"]) == 3

    out = capsys.readouterr().out
    assert "→ Wait for next check" in out and out.rstrip().endswith("… in Wait for next check")


def test_watch_timeout_exits_1_and_says_how_to_resume(sfn, capsys):
    waiting = shifted_and_waiting()
    sfn.add(ARN, (waiting, waiting.describe("RUNNING")))

    assert main(["watch", ARN, "--interval", "0.1", "--timeout", "0.3"]) == 1
    assert "still running after the timeout" in capsys.readouterr().err


def test_watch_unknown_execution_is_a_clear_error(sfn, capsys):
    assert main(["watch", ARN, "--once"]) == 1
    err = capsys.readouterr().err
    assert "execution not found" in err and ARN in err


def test_watch_draws_the_panel_on_a_terminal(sfn):
    add_succeeding(sfn)
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system=None)

    code = watch_command.watch_execution(FakeAws(sfn), ARN, 0.1, 10, console=console)

    assert code == 0
    assert "╭─ rollout orders:live" in out.getvalue() and "✔ Succeeded" in out.getvalue()


def test_status_lists_recent_rollouts_newest_first(sfn, capsys):
    back = rolled_back()
    add_succeeding(sfn, OTHER)
    sfn.add(ARN, (back, back.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE)))
    sfn.stages[OTHER][-1][0]["startDate"] = T0 + timedelta(minutes=5)

    runs = recent_runs(sfn, MACHINE, None, 10)

    assert [r.name for r in runs] == ["run-2", "run-1"]
    table = io.StringIO()
    Console(file=table, width=140).print(status_table(runs, T0 + timedelta(hours=1)))
    text = table.getvalue()
    assert "✖ Rolled back" in text and "HealthCheckFailed" in text and "3 → 4" in text
    assert "2026-11-26 10:00:00" in text and "0m16s" in text


def test_status_keeps_the_outcome_on_a_narrow_terminal(sfn):
    back = rolled_back()
    sfn.add(ARN, (back, back.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE)))
    [run] = recent_runs(sfn, MACHINE, None, 10)
    run.name = "7bca5bbf-e8b2-4d69-a4c7-bd4e6171ccc2"  # a generated name is a UUID
    for width in (100, 110):
        table = io.StringIO()
        status = status_table([run], T0 + timedelta(hours=1), width)
        Console(file=table, width=width).print(status)
        text = table.getvalue()
        assert "Outcome" in text and "✖ Rolled back" in text, text
    wide = io.StringIO()
    Console(file=wide, width=140).print(status_table([run], T0 + timedelta(hours=1), 140))
    assert run.name in wide.getvalue()  # in full, to copy into `rollout watch` or `report`


def test_status_filters_by_function_and_limits(sfn, capsys):
    add_succeeding(sfn, ARN)
    add_succeeding(sfn, OTHER)
    other_function = succeeded()
    other_function.input = {**other_function.input, "functionName": "billing"}
    other_function.doc["plan"] = {**other_function.doc["plan"], "functionName": "billing"}
    sfn.add(THIRD, (other_function, other_function.describe("SUCCEEDED")))

    assert [r.function for r in recent_runs(sfn, MACHINE, "billing", 10)] == ["billing"]
    assert len(recent_runs(sfn, MACHINE, None, 2)) == 2
    assert (
        recent_runs(
            sfn, MACHINE, "arn:aws:lambda:us-east-1:123456789012:function:billing:live", 10
        )[0].name
        == "run-3"
    )

    assert main(["status", "--function", "nobody"]) == 0
    assert "no rollouts of nobody yet" in capsys.readouterr().out


def add_skipped(sfn: FakeStepFunctions, arn: str) -> None:
    skip = skipped()
    skip.input = {"source": "aws.lambda", "detail": {"eventName": "PublishVersion20150331"}}
    sfn.add(arn, (skip, skip.describe("SUCCEEDED")))


def test_status_hides_skipped_runs_unless_all(sfn, capsys):
    """Every PublishVersion in the account starts an execution: untagged functions' Skipped
    runs would bury the rollouts (issue 10)."""
    add_succeeding(sfn, ARN)
    add_skipped(sfn, OTHER)
    add_skipped(sfn, THIRD)
    for arn, minutes in ((OTHER, 5), (THIRD, 6)):
        sfn.stages[arn][-1][0]["startDate"] = T0 + timedelta(minutes=minutes)

    assert [r.name for r in recent_runs(sfn, MACHINE, None, 10)] == ["run-1"]
    assert [r.name for r in recent_runs(sfn, MACHINE, None, 2, skipped=True)] == [
        "run-3",
        "run-2",
    ]
    # the limit counts the runs shown: hidden Skipped runs don't use it up
    assert [r.name for r in recent_runs(sfn, MACHINE, None, 1)] == ["run-1"]

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "run-1" in out and "Skipped" not in out and "run-2" not in out
    assert main(["status", "--all"]) == 0
    out = capsys.readouterr().out
    assert out.count("Skipped") == 2 and "run-1" in out and "run-3" in out


def test_status_shows_a_version_rolled_back_before_and_who_rolled_it_back(sfn, capsys):
    """Not hidden like Skipped: the alias doesn't serve what was published, and why."""
    refused = previously_rolled_back()
    sfn.add(ARN, (refused, refused.describe("SUCCEEDED")))

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "✖ Previously rolled back" in out
    assert "v4 was rolled back by 8e66df4b at 2026-11-26T09:00:00Z" in out


def test_status_says_why_a_list_of_only_skipped_runs_is_empty(sfn, capsys):
    add_skipped(sfn, ARN)

    assert main(["status"]) == 0
    assert "skipped runs hidden: --all shows them" in capsys.readouterr().out
