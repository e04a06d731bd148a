"""Real releases of three functions on the local cloud, read back by `rollout watch`,
`rollout status` and `rollout report`: one that succeeds, one in which the worker's new
version fails under real traffic at step 2 and every alias is restored, and one whose
worker fails its pre-traffic check. All run at once, so the module takes about as long as
the slowest (several seconds)."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from rollout import samples
from rollout.cli import main
from rollout.commands.status import recent_runs
from rollout.local.lambda_aliases import position
from rollout.local.lambda_runtime import backend_of
from rollout.view.fetch import fetch_run
from rollout.view.release import Verdict, function_rows
from rollout.view.run import Outcome, Run
from rollout.view.watch import render
from tests.cli.test_watch_view import text_of
from tests.clients import shared_client

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

ALIAS = "live"
HANDLER = """
def handler(event, context):
    if {faulty} and isinstance(event, dict) and event.get("order") == "bad":
        raise RuntimeError("broken worker")
    return {{"ok": True}}
"""
ROLES = ("api", "worker", "cron")
STEPS = {  # at timeScale 0.01: 1 s at 10 %, then 5 s at 50 % (a check each second)
    "steps": [{"percentage": 10, "waitSeconds": 100}, {"percentage": 50, "waitSeconds": 500}]
}


def names(release: str) -> list[str]:
    return [f"{release}-{role}" for role in ROLES]


def function_with_new_version(lam: Any, role: str, name: str, faulty: bool) -> str:
    """`name` with version 1 behind the alias and version 2 published; returns "2"."""
    code = samples.code_zip({"app.py": HANDLER.format(faulty=False)})
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code},
    )
    stable = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=stable)
    new_code = samples.code_zip({"app.py": HANDLER.format(faulty=faulty)})
    lam.update_function_code(FunctionName=name, ZipFile=new_code)
    return str(lam.publish_version(FunctionName=name)["Version"])


RELEASES = ("good", "bad", "pre")
FAULTY = ("bad-worker", "pre-worker")


def release_input(release: str, versions: dict[str, str]) -> dict[str, Any]:
    """The release's input; pre-worker's pre-traffic check sends the order its new version
    fails on."""
    entries = [
        {"functionName": name, "alias": ALIAS, "targetVersion": versions[name]}
        for name in names(release)
    ]
    for entry in entries:
        if entry["functionName"] == "pre-worker":
            entry["preTraffic"] = {"payload": {"order": "bad"}}
    return {
        "functions": entries,
        "strategy": STEPS,
        "timeScale": 0.01,
        "checkIntervalSeconds": 1,
        # Steps of 1 s and 5 s (time scaled 100x) give a new version a few samples a step,
        # fewer than the latency test needs (10 settled ones per version); by default an
        # inconclusive step is extended 5 times, then held for an operator, as it should be
        # in a real release. These releases are about the views: they go on, with a note.
        "health": {"minInvocations": 1, "inconclusive": "proceed"},
    }


def bad_orders_from_step_2(cloud: Any, function: str) -> Any:
    """Payloads for `function`: good ones until its alias reaches 50 %, then bad ones, so
    the faulty version fails at step 2 and not before. The alias is read as the local cloud
    applied it, inside moto: a GetAlias per request (20 a second) would take all of Lambda's
    control-plane quota (15 a second), and one every half second lagged behind the step."""

    def payload() -> dict[str, str]:
        _, weights = position(backend_of(cloud).get_alias(ALIAS, function))
        return {"order": "bad" if max(weights.values(), default=0.0) >= 0.5 else "good"}

    return payload


@pytest.fixture(scope="module")
def env(cloud: Any) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in cloud.client_env().items():
            patch.setenv(key, value)
        patch.delenv("ROLLOUT_STATE_MACHINE_ARN", raising=False)
        yield


@pytest.fixture(scope="module")
def releases(cloud: Any, env: None) -> dict[str, str]:
    """Execution ARNs: "good" (every function healthy), "bad" (its worker fails at step 2)
    and "pre" (its worker fails its pre-traffic check)."""
    # nine functions created and published at once, on Lambda's control-plane quota (15 a
    # second): retried with standard mode's backoff for longer than the default 3 attempts
    lam = shared_client(cloud, "lambda")
    sfn = shared_client(cloud, "stepfunctions")
    role = samples.lambda_role(shared_client(cloud, "iam"), "release-view")
    versions = {
        name: function_with_new_version(lam, role, name, faulty=name in FAULTY)
        for release in RELEASES
        for name in names(release)
    }
    moved = [*names("good"), *names("bad")]  # "pre" never moves: no traffic needed
    # Each function's traffic is one request at a time, so a new version's first request,
    # a cold start, would silence its function for its whole Init: on a loaded machine
    # longer than these releases take once a full run's earlier modules have warmed the
    # workflow's task functions. Neither version would serve, the checks would rightly find
    # no evidence of the new one, and these releases are not about that.
    samples.warm_versions(lam, {name: versions[name] for name in moved})
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    with ExitStack() as traffic:
        for name in moved:
            payload = bad_orders_from_step_2(cloud, name) if name == "bad-worker" else dict
            traffic.enter_context(samples.Traffic(lam, name, ALIAS, 20, payload))
        arns = {
            release: sfn.start_execution(
                stateMachineArn=machine,
                name=f"release-view-{release}",
                input=json.dumps(release_input(release, versions)),
            )["executionArn"]
            for release in RELEASES
        }
        wait_until_finished(sfn, list(arns.values()))
    return arns


def wait_until_finished(sfn: Any, arns: list[str], timeout: float = 300) -> None:
    # about 40 s on a quiet machine; a deadline, not a timing: a shared one can be 5x slower
    deadline = time.monotonic() + timeout
    while any(sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in arns):
        assert time.monotonic() < deadline, "releases still running"
        time.sleep(0.25)


def run_of(cloud: Any, arn: str) -> Run:
    return fetch_run(shared_client(cloud, "stepfunctions"), arn)


def report_of(arn: str, folder: Path) -> str:
    path = folder / "report.html"
    assert main(["report", arn, "-o", str(path)]) == 0
    return path.read_text(encoding="utf-8")


def test_a_successful_release_is_one_run_with_a_healthy_row_per_function(cloud, releases):
    run = run_of(cloud, releases["good"])
    rows = function_rows(run)

    assert run.outcome is Outcome.SUCCEEDED, run.reason
    assert [row.name for row in rows] == [f"{name}:{ALIAS}" for name in names("good")]
    assert all((r.stable_version, r.target_version, r.weight) == ("1", "2", 1.0) for r in rows)
    assert all(r.verdict is Verdict.HEALTHY and r.check is not None for r in rows), [
        (r.name, r.verdict, r.reasons, r.check and r.check.evidence, r.check and r.check.newVersion)
        for r in rows
    ]
    assert all(
        r.check.newVersion is not None and r.check.newVersion.version == "2"
        for r in rows
        if r.check
    )
    assert all(r.check.logs is not None for r in rows if r.check)  # health.logs is on
    assert run.reason.startswith("every alias of the release runs its new version")


def test_a_release_failing_at_step_2_names_its_function_and_restores_every_alias(cloud, releases):
    run = run_of(cloud, releases["bad"])
    rows = {row.function: row for row in function_rows(run)}

    assert run.outcome is Outcome.ROLLED_BACK, run.reason
    assert run.step_number == 2
    worker = rows["bad-worker"]
    assert worker.verdict is Verdict.FAILED and worker.reasons
    assert worker.check is not None and worker.check.newVersion is not None
    assert worker.check.newVersion.errors > 0
    assert {rows[n].verdict for n in ("bad-api", "bad-cron")} == {Verdict.HEALTHY}
    assert all((row.restored, row.weight) == (True, 0.0) for row in rows.values())
    assert "Rolled back every alias of the release" in run.reason and "bad-worker" in run.reason
    lam = shared_client(cloud, "lambda")
    for name in names("bad"):
        alias = lam.get_alias(FunctionName=name, Name=ALIAS)
        assert (alias["FunctionVersion"], alias.get("RoutingConfig") or {}) in (
            ("1", {}),
            ("1", {"AdditionalVersionWeights": {}}),
        ), name


def test_watch_and_status_show_the_failed_release(cloud, releases, capsys):
    out = text_of(render(run_of(cloud, releases["bad"])))

    for name in names("bad"):
        [line] = [ln for ln in out.splitlines() if re.match(rf"^│\s+{name}:live\s", ln)]
        assert "1 → 2" in line and "0%" in line and "restored" in line
    assert re.search(r"bad-worker:live .*✖ failed · restored", out)

    runs = recent_runs(shared_client(cloud, "stepfunctions"), _machine(cloud), "bad-cron", 5)
    assert [r.name for r in runs] == ["release-view-bad"]
    assert main(["status", "--function", "bad-api"]) == 0
    table = capsys.readouterr().out
    assert "release of 3" in table and "├ bad-worker" in table and "✖ failed" in table


def test_the_report_of_the_failed_release(cloud, releases, tmp_path):
    page = report_of(releases["bad"], tmp_path)

    functions = page[page.index('<section class="functions">') :]
    functions = functions[: functions.index("</section>")]
    assert len(re.findall(r"<tr[ >]", functions)) == 4  # the head and a row per function
    assert functions.count("restored") >= 3
    traffic = page[page.index('<section class="traffic">') :]
    lines = re.findall(r'<g class="function fn-\d"[^>]*><title>([^<]*)</title>', traffic)
    assert lines == [f"{name}:live" for name in names("bad")]
    assert "Rolled back every alias of the release" in html.unescape(page)


def _machine(cloud: Any) -> str:
    return str(cloud.stack_outputs["RolloutStateMachineArn"])


def test_a_failed_pre_traffic_check_names_its_function_and_moves_no_alias(cloud, releases):
    run = run_of(cloud, releases["pre"])
    rows = {row.function: row for row in function_rows(run)}

    assert run.outcome is Outcome.FAILED and run.error == "PreTrafficCheckFailed", run.reason
    worker = rows["pre-worker"]
    assert worker.verdict is Verdict.FAILED
    assert worker.reasons and "pre-worker version 2 failed" in worker.reasons[0]
    assert {rows[n].verdict for n in ("pre-api", "pre-cron")} == {Verdict.NOT_JUDGED}
    assert all(row.weight == 0.0 and row.restored is None for row in rows.values())
    assert "pre-worker" in run.reason
    out = text_of(render(run))
    assert re.search(r"pre-worker:live .*✖ failed", out) and "· not judged" in out
