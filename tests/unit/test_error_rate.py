"""The error-rate rule both health signals judge by (rollout_core/health/error_rate.py)."""

from __future__ import annotations

import pytest
from rollout_core.health.error_rate import judge, too_few
from rollout_core.models import HealthPolicy

POLICY = HealthPolicy(errorRatePercent=5, minInvocations=3)


def test_from_min_invocations_on_the_rate_itself_is_judged():
    assert judge("logs", "2", 1, 20, POLICY).reason is None  # 5 %: not above
    found = judge("logs", "2", 2, 20, POLICY)
    assert found.reason == "logs: version 2 error rate 10.00% (2/20 invocations failed) above 5%"


@pytest.mark.parametrize(("failures", "invocations"), [(0, 0), (0, 2)])
def test_below_min_invocations_without_failures_nothing_is_judged(failures, invocations):
    assert not judge("logs", "2", failures, invocations, POLICY).judged


def test_a_failure_that_settles_the_first_min_invocations_fails_at_once():
    found = judge("metrics", "2", 1, 1, POLICY, stable=("1", 0.0))
    assert found.reason == (
        "metrics: version 2 error rate at least 33.33% (1/1 invocations failed: at least 1/3 "
        "once 3 are in) above 5% and above stable version 1 (0.00%)"
    )


def test_failures_that_dont_settle_it_wait_for_min_invocations():
    policy = HealthPolicy(errorRatePercent=40, minInvocations=3)
    assert not judge("logs", "2", 1, 2, policy).judged  # 1/3 = 33 %: the next may pass


def test_a_rate_no_worse_than_stable_is_a_note():
    found = judge("logs", "2", 10, 20, POLICY, stable=("1", 50.0))
    assert found.judged and found.reason is None
    assert found.note is not None and "stable version 1 is as bad (50.00%)" in found.note


def test_a_stable_version_without_invocations_is_not_compared():
    assert judge("logs", "2", 2, 20, POLICY, stable=("1", None)).reason is not None


def test_zero_min_invocations_judges_any_traffic():
    policy = HealthPolicy(errorRatePercent=5, minInvocations=0)
    assert not judge("logs", "2", 0, 0, policy).judged
    assert judge("logs", "2", 1, 1, policy).reason is not None


def test_a_lower_bound_no_worse_than_stable_settles_nothing():
    """Below minInvocations the rate is only a lower bound: under the stable version's rate
    it is still low traffic (so lowTraffic "fail" still applies), not a pass."""
    policy = HealthPolicy(errorRatePercent=5, minInvocations=10, lowTraffic="fail")
    assert not judge("metrics", "2", 1, 3, policy, stable=("1", 50.0)).judged


def test_failures_read_before_their_invocations_with_zero_min_invocations():
    """An Errors datapoint can be readable before its Invocations one."""
    policy = HealthPolicy(errorRatePercent=5, minInvocations=0)
    assert not judge("metrics", "2", 1, 0, policy).judged


def test_metric_sums_are_rounded_not_truncated():
    found = judge("metrics", "2", 2.9999, 3.0, POLICY)
    assert found.reason is not None and "(3/3 invocations failed)" in found.reason


def test_too_few_names_the_minimum_only_when_there_is_one():
    assert too_few(3, 10) == "3 invocations, fewer than 10"
    assert too_few(0, 0) == "0 invocations"
