"""The canary judge in the workflow (rollout_core.health.canary), on the local cloud under
traffic: each new version against its stable version on every invocation's sample, pushed
by the telemetry.

- a slower version (150 ms more per request) is rolled back, the Cause naming latency and
  its numbers;
- an equally fast version, under the same noisy traffic, is promoted;
- a version with too little traffic to judge is extended check by check, then held for an
  operator (who aborts it here);
- `rollout analyze` replays the slower version's run with its own configuration and with
  latency off;
- a user metric (`health.metrics`) that fails: with `dryRun`, recorded and never acted
  on; without, the rollback's Cause names it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from rollout_core.health import user_metrics, verdict
from rollout_core.health.inconclusive import MAX_EXTENSIONS
from rollout_core.models import Inconclusive

from rollout.cli import main
from tests.workflow.conftest import (
    Finished,
    SampleFunction,
    Workflow,
    traffic,
)
from tests.workflow.operator import Operator, assert_rolled_back_by_operator

pytestmark = pytest.mark.cloud

Result = tuple[SampleFunction, str, Finished]
STEP = {"steps": [{"percentage": 50, "waitSeconds": 12}]}


def _judged(cloud: Any, workflow: Workflow, prefix: str, mode: str) -> Result:
    """A 50 % step of 12 s, checked every 2 s, under 10 requests/s."""
    function = SampleFunction(cloud, prefix)
    target = function.publish(mode)
    document = function.rollout(
        target, strategy=STEP, checkIntervalSeconds=2, health={"minInvocations": 5}
    )
    with traffic(function):
        return function, target, workflow.run(document)


def _inconclusive(cloud: Any, workflow: Workflow) -> tuple[Result, Operator]:
    """One request a second at a 2 % step: a sample of the new version now and then, too
    few for the rank test (MIN_SAMPLES) even when a busy machine stretches the step and its
    5 extensions to 40 s (0.8 expected); minInvocations 0, so latency, not lowTraffic,
    decides. At 2 req/s and 10 % a stretched step could reach 5 samples and be judged."""
    function = SampleFunction(cloud, "wf-canary-few")
    target = function.publish()
    operator = Operator(cloud, workflow)
    document = function.rollout(
        target,
        strategy={"steps": [{"percentage": 2, "waitSeconds": 4}]},
        checkIntervalSeconds=1,
        health={"minInvocations": 0},
    )
    with traffic(function, per_second=1):
        arn = workflow.start(document)
        operator.when(function, "held", state="paused")
        operator.send(function, arn, "abort")
        return (function, target, workflow.wait(arn)), operator


# Lambda's own Duration of each version (the local cloud emits it per ExecutedVersion): any
# invocation is above 0.001 ms, so this metric fails every check it has a datapoint in
DURATION = {
    "namespace": "AWS/Lambda",
    "metricName": "Duration",
    "dimensions": {
        "FunctionName": "${function}",
        "Resource": "${function}:${alias}",
        "ExecutedVersion": "${version}",
    },
    "stat": "Average",
}


def _with_metric(cloud: Any, workflow: Workflow, prefix: str, dry_run: bool) -> Result:
    """A healthy version, and a user metric that fails: recorded only, or acted on."""
    function = SampleFunction(cloud, prefix)
    target = function.publish("ok")
    metric = {"name": "duration-cap", "metric": DURATION, "threshold": 0.001, "dryRun": dry_run}
    document = function.rollout(
        target,
        strategy=STEP,
        checkIntervalSeconds=2,
        health={"minInvocations": 5, "metrics": [metric]},
    )
    with traffic(function):
        return function, target, workflow.run(document)


def scenarios(cloud: Any, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "slower": partial(_judged, cloud, workflow, "wf-canary-slow", "slow"),
        "as fast": partial(_judged, cloud, workflow, "wf-canary-fast", "ok"),
        "inconclusive": partial(_inconclusive, cloud, workflow),
        "dry run": partial(_with_metric, cloud, workflow, "wf-metric-dry", True),
        "metric": partial(_with_metric, cloud, workflow, "wf-metric-acts", False),
    }


def test_a_slower_version_is_rolled_back_with_a_cause_naming_latency(runs):
    function, target, finished = runs["slower"]
    assert finished.status == "FAILED", (finished.error, finished.cause)
    assert finished.error == "HealthCheckFailed"
    assert finished.cause is not None
    assert f"latency: version {target} is slower than version {function.stable}" in finished.cause
    for words in ("beyond the tolerance (+25% and +10 ms", "median", "p99", "Mann-Whitney U="):
        assert words in finished.cause
    assert function.alias() == (function.stable, {})
    check = finished.failed_check()
    assert verdict.of(check) == "fail"
    ((_, judged),) = verdict.judgements(check)
    latency = next(v for v in judged.checks if v.check == "latency")
    assert latency.new is not None and latency.stable is not None
    assert latency.new.median is not None and latency.stable.median is not None
    assert latency.new.median > latency.stable.median + 100  # the 150 ms it sleeps


def test_an_equally_fast_version_under_the_same_traffic_is_promoted(runs):
    function, target, finished = runs["as fast"]
    assert finished.status == "SUCCEEDED", (finished.error, finished.cause)
    assert function.alias() == (target, {})
    outcomes = [verdict.of(check) for check in finished.health_checks()]
    assert "fail" not in outcomes and "inconclusive" not in outcomes[-1:]
    judged = [j for c in finished.health_checks() for _, j in verdict.judgements(c)]
    assert any(
        v.check == "latency" and v.outcome in ("pass", "marginal") for j in judged for v in j.checks
    )


def test_an_inconclusive_step_is_extended_then_held_for_an_operator(runs, workflow):
    (function, _, finished), _ = runs["inconclusive"]
    checked = finished.progress_of("Check health")
    extensions = sorted({p.extensions for p in checked if p.extensions})
    assert extensions == list(range(1, MAX_EXTENSIONS + 1))
    held = [p.hold for p in checked if isinstance(p.hold, Inconclusive)]
    assert held and held[0].extensions == MAX_EXTENSIONS
    assert "too few samples" in held[0].why[0]
    assert "Wait for operator" in finished.states_entered()
    assert_rolled_back_by_operator(function, finished, workflow, "RolloutAborted", "workflow test")


def test_rollout_analyze_replays_a_run_with_its_own_and_another_configuration(
    runs, workflow_cloud, tmp_path, capsys, load_event
):
    function, _, finished = runs["slower"]
    with pytest.MonkeyPatch.context() as patch:
        for key, value in workflow_cloud.client_env().items():
            patch.setenv(key, value)
        assert main(["analyze", finished.arn]) == 0
        same = capsys.readouterr().out
        off = tmp_path / "latency-off.json"
        off.write_text(json.dumps(load_event("analyze/latency-off.json")))
        assert main(["analyze", finished.arn, "--input", str(off)]) == 0
        without_latency = capsys.readouterr().out
    # its own configuration: the check that rolled it back fails again, on latency
    failing = [line for line in same.splitlines() if "→" in line and "✖ fail →" in line]
    assert failing and all("✖ fail → ✖ fail" in line for line in failing), same
    assert "now  ✖ latency: version" in same
    # latency off: the same samples, and the check that failed would have passed
    replayed = [line for line in without_latency.splitlines() if "✖ fail →" in line]
    assert replayed and all("→ ✔ pass ≠" in line for line in replayed), without_latency
    assert "latency:" not in without_latency.split("check  at", 1)[1]
    assert function.alias() == (function.stable, {})  # changed nothing


def test_a_dry_run_metric_is_recorded_and_never_acts(runs):
    function, target, finished = runs["dry run"]
    assert finished.status == "SUCCEEDED", (finished.error, finished.cause)
    assert function.alias() == (target, {})
    recorded = [m for check in finished.health_checks() for _, m in user_metrics.of(check)]
    failing = [m for m in recorded if m.outcome == "fail"]
    assert failing and all(m.dryRun and m.name == "duration-cap" for m in failing)
    assert failing[0].new is not None and failing[0].new > 0.001
    notes = [n for check in finished.health_checks() for n in check.notes]
    assert any("metric duration-cap: version" in n and "would fail" in n for n in notes)


def test_a_failing_metric_rolls_back_with_a_cause_naming_it(runs):
    function, target, finished = runs["metric"]
    assert finished.status == "FAILED", (finished.error, finished.cause)
    assert finished.error == "HealthCheckFailed" and finished.cause is not None
    assert f"metric duration-cap: version {target} at " in finished.cause
    assert "above the threshold 0.001" in finished.cause
    assert function.alias() == (function.stable, {})
