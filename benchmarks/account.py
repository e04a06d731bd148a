"""Health evidence at account scale (issue 22): what a rollout costs against AWS's API rate
quotas, and how many of them an account holds.

`python -m benchmarks quotas` runs this section and the exposure section alone and writes
them into docs/benchmarks.md and the README's figures; `make bench` runs it with the rest.
One local cloud with AWS's delays and AWS's quotas on (rollout/local/quotas.py):

(a) Calls per check. One rollout of one function, then a release of ten, each under steady
    traffic at 10 s checks. The quotas seam counts every request per (service, operation),
    from whoever sent it: Check health, the wait task that stores the task token, the
    telemetry function that receives the log subscription's deliveries, Step Functions
    invoking them. The harness sends nothing while the counters are read over a window of
    checks in the middle of the step, and counts the checks in the window from the
    execution's history. Calls per check, per quota bucket, against the bucket's rate
    (quota_table, per Region) give the ceiling: the rollouts (or releases) whose checks,
    every CHECK_INTERVAL seconds, stay within every bucket. Calls made once per rollout
    (Prepare, Start telemetry, the shifts, the ending) are counted from start to end and
    shown apart: they bound how many rollouts may start per second, not how many may run.
(b) A concurrent run under the same quotas: SINGLES rollouts and RELEASES releases of ten
    functions at once under traffic, one version among them failing every request. Every
    throttle the seam answered is counted; no healthy rollout may fail or be rolled back;
    the failing one's first failed request (as its user saw it) to its alias restored (the
    end of its Roll back task, in its history; no alias polling, which would spend the
    Lambda control-plane quota the rollbacks need).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from benchmarks import cloudrun
from rollout.local.cloud import LocalCloud
from rollout.local.metric_delay import AWS_METRIC_DELAY_SECONDS
from rollout.local.quota_table import Quota, quota_for
from rollout.samples import code_zip, lambda_role

CHECK_INTERVAL = 10  # the default checkIntervalSeconds: the ceilings are at 10 s
STEP_SECONDS = 70  # the one weighted step a measured rollout waits through
# Calls made once per rollout, spread over a rollout's life: Linear10PercentEvery1Minute's
# ten one-minute steps. A shorter rollout turns over faster, so fewer run at once.
LIFETIME_SECONDS = 600
WINDOW_START = 25  # s after the start: Prepare, Start telemetry and the shift are done
WINDOW_SECONDS = 30  # three checks
PER_SECOND = 1.0  # requests per second on each function's alias
GOALS = {"single": 500, "release": 50}
SINGLES = 6  # concurrent single rollouts in (b)
RELEASES = 2  # concurrent ten-function releases in (b)
RELEASE_SIZE = 10
FAULTY_PER_SECOND = 5.0  # on the failing function, so a failure shows within seconds
HANDLER = """\
import os


def handler(event, context):
    if os.environ["MODE"] == "fail":
        raise RuntimeError("bad release")
    return {"ok": True}
"""
ONCE = {"mode": "standard", "total_max_attempts": 1}  # traffic: a user's one attempt


# -- the counters ------------------------------------------------------------------------


def counts(cloud: LocalCloud) -> Counter[tuple[str, str]]:
    """Every request the seam has seen in the cloud's account and Region, throttled or not."""
    found: Counter[tuple[str, str]] = Counter()
    for row in cloud.quotas.stats()["operations"]:
        if row["region"] == cloud.region:
            found[(row["service"], row["operation"])] += row["allowed"] + row["throttled"]
    return found


def throttled(cloud: LocalCloud) -> Counter[str]:
    found: Counter[str] = Counter()
    for row in cloud.quotas.stats()["operations"]:
        if row["throttled"]:
            found[f"{row['service']} {row['operation']}"] += row["throttled"]
    return found


def by_operation(calls: Counter[tuple[str, str]], per: float) -> list[dict[str, Any]]:
    """Calls per operation divided by `per`, with the bucket each draws from."""
    rows = []
    for (service, operation), n in sorted(calls.items()):
        quota = quota_for(service, operation)
        rows.append(
            {
                "service": service,
                "operation": operation,
                "bucket": quota.bucket if quota else None,
                "calls": round(n / per, 2),
            }
        )
    return rows


def ceilings(per_check: list[dict[str, Any]], region: str) -> list[dict[str, Any]]:
    """Per quota bucket: calls per check, the bucket's rate in `region` and in the strictest
    Region AWS names, and how many rollouts checking every CHECK_INTERVAL s it holds."""
    buckets: dict[tuple[str, str], tuple[Quota, float]] = {}
    for row in per_check:
        quota = quota_for(row["service"], row["operation"])
        if quota is not None:
            key = (quota.service, quota.bucket)
            buckets[key] = (quota, buckets.get(key, (quota, 0.0))[1] + row["calls"])
    rows = []
    for (service, bucket), (quota, calls) in sorted(buckets.items()):
        here = quota.in_region(region).per_second
        strictest = min([quota.rate.per_second, *(r.per_second for r in quota.regions.values())])
        rows.append(
            {
                "service": service,
                "bucket": bucket,
                "callsPerCheck": round(calls, 2),
                "rate": here,
                "strictestRate": strictest,
                "ceiling": _ceiling(here, calls),
                "strictestCeiling": _ceiling(strictest, calls),
            }
        )
    return rows


def turnover(per_rollout: list[dict[str, Any]], region: str) -> list[dict[str, Any]]:
    """Per quota bucket: calls once per rollout, the rollouts a second it lets start and
    end, and how many of LIFETIME_SECONDS each may then run at once."""
    buckets: dict[tuple[str, str], tuple[Quota, float]] = {}
    for row in per_rollout:
        quota = quota_for(row["service"], row["operation"])
        if quota is not None:
            key = (quota.service, quota.bucket)
            buckets[key] = (quota, buckets.get(key, (quota, 0.0))[1] + row["calls"])
    return [
        {
            "service": service,
            "bucket": bucket,
            "callsPerRollout": round(calls, 2),
            "rate": (rate := quota.in_region(region).per_second),
            "rolloutsPerSecond": round(rate / calls, 3),
            "concurrent": math.floor(rate * LIFETIME_SECONDS / calls),
        }
        for (service, bucket), (quota, calls) in sorted(buckets.items())
    ]


def _ceiling(rate: float, calls_per_check: float) -> int | None:
    if calls_per_check <= 0:
        return None
    return math.floor(rate * CHECK_INTERVAL / calls_per_check)


def bound(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The bucket with the lowest ceiling."""
    found = [r for r in rows if r[key] is not None]
    return min(found, key=lambda r: r[key]) if found else None


# -- the functions rolled out ------------------------------------------------------------


class Functions:
    """Functions `<prefix>-<n>`: v1 healthy behind `live`, v2 to roll out (healthy, or
    failing every request). No call in the handler, so traffic adds no API call but its own
    Invoke (not rate-quota'd)."""

    def __init__(self, cloud: LocalCloud, prefix: str) -> None:
        self._lam = cloud.client("lambda", max_pool_connections=16)
        self._role = lambda_role(cloud.client("iam"), f"{prefix}-role")
        self._prefix = prefix
        self._count = 0

    def create(self, count: int, failing: bool = False) -> list[tuple[str, str, str]]:
        names = [f"{self._prefix}-{self._count + i:03d}" for i in range(count)]
        self._count += count
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda name: self._one(name, failing), names))

    def _one(self, name: str, failing: bool) -> tuple[str, str, str]:
        """(name, stable, new); one warm environment of each version."""
        lam = self._lam
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self._role,
            Handler="app.handler",
            Code={"ZipFile": code_zip({"app.py": HANDLER})},
            Timeout=10,
            Environment={"Variables": {"MODE": "ok"}},
        )
        stable = str(lam.publish_version(FunctionName=name)["Version"])
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion=stable)
        mode = "fail" if failing else "ok2"
        lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"MODE": mode}}
        )
        new = str(lam.publish_version(FunctionName=name)["Version"])
        for version in (stable, new):
            lam.invoke(FunctionName=name, Qualifier=version, Payload=b"{}")
        return name, stable, new


class Traffic:
    """Open-loop requests to each alias, one attempt each; counts failures and the wall
    time (time.time(), as the execution history's timestamps) of each alias's first."""

    def __init__(self, cloud: LocalCloud, rates: dict[str, float]) -> None:
        self._lam = cloud.client("lambda", max_pool_connections=64, retries=ONCE)
        self._rates = rates
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="traffic")
        self._lock = threading.Lock()
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()  # a request not answered (e.g. throttled)
        self.first_failure: dict[str, float] = {}

    @contextmanager
    def running(self) -> Iterator[Traffic]:
        threads = [
            threading.Thread(target=self._schedule, args=(name, rate), daemon=True)
            for name, rate in self._rates.items()
        ]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(timeout=10)
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _schedule(self, name: str, rate: float) -> None:
        due = time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            self._pool.submit(self._send, name)
            due += 1 / rate

    def _send(self, name: str) -> None:
        try:
            reply = self._lam.invoke(FunctionName=name, Qualifier="live", Payload=b"{}")
        except Exception as error:  # counted, as a user would see it
            with self._lock:
                self.errors[type(error).__name__] += 1
            return
        with self._lock:
            self.sent[name] += 1
            if "FunctionError" in reply:
                self.failed[name] += 1
                self.first_failure.setdefault(name, time.time())


def document(names: list[tuple[str, str, str]], step_seconds: int) -> dict[str, Any]:
    entries = [
        {"functionName": n, "alias": "live", "targetVersion": new, "preTraffic": False}
        for n, _, new in names
    ]
    options = {
        "strategy": {"steps": [{"percentage": 10, "waitSeconds": step_seconds}]},
        "checkIntervalSeconds": CHECK_INTERVAL,
    }
    if len(entries) == 1:
        return entries[0] | options
    return {"functions": entries} | options


# -- (a) calls per check -----------------------------------------------------------------


def _entered(events: list[dict[str, Any]], state: str) -> list[datetime]:
    return [
        e["timestamp"]
        for e in events
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == state
    ]


def measure(cloud: LocalCloud, functions: Functions, size: int) -> dict[str, Any]:
    """One rollout of `size` functions under traffic: calls per check over a window of
    checks, and calls per rollout (the whole life, the harness's own calls taken out)."""
    names = functions.create(size)
    sfn = cloud.client("stepfunctions")
    arn_machine = cloud.stack_outputs["RolloutStateMachineArn"]
    traffic = Traffic(cloud, {name: PER_SECOND for name, _, _ in names})
    with traffic.running():
        time.sleep(2)  # traffic's own calls are Invoke only; let it settle
        before = counts(cloud)
        started = time.monotonic()
        arn = cloudrun.start(sfn, arn_machine, document(names, STEP_SECONDS))
        time.sleep(max(0.0, started + WINDOW_START - time.monotonic()))
        window = (counts(cloud), time.time())
        time.sleep(WINDOW_SECONDS)
        window_end = (counts(cloud), time.time())
        polls = 0
        deadline = cloudrun.Deadline(STEP_SECONDS + 120, arn)
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            polls += 1
            deadline.check()
            time.sleep(2)
        polls += 1
        after = counts(cloud)
    events = cloudrun.history(sfn, arn)
    status = sfn.describe_execution(executionArn=arn)["status"]
    checks = [
        t for t in _entered(events, "Check health") if window[1] <= t.timestamp() <= window_end[1]
    ]
    in_window = window_end[0] - window[0]
    harness = Counter({("stepfunctions", "StartExecution"): 1})
    harness[("stepfunctions", "DescribeExecution")] = polls
    whole = after - before - harness
    all_checks = len(_entered(events, "Check health"))
    per_check = by_operation(_without_traffic(in_window), max(1, len(checks)))
    once = _once(_without_traffic(whole), per_check, all_checks)
    return {
        "functions": size,
        "status": status,
        "checksInWindow": len(checks),
        "checks": all_checks,
        "trafficPerSecond": PER_SECOND * size,
        "perCheck": per_check,
        "perRollout": once,
        "ceilings": ceilings(per_check, cloud.region),
        "turnover": turnover(once, cloud.region),
    }


def _without_traffic(calls: Counter[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """Invoke (the users' requests, and Step Functions invoking the tasks) has no rate
    quota: it is shown in the report's note, not in the tables."""
    return Counter({k: n for k, n in calls.items() if k != ("lambda", "Invoke") and n > 0})


def _once(
    whole: Counter[tuple[str, str]], per_check: list[dict[str, Any]], checks: int
) -> list[dict[str, Any]]:
    """Whole-life calls beyond what the rollout's checks account for."""
    found = Counter(whole)
    for row in per_check:
        found[(row["service"], row["operation"])] -= round(row["calls"] * checks)
    return [r for r in by_operation(+found, 1) if r["calls"] > 0]


# -- (b) a concurrent run with one failing version ---------------------------------------


def concurrent(
    cloud: LocalCloud, functions: Functions, singles: int, releases_: int, size: int
) -> dict[str, Any]:
    healthy_singles = functions.create(singles - 1)
    faulty = functions.create(1, failing=True)[0]
    releases = [functions.create(size) for _ in range(releases_)]
    rollouts = [[f] for f in healthy_singles] + [[faulty]] + releases
    rates = {name: PER_SECOND for group in rollouts for name, _, _ in group}
    rates[faulty[0]] = FAULTY_PER_SECOND
    sfn = cloud.client("stepfunctions")
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    throttled_before = throttled(cloud)
    load_start = _load()
    with Traffic(cloud, rates).running() as traffic:
        arns = [cloudrun.start(sfn, machine, document(group, STEP_SECONDS)) for group in rollouts]
        ends = [cloudrun.wait_for_end(sfn, arn, STEP_SECONDS + 240) for arn in arns]
    histories = [cloudrun.history(sfn, arn) for arn in arns]
    faulty_index = len(healthy_singles)
    outcomes = [
        _outcome(group, end, events, i == faulty_index)
        for i, (group, end, events) in enumerate(zip(rollouts, ends, histories, strict=True))
    ]
    restored = _rollback_end(histories[faulty_index])
    first = traffic.first_failure.get(faulty[0])
    return {
        "singles": singles,
        "releases": releases_,
        "releaseSize": size,
        "functions": sum(len(g) for g in rollouts),
        "requestsPerSecond": sum(rates.values()),
        "loadAverage": {"start": load_start, "end": _load()},
        "outcomes": outcomes,
        "healthyRolledBack": sum(1 for o in outcomes if not o["faulty"] and o["rolledBack"]),
        "healthyFailed": sum(1 for o in outcomes if not o["faulty"] and o["status"] != "SUCCEEDED"),
        "throttleCauses": sum(1 for o in outcomes if o["throttleInCause"]),
        "throttleNotes": sum(o["throttleNotes"] for o in outcomes),
        "faultyCaught": outcomes[faulty_index]["rolledBack"],
        "faultyFailedRequests": traffic.failed[faulty[0]],
        "detectionSeconds": round(restored - first, 2) if restored and first else None,
        "throttled": dict(throttled(cloud) - throttled_before),
        "trafficErrors": dict(traffic.errors),
    }


def _outcome(
    group: list[tuple[str, str, str]],
    end: dict[str, Any],
    events: list[dict[str, Any]],
    faulty: bool,
) -> dict[str, Any]:
    """How one rollout ended and, when it did not succeed, why: the execution's Error and
    Cause (the rolled-back one names the check's reasons) and every task failure in its
    history (a timeout or an error that never reached a Cause)."""
    cause = str(end.get("cause") or "")
    return {
        "functions": len(group),
        "faulty": faulty,
        "status": end["status"],
        "error": end.get("error"),
        "cause": cause or None,
        "taskFailures": _task_failures(events),
        "rolledBack": bool(_entered(events, "Roll back")),
        "throttleInCause": "throttl" in cause.lower(),
        "throttleNotes": sum(1 for e in events if _throttle_note(e)),
    }


_FAILED_EVENTS = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
}
# Their timeout is the next check's alarm clock (TimeoutSecondsPath), not a failure.
_WAKE_UPS = {"Wait for next check", "Wait during bake"}


def _task_failures(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each task that failed or timed out (the waits' wake-ups aside): its state, its error
    and its cause."""
    found = []
    state = None
    for event in events:
        if event["type"] == "TaskStateEntered":
            state = event["stateEnteredEventDetails"]["name"]
        details = event.get(_FAILED_EVENTS.get(event["type"], ""))
        woke = event["type"] == "TaskTimedOut" and state in _WAKE_UPS
        if details is not None and not woke:
            found.append(
                {"state": state, "error": details.get("error"), "cause": details.get("cause")}
            )
    return found


def _throttle_note(event: dict[str, Any]) -> bool:
    """A Check health result that noted a throttled read (a note, not a verdict)."""
    details = event.get("taskSucceededEventDetails") or {}
    return "throttled" in str(details.get("output", "")).lower()


def _rollback_end(events: list[dict[str, Any]]) -> float | None:
    """When the Roll back task ended: the alias is restored inside it."""
    rolling = False
    for event in events:
        details = event.get("stateEnteredEventDetails") or {}
        if event["type"] == "TaskStateEntered":
            rolling = details.get("name") == "Roll back"
        elif rolling and event["type"] == "TaskSucceeded":
            return float(event["timestamp"].timestamp())
    return None


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


# -- the section -------------------------------------------------------------------------


def run(quick: bool = False) -> dict[str, Any]:
    """(a) and (b) on one cloud with AWS's delays and quotas."""
    started = time.monotonic()
    load_start = _load()
    with LocalCloud(metric_delay=AWS_METRIC_DELAY_SECONDS) as cloud:
        functions = Functions(cloud, f"acct{uuid.uuid4().hex[:5]}")
        sizes = [1, 2] if quick else [1, RELEASE_SIZE]
        measured = {"single" if s == 1 else "release": measure(cloud, functions, s) for s in sizes}
        shape = (2, 1, 2) if quick else (SINGLES, RELEASES, RELEASE_SIZE)
        run_b = concurrent(cloud, functions, *shape)
        enforced, region = cloud.quotas.enforced, cloud.region
    summary = {
        kind: {
            "ceiling": (b := bound(m["ceilings"], "ceiling")) and b["ceiling"],
            "boundBy": b and f"{b['service']} {b['bucket']}",
            "strictestCeiling": (s := bound(m["ceilings"], "strictestCeiling"))
            and s["strictestCeiling"],
            "strictestBoundBy": s and f"{s['service']} {s['bucket']}",
            "goal": GOALS[kind],
            "turnover": (t := bound(m["turnover"], "concurrent")) and t["concurrent"],
            "turnoverBoundBy": t and f"{t['service']} {t['bucket']}",
        }
        for kind, m in measured.items()
    }
    return {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quotasEnforced": enforced,
        "region": region,
        "checkIntervalSeconds": CHECK_INTERVAL,
        "windowSeconds": WINDOW_SECONDS,
        "lifetimeSeconds": LIFETIME_SECONDS,
        "loadAverage": {"start": load_start, "end": _load()},
        "wallSeconds": round(time.monotonic() - started),
        "measured": measured,
        "summary": summary,
        "concurrent": run_b,
    }


if __name__ == "__main__":
    print(json.dumps(run(quick=True), indent=1, default=str))
