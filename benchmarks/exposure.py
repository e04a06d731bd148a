"""Exposure under AWS's metric delay: failed user requests, and seconds from the first
failure to the alias restored, for three ways of watching a 10 % canary.

`python -m benchmarks.exposure [--quick] [--runs N] [--metric-delay S]` starts its own
local cloud with `metric_delay` (default 60: metric_delay.AWS_METRIC_DELAY_SECONDS) and
steady traffic on each function's alias, then runs, all at once, for a version failing
100 % of requests and one failing 20 % (requests {"order": "bad"}, one in five):
- logs: Check health with the logs signal on (the default);
- metrics: the metric gate alone (`health.logs: false`);
- alarm: a CodeDeploy-style alarm (Errors on ExecutedVersion, Period 60, 1 datapoint,
  threshold 1) as the only check (`health.logs: false`, `errorRatePercent: 100`).
Printed as a markdown table (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

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
CHECK_INTERVAL = 10
WAYS = ("logs", "metrics", "alarm")
FAILURES = {"100 %": "fail", "20 %": "fail-bad"}


@dataclass
class Outcome:
    way: str
    failure: str
    failed: int
    sent: int
    seconds: float | None  # first failure -> alias restored; None: not restored in time
    status: str


def trial(cloud: LocalCloud, way: str, failure: str, deadline: float) -> Outcome:
    lam, cloudwatch = cloud.client("lambda"), cloud.client("cloudwatch")
    sfn = cloud.client("stepfunctions")
    name = f"exp-{way}-{FAILURES[failure]}-{uuid.uuid4().hex[:6]}"
    role = lambda_role(cloud.client("iam"), "exposure-bench")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": HANDLER})},
        Timeout=30,
        Environment={"Variables": {"MODE": "ok"}},
    )
    stable = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=stable)
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"MODE": FAILURES[failure]}}
    )
    target = lam.publish_version(FunctionName=name)["Version"]
    alarms: list[str] = []
    health: dict[str, Any] = {"minInvocations": 3, "errorRatePercent": 5}
    if way != "logs":
        health["logs"] = False
    if way == "alarm":
        health["errorRatePercent"] = 100
        alarms = [f"{name}-errors"]
        cloudwatch.put_metric_alarm(
            AlarmName=alarms[0],
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
    document = {
        "functionName": name,
        "alias": "live",
        "targetVersion": target,
        "strategy": {"steps": [{"percentage": 10, "waitSeconds": 600}]},
        "checkIntervalSeconds": CHECK_INTERVAL,
        "alarms": alarms,
        "health": health,
        "preTraffic": False,
    }
    first_failure: list[float] = []
    counts = {"sent": 0, "failed": 0}
    stop = threading.Event()
    order = [0]

    def send() -> None:
        while not stop.wait(0.1):  # 10 requests per second
            order[0] += 1
            payload = {"order": "bad" if order[0] % 5 == 0 else "ok"}
            reply = lam.invoke(
                FunctionName=name, Qualifier="live", Payload=json.dumps(payload).encode()
            )
            counts["sent"] += 1
            if "FunctionError" in reply:
                counts["failed"] += 1
                if not first_failure:
                    first_failure.append(time.monotonic())

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(document))[
        "executionArn"
    ]
    restored_at = None
    status = "RUNNING"
    try:
        while time.monotonic() < deadline:
            if first_failure:
                alias = lam.get_alias(FunctionName=name, Name="live")
                weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
                if alias["FunctionVersion"] == stable and not weights:
                    restored_at = time.monotonic()
                    break
            time.sleep(0.2)
        status = sfn.describe_execution(executionArn=arn)["status"]
    finally:
        stop.set()
        sender.join(timeout=10)
        if status == "RUNNING":
            sfn.stop_execution(executionArn=arn, cause="benchmark deadline")
    seconds = restored_at - first_failure[0] if restored_at and first_failure else None
    return Outcome(way, failure, counts["failed"], counts["sent"], seconds, status)


def run(metric_delay: float, runs: int, timeout: float) -> list[Outcome]:
    with LocalCloud(metric_delay=metric_delay) as cloud:
        cases = [(w, f) for _ in range(runs) for f in FAILURES for w in WAYS]
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(max_workers=len(cases)) as pool:
            futures = [pool.submit(trial, cloud, w, f, deadline) for w, f in cases]
            return [future.result() for future in futures]


def table(outcomes: list[Outcome], metric_delay: float) -> str:
    lines = [
        f"Metric delay {metric_delay:g} s, check interval {CHECK_INTERVAL} s, 10 % canary, "
        "10 requests/s on the alias.",
        "",
        "| failing | way | runs | failed requests (median) | first failure → restored, s "
        "(median / p95) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for failure in FAILURES:
        for way in WAYS:
            found = [o for o in outcomes if o.way == way and o.failure == failure]
            seconds = sorted(o.seconds for o in found if o.seconds is not None)
            missed = len(found) - len(seconds)
            p95 = (
                seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
                if seconds
                else None
            )
            timing = (
                f"{statistics.median(seconds):.1f} / {p95:.1f}" if seconds else "not restored"
            ) + (f" ({missed} not restored in time)" if missed and seconds else "")
            failed = statistics.median(o.failed for o in found) if found else 0
            lines.append(f"| {failure} | {way} | {len(found)} | {failed:g} | {timing} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metric-delay", type=float, default=AWS_METRIC_DELAY_SECONDS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run of each case")
    parser.add_argument("--timeout", type=float, default=420.0)
    args = parser.parse_args()
    outcomes = run(args.metric_delay, 1 if args.quick else args.runs, args.timeout)
    print(table(outcomes, args.metric_delay))


if __name__ == "__main__":
    main()
