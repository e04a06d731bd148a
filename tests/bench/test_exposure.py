"""benchmarks/exposure.py: what it computes and reports from its outcomes (the run itself
takes minutes under AWS's metric delay: `python -m benchmarks.exposure --quick`)."""

from __future__ import annotations

from typing import Any

from benchmarks import exposure, report
from benchmarks.exposure import Outcome

SHORT = "logs, 5 s checks"


def _outcomes() -> list[Outcome]:
    """Two runs; the second logs trial at 20 % was never restored."""
    return [
        Outcome("logs", "100 %", 10, 100, 11.0, "FAILED", "logs"),
        Outcome("logs", "100 %", 12, 100, 13.0, "FAILED", "logs"),
        Outcome(SHORT, "100 %", 5, 50, 6.0, "FAILED", "logs"),
        Outcome(SHORT, "100 %", 5, 50, 12.0, "FAILED", "logs"),
        Outcome("metrics", "100 %", 90, 900, 95.0, "FAILED", "metrics"),
        Outcome("metrics", "100 %", 100, 900, 105.0, "FAILED", "metrics"),
        Outcome("alarm", "100 %", 120, 1200, 120.0, "FAILED", "alarm"),
        Outcome("alarm", "100 %", 140, 1200, 140.0, "FAILED", "alarm"),
        Outcome("logs", "20 %", 3, 100, 9.0, "FAILED", "logs"),
        Outcome("logs", "20 %", 1, 300, None, "RUNNING"),
        Outcome(SHORT, "20 %", 2, 50, 5.0, "FAILED", "logs"),
        Outcome(SHORT, "20 %", 2, 50, 5.0, "FAILED", "logs"),
        Outcome("metrics", "20 %", 20, 900, 100.0, "FAILED", "metrics"),
        Outcome("metrics", "20 %", 20, 900, 100.0, "FAILED", "metrics"),
        Outcome("alarm", "20 %", 25, 1200, 125.0, "FAILED", "alarm"),
        Outcome("alarm", "20 %", 15, 1200, 115.0, "FAILED", "alarm"),
    ]


def _results() -> dict[str, Any]:
    return {
        "metricDelaySeconds": 60,
        "logDelaySeconds": 2,
        "checkIntervalSeconds": 10,
        "canaryPercent": 10,
        "requestsPerSecond": 10,
        "runs": 2,
        "wave": 2,
        "loadAverage": {"start": "0.50 0.40 0.30", "end": "1.50 1.00 0.50"},
        "wallSeconds": 200,
        "outcomes": [],
        "summary": exposure.summarise(_outcomes()),
    }


def test_each_way_is_summarised_and_the_ratios_are_of_the_means() -> None:
    summary = exposure.summarise(_outcomes())
    logs = summary["100 %"]["ways"]["logs"]
    assert (logs["runs"], logs["failedMedian"], logs["failedMean"]) == (2, 11.0, 11.0)
    assert (logs["secondsMedian"], logs["secondsP95"], logs["notRestored"]) == (12.0, 13.0, 0)
    assert summary["100 %"]["ways"][SHORT]["checkIntervalSeconds"] == 5
    assert summary["100 %"]["ratios"] == {"logs": round(130 / 11, 1), SHORT: 26.0}
    slow = summary["20 %"]["ways"]["logs"]
    assert slow["notRestored"] == 1 and slow["caughtBy"] == ["-", "logs"]
    assert summary["20 %"]["ratios"] == {"logs": 10.0, SHORT: 10.0}  # alarm mean 20


def test_the_targets_are_the_issues_two_for_each_logs_way() -> None:
    checked = report.exposure_targets(_results())
    # issue 22's goals: p95 ≤ 5 s at any check interval, and at least 50x fewer failures
    assert checked[:2] == [
        ("logs signal, 10 s checks: first failure → alias restored p95 ≤ 5 s", "13.0 s", False),
        ("logs signal, 5 s checks: first failure → alias restored p95 ≤ 5 s", "12.0 s", False),
    ]
    assert [m for _, m, _ in checked[2:]] == ["11.8x", "10x", "26x", "10x"]
    assert checked[2][0] == (
        "failed requests, alarm-only ÷ logs signal, 10 s checks ≥ 50 (100 % failing)"
    )
    assert not any(met for _, _, met in checked[2:])


def test_the_section_has_every_way_side_by_side_with_the_ratios_and_the_load() -> None:
    text = report.exposure_section(_results())
    assert "| 100 % | logs | 10 s | 2 | logs | 11 (11) | 12.0 s / 13.0 s | 0 |" in text
    assert f"| 100 % | {SHORT} | 5 s | 2 | logs | 5 (5) | 9.0 s / 12.0 s | 0 |" in text
    assert "| 20 % | logs | 10 s | 2 | -, logs | 2 (2) | 9.0 s / 9.0 s | 1 |" in text
    assert "| 100 % | alarm | 10 s | 2 | alarm | 130 (130) | 130.0 s / 140.0 s | 0 |" in text
    assert f"100 %: **11.8x** (logs), **26x** ({SHORT}); 20 %: **10x** (logs)" in text
    assert "load average 0.50 0.40 0.30 at the start, 1.50 1.00 0.50 at the end" in text


def test_the_logs_ways_are_shown_beside_the_design_before_issue_22() -> None:
    text = report.exposure_section(_results() | {"beforePush": exposure.BEFORE_PUSH})
    assert "| 100 % | logs | 10.25 | 10.1 s | 12.8x | 11 | 13.0 s | 11.8x |" in text
    assert f"| 20 % | {SHORT} | 1.75 | 7.0 s | 15.1x | 2 | 5.0 s | 10x |" in text
