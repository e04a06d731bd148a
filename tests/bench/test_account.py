"""benchmarks/account.py and its report: the ceilings from calls per check, and issue 22's
sections written in place of the last figures (the run itself takes minutes:
`python -m benchmarks quotas --quick`)."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import account, report
from tests.bench.test_exposure import _results as exposure_results

PER_CHECK = [
    {"service": "cloudwatch", "operation": "GetMetricData", "bucket": "GetMetricData", "calls": 1},
    {"service": "lambda", "operation": "GetAlias", "bucket": "control plane", "calls": 0.5},
    {"service": "lambda", "operation": "GetPolicy", "bucket": "GetPolicy", "calls": 0},
    {"service": "dynamodb", "operation": "Query", "bucket": None, "calls": 4},
]


def test_each_bucket_holds_rate_times_interval_over_its_calls_per_check() -> None:
    rows = {r["bucket"]: r for r in account.ceilings(PER_CHECK, "us-east-1")}
    assert set(rows) == {"GetMetricData", "control plane", "GetPolicy"}  # DynamoDB: no rate
    assert rows["GetMetricData"]["ceiling"] == 500 * account.CHECK_INTERVAL
    assert rows["control plane"]["ceiling"] == 15 * account.CHECK_INTERVAL * 2
    assert rows["GetPolicy"]["ceiling"] is None  # not called per check: no bound
    assert account.bound(list(rows.values()), "ceiling")["bucket"] == "control plane"


def _account() -> dict[str, Any]:
    measured = {
        kind: {
            "functions": size,
            "status": "SUCCEEDED",
            "checksInWindow": 3,
            "checks": 6,
            "trafficPerSecond": size,
            "perCheck": PER_CHECK,
            "perRollout": [
                {"service": "logs", "operation": "PutSubscriptionFilter", "bucket": "x", "calls": 1}
            ],
            "ceilings": account.ceilings(PER_CHECK, "us-east-1"),
        }
        for kind, size in (("single", 1), ("release", 10))
    }
    return {
        "quotasEnforced": True,
        "region": "us-east-1",
        "checkIntervalSeconds": 10,
        "windowSeconds": 30,
        "loadAverage": {"start": "9.00 8.00 7.00", "end": "3.00 2.00 1.00"},
        "wallSeconds": 400,
        "measured": measured,
        "summary": {
            "single": {
                "ceiling": 300,
                "boundBy": "lambda control plane",
                "goal": 500,
                "strictestCeiling": 300,
                "strictestBoundBy": "lambda control plane",
            },
            "release": {
                "ceiling": 300,
                "boundBy": "lambda control plane",
                "goal": 50,
                "strictestCeiling": 300,
                "strictestBoundBy": "lambda control plane",
            },
        },
        "concurrent": {
            "singles": 6,
            "releases": 2,
            "releaseSize": 10,
            "functions": 26,
            "requestsPerSecond": 30,
            "loadAverage": {"start": "1", "end": "2"},
            "outcomes": [],
            "healthyRolledBack": 0,
            "healthyFailed": 0,
            "throttleCauses": 0,
            "throttleNotes": 1,
            "faultyCaught": True,
            "faultyFailedRequests": 4,
            "detectionSeconds": 2.5,
            "throttled": {"logs FilterLogEvents": 3},
            "trafficErrors": {},
        },
    }


def test_the_targets_say_which_bucket_bounds_each_ceiling() -> None:
    checked = report.account_targets(_account())
    assert checked[0][1:] == ("300 (lambda control plane)", False)  # goal 500
    assert checked[1][1:] == ("300 (lambda control plane)", True)  # goal 50
    assert checked[2][2] is True


def test_the_section_counts_calls_by_api_and_says_the_load() -> None:
    text = report.account_section(_account())
    assert "| lambda GetAlias | control plane | 0.5 | 0.5 |" in text
    assert "| dynamodb Query | no rate quota | 4 | 4 |" in text
    assert "**Ceiling: 300 concurrent single rollouts** (bound by lambda control plane" in text
    assert "load average 9.00 8.00 7.00 at the start, 3.00 2.00 1.00 at the end" in text
    assert "| throttled by the seam during the run | logs FilterLogEvents 3 |" in text


PAGE = """# Benchmarks

## Targets

| target | measured | |
| --- | --- | --- |
| 10-step plan overhead < 2 s | 1.48 s | met |
| failed requests, alarm-only ÷ logs signal, 10 s checks ≥ 10 (100 % failing) | 12.8x | met |

## Exposure under AWS's delays (old)

old table

## Prices

prices
"""


def test_the_sections_replace_their_last_figures_and_keep_the_others() -> None:
    results = {"exposure": exposure_results(), "account": _account()}
    page = report.splice_page(PAGE, results)
    assert "old table" not in page and "12.8x | met" not in page
    assert "| 10-step plan overhead < 2 s | 1.48 s | met |" in page
    assert (
        page.index("## Exposure under") < page.index("## Account scale") < page.index("## Prices")
    )
    assert "| concurrent single rollouts at 10 s checks" in page
    assert report.splice_page(page, results) == page  # a second run replaces, never adds


@pytest.mark.cloud
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_quick_run_counts_one_metric_read_per_check_and_catches_the_faulty_version(
    own_cloud: None,
) -> None:
    """`account.run(quick=True)` end to end: counts and outcomes, never timings."""
    found = account.run(quick=True)
    assert found["quotasEnforced"] is True
    for kind in ("single", "release"):
        measured = found["measured"][kind]
        assert measured["status"] == "SUCCEEDED"
        assert measured["checksInWindow"] >= 1
        calls = {(r["service"], r["operation"]): r["calls"] for r in measured["perCheck"]}
        assert calls[("cloudwatch", "GetMetricData")] == 1  # one for every function checked
        assert ("logs", "FilterLogEvents") not in calls  # pushed, not polled
        assert ("cloudwatch", "DescribeAlarms") not in calls
    concurrent = found["concurrent"]
    assert (concurrent["healthyFailed"], concurrent["healthyRolledBack"]) == (0, 0)
    assert concurrent["throttleCauses"] == 0
    assert concurrent["faultyCaught"] is True


def test_a_healthy_rollout_that_failed_says_why_in_its_outcome_and_the_section() -> None:
    entered = {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Check health"}}
    timed_out = {
        "type": "TaskTimedOut",
        "taskTimedOutEventDetails": {"error": "States.Timeout", "cause": "no answer in 60 s"},
    }
    end = {"status": "FAILED", "error": "HealthCheckFailed", "cause": "latency: slower"}
    waiting = {
        "type": "TaskStateEntered",
        "stateEnteredEventDetails": {"name": "Wait for next check"},
    }
    woken = timed_out | {"taskTimedOutEventDetails": {"error": "States.Timeout"}}
    events = [waiting, woken, entered, timed_out]
    outcome = account._outcome([("f", "1", "2")], end, events, faulty=False)
    assert (outcome["status"], outcome["error"], outcome["cause"]) == (
        "FAILED",
        "HealthCheckFailed",
        "latency: slower",
    )
    assert outcome["taskFailures"] == [
        {"state": "Check health", "error": "States.Timeout", "cause": "no answer in 60 s"}
    ]
    found = _account()
    found["concurrent"]["outcomes"] = [outcome]
    text = report.account_section(found)
    assert "- 1 function(s), FAILED, HealthCheckFailed: latency: slower" in text
    assert "(tasks failed: Check health: States.Timeout no answer in 60 s)" in text
