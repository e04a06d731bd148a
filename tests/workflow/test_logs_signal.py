"""The logs signal in Check health (rollout_core/logs_signal.py), on the local cloud.

Each scenario has its own sample function and traffic. The failing-version scenarios
(init, timeout, a fifth) run on a cloud of their own (`rollout local up` in a subprocess,
beside the shared one) whose metrics are never readable within the test
(`--metric-delay 600`, logs 2 s late as on AWS): only the logs signal can roll them back.
The shared cloud publishes metrics at once; there, logs off shows the metric gate still
judging, and so do silent logs, on a cloud of their own whose logs are never readable
within the test (`--log-delay 600`). How much sooner the logs signal reacts under AWS's metric delay
is measured by the benchmark (benchmarks/exposure.py).

One more scenario runs on a cloud with logs readable LATE_LOG_DELAY seconds late, far
longer than its first step. Its failures all happen in the first step and become readable
only during the second, which has no traffic of its own.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tests.local.served import ServedCloud, served_cloud
from tests.workflow.conftest import (
    ALIAS,
    ALIAS_READ_EVERY,
    RESULT_DEADLINE,
    Finished,
    Position,
    SampleFunction,
    Workflow,
    assert_compared_with_stable,
    concurrently,
    deadline_poll,
    traffic,
)

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

GOOD, BAD = {"order": "ok"}, {"order": "bad"}
SILENT_LOG_DELAY = 600  # seconds: longer than any rollout of this module
Result = tuple[SampleFunction, str, Finished, Position]  # the alias as the run left it


def _run(
    function: SampleFunction,
    target: str,
    workflow: Workflow,
    per_second: float,
    payload: Callable[[], Any] = lambda: GOOD,
    **health: Any,
) -> Result:
    document = function.rollout(
        target,
        strategy={"steps": [{"percentage": 50, "waitSeconds": 8}]},
        checkIntervalSeconds=2,
        health={"minInvocations": 3, **health},
    )
    with traffic(function, payload, per_second=per_second):
        return function, target, workflow.run(document), function.alias()


def init_failure(cloud: Any, workflow: Workflow) -> Result:
    function = SampleFunction(cloud, "wf-logs-init")
    return _run(function, function.publish("init-fail"), workflow, per_second=3)


def timing_out(cloud: Any, workflow: Workflow) -> Result:
    function = SampleFunction(cloud, "wf-logs-timeout")
    function.lam.update_function_configuration(FunctionName=function.name, Timeout=1)
    return _run(function, function.publish("hang"), workflow, per_second=3)


def failing_a_fifth(cloud: Any, workflow: Workflow) -> Result:
    """The new version fails the bad requests (one in five); the stable one never fails."""
    function = SampleFunction(cloud, "wf-logs-fifth")
    target = function.publish("fail-bad")
    cycle = itertools.cycle([BAD, GOOD, GOOD, GOOD, GOOD])
    return _run(
        function, target, workflow, per_second=10, payload=lambda: next(cycle), errorRatePercent=5
    )


def silent_logs(cloud: Any, workflow: Workflow) -> Result:
    """The new version's logs are never readable during the rollout (a cloud of its own,
    logs SILENT_LOG_DELAY seconds late, metrics at once); its metrics fail. (A custom log
    group is no longer silent: Prepare reads each version's LoggingConfig.)"""
    with served_cloud("--metric-delay", "0", "--log-delay", str(SILENT_LOG_DELAY)) as env:
        served: Any = ServedCloud(env)
        function = SampleFunction(served, "wf-logs-silent")
        return _run(function, function.publish("fail"), Workflow(served), per_second=5)


def logs_off(cloud: Any, workflow: Workflow) -> Result:
    function = SampleFunction(cloud, "wf-logs-off")
    return _run(function, function.publish("fail"), workflow, per_second=5, logs=False)


LOGS_ONLY = {"init": init_failure, "timeout": timing_out, "fifth": failing_a_fifth}


def logs_only() -> dict[str, Result]:
    """LOGS_ONLY's scenarios at once, on a cloud whose metrics no check can read."""
    with served_cloud("--metric-delay", "600") as env:
        served: Any = ServedCloud(env)
        flow = Workflow(served)
        scenarios = {name: partial(run, served, flow) for name, run in LOGS_ONLY.items()}
        with concurrently(scenarios) as futures:
            return {
                name: future.result(timeout=RESULT_DEADLINE) for name, future in futures.items()
            }


LATE_LOG_DELAY = 15  # seconds: its first failures become readable 9 s after the first step ends
# s: long enough for a few failures at 10 requests a second on a loaded machine (in 2 s the
# target's cold start once let 3 requests through, 1 failing), far shorter than LATE_LOG_DELAY
LATE_FIRST_STEP = 6


def failing_late_in_a_step(cloud: Any, workflow: Workflow) -> Result:
    """Failures near a step's end, readable only after its last check, are still judged."""
    delays = ("--metric-delay", "600", "--log-delay", str(LATE_LOG_DELAY))
    with served_cloud(*delays) as env:
        served = ServedCloud(env)
        function = SampleFunction(served, "wf-logs-late")  # type: ignore[arg-type]
        target = function.publish("fail")
        steps = [
            {"percentage": 50, "waitSeconds": LATE_FIRST_STEP},
            {"percentage": 60, "waitSeconds": 40},
        ]
        document = function.rollout(
            target, strategy={"steps": steps}, checkIntervalSeconds=2, health={"minInvocations": 3}
        )
        flow = Workflow(served)  # type: ignore[arg-type]
        arn = flow.start(document)
        first_step = (function.stable, {target: 0.5})
        deadline_poll(
            "the first shift", lambda: function.alias() == first_step, every=ALIAS_READ_EVERY
        )
        with traffic(function, per_second=10) as sent:  # only while the first step lasts
            deadline_poll(
                "the second step", lambda: function.alias() != first_step, every=ALIAS_READ_EVERY
            )
        assert sent.failed >= 3, (sent.sent, sent.failed)
        return function, target, flow.wait(arn), function.alias()


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "logs only": logs_only,
        "silent": partial(silent_logs, cloud, workflow),
        "off": partial(logs_off, cloud, workflow),
        "late": partial(failing_late_in_a_step, cloud, workflow),
    }


def assert_rolled_back(function: SampleFunction, run: Finished, alias: Any) -> None:
    assert run.status == "FAILED" and run.error == "HealthCheckFailed"
    assert run.cause.startswith(f"Rolled back {function.name}:{ALIAS} to version {function.stable}")
    assert alias == (function.stable, {})


def caught_by_logs_alone(run: Finished, target: str) -> re.Match[str]:
    """The Cause's logs line (a rate, or a rate the failures settle: error_rate.py); the
    metrics were never readable, so they must not be in it."""
    found = re.search(
        rf"logs: version {target} error rate (?:at least )?([\d.]+)% \((\d+)/(\d+) "
        r"invocations failed[^)]*\) above (\S+)%",
        run.cause,
    )
    assert found, run.cause
    assert "metrics: version" not in run.cause.split("\n")[0]
    return found


def test_a_version_failing_only_in_init_is_rolled_back_by_the_logs_signal(runs):
    function, target, run, alias = runs["logs only"]["init"]
    assert_rolled_back(function, run, alias)
    found = caught_by_logs_alone(run, target)
    assert found[2] == found[3] and float(found[1]) > 5  # every invocation read failed
    assert_compared_with_stable(run, function, "logs", run.cause)


def test_a_version_timing_out_is_rolled_back_by_the_logs_signal(runs):
    function, target, run, alias = runs["logs only"]["timeout"]
    assert_rolled_back(function, run, alias)
    found = caught_by_logs_alone(run, target)
    assert found[2] == found[3], run.cause


def test_a_version_failing_a_fifth_is_judged_against_the_stable_version(runs):
    function, target, run, alias = runs["logs only"]["fifth"]
    assert_rolled_back(function, run, alias)
    found = caught_by_logs_alone(run, target)
    assert 5 < float(found[1]) < 100 and found[4] == "5", found[0]
    line = next(part for part in run.cause.split("; ") if f"logs: version {target} " in part)
    assert "% (" in line and ") above 5%" in line, line
    assert_compared_with_stable(run, function, "logs", line)


def test_silent_logs_never_pass_what_the_metrics_fail(runs):
    function, target, run, alias = runs["silent"]
    assert_rolled_back(function, run, alias)
    assert re.search(rf"metrics: version {target} error rate [^(]*\((\d+)/\1 invoc", run.cause)
    assert "logs: version" not in run.cause.split("\n")[0]


def test_logs_off_judges_on_the_metrics_alone(runs):
    function, target, run, alias = runs["off"]
    assert_rolled_back(function, run, alias)
    assert re.search(rf"metrics: version {target} error rate [^(]*\((\d+)/\1 invoc", run.cause)
    assert "logs: " not in run.cause


def test_failures_readable_only_after_their_step_ended_are_still_judged(runs):
    """Before the window reached back to the first shift, this rollout succeeded: its
    failures fell before the second step's window and were never read."""
    function, target, run, alias = runs["late"]
    assert run.status == "FAILED" and run.error == "HealthCheckFailed"
    assert alias == (function.stable, {})
    assert "step 2/2 at 60%" in run.cause
    caught_by_logs_alone(run, target)
