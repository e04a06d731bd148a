"""The canary judge's statistics (issue 24), in-process on simulated samples: no workflow,
no cloud. Each trial is one rollout's checks, judged by the judge's own code
(rollout_core.health.canary.verdicts) over the samples the telemetry would have recorded.

Traffic, as the issue sets it: 10 requests/s, a 10 % canary (Canary10Percent5Minutes: one
step of 300 s, a check every 10 s, 30 checks and up to 5 extensions), log-normal durations
(median 50 ms, sigma 0.35), 1 % slow outliers (5x), about 5 % cold starts (a new
environment, init about 300 ms), and each new environment's first invocations slower (the
young-environment aftermath health/latency.py leaves out: its 2nd +40 %, its 3rd +10 %,
harsher than measured on the local cloud, +7 % and +3 %).

- detection: a regression, rolled back (a fail) within N checks, over TRIALS rollouts;
- false positives: healthy rollouts (the same code) failed or paused, over HEALTHY;
- power table: detection by regression size and checks elapsed, beside today's
  threshold-only judge (the error-rate rule, health/error_rate.py, with its defaults:
  1 %, 10 invocations, the stable rate compared; it does not see latency at all);
- drift: a healthy version in a rollout whose weight rises (10 % then 50 %) on a machine
  whose load rises all along, judged within time slices (the judge) and pooled over the
  window (the judge before it compared like with like in time), on the same samples;
- the judge's own time per check at 10,000 samples per version.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollout_core.health import canary, error_rate, latency
from rollout_core.health.inconclusive import MAX_EXTENSIONS
from rollout_core.health.samples import VersionSamples
from rollout_core.health.verdict import Verdict, combine
from rollout_core.models import Plan, RolloutPlan
from rollout_core.telemetry.reports import Sample

ROOT = Path(__file__).resolve().parents[1]
REQUESTS_PER_SECOND = 10
CANARY = 0.1
CHECK_SECONDS = 10
CHECKS = 30  # 300 s at 10 s
MEDIAN_MS = 50.0
SIGMA = 0.35
COLD_SHARE = 0.05
STABLE_ERRORS = 0.001
TRIALS = 200
HEALTHY = 200
POWER_TRIALS = 100
POWER_SIZES = (1.25, 1.5, 2.0, 3.0)
POWER_ERRORS = (0.005, 0.01, 0.02, 0.05)
POWER_AFTER = (1, 2, 4, 8, 30)
YOUNG_PENALTY = {2: 1.4, 3: 1.1}  # an environment's invocation number → slower by
# Drift: the canary at 10 % for the first DRIFT_SHIFT_CHECK checks, then at DRIFT_WEIGHT,
# moved DRIFT_SHIFT_LAG_MS after that check (a check and a shift take time: the move falls
# inside a slice); every duration and init x(1 + DRIFT_LOAD x t / the rollout's length)
DRIFT_SHIFT_CHECK = 15
DRIFT_WEIGHT = 0.5
DRIFT_SHIFT_LAG_MS = 3_000
DRIFT_LOAD = 2.0


def member() -> RolloutPlan:
    """The sample plan's function (events/), with the judge's defaults."""
    event = json.loads((ROOT / "events" / "functions" / "check_health.json").read_text())
    event["plan"]["health"]["latency"] = {"maxIncreasePercent": 25, "confidence": 0.98}
    return Plan.model_validate(event["plan"]).rollout_ready()


@dataclass
class Version:
    """One version's simulated environments and the samples they logged."""

    rng: random.Random
    name: str
    slower: float = 1.0
    errors: float = STABLE_ERRORS
    environments: list[list[int]] = field(default_factory=list)  # [id, invocations]
    samples: list[Sample] = field(default_factory=list)

    def serve(self, at_ms: int, load: float = 1.0) -> None:
        """One request at `at_ms`, on a machine `load` times as slow as unloaded."""
        rng = self.rng
        if not self.environments or rng.random() < COLD_SHARE:
            self.environments.append([len(self.environments), 0])
            environment = self.environments[-1]
        else:
            environment = rng.choice(self.environments)
        environment[1] += 1
        ordinal = environment[1]
        duration = rng.lognormvariate(0, SIGMA) * MEDIAN_MS * self.slower * load
        if rng.random() < 0.01:
            duration *= 5
        duration *= YOUNG_PENALTY.get(ordinal, 1.0)
        self.samples.append(
            Sample(
                failed=rng.random() < self.errors,
                duration_ms=round(duration, 2),
                billed_ms=float(int(duration) + 1),
                max_memory_mb=70.0,
                init_ms=round(rng.lognormvariate(0, 0.2) * 300 * load, 2) if ordinal == 1 else None,
                memory_size_mb=128.0,
                environment=f"{self.name}-{environment[0]}",
                at_ms=at_ms,
            )
        )

    def judged(self) -> VersionSamples:
        failures = sum(s.failed for s in self.samples)
        return VersionSamples(self.name, len(self.samples), failures, self.samples, False)


def warm_stable(rng: random.Random) -> Version:
    """The stable version: environments born before the window, already settled."""
    stable = Version(rng, "3")
    stable.environments = [[i, 100] for i in range(5)]
    return stable


def _serve_interval(
    rng: random.Random, new: Version, stable: Version, check: int, drift: bool = False
) -> None:
    """The requests between check `check` - 1 and `check`, the canary's share of them
    (`weight_at`) to the new one."""
    for second in range(CHECK_SECONDS):
        for request in range(REQUESTS_PER_SECOND):
            at_ms = ((check - 1) * CHECK_SECONDS + second) * 1000 + request * 100
            chosen = new if rng.random() < weight_at(at_ms, drift) else stable
            chosen.serve(at_ms, load_at(at_ms) if drift else 1.0)


def weight_at(at_ms: int, drift: bool) -> float:
    """The canary's share of traffic at `at_ms`: CANARY, and under drift DRIFT_WEIGHT once
    the shift after the DRIFT_SHIFT_CHECK-th check has moved it."""
    shift_ms = DRIFT_SHIFT_CHECK * CHECK_SECONDS * 1000 + DRIFT_SHIFT_LAG_MS
    return DRIFT_WEIGHT if drift and at_ms >= shift_ms else CANARY


def load_at(at_ms: int) -> float:
    """How much slower the drifting machine is at `at_ms` than at the rollout's start."""
    return 1 + DRIFT_LOAD * at_ms / (CHECKS * CHECK_SECONDS * 1000)


@dataclass
class Judge:
    """One judge's course through a rollout: the check it failed at, by which of its
    checks, or whether the step ended held (inconclusive after every extension)."""

    slices: latency.Slicing | None  # None: the plan's (the judge as it runs)
    failed_at: int | None = None
    failing: list[str] = field(default_factory=list)
    paused: bool = False
    done: bool = False

    def check(
        self, plan: RolloutPlan, new: Version, stable: Version, look: int, weight: float
    ) -> None:
        if self.done:
            return
        found = canary.verdicts(plan, new.judged(), stable.judged(), weight, look, self.slices)
        outcome = combine(found)
        if outcome == "fail":
            self.failed_at, self.done = look, True
            self.failing = [v.check for v in found if v.outcome == "fail"]
        elif look >= CHECKS and outcome != "inconclusive":
            self.done = True  # the step ends (after as many extensions as it took)
        elif look == CHECKS + MAX_EXTENSIONS:
            self.paused = self.done = True


def rollout(
    seed: int, slower: float = 1.0, errors: float = STABLE_ERRORS, drift: bool = False
) -> dict[str, Any]:
    """One simulated rollout: the check it failed at (or None), whether it paused, and
    the check at which the threshold-only judge would have failed it; under `drift`, the
    pooled judge's too, on the same samples."""
    rng = random.Random(seed)
    plan = member()
    new, stable = Version(rng, "4", slower, errors), warm_stable(rng)
    judge = Judge(None)
    pooled = Judge(latency.WHOLE_WINDOW, done=not drift)
    threshold_failed: int | None = None  # checks go on: the judge's own fail is measured
    for check in range(1, CHECKS + MAX_EXTENSIONS + 1):
        _serve_interval(rng, new, stable, check, drift)
        weight = weight_at(check * CHECK_SECONDS * 1000, drift)
        for each in (judge, pooled):
            each.check(plan, new, stable, check, weight)
        if threshold_failed is None and _threshold_fails(plan, new, stable):
            threshold_failed = check
        if judge.done and pooled.done:
            break
    ended = _ended(judge.failed_at, judge.paused, threshold_failed, judge.failing)
    if drift:
        ended |= {"pooledFailedAt": pooled.failed_at, "pooledPaused": pooled.paused}
    return ended


def worked_example(seed: int = 4, slower: float = 2.0, checks: int = 2) -> Verdict:
    """docs/workflow.md's worked example: the latency verdict at the `checks`-th check of
    this simulation's rollout `seed`, a version `slower` times as slow."""
    rng = random.Random(seed)
    plan = member()
    new, stable = Version(rng, "4", slower), warm_stable(rng)
    for check in range(1, checks + 1):
        _serve_interval(rng, new, stable, check)
    found = canary.verdicts(plan, new.judged(), stable.judged(), CANARY, checks)
    return next(v for v in found if v.check == "latency")


def _ended(
    failed_at: int | None,
    paused: bool,
    threshold_failed: int | None,
    failing: list[str] | None = None,
) -> dict[str, Any]:
    """A rollout's end: the canary judge's fail (at which check, by which of its checks),
    today's threshold rule's, and the two together as a check runs them (either one's
    reason fails the check)."""
    both = [at for at in (failed_at, threshold_failed) if at is not None]
    return {
        "failedAt": failed_at,
        "failedBy": failing or [],
        "paused": paused,
        "thresholdFailedAt": threshold_failed,
        "eitherFailedAt": min(both) if both else None,
    }


def _threshold_fails(plan: RolloutPlan, new: Version, stable: Version) -> bool:
    """Today's judge without the canary judge: the error-rate rule (health/error_rate.py,
    as the metric gate and the logs signal run it, the stable version's rate compared)."""
    failed = sum(s.failed for s in new.samples)
    stable_failed = sum(s.failed for s in stable.samples)
    stable_rate = 100 * stable_failed / len(stable.samples) if stable.samples else None
    judged = error_rate.judge(
        "metrics", new.name, failed, len(new.samples), plan.health, (stable.name, stable_rate)
    )
    return judged.reason is not None


def share(runs: list[dict[str, Any]], within: int, key: str = "failedAt") -> float:
    return sum(1 for r in runs if r[key] is not None and r[key] <= within) / len(runs)


def judge_time(samples_per_version: int = 10_000, repeat: int = 5) -> dict[str, float]:
    """Seconds the judge takes for one check with this many samples of each version."""
    rng = random.Random(7)
    plan = member()
    new, stable = Version(rng, "4"), warm_stable(rng)
    for index in range(samples_per_version):
        new.serve(index * 10)
        stable.serve(index * 10)
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        canary.verdicts(plan, new.judged(), stable.judged(), CANARY)
        took.append(time.perf_counter() - started)
    return {"samplesPerVersion": samples_per_version, "medianSeconds": statistics.median(took)}


def run(quick: bool = False) -> dict[str, Any]:
    """Every figure, and the load it was measured under (a full run's section says it too)."""
    started, load = time.monotonic(), os.getloadavg()
    trials, healthy, power = (10, 10, 5) if quick else (TRIALS, HEALTHY, POWER_TRIALS)
    twice = [rollout(1000 + i, slower=2.0) for i in range(trials)]
    half = [rollout(2000 + i, slower=1.5) for i in range(trials)]
    errors = [rollout(3000 + i, errors=0.01) for i in range(trials)]
    fine = [rollout(4000 + i) for i in range(healthy)]
    drifting = [rollout(7000 + i, drift=True) for i in range(healthy)]
    table = []
    for size in POWER_SIZES:
        runs = [rollout(5000 + i, slower=size) for i in range(power)]
        table.append(_power_row(f"latency x{size:g}", runs))
    for rate in POWER_ERRORS:
        runs = [rollout(6000 + i, errors=rate) for i in range(power)]
        table.append(_power_row(f"errors {rate * 100:g}% vs 0.1%", runs))
    return {
        "traffic": f"{REQUESTS_PER_SECOND} requests/s, {CANARY * 100:g}% canary, "
        f"{CHECKS} checks of {CHECK_SECONDS} s",
        "trials": trials,
        "detection": {
            "latency x2 within 2 checks": share(twice, 2),
            "latency x1.5 within 4 checks": share(half, 4),
            "errors 1% vs 0.1% within the rollout": share(errors, CHECKS + MAX_EXTENSIONS),
            "errors 1% vs 0.1%, threshold-only judge": share(
                errors, CHECKS + MAX_EXTENSIONS, "thresholdFailedAt"
            ),
            "errors 1% vs 0.1%, both as a check runs them": share(
                errors, CHECKS + MAX_EXTENSIONS, "eitherFailedAt"
            ),
        },
        "healthy": {
            "rollouts": healthy,
            "failed": sum(r["failedAt"] is not None for r in fine),
            "failures": [
                f"{'+'.join(r['failedBy'])} at check {r['failedAt']}"
                for r in fine
                if r["failedAt"] is not None
            ],
            "paused": sum(r["paused"] for r in fine),
            "failedByTheThresholdRule": sum(r["thresholdFailedAt"] is not None for r in fine),
        },
        "drift": _drift(drifting),
        "power": {"after": list(POWER_AFTER), "trials": power, "rows": table},
        "judgeTime": judge_time(repeat=2 if quick else 5),
        "load": {"start": load, "end": os.getloadavg()},
        "seconds": round(time.monotonic() - started),
    }


def _drift(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Healthy rollouts under drift: failed or held by the judge, and by the pooled one."""
    return {
        "rollouts": len(runs),
        "steps": f"{CANARY * 100:g}% for {DRIFT_SHIFT_CHECK} checks, then "
        f"{DRIFT_WEIGHT * 100:g}% (moved {DRIFT_SHIFT_LAG_MS / 1000:g} s after its check) "
        f"for {CHECKS - DRIFT_SHIFT_CHECK}",
        "load": f"x1 at the start to x{1 + DRIFT_LOAD:g} at the end",
        "failed": sum(r["failedAt"] is not None for r in runs),
        "failures": [
            f"{'+'.join(r['failedBy'])} at check {r['failedAt']}"
            for r in runs
            if r["failedAt"] is not None
        ],
        "paused": sum(r["paused"] for r in runs),
        "pooledFailed": sum(r["pooledFailedAt"] is not None for r in runs),
        "pooledPaused": sum(r["pooledPaused"] for r in runs),
    }


def _power_row(label: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "regression": label,
        "judge": [share(runs, n) for n in POWER_AFTER],
        "thresholdOnly": [share(runs, n, "thresholdFailedAt") for n in POWER_AFTER],
    }
