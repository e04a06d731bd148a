"""In CI (stdout not a terminal) `rollout watch` and every `--watch` print each failure's
Error and Cause complete, on one line: a log is all that is left of the run. A terminal
still shortens them to its screen."""

from __future__ import annotations

import argparse
import io
import json

import pytest
from rich.console import Console

from rollout.cli import main
from rollout.commands import start as start_command
from rollout.commands import watch as watch_command
from rollout.view.history import build_run
from rollout.view.watch import follow, outcome_line
from tests.cli.fakes import FakeAws, FakeStepFunctions
from tests.cli.histories import ARN, MACHINE, History, prepared, progress

CHECK_CAUSE = (
    "Health check failed at 10% (step 1/1): orders v4 error rate 20.00% > 5.00% over the last "
    "60 s (1/5 invocations failed); logs: 1 of 5 invocations failed (1/5 invocations failed)"
)
ROLLBACK_CAUSE = (
    "Rolled back orders:live to version 3: HealthCheckFailed at 10% (step 1/1): orders v4 "
    "error rate 20.00% > 5.00% over the last 60 s (1/5 invocations failed); logs: 1 of 5 "
    "invocations failed (1/5 invocations failed) — state: Check health; step 1/1 (10%), 10 s "
    "of 300 s waited; weight 10% on version 4; strategy Canary10Percent5Minutes; alarms "
    "orders-errors OK, orders-latency OK, orders-dlq-depth OK"
)
PRESETS = (
    "strategy: unknown preset 'Linear10PercentEvery1Minutes'; use one of AllAtOnce, "
    "Canary10Percent5Minutes, Canary10Percent10Minutes, Canary10Percent15Minutes, "
    "Canary10Percent30Minutes, Linear10PercentEvery1Minute, Linear10PercentEvery2Minutes, "
    "Linear10PercentEvery3Minutes, Linear10PercentEvery10Minutes"
)


def rolled_back_at_length() -> History:
    """A rollback whose Check health failure and final Cause run past any screen."""
    lambda_cause = json.dumps(
        {"errorMessage": f'{CHECK_CAUSE}\n{{"lastCheck": {{}}}}', "errorType": "X"}
    )
    h = (
        prepared()
        .state("Shift traffic", progress=progress())
        .state("Wait for next check", "Wait", seconds=10)
        .enter("Check health")
        .task_failed("HealthCheckFailed", lambda_cause)
        .exit("Check health", failure={"Error": "HealthCheckFailed", "Cause": lambda_cause})
        .state(
            "Roll back",
            rollback={"error": "HealthCheckFailed", "cause": ROLLBACK_CAUSE, "restored": True},
        )
        .state("Notify rollback", outcome={"outcome": "rolled_back"})
        .enter("Rolled back", "Fail", seconds=0)
    )
    return h.finish("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE)


def rejected_at_length() -> History:
    """Prepare refused a misspelled preset: the message lists every preset."""
    cause = json.dumps({"errorMessage": PRESETS, "errorType": "InvalidRolloutRequest"})
    h = (
        History()
        .enter("Prepare")
        .task_failed("InvalidRolloutRequest", cause)
        .exit("Prepare", failure={"Error": "InvalidRolloutRequest", "Cause": cause})
        .state(
            "Explain rejection",
            "Pass",
            seconds=0,
            rejection={"error": "InvalidRolloutRequest", "details": json.loads(cause)},
        )
        .enter("Request rejected", "Fail", seconds=0)
    )
    return h.finish("FAILED", "InvalidRolloutRequest", PRESETS)


ENDED = {
    "rolled back": (
        rolled_back_at_length,
        "HealthCheckFailed",
        ROLLBACK_CAUSE,
        f"✖ HealthCheckFailed: {CHECK_CAUSE}",
        1,
    ),
    "rejected": (
        rejected_at_length,
        "InvalidRolloutRequest",
        PRESETS,
        f"✖ InvalidRolloutRequest: {PRESETS}",
        2,
    ),
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def _assert_complete(out: str, error: str, cause: str, failure: str) -> None:
    """The failure event and the verdict, each whole and on one line of its own."""
    lines = _lines(out)
    assert any(line.endswith(failure) for line in lines), out
    assert any(line.endswith(f": {error}: {cause}") for line in lines), out
    assert "…" not in out


@pytest.fixture
def sfn(monkeypatch) -> FakeStepFunctions:
    fake = FakeStepFunctions()
    monkeypatch.setattr(watch_command, "AwsContext", lambda *_: FakeAws(fake))
    monkeypatch.setenv("ROLLOUT_STATE_MACHINE_ARN", MACHINE)
    return fake


def _add(sfn: FakeStepFunctions, history: History, error: str, cause: str) -> None:
    sfn.add(ARN, (history, history.describe("FAILED", error, cause)))


@pytest.mark.parametrize("case", ENDED)
def test_follow_prints_the_complete_error_and_cause_to_a_log(case):
    make, error, cause, failure, _ = ENDED[case]
    history = make()
    run = build_run(history.describe("FAILED", error, cause), history.events)
    out = io.StringIO()

    follow(lambda: run, Console(file=out, width=80), interval=0.1, timeout=5)

    _assert_complete(out.getvalue(), error, cause, failure)


@pytest.mark.parametrize("case", ENDED)
@pytest.mark.parametrize("once", [False, True], ids=["watch", "watch --once"])
def test_rollout_watch_prints_them_complete_when_piped(sfn, capsys, case, once):
    make, error, cause, failure, code = ENDED[case]
    _add(sfn, make(), error, cause)

    assert main(["watch", ARN, "--interval", "0.1", *(["--once"] if once else [])]) == code

    _assert_complete(capsys.readouterr().out, error, cause, failure)


@pytest.mark.parametrize("case", ENDED)
def test_every_watch_flag_prints_them_complete_when_piped(sfn, capsys, case):
    """`start --watch` and `release --watch` follow the execution they started this way."""
    make, error, cause, failure, code = ENDED[case]
    _add(sfn, make(), error, cause)
    args = argparse.Namespace(watch=True, interval=0.1, timeout=5)

    assert start_command.follow_execution(FakeAws(sfn), ARN, args) == code

    out = capsys.readouterr().out
    assert out.splitlines()[0] == ARN
    _assert_complete(out, error, cause, failure)


def test_a_terminal_still_shortens_the_reason_to_its_screen():
    history = rolled_back_at_length()
    run = build_run(history.describe("FAILED", "HealthCheckFailed", ROLLBACK_CAUSE), history.events)

    shown = outcome_line(run).plain

    assert len(ROLLBACK_CAUSE) > 300 and shown.endswith("…")
    assert ROLLBACK_CAUSE not in shown
