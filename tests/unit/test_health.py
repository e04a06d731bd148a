"""Health checks against Lambda's own metrics (ExecutedVersion per version) and alarms."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from rollout_core import checking, clock
from rollout_core.errors import HealthCheckFailed, split_details
from rollout_core.health import judge
from rollout_core.health.signal import Check, Findings, Judged
from rollout_core.models import CheckResult, Plan, Progress, VersionCounts
from rollout_core.outcome import failure_parts

NOW = datetime.now(UTC).replace(microsecond=0)  # only for "long before the step started"


def now() -> datetime:
    """Read when used: the module may be imported long before its tests run."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def case(load_event):
    """(plan, progress) of the check_health sample, its step started a minute ago."""

    def make(health=None, progress=None, **plan_changes):
        event = load_event("functions/check_health.json")
        event["plan"]["health"] |= health or {}
        event["plan"] |= plan_changes
        event["progress"] |= {"stepStartedAt": clock.iso(now() - timedelta(minutes=1))}
        event["progress"] |= progress or {}
        return Plan.model_validate(event["plan"]).rollout_ready(), Progress(**event["progress"])

    return make


def check(plan, progress):
    return checking.check(plan, progress, now())


def last_check(plan, progress) -> CheckResult:
    found = check(plan, progress).lastCheck
    assert found is not None
    return found


def test_stable_version_errors_alone_dont_fail_the_new_version(world, case):
    world.put_calls("3", invocations=100, errors=60)
    world.put_calls("4", invocations=20, errors=0)
    last = last_check(*case())
    assert last.newVersion == VersionCounts(
        version="4", invocations=20, errors=0, errorRatePercent=0.0
    )
    assert last.stableVersion is not None and last.stableVersion.errorRatePercent == 60.0


def test_new_version_errors_over_the_threshold_fail(world, case):
    world.put_calls("3", invocations=100, errors=0)
    world.put_calls("4", invocations=20, errors=1)
    with pytest.raises(
        HealthCheckFailed, match=r"5\.00% \(1/20 invocations failed\) above 1% and above stable"
    ):
        check(*case())


def test_errors_before_the_step_started_dont_count(world, case):
    world.put_calls("4", invocations=20, errors=20, at=NOW - timedelta(minutes=10))
    world.put_calls("4", invocations=20, errors=0)
    new = last_check(*case()).newVersion
    assert new is not None and new.errors == 0


def test_the_first_check_reads_from_the_step_start_and_every_later_check_from_there(world, case):
    plan, progress = case()
    first = check(plan, progress)
    assert first.lastCheck is not None and first.lastCheck.since is not None
    assert clock.iso(first.lastCheck.since) == progress.stepStartedAt
    next_step = first.model_copy(update={"stepStartedAt": clock.iso(now())})
    since = last_check(plan, next_step).since
    assert since is not None and clock.iso(since) == progress.stepStartedAt


def test_errors_of_an_earlier_step_readable_only_now_are_judged(world, case):
    """Lambda's metrics arrive a minute or more late: errors near the end of a step are not
    readable by its last check, so the next step's checks must still read them."""
    world.put_calls("4", invocations=20, errors=20, at=now() - timedelta(minutes=3))
    earlier = {"since": clock.iso(now() - timedelta(minutes=5)), "healthy": True}
    with pytest.raises(HealthCheckFailed, match=r"metrics: version 4 error rate 100\.00%"):
        check(*case(progress={"lastCheck": earlier}))


def test_new_version_no_worse_than_stable_passes_when_compared(world, case):
    world.put_calls("3", invocations=100, errors=10)
    world.put_calls("4", invocations=20, errors=1)
    notes = last_check(*case()).notes
    assert any("stable version 3 is as bad" in note for note in notes)


def test_without_comparison_the_threshold_alone_decides(world, case):
    world.put_calls("3", invocations=100, errors=10)
    world.put_calls("4", invocations=20, errors=1)
    with pytest.raises(HealthCheckFailed, match=r"(?m)above 1%$"):  # the human line
        check(*case(health={"compareToStable": False}))


def test_low_traffic_passes_mid_step_and_is_noted(world, case):
    world.put_calls("4", invocations=9, errors=0)
    progress = check(*case(health={"lowTraffic": "fail"}))
    assert progress.stepComplete is False
    assert progress.lastCheck is not None
    assert "fewer than 10; error rate not judged" in progress.lastCheck.notes[0]


def test_failures_that_settle_the_outcome_fail_below_min_invocations(world, case):
    """1 failure in 3 invocations with minInvocations 10: the first 10 will be at least 10 %
    failed whatever the next 7 do, above 1 %: no reason to send more users to it."""
    world.put_calls("4", invocations=3, errors=1)
    with pytest.raises(
        HealthCheckFailed,
        match=r"error rate at least 10\.00% \(1/3 invocations "
        r"failed: at least 1/10 once 10 are in\) above 1%",
    ):
        check(*case(health={"errorRatePercent": 1}))


def test_failures_that_dont_settle_the_outcome_wait_for_min_invocations(world, case):
    world.put_calls("4", invocations=3, errors=1)  # 1/10 = 10 %: not above 20 %
    notes = last_check(*case(health={"errorRatePercent": 20})).notes
    assert "fewer than 10; error rate not judged" in notes[0]


def test_low_traffic_fails_at_the_end_of_the_step_when_policy_is_fail(world, case):
    world.put_calls("4", invocations=3, errors=0)
    at_end = {"waitedSeconds": 20}  # this check completes the 30 s step
    with pytest.raises(HealthCheckFailed, match="low traffic: version 4 had 3 invocations"):
        check(*case(health={"lowTraffic": "fail"}, progress=at_end))


def test_low_traffic_passes_at_the_end_of_the_step_when_policy_is_pass(world, case):
    progress = check(*case(progress={"waitedSeconds": 20}))
    assert progress.stepComplete is True and progress.nextWaitSeconds == 0


def test_alarm_in_alarm_fails(world, case):
    world.set_alarm("ALARM")
    with pytest.raises(HealthCheckFailed, match="alarm orders-errors is in ALARM"):
        check(*case())


@pytest.mark.parametrize(("policy", "fails"), [("ignore", False), ("fail", True)])
def test_insufficient_data_follows_the_policy(world, case, policy, fails):
    world.set_alarm("INSUFFICIENT_DATA")
    plan, progress = case(insufficientData=policy)
    if fails:
        with pytest.raises(HealthCheckFailed, match="INSUFFICIENT_DATA"):
            check(plan, progress)
    else:
        assert "alarm orders-errors is INSUFFICIENT_DATA" in last_check(plan, progress).notes


def test_the_decisive_check_reads_the_alarms_a_mid_step_check_takes_as_pushed(world, case):
    """No event tells of an alarm deleted: the check whose pass promotes reads every alarm
    with DescribeAlarms; the checks before it use the pushed state."""
    world.set_alarm("OK")
    world.cw.delete_alarms(AlarmNames=[world.alarm])
    plan, progress = case(insufficientData="fail")
    assert last_check(plan, progress).alarms == {world.alarm: "OK"}  # mid-step: as pushed
    last_wait = {"waitedSeconds": 20, "nextWaitSeconds": 10}
    with pytest.raises(HealthCheckFailed, match="alarm orders-errors is MISSING"):
        check(plan, progress.model_copy(update=last_wait))


def test_a_decisive_check_that_cant_confirm_its_alarms_extends_the_step(world, case, monkeypatch):
    """DescribeAlarms throttled at the check whose pass would promote: neither promoted on
    the pushed states nor rolled back for the throttling; the step goes on one interval."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    original = BaseClient._make_api_call

    def throttled(client, operation, params):
        if operation == "DescribeAlarms":
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, operation
            )
        return original(client, operation, params)

    world.set_alarm("OK")
    plan, progress = case()
    monkeypatch.setattr(BaseClient, "_make_api_call", throttled)
    after = check(plan, progress.model_copy(update={"waitedSeconds": 20, "nextWaitSeconds": 10}))
    assert after.stepComplete is False and after.extensions == 1
    assert after.lastCheck is not None and after.lastCheck.healthy
    assert any("alarms not confirmed at the end of the step" in n for n in after.lastCheck.notes)


def test_ignored_alarm_is_watched_again_once_it_leaves_alarm(world, case):
    world.set_alarm("ALARM")
    plan, progress = case(ignoredAlarms=[world.alarm])
    progress = check(plan, progress)  # still firing since the start: tolerated
    world.set_alarm("OK")
    progress = check(plan, progress)
    assert progress.rearmedAlarms == [world.alarm]
    world.set_alarm("ALARM")
    with pytest.raises(HealthCheckFailed, match="orders-errors is in ALARM"):
        check(plan, progress)


def test_bake_checks_name_their_state(world, case):
    world.put_calls("4", invocations=50, errors=50)
    bake = {
        "phase": "bake",
        "stepIndex": 1,
        "percentage": 100,
        "weight": 1.0,
        "stepWaitSeconds": 60,
    }
    with pytest.raises(HealthCheckFailed, match=r"^Check bake health, bake at 100%"):
        check(*case(progress=bake))


def test_a_failed_check_carries_its_numbers_as_data(world, case):
    """The Cause Step Functions records holds the failing check as JSON on a second line
    (the report charts it); Roll back's cause keeps only the human line."""
    world.put_calls("3", invocations=100, errors=0)
    world.put_calls("4", invocations=20, errors=5)
    with pytest.raises(HealthCheckFailed) as raised:
        check(*case())
    line, details = split_details(str(raised.value))
    assert line == raised.value.message and "\n" not in line
    assert details is not None and details.lastCheck is not None
    failed = details.lastCheck
    assert failed == raised.value.check and failed.healthy is False
    assert failed.newVersion == VersionCounts(
        version="4", invocations=20, errors=5, errorRatePercent=25.0
    )
    assert failed.stableVersion is not None and failed.stableVersion.invocations == 100
    assert (failed.phase, failed.percentage) == ("step", 10)
    assert failed.reasons == [line.split(": ", 1)[1]]
    cause = json.dumps({"errorMessage": str(raised.value), "errorType": "HealthCheckFailed"})
    assert failure_parts({"Error": "HealthCheckFailed", "Cause": cause}) == (
        "HealthCheckFailed",
        line,
    )


def test_a_new_signal_is_one_entry_in_the_list(world, case, monkeypatch):
    """A signal reads the whole check and answers per function; the judge lists its reasons
    after the others' and keeps its numbers in the check's result."""
    seen: list[Check] = []

    def latency(check: Check) -> Findings:
        seen.append(check)
        found = Judged(reasons=["latency: p99 80% above stable"], numbers={"latency": {"p99": 80}})
        return Findings(functions=[found for _ in check.members])

    every = judge.signals()
    monkeypatch.setattr(judge, "signals", lambda: (*every, latency))
    world.set_alarm("ALARM")
    with pytest.raises(HealthCheckFailed) as raised:
        check(*case())
    assert raised.value.message.endswith(
        "step 1/1 at 10%: alarm orders-errors is in ALARM; latency: p99 80% above stable"
    )
    (asked,) = seen  # once per check, with every function and the window
    assert [member.functionName for member in asked.members] == ["orders"]
    assert asked.since < asked.now
    failed = raised.value.check
    assert failed is not None and failed.model_extra == {"latency": {"p99": 80}}


def test_a_check_is_stamped_to_the_millisecond(world, case):
    """As Step Functions stamps its events: the views order a check among them (watch prints
    it after the state that ran it, not a second before)."""
    world.put_calls("3", invocations=100, errors=0)
    world.put_calls("4", invocations=20, errors=0)
    moment = now().replace(microsecond=654321)
    last = checking.check(*case(), moment).lastCheck
    assert last is not None and last.at == moment.replace(microsecond=654000)
