"""Exposure under AWS's delays: failed user requests, and seconds from the first failure
to the alias restored, for three ways of watching a 10 % canary.

`python -m benchmarks.exposure [--quick] [--runs N]` prints the section; `make bench`
(`python -m benchmarks`) runs it too and writes it into docs/benchmarks.md. It starts a
local cloud of its own with AWS's delays (metric_delay.py: AWS/Lambda datapoints per
minute, readable 60 s after their minute ends; logs 2 s after they happen) and open-loop
steady traffic on each function's alias. A run is eight trials side by side: a version
failing 100 % of requests and one failing 20 % (requests {"order": "bad"}, one in five),
each watched four ways:
- logs: Check health with the logs signal on (the default), checked every 10 s (the
  default interval);
- logs, 5 s checks: the same, checked every 5 s;
- metrics: the metric gate alone (`health.logs: false`), every 10 s;
- alarm: a CodeDeploy-style alarm (Errors on ExecutedVersion, Period 60, 1 datapoint,
  threshold 1) as the only check (`health.logs: false`, `errorRatePercent: 100`), every
  10 s.

Where the exposure goes: the alarm path waits for the minute's datapoint (readable about
two minutes after the minute began) and the alarm's next once-a-minute evaluation, then
for the next check: about two minutes, so about 25 failed requests at 20 % and 120 at
100 % (1 request/s reaches the canary). The logs signal acts at the first check that can
read a failure (2 s after it). It need not wait for `minInvocations` (3): one failure among
the first three already puts them at 33 % or more, above 5 %, so the outcome is settled
(rollout_core/error_rate.py). A version failing from its first request is caught at the
step's first check, one check interval after the shift, plus Check health and Roll back:
about ten failed requests with 10 s checks, five with 5 s checks. At 20 % the first failure
comes about 5 s after the shift and is caught at the first check after it is readable: one
to three failed requests, against the alarm's 25.

What the harness must not add, because AWS doesn't:
- cold starts of the task Lambdas under contention. A fresh cloud has no warm task
  environment and the logs path acts at the first check, where every trial would cold-start
  Check health and Roll back at once on the same two CPUs (on AWS each environment has its
  own); the alarm path acts minutes later, warm. `warm_tasks` starts ENVIRONMENTS
  environments of every task Lambda first.
- every rollout's checks in the same instant: trials start STAGGER seconds apart, once
  every trial's function exists, with one warm environment per version.
- user traffic that slows the workflow: the local cloud is one Python process, so its
  requests compete with the tasks they time (on AWS they don't). Runs go WAVE at a time:
  one run is eight trials, 80 requests/s at most (the logs trials end within seconds),
  and Check health and Roll back take 0.1 to 0.2 s each; two runs of six at once (120
  requests/s) saturated the process, and they took 3 to 5 s.
What it can't remove is the machine's own load; the section reports the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks import report
from benchmarks.stats import percentile
from rollout.local.cloud import LocalCloud
from rollout.local.metric_delay import AWS_METRIC_DELAY_SECONDS
from rollout.samples import code_zip, lambda_role

HANDLER = """\
import os


def handler(event, context):
    mode = os.environ["MODE"]
    if mode == "fail" or (mode == "fail-bad" and event.get("order") == "bad"):
        raise RuntimeError("bad release")
    return {"ok": True}
"""
CHECK_INTERVAL = 10  # the default checkIntervalSeconds
SHORT_INTERVAL = 5
CANARY_PERCENT = 10
PER_SECOND = 10  # requests per second on each function's alias
SENDERS = 8  # requests in flight at most, per alias
FAILURES = {"100 %": "fail", "20 %": "fail-bad"}
STAGGER = 1.0  # seconds between two trials' starts
RUNS = 4
WAVE = 1  # runs at once: see the module docstring
ENVIRONMENTS = 3  # warm environments per task Lambda: staggered trials rarely overlap more
POLL = 1.0  # seconds between reads of an execution (its history is read once it rolls back)
HEALTH = {"minInvocations": 3, "errorRatePercent": 5}
# The same table before issue 22, when every check polled FilterLogEvents and waited for
# the clock: docs/benchmarks.md of 2026-11-30 11:07 UTC (4 runs, load 2.11 at the start).
# Shown beside each new run; each run's own ratios are measured side by side in that run.
BEFORE_PUSH = {
    "measured": "2026-11-30 11:07 UTC, 4 runs, load average 2.11 1.90 1.49 at the start",
    "failedMean": {
        "100 %": {"logs": 10.25, "logs, 5 s checks": 4.5, "alarm": 131.5},
        "20 %": {"logs": 2.25, "logs, 5 s checks": 1.75, "alarm": 26.5},
    },
    "secondsP95": {
        "100 %": {"logs": 10.1, "logs, 5 s checks": 6.3},
        "20 %": {"logs": 11.8, "logs, 5 s checks": 7.0},
    },
    "ratios": {
        "100 %": {"logs": 12.8, "logs, 5 s checks": 29.2},
        "20 %": {"logs": 11.8, "logs, 5 s checks": 15.1},
    },
}


@dataclass(frozen=True)
class Way:
    slug: str  # in the trial function's name
    logs: bool  # the logs signal on
    alarm: bool  # a CodeDeploy-style alarm as the only check
    interval: int  # checkIntervalSeconds


WAYS = {
    "logs": Way("logs", True, False, CHECK_INTERVAL),
    f"logs, {SHORT_INTERVAL} s checks": Way("logs5", True, False, SHORT_INTERVAL),
    "metrics": Way("metrics", False, False, CHECK_INTERVAL),
    "alarm": Way("alarm", False, True, CHECK_INTERVAL),
}
LOGS_WAYS = tuple(name for name, way in WAYS.items() if way.logs)


@dataclass
class Outcome:
    way: str
    failure: str
    failed: int
    sent: int
    seconds: float | None  # first failure -> alias restored; None: not restored in time
    status: str
    caughtBy: str | None = None  # the signals the Cause names: logs, metrics, alarm


class Requests:
    """Steady requests to the alias, open loop: one every 1/PER_SECOND s on a schedule, sent
    by a small pool, so the rate holds whatever each request's latency (users don't wait
    for each other's replies). Counts failures and notes when the first came back."""

    def __init__(self, lam: Any, name: str) -> None:
        self._lam, self._name = lam, name
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix=name)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"requests-{name}")
        self.sent = self.failed = 0
        self.first_failure: float | None = None

    def __enter__(self) -> Requests:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)  # those sent still count

    def _run(self) -> None:
        due, number = time.monotonic(), 0
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            number += 1
            self._pool.submit(self._send, number % 5 == 0)
            due += 1 / PER_SECOND

    def _send(self, bad: bool) -> None:
        reply = self._lam.invoke(
            FunctionName=self._name,
            Qualifier="live",
            Payload=json.dumps({"order": "bad" if bad else "ok"}).encode(),
        )
        with self._lock:
            self.sent += 1
            if "FunctionError" in reply:
                self.failed += 1
                if self.first_failure is None:
                    self.first_failure = time.time()  # as the history stamps


def _function(cloud: LocalCloud, name: str, mode: str) -> tuple[str, str]:
    """`name` v1 (healthy) behind `live` and v2 (failing as `mode`): (stable, target)."""
    lam = cloud.client("lambda")  # trials are prepared at once
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(cloud.client("iam"), "exposure-bench"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": HANDLER})},
        Timeout=30,
        Environment={"Variables": {"MODE": "ok"}},
    )
    stable = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=stable)
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"MODE": mode}})
    return stable, lam.publish_version(FunctionName=name)["Version"]


def _alarm(cloud: LocalCloud, name: str, target: str) -> str:
    """CodeDeploy-style: Errors of the new version (ExecutedVersion), 60 s, 1 datapoint."""
    alarm = f"{name}-errors"
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Dimensions=[
            {"Name": "FunctionName", "Value": name},
            {"Name": "Resource", "Value": f"{name}:live"},
            {"Name": "ExecutedVersion", "Value": target},
        ],
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    return alarm


def _document(cloud: LocalCloud, way: Way, name: str, target: str) -> dict[str, Any]:
    health: dict[str, Any] = dict(HEALTH)
    alarms = []
    if not way.logs:
        health["logs"] = False
    if way.alarm:
        health["errorRatePercent"] = 100  # never above: the metric gate can't fail it
        alarms = [_alarm(cloud, name, target)]
    return {
        "functionName": name,
        "alias": "live",
        "targetVersion": target,
        "strategy": {"steps": [{"percentage": CANARY_PERCENT, "waitSeconds": 600}]},
        "checkIntervalSeconds": way.interval,
        "alarms": alarms,
        "health": health,
        "preTraffic": False,
    }


@dataclass(frozen=True)
class Trial:
    way: str
    failure: str
    name: str
    stable: str
    target: str
    document: dict[str, Any]


def prepare(cloud: LocalCloud, way: str, failure: str) -> Trial:
    """The trial's function (v1 healthy live, v2 failing), its alarm, its input; one warm
    environment of each version (direct invocations: not alias traffic, so no signal
    counts them: the window starts at the first shift)."""
    name = f"exp-{WAYS[way].slug}-{FAILURES[failure]}-{uuid.uuid4().hex[:6]}"
    stable, target = _function(cloud, name, FAILURES[failure])
    lam = cloud.client("lambda")
    for version in (stable, target):
        lam.invoke(FunctionName=name, Qualifier=version, Payload=b'{"order": "ok"}')
    return Trial(way, failure, name, stable, target, _document(cloud, WAYS[way], name, target))


def trial(cloud: LocalCloud, prepared: Trial, deadline: float) -> Outcome:
    """One rollout of a failing version under steady traffic, watched one way."""
    sfn = cloud.client("stepfunctions")
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    name = prepared.name
    with Requests(cloud.client("lambda", max_pool_connections=SENDERS), name) as requests:
        arn = sfn.start_execution(
            stateMachineArn=machine, name=name, input=json.dumps(prepared.document)
        )["executionArn"]
        restored = _restored_at(sfn, arn, requests, deadline)
    described = sfn.describe_execution(executionArn=arn)
    if described["status"] == "RUNNING" and restored is None:
        sfn.stop_execution(executionArn=arn, cause="benchmark deadline")
    first = requests.first_failure
    seconds = restored - first if restored is not None and first is not None else None
    return Outcome(
        prepared.way,
        prepared.failure,
        requests.failed,
        requests.sent,
        None if seconds is None else round(seconds, 2),
        described["status"],
        _caught_by(sfn, arn) if restored is not None else None,
    )


def _restored_at(sfn: Any, arn: str, requests: Requests, deadline: float) -> float | None:
    """When the alias was restored: the end of the execution's Roll back task (the alias is
    updated inside it), on the wall clock as the history stamps it, read once the execution
    has ended. The alias itself is never polled: that would spend the Lambda control-plane
    quota (15 a second, shared) the rollbacks need."""
    while time.monotonic() < deadline:
        started = requests.first_failure is not None
        if started and sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            return _rollback_end(sfn, arn)
        time.sleep(POLL)
    return None


def _rollback_end(sfn: Any, arn: str) -> float | None:
    rolling = False
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    for event in (e for page in pages for e in page["events"]):
        if event["type"] == "TaskStateEntered":
            rolling = event["stateEnteredEventDetails"]["name"] == "Roll back"
        elif rolling and event["type"] == "TaskSucceeded":
            return float(event["timestamp"].timestamp())
    return None


def _caught_by(sfn: Any, arn: str, timeout: float = 30) -> str | None:
    """The signals the Cause names, once the rollback has ended the execution."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            cause = (described.get("cause") or "").split("\n")[0]
            found = [s for s in ("logs:", "metrics:", "alarm ") if s in cause]
            return "+".join(s.strip(" :") for s in found) or None
        time.sleep(POLL)
    return None


def warm_tasks(cloud: LocalCloud, environments: int) -> None:
    """Start `environments` execution environments of every task Lambda, all at once (an
    empty payload is refused by each handler's parser, after the imports a cold start
    pays for)."""
    sfn = cloud.client("stepfunctions")
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=machine)["definition"])
    functions = sorted(
        {
            state["Parameters"]["FunctionName"]
            for state in definition["States"].values()
            if state.get("Resource") == "arn:aws:states:::lambda:invoke"
        }
    )
    lam = cloud.client("lambda", max_pool_connections=64)
    calls = [name for name in functions for _ in range(environments)]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        list(pool.map(lambda name: lam.invoke(FunctionName=name, Payload=b"{}"), calls))


def _wave(cloud: LocalCloud, runs: int, timeout: float) -> list[Outcome]:
    """`runs` runs side by side: every trial prepared first, then started STAGGER apart."""
    cases = [(way, failure) for _ in range(runs) for failure in FAILURES for way in WAYS]
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        trials = list(pool.map(lambda case: prepare(cloud, *case), cases))
        deadline = time.monotonic() + timeout + STAGGER * len(cases)
        futures = []
        for prepared in trials:
            futures.append(pool.submit(trial, cloud, prepared, deadline))
            time.sleep(STAGGER)
        return [future.result() for future in futures]


@contextmanager
def _load() -> Iterator[dict[str, str]]:
    """The machine's load average at the start and at the end of what runs inside."""
    load = {"start": " ".join(f"{v:.2f}" for v in os.getloadavg())}
    yield load
    load["end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())


def run(
    runs: int = RUNS, metric_delay: float = AWS_METRIC_DELAY_SECONDS, timeout: float = 300.0
) -> dict[str, Any]:
    """`runs` runs of the six trials, WAVE runs at a time, on a cloud with AWS's delays."""
    started = time.monotonic()
    outcomes: list[Outcome] = []
    with _load() as load, LocalCloud(metric_delay=metric_delay) as cloud:
        warm_tasks(cloud, ENVIRONMENTS)
        for first in range(0, runs, WAVE):
            outcomes += _wave(cloud, min(WAVE, runs - first), timeout)
        log_delay = cloud.log_delay
    return {
        "metricDelaySeconds": metric_delay,
        "logDelaySeconds": log_delay,
        "checkIntervalSeconds": CHECK_INTERVAL,
        "canaryPercent": CANARY_PERCENT,
        "requestsPerSecond": PER_SECOND,
        "runs": runs,
        "wave": WAVE,
        "loadAverage": load,
        "wallSeconds": round(time.monotonic() - started),
        "outcomes": [asdict(outcome) for outcome in outcomes],
        "beforePush": BEFORE_PUSH,
        "summary": summarise(outcomes),
    }


def summarise(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    """Per failure and way: runs, failed requests (median, mean), seconds (median, p95),
    not restored; per failure and logs way, the alarm-only path's mean failed requests over
    that way's (`ratios`: means, as a user's exposure adds up over releases)."""
    found: dict[str, dict[str, Any]] = {}
    for failure in FAILURES:
        ways = {name: _way(_of(outcomes, name, failure), way) for name, way in WAYS.items()}
        alarm = ways["alarm"]["failedMean"]
        ratios = {
            name: round(alarm / ways[name]["failedMean"], 1)
            if alarm is not None and ways[name]["failedMean"]
            else None
            for name in LOGS_WAYS
        }
        found[failure] = {"ways": ways, "ratios": ratios}
    return found


def _of(outcomes: list[Outcome], way: str, failure: str) -> list[Outcome]:
    return [o for o in outcomes if (o.way, o.failure) == (way, failure)]


def _way(found: list[Outcome], way: Way) -> dict[str, Any]:
    seconds = sorted(o.seconds for o in found if o.seconds is not None)
    failed = sorted(o.failed for o in found)
    return {
        "checkIntervalSeconds": way.interval,
        "runs": len(found),
        "failedMedian": _median(failed),
        "failedMean": round(sum(failed) / len(failed), 2) if failed else None,
        "secondsMedian": _median(seconds),
        "secondsP95": percentile(seconds, 0.95) if seconds else None,
        "notRestored": len(found) - len(seconds),
        "caughtBy": sorted({o.caughtBy or "-" for o in found}),
    }


def _median(values: list[Any]) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    return float(values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exposure", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run (no p95 worth the name)")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--metric-delay", type=float, default=AWS_METRIC_DELAY_SECONDS)
    args = parser.parse_args(argv)
    results = run(1 if args.quick else args.runs, args.metric_delay)
    print(report.exposure_section(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
