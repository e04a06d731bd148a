"""A release of several functions (issue 15) in the run model, `rollout watch` and
`rollout status`: one run, one row per function, from histories shaped per the contract."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from rich.console import Console

from rollout.cli import main
from rollout.commands import status as status_command
from rollout.commands import watch as watch_command
from rollout.commands.status import recent_runs, status_table
from rollout.commands.watch import exit_code
from rollout.view.history import build_run
from rollout.view.release import Verdict, function_rows
from rollout.view.run import Outcome, Run
from rollout.view.watch import LinePrinter, outcome_line, render
from tests.cli.fakes import FakeAws, FakeStepFunctions
from tests.cli.histories import (
    ARN,
    MACHINE,
    RELEASE_ARN,
    RELEASE_CAUSE,
    ROLLBACK_FAILED_CAUSE,
    T0,
    WORKER_REASON,
    History,
    release_rollback_failed,
    release_rolled_back,
    release_running,
    release_succeeded,
    succeeded,
)
from tests.cli.test_watch_view import text_of
from tests.conftest import REPO

NAMES = ["orders-api:live", "orders-worker:live", "orders-cron:live"]


def rolled_back_run() -> Run:
    h = release_rolled_back()
    return build_run(h.describe("FAILED", "HealthCheckFailed", RELEASE_CAUSE), h.events)


def succeeded_run() -> Run:
    h = release_succeeded()
    return build_run(h.describe("SUCCEEDED"), h.events)


def running_run() -> Run:
    h = release_running()
    return build_run(h.describe("RUNNING"), h.events)


def lines_of(text: str, *names: str) -> list[str]:
    """The first line of `text` that starts with each of `names` (after the panel's
    border and indentation): a function's row, not a message that mentions it."""
    found = []
    for name in names:
        start = re.compile(rf"^[│\s]*{re.escape(name)}(\s|$)")
        matching = [line for line in text.splitlines() if start.match(line)]
        assert matching, (name, text)
        found.append(matching[0])
    return found


# -- the model ------------------------------------------------------------------------


def test_a_single_rollout_has_no_function_rows():
    h = succeeded()
    run = build_run(h.describe("SUCCEEDED"), h.events)

    assert not run.is_release and function_rows(run) == []
    assert run.title == "orders:live" and run.function_names == ["orders"]


def test_a_succeeded_release_has_a_healthy_row_per_function_at_full_weight():
    run = succeeded_run()
    rows = function_rows(run)

    assert run.is_release and run.outcome is Outcome.SUCCEEDED and exit_code(run) == 0
    assert run.title == "release of 3 functions"
    assert [(r.name, r.stable_version, r.target_version) for r in rows] == [
        ("orders-api:live", "3", "4"),
        ("orders-worker:live", "7", "8"),
        ("orders-cron:live", "1", "2"),
    ]
    assert [(r.weight, r.verdict, r.restored) for r in rows] == [(1.0, Verdict.HEALTHY, None)] * 3
    assert run.reason == (
        "every alias of the release runs its new version: "
        "orders-api:live v4, orders-worker:live v8, orders-cron:live v2"
    )
    worker = rows[1].check
    assert worker is not None and worker.newVersion is not None and worker.logs is not None
    new = worker.newVersion
    assert (new.version, new.invocations, new.errors) == ("8", 100, 0)
    assert worker.logs.newVersion is not None and worker.logs.newVersion.invocations == 98


def test_a_release_failing_at_step_2_names_the_function_and_restores_every_alias():
    run = rolled_back_run()
    rows = function_rows(run)

    assert run.outcome is Outcome.ROLLED_BACK and exit_code(run) == 1
    assert [r.verdict for r in rows] == [Verdict.HEALTHY, Verdict.FAILED, Verdict.HEALTHY]
    assert rows[1].reasons == (WORKER_REASON.removeprefix("orders-worker: "),)
    assert [(r.weight, r.restored) for r in rows] == [(0.0, True)] * 3
    assert run.reason.startswith(
        "HealthCheckFailed: Rolled back every alias of the release "
        "(orders-api:live, orders-worker:live, orders-cron:live) to its stable version"
    )
    assert "orders-worker: metrics: version 8 error rate 30.00%" in run.reason
    # the failing check's numbers come from its error's data: each function's own
    failed = rows[1].check
    assert failed is not None and failed.newVersion is not None
    assert failed.newVersion.errors == 30
    assert [p.weight for p in rows[0].weights] == [0.0, 0.1, 0.5, 0.0]


def test_a_running_release_shows_every_alias_at_the_steps_weight():
    run = running_run()

    assert [(r.weight, r.verdict) for r in function_rows(run)] == [(0.1, Verdict.HEALTHY)] * 3
    assert (run.step_number, run.step_count) == (1, 2)


def test_before_prepare_the_rows_come_from_the_input():
    h = History(release_succeeded().input, RELEASE_ARN).enter("Prepare")
    run = build_run(h.describe("RUNNING"), h.events)

    rows = function_rows(run)
    assert [r.name for r in rows] == NAMES
    assert [(r.stable_version, r.verdict) for r in rows] == [(None, Verdict.PENDING)] * 3


def test_a_failed_rollback_leaves_each_alias_unknown_and_says_why():
    """Roll back's Catch writes {Error, Cause} to $.rollback: the Cause names the alias
    it could not restore and those it did."""
    h = release_rollback_failed()
    run = build_run(h.describe("FAILED", "RollbackFailed", ROLLBACK_FAILED_CAUSE), h.events)

    rows = function_rows(run)
    assert run.outcome is Outcome.FAILED and exit_code(run) == 1
    assert [(r.weight, r.restored) for r in rows] == [(None, None)] * 3
    assert rows[0].restore_detail == ROLLBACK_FAILED_CAUSE
    assert run.reason.startswith("RollbackFailed: Could not roll back orders-cron")


# -- rollout watch --------------------------------------------------------------------


def test_watch_shows_one_row_per_function_with_weight_health_and_verdict():
    run = running_run()
    out = text_of(render(run, run.events[-1].at + timedelta(seconds=4)))

    assert "release of 3 functions" in out and "3 functions shifted together" in out
    assert "10% new on every alias" in out
    api, worker, cron = lines_of(out, *NAMES)
    assert "3 → 4" in api and "10%" in api and "v4 100 inv, 0 err (0.00%)" in api
    assert "7 → 8" in worker and "✔ healthy" in worker
    assert "1 → 2" in cron
    assert out.count("logs 98 inv, 0 failed (0.00%)") == 3
    assert "Function " not in out  # the single rollout's rows give way to the table


def test_watch_shows_the_failing_function_its_reasons_and_every_alias_restored():
    out = text_of(render(rolled_back_run()))

    assert "✖ Rolled back" in out and "Rolled back every alias of the release" in out
    api, worker, cron = lines_of(out, *NAMES)
    assert "✖ failed · restored" in worker and "30 err (30.00%)" in worker
    assert "✔ healthy · restored" in api and "✔ healthy · restored" in cron
    assert "metrics: version 8 error" in out
    assert "checks ✔ 1, ✖ 1" in out


def test_plain_lines_list_each_function_under_a_check_and_after_the_verdict():
    run = rolled_back_run()
    out = io.StringIO()
    console = Console(file=out, width=200)
    LinePrinter(console).update(run)
    console.print(outcome_line(run))
    text = out.getvalue()

    assert "weight ██" in text and "on every alias" in text
    assert text.count("orders-worker:live ✔ v8 100 inv, 0 err (0.00%)") == 1  # step 1's check
    verdict = text[text.index("✖ Rolled back:") :]
    api, worker, cron = lines_of(verdict, *NAMES)
    assert "3 → 4" in api and "0%" in api and "restored" in api
    assert "✖ failed · restored · metrics: version 8" in worker
    assert "✔ healthy · restored" in cron


# -- rollout watch and status on the CLI --------------------------------------------------


@pytest.fixture
def sfn(monkeypatch) -> FakeStepFunctions:
    fake = FakeStepFunctions()
    for module in (watch_command, status_command):
        monkeypatch.setattr(module, "AwsContext", lambda *_: FakeAws(fake))
    monkeypatch.setenv("ROLLOUT_STATE_MACHINE_ARN", MACHINE)
    return fake


def test_watch_follows_a_release_to_its_verdict(sfn, capsys):
    running, done = release_running(), release_rolled_back()
    sfn.add(
        RELEASE_ARN,
        (running, running.describe("RUNNING")),
        (done, done.describe("FAILED", "HealthCheckFailed", RELEASE_CAUSE)),
    )

    assert main(["watch", RELEASE_ARN, "--interval", "0.1", "--timeout", "10"]) == 1

    out = capsys.readouterr().out
    assert out.count("→ Prepare") == 1
    tail = out[out.index("✖ Rolled back:") :]
    api, worker, cron = lines_of(tail, *NAMES)
    assert "✔ healthy · restored" in api and "✔ healthy · restored" in cron
    assert "✖ failed · restored" in worker


def test_status_shows_a_release_as_one_run_with_a_row_per_function(sfn):
    back, single = release_rolled_back(), succeeded()
    sfn.add(RELEASE_ARN, (back, back.describe("FAILED", "HealthCheckFailed", RELEASE_CAUSE)))
    sfn.add(ARN, (single, single.describe("SUCCEEDED")))
    sfn.stages[RELEASE_ARN][-1][0]["startDate"] = T0 + timedelta(minutes=5)

    runs = recent_runs(sfn, MACHINE, None, 10)
    table = io.StringIO()
    Console(file=table, width=140).print(status_table(runs, T0 + timedelta(hours=1)))
    text = table.getvalue()

    [release] = [line for line in text.splitlines() if "release-1" in line]
    assert "release of 3" in release and "✖ Rolled back" in release and "2/2" in release
    api, worker, cron = lines_of(text, "├ orders-api", "├ orders-worker", "└ orders-cron")
    assert "3 → 4" in api and "✔ healthy · restored" in api and "@0%" in api
    assert "✖ failed · restored" in worker and "✔ healthy · restored" in cron
    assert "metrics: version 8 error rate" in text
    assert text.index("release-1") < text.index("├ orders-api") < text.index("run-1")
    [single_line] = [line for line in text.splitlines() if "run-1" in line]
    assert "orders " in single_line and "3 → 4" in single_line


def test_status_function_filter_finds_a_release_by_any_of_its_functions(sfn):
    back = release_rolled_back()
    sfn.add(RELEASE_ARN, (back, back.describe("FAILED", "HealthCheckFailed", RELEASE_CAUSE)))

    for name in ("orders-api", "orders-cron", "arn:aws:lambda:us-east-1:1:function:orders-worker"):
        assert [r.name for r in recent_runs(sfn, MACHINE, name, 10)] == ["release-1"], name
    assert recent_runs(sfn, MACHINE, "orders", 10) == []


def test_the_readme_shows_what_watch_prints_for_a_failed_release():
    """README's excerpt is the Functions table of the release above, at 100 columns."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("<!-- release-watch-excerpt -->", 1)[1].split("```", 2)[1]
    shown = [line.removeprefix("  ").rstrip() for line in block.strip("\n").splitlines()]
    rendered = [
        line.removeprefix("│ ").removesuffix("│").rstrip()
        for line in text_of(render(rolled_back_run())).splitlines()
    ]
    start = rendered.index(shown[0])
    assert rendered[start : start + len(shown)] == shown


def test_plain_lines_of_a_finished_run_label_each_weight_with_its_own_step():
    out = io.StringIO()
    LinePrinter(Console(file=out, width=200)).update(rolled_back_run())
    weights = [line for line in out.getvalue().splitlines() if "  weight " in line]

    assert [line.rsplit("(", 1)[1] for line in weights] == [
        "step 1/2)",
        "step 2/2)",
        "rolled back)",
    ]
