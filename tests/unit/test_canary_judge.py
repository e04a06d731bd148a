"""The canary judge (rollout_core.health.canary) on seeded synthetic samples: log-normal
durations with cold starts and rare slow outliers, as Lambda reports them per invocation."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rollout_core import checking, clock
from rollout_core.errors import HealthCheckFailed
from rollout_core.health import canary, exact_errors, inconclusive, latency, statistics, verdict
from rollout_core.health.inconclusive import MAX_EXTENSIONS
from rollout_core.health.samples import VersionSamples
from rollout_core.health.statistics import mann_whitney_u
from rollout_core.models import Inconclusive, LatencyPolicy, Plan, Progress, Step
from rollout_core.results import TelemetryStart
from rollout_core.telemetry import counts
from rollout_core.telemetry.reports import Sample, Tally


def traffic(
    seed: int,
    n: int,
    median_ms: float,
    *,
    cold_share: float = 0.05,
    init_ms: float = 300.0,
    cold_extra_ms: float = 0.0,
    failures: float = 0.0,
    memory: tuple[float, float] = (70.0, 128.0),
) -> list[Sample]:
    """`n` invocations: log-normal durations around `median_ms`, `cold_share` cold starts
    (init around `init_ms`, their own duration `cold_extra_ms` longer), and 1 % outliers
    five times slower."""
    rng = random.Random(seed)
    found = []
    for _ in range(n):
        duration = rng.lognormvariate(0, 0.35) * median_ms
        if rng.random() < 0.01:
            duration *= 5
        cold = rng.random() < cold_share
        found.append(
            Sample(
                failed=rng.random() < failures,
                duration_ms=round(duration + (cold_extra_ms if cold else 0), 2),
                billed_ms=float(int(duration) + 1),
                max_memory_mb=round(memory[0] * rng.uniform(0.95, 1.05)),
                init_ms=round(rng.lognormvariate(0, 0.2) * init_ms, 2) if cold else None,
                memory_size_mb=memory[1],
            )
        )
    return found


def of(version: str, samples: list[Sample]) -> VersionSamples:
    return VersionSamples(version, len(samples), sum(s.failed for s in samples), samples, False)


@pytest.fixture
def member(load_event):
    def make(**health) -> Plan:
        event = load_event("functions/check_health.json")
        event["plan"]["health"] |= health
        return Plan.model_validate(event["plan"]).rollout_ready()

    return make


def checks(member: Plan, new: list[Sample], stable: list[Sample]) -> dict[str, verdict.Verdict]:
    return {v.check: v for v in canary.verdicts(member, of("4", new), of("3", stable))}


def test_a_version_twice_as_slow_fails_on_latency_with_its_numbers(member):
    found = checks(member(), traffic(1, 60, 100), traffic(2, 540, 50))
    latency = found["latency"]
    assert latency.outcome == "fail"
    assert latency.new is not None and latency.stable is not None
    assert latency.new.median == pytest.approx(100, rel=0.2)
    assert latency.stable.median == pytest.approx(50, rel=0.2)
    assert latency.p is not None and latency.p < 0.02
    assert latency.tolerance == "+25% and +10 ms at 98% confidence"
    for words in ("median", "p90", "p99", "n 5", "Mann-Whitney U=", "p="):
        assert words in latency.why
    judged = canary.judge(member(), of("4", traffic(1, 60, 100)), of("3", traffic(2, 540, 50)))
    assert judged.reasons == [latency.why]
    assert judged.numbers["canary"].outcome == "fail"


def test_an_equally_fast_noisy_version_passes(member):
    found = checks(member(), traffic(3, 60, 50), traffic(4, 540, 50))
    assert found["latency"].outcome == "pass"
    assert found["errors"].outcome == "pass"
    assert found["memory"].outcome == "pass"
    assert verdict.combine(list(found.values())) == "pass"


def test_1_ms_against_2_ms_passes_under_the_floor(member):
    found = checks(member(), traffic(5, 200, 2), traffic(6, 800, 1))
    assert found["latency"].outcome in ("pass", "marginal")  # +100 %, under FLOOR_MS
    assert found["latency"].outcome == "marginal"  # slower, and said so
    assert found["latency"].new.median == pytest.approx(2, rel=0.2)


def test_without_a_tolerance_big_enough_the_same_slowdown_fails(member):
    found = checks(
        member(latency={"maxIncreasePercent": 10, "confidence": 0.98}),
        traffic(7, 200, 80),
        traffic(8, 800, 50),
    )
    assert found["latency"].outcome == "fail"


def test_a_cold_start_heavy_new_version_does_not_fail_on_duration(member):
    # the new version's environments are new: half its invocations are cold, each cold
    # invocation 200 ms longer; the stable version's environments are warm
    new = traffic(9, 120, 50, cold_share=0.5, cold_extra_ms=200)
    stable = traffic(10, 1080, 50, cold_share=0.01, cold_extra_ms=200)
    found = checks(member(), new, stable)
    assert found["latency"].outcome == "pass"
    assert found["coldStarts"].outcome in ("pass", "inconclusive")
    assert found["coldStarts"].gating is False


def test_a_real_init_regression_still_fails_on_cold_starts(member):
    new = traffic(11, 120, 50, cold_share=0.5, init_ms=900)
    stable = traffic(12, 1080, 50, cold_share=0.05, init_ms=300)
    found = checks(member(), new, stable)
    assert found["latency"].outcome == "pass"
    assert found["coldStarts"].outcome == "fail"
    assert "init duration" in found["coldStarts"].why or "coldStarts" in found["coldStarts"].why


def test_few_samples_are_inconclusive_never_a_pass(member):
    found = checks(member(minInvocations=0), traffic(13, 4, 50), traffic(14, 40, 50))
    assert found["latency"].outcome == "inconclusive" and found["latency"].gating
    assert verdict.combine(list(found.values())) == "inconclusive"


def test_below_min_invocations_low_traffic_decides_not_the_latency_test(member):
    found = checks(member(minInvocations=10), traffic(15, 4, 50), traffic(16, 40, 50))
    assert found["latency"].outcome == "inconclusive" and not found["latency"].gating
    assert verdict.combine(list(found.values())) == "pass"


def test_an_error_rate_of_1_percent_against_0_1_fails_the_exact_test(member):
    found = checks(
        member(errorRatePercent=5),
        traffic(17, 2000, 50, failures=0.01),
        traffic(18, 18000, 50, failures=0.001),
    )
    assert found["errors"].outcome == "fail"
    assert found["errors"].test == "Fisher exact" and found["errors"].p < 0.001


def test_memory_near_the_limit_is_flagged_not_failed(member):
    found = checks(member(), traffic(19, 60, 50, memory=(124, 128)), traffic(20, 540, 50))
    assert found["memory"].outcome == "marginal"
    assert "near its limit" in found["memory"].why
    assert verdict.combine(list(found.values())) == "marginal"


def test_latency_false_turns_latency_and_cold_starts_off(member):
    found = checks(member(latency=None), traffic(21, 60, 100), traffic(22, 540, 50))
    assert set(found) == {"errors", "memory"}


# -- through the telemetry table and a whole check ----------------------------------------


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def record(version: str, samples: list[Sample], at: datetime) -> None:
    """Samples as the telemetry records them, an item's worth per bucket back from `at`."""
    bucket = int(at.timestamp()) // counts.BUCKET_SECONDS * counts.BUCKET_SECONDS
    for index, start in enumerate(range(0, len(samples), counts.SAMPLES_PER_ITEM)):
        part = samples[start : start + counts.SAMPLES_PER_ITEM]
        tally = Tally(len(part), sum(s.failed for s in part), part)
        earlier = bucket - index * counts.BUCKET_SECONDS
        counts.record("orders", version, earlier, f"2026/12/07/[{version}]s{start}", tally)


@pytest.fixture
def rollout(load_event):
    def make(health=None, progress=None) -> tuple[Plan, Progress]:
        event = load_event("functions/check_health.json")
        event["plan"]["health"] |= health or {}
        event["progress"] |= {"stepStartedAt": clock.iso(now() - timedelta(minutes=3))}
        event["progress"] |= progress or {}
        return Plan.model_validate(event["plan"]).rollout_ready(), Progress(**event["progress"])

    return make


PUSHED = TelemetryStart(pushed=["/aws/lambda/orders"])


def test_a_slower_version_fails_the_check_with_a_cause_naming_latency(world, rollout):
    record("4", traffic(23, 60, 120), now() - timedelta(seconds=5))
    record("3", traffic(24, 540, 50), now() - timedelta(seconds=5))
    plan, progress = rollout()
    with pytest.raises(
        HealthCheckFailed, match=r"latency: version 4 is slower than version 3"
    ) as failed:
        checking.check(plan, progress, now(), telemetry=PUSHED)
    check = failed.value.details.lastCheck
    assert check is not None and verdict.of(check) == "fail"
    ((_, judged),) = verdict.judgements(check)
    assert {v.check: v.outcome for v in judged.checks}["latency"] == "fail"


def test_the_samples_read_are_bounded_and_only_summaries_are_kept(world, rollout, monkeypatch):
    monkeypatch.setattr("rollout_core.health.samples.MAX_SAMPLES", 150)
    record("4", traffic(25, 300, 50), now() - timedelta(seconds=5))
    record("3", traffic(26, 900, 50), now() - timedelta(seconds=5))
    plan, progress = rollout()
    check = checking.check(plan, progress, now(), telemetry=PUSHED).lastCheck
    assert check is not None and verdict.of(check) == "pass"
    ((_, judged),) = verdict.judgements(check)
    memory = {v.check: v for v in judged.checks}["memory"]  # every sample has its memory
    assert (memory.new.n, memory.stable.n) == (150, 150)  # MAX_SAMPLES, not the 300 / 900
    assert any("read the newest 150 samples of version 3" in note for note in check.notes)
    dumped = check.model_dump_json()
    assert "duration_ms" not in dumped and len(dumped) < 8000


def test_few_samples_extend_the_step_then_pause_for_an_operator(world, rollout, monkeypatch):
    published = []
    monkeypatch.setattr(
        "rollout_core.notify.publish", lambda outcome, detail: published.append(outcome) or {}
    )
    record("4", traffic(27, 4, 50), now() - timedelta(seconds=5))
    record("3", traffic(28, 200, 50), now() - timedelta(seconds=5))
    plan, progress = rollout(health={"minInvocations": 0})
    cursor = progress.model_copy(update={"waitedSeconds": 20, "stepWaitSeconds": 30})  # last check
    for extension in range(1, MAX_EXTENSIONS + 1):
        cursor = checking.check(plan, cursor, now(), telemetry=PUSHED)
        assert cursor.hold is None and not cursor.stepComplete
        assert cursor.extensions == extension
        assert cursor.lastCheck is not None and verdict.of(cursor.lastCheck) == "inconclusive"
        assert f"extension {extension} of {MAX_EXTENSIONS}" in cursor.lastCheck.notes[-1]
    assert cursor.stepWaitSeconds == 30 + MAX_EXTENSIONS * plan.checkIntervalSeconds
    held = checking.check(plan, cursor, now(), telemetry=PUSHED)
    assert isinstance(held.hold, Inconclusive) and held.hold.extensions == MAX_EXTENSIONS
    assert held.stepComplete and "too few samples" in held.hold.why[0]
    detail = inconclusive.summary(plan, held.hold, "step 1/1 at 10%")
    assert detail["outcome"] == "held_inconclusive" and "resume" in str(detail["resumeCommand"])


@pytest.mark.parametrize(("policy", "held"), [("pause", True), ("proceed", False)])
def test_pause_holds_at_once_and_proceed_goes_on_with_a_note(world, rollout, policy, held):
    record("4", traffic(29, 4, 50), now() - timedelta(seconds=5))
    record("3", traffic(30, 200, 50), now() - timedelta(seconds=5))
    plan, progress = rollout(health={"minInvocations": 0, "inconclusive": policy})
    cursor = progress.model_copy(update={"waitedSeconds": 20, "stepWaitSeconds": 30})
    after = checking.check(plan, cursor, now(), telemetry=PUSHED)
    assert after.stepComplete and after.extensions == 0
    assert isinstance(after.hold, Inconclusive) is held
    if not held:
        assert after.lastCheck is not None
        assert "going on (inconclusive: proceed)" in after.lastCheck.notes[-1]


def test_in_the_bake_a_stable_version_with_few_samples_does_not_hold_the_step(member):
    # the whole traffic is on the new version: the stable version's samples won't grow
    new, stable = of("4", traffic(31, 60, 50)), of("3", traffic(32, 4, 50))
    found = {v.check: v for v in canary.verdicts(member(), new, stable, weight=1.0)}
    assert found["latency"].outcome == "inconclusive" and not found["latency"].gating
    during_a_step = {v.check: v for v in canary.verdicts(member(), new, stable, weight=0.1)}
    assert during_a_step["latency"].gating  # more traffic to come


# -- like with like: young environments, and repeated looks --------------------------------


def environments(
    seed: int, n: int, median_ms: float, *, born: int, young_extra_ms: float, start_ms: int = 0
) -> list[Sample]:
    """`n` invocations spread over `born` environments born in the window (each's first one
    cold), each environment's first YOUNG_INVOCATIONS `young_extra_ms` slower, as a Python
    environment is before it settles; log-normal around `median_ms` otherwise."""
    young = latency.YOUNG_INVOCATIONS
    rng = random.Random(seed)
    served: dict[str, int] = {}
    found = []
    for index in range(n):
        environment = f"{seed:04x}{rng.randrange(born):04x}"
        ordinal = served[environment] = served.get(environment, 0) + 1
        duration = rng.lognormvariate(0, 0.35) * median_ms
        found.append(
            Sample(
                failed=False,
                duration_ms=round(duration + (young_extra_ms if ordinal <= young else 0), 2),
                init_ms=300.0 if ordinal == 1 else None,
                environment=environment,
                at_ms=start_ms + index * 100,
            )
        )
    rng.shuffle(found)  # read back in any order: the judge orders them by at_ms
    return found


def test_each_new_environments_first_invocations_are_left_out_of_latency():
    young = latency.YOUNG_INVOCATIONS
    samples = environments(40, 200, 50, born=4, young_extra_ms=0)
    assert len(latency.settled(samples)) == 200 - 4 * young
    # an environment born before the window (no cold start among its samples) is settled
    older = [replace(s, init_ms=None) for s in samples]
    assert len(latency.settled(older)) == 200
    # ... except the new version's: a pre-traffic check may have started it just before
    assert len(latency.settled(older, new_version=True)) == 200 - 4 * young


def test_a_healthy_version_in_young_environments_passes_against_warm_ones(member):
    # the new version's 25 environments are all young, each first 3 invocations 60 ms
    # slower (most of its invocations); the stable version's were born before the window
    # and served over the same 15 s (latency compares the versions within time slices)
    new = environments(41, 150, 50, born=25, young_extra_ms=60)
    stable = [
        replace(s, init_ms=None, at_ms=index * 15_000 // 1080)
        for index, s in enumerate(traffic(42, 1080, 50, cold_share=0))
    ]
    found = checks(member(), new, stable)
    assert found["latency"].outcome == "pass", found["latency"].why
    # counting the young ones as warm reads the same version as a regression
    counted = [replace(s, environment="") for s in new]
    assert checks(member(), counted, stable)["latency"].outcome != "pass"


def test_the_latency_tests_confidence_is_spent_over_the_rollouts_checks():
    policy = LatencyPolicy(confidence=0.98)
    spent = [latency.alpha_per_check(policy, k) for k in range(1, 100_001)]
    assert spent[0] == pytest.approx(0.02 / 5)  # a fifth at the 1st check
    assert sum(spent[:2]) == pytest.approx(0.02 / 3)  # K / (K + 4) by the K-th
    assert sum(spent[:4]) == pytest.approx(0.02 / 2)
    assert all(later < earlier for earlier, later in itertools.pairwise(spent))
    assert sum(spent) < 0.02  # however many checks, the rollout's error is at most 2 %


def test_the_errors_tests_confidence_is_spent_over_the_rollouts_checks(member):
    # 5 failures in 500 against 1 in 4,500: Fisher p = 0.000054, below the 1st check's share
    # of the rollout's 1 % (0.2 %), above the 40th's (0.0021 %): the same counts fail early
    # and not late, where many checks have looked already
    plan = member(errorRatePercent=5)
    new, stable = ("4", 5, 500), ("3", 1, 4500)
    early = exact_errors.judge(new, stable, plan.health, look=1)
    late = exact_errors.judge(new, stable, plan.health, look=40)
    assert early.outcome == "fail" and "(check 1)" in early.why
    assert late.outcome == "marginal" and late.p == early.p
    shares = [statistics.spent(1 - exact_errors.ERRORS_CONFIDENCE, k) for k in range(1, 10_001)]
    assert sum(shares) < 0.01


def test_repeated_looks_fail_a_healthy_rollout_on_errors_at_most_one_percent(member):
    # 200 rollouts of 60 checks, both versions failing 0.5 %, 10 and 90 invocations a check
    plan = member(errorRatePercent=100)
    rng = random.Random(44)
    failed = 0
    for _ in range(200):
        counts_ = [0, 0, 0, 0]  # new failed, new total, stable failed, stable total
        for look in range(1, 61):
            counts_[0] += sum(rng.random() < 0.005 for _ in range(10))
            counts_[1] += 10
            counts_[2] += sum(rng.random() < 0.005 for _ in range(90))
            counts_[3] += 90
            new, stable = ("4", counts_[0], counts_[1]), ("3", counts_[2], counts_[3])
            if exact_errors.judge(new, stable, plan.health, look).outcome == "fail":
                failed += 1
                break
    assert failed / 200 <= 0.01


def healthy_rollouts(looks: int, rollouts: int, seed: int) -> list[list[tuple[list, list]]]:
    """Rollouts of a version as fast as its stable one: each check's samples so far (10 new
    and 40 stable durations a check), growing check by check."""
    rng = random.Random(seed)
    found = []
    for _ in range(rollouts):
        new: list[float] = []
        stable: list[float] = []
        checks = []
        for _ in range(looks):
            new = new + [rng.lognormvariate(0, 0.35) * 50 for _ in range(10)]
            stable = stable + [rng.lognormvariate(0, 0.35) * 50 for _ in range(40)]
            checks.append((new, stable))
        found.append(checks)
    return found


def test_repeated_looks_fail_a_healthy_rollout_at_most_one_minus_confidence():
    policy = LatencyPolicy(confidence=0.98)
    rollouts = healthy_rollouts(looks=20, rollouts=200, seed=43)
    failed = spent = unspent = 0
    for rollout in rollouts:
        outcomes, slower_spent, slower_unspent = [], False, False
        for look, (new, stable) in enumerate(rollout, start=1):
            outcomes.append(latency.durations(("4", new), ("3", stable), policy, True, look))
            p = mann_whitney_u(new, stable).greater
            slower_spent |= p < latency.alpha_per_check(policy, look)
            slower_unspent |= p < 0.02
        failed += any(v.outcome == "fail" for v in outcomes)
        spent += slower_spent
        unspent += slower_unspent
    assert failed / len(rollouts) <= 0.02
    # what bounds it: the rank test's p below each check's share; at the whole 2 % every
    # check, the same rollouts look slower by chance far more often
    assert spent / len(rollouts) <= 0.02
    assert unspent / len(rollouts) > 3 * max(spent / len(rollouts), 0.02), (spent, unspent)


# -- like with like in time: the weight moves, latency drifts ------------------------------


def drifting(seed: int, slower: float = 1.0) -> tuple[VersionSamples, VersionSamples]:
    """A rollout of two steps, 10 % for 100 s then 50 % for 100 s, at 10 requests/s, on a
    machine whose load rises: each 10 s both versions' durations (and inits) are 10 % of
    the first ones slower than the 10 s before (x2.9 by the end). The new version is
    `slower` than the stable one; its samples come mostly from the later, slower step."""
    rng = random.Random(seed)
    served: dict[str, list[Sample]] = {"4": [], "3": []}
    for request in range(2000):
        at_ms = 1_796_630_400_000 + request * 100
        drift = 1 + 0.1 * (request // 100)
        new = rng.random() < (0.1 if request < 1000 else 0.5)
        duration = rng.lognormvariate(0, 0.35) * 50 * drift * (slower if new else 1)
        cold = rng.random() < 0.05
        served["4" if new else "3"].append(
            Sample(
                failed=False,
                duration_ms=round(duration, 2),
                init_ms=round(rng.lognormvariate(0, 0.2) * 300 * drift, 2) if cold else None,
                at_ms=at_ms,
            )
        )
    return of("4", served["4"]), of("3", served["3"])


@pytest.mark.parametrize("seed", range(50, 55))
def test_drift_with_the_weight_rising_fails_the_pooled_test_not_the_sliced_one(member, seed):
    plan = member()
    assert latency.slicing(plan) == latency.Slicing(10)  # the check interval
    new, stable = drifting(seed)
    pooled = canary.verdicts(plan, new, stable, 0.5, 20, slices=latency.WHOLE_WINDOW)
    assert {v.check: v.outcome for v in pooled}["latency"] == "fail"  # time read as version
    found = {v.check: v for v in canary.verdicts(plan, new, stable, 0.5, 20)}
    assert found["latency"].outcome == "pass", found["latency"].why
    assert found["latency"].strata == 20
    assert found["coldStarts"].outcome != "fail", found["coldStarts"].why
    # the Spreads are pooled, for display: the drift shows there, not in the verdict
    assert found["latency"].new.median > 1.25 * found["latency"].stable.median


def test_slices_are_as_long_as_the_alias_holds_one_weight(member):
    plan = member()  # checks every 10 s, a step of 30 s
    assert latency.slicing(plan).seconds == 10
    short = plan.model_copy(update={"steps": [*plan.steps, replace_step(plan.steps[0], 3)]})
    assert latency.slicing(short).seconds == 3  # the weight may move every 3 s
    instant = plan.model_copy(update={"steps": [replace_step(plan.steps[0], 0)]})
    assert latency.slicing(instant).seconds == 10  # a step of 0 s holds no weight
    sample = Sample(failed=False, duration_ms=1.0, at_ms=1_796_630_409_999)
    assert latency.Slicing(10).of(sample) == 179_663_040
    assert latency.Slicing(10).of(replace(sample, at_ms=None)) is None  # untimed: one slice
    assert latency.WHOLE_WINDOW.of(sample) is None


def replace_step(step: Step, wait: int) -> Step:
    return step.model_copy(update={"waitSeconds": wait})


@pytest.mark.parametrize("seed", range(60, 65))
def test_a_real_regression_under_the_same_drift_still_fails(member, seed):
    new, stable = drifting(seed, slower=2.0)
    found = {v.check: v for v in canary.verdicts(member(), new, stable, 0.5, 20)}
    assert found["latency"].outcome == "fail", found["latency"].why
    assert "same-slice pairs" in found["latency"].why
    assert "in 20 time slices" in found["latency"].why


def test_a_slice_only_one_version_served_drops_out(member):
    # the bake: the whole traffic on the new version, twice as slow as the steps before it
    # (a loaded machine): its slices have no stable sample and change nothing
    new, stable = drifting(66)
    before = {v.check: v for v in canary.verdicts(member(), new, stable, 0.5, 20)}["latency"]
    last = max(s.at_ms or 0 for s in new.samples)
    bake = [
        replace(s, at_ms=last + 20_000 + s.at_ms - new.samples[0].at_ms, duration_ms=500.0)
        for s in new.samples
        if s.init_ms is None
    ]
    baked = of("4", new.samples + bake)
    after = {v.check: v for v in canary.verdicts(member(), baked, stable, 1.0, 21)}["latency"]
    assert before.outcome in ("pass", "marginal")
    assert (after.outcome, after.statistic, after.p) == (before.outcome, before.statistic, before.p)
    assert after.strata == before.strata == 20
    assert after.new.n > before.new.n  # the pooled Spread counts the bake's samples
    assert not after.gating  # no slice to come holds both versions
