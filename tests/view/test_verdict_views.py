"""The canary judge's verdicts as the views show them: watch's one line of each signal's
verdict per check, and the report's latency distributions side by side."""

from __future__ import annotations

import random
import re

from rollout_core.health import latency
from rollout_core.health.verdict import Judgement, judgements
from rollout_core.models import CheckResult, LatencyPolicy

from rollout.view import verdicts
from rollout.view.report_cdf import distributions
from rollout.view.watch import describe_check


def judged_check() -> CheckResult:
    rng = random.Random(5)
    new = [rng.lognormvariate(0, 0.35) * 100 for _ in range(60)]
    stable = [rng.lognormvariate(0, 0.35) * 50 for _ in range(540)]
    slower = latency.durations(("4", new), ("3", stable), LatencyPolicy())
    judgement = Judgement(outcome="fail", checks=[slower], look=1)
    return CheckResult.model_validate(
        {"healthy": False, "canary": judgement.model_dump(), "verdict": "fail"}
    )


def test_watch_shows_each_signals_verdict_in_the_check():
    check = judged_check()
    assert verdicts.signals(check) == "latency ✖"
    assert "judge latency ✖" in describe_check(check).plain


def test_the_report_draws_both_versions_distributions_side_by_side():
    ((_, judged),) = judgements(judged_check())
    svg = distributions(judged.checks[0])
    assert svg.startswith("<svg") and "<title>latency: v4 (new) and v3 (stable), ms" in svg
    new = re.search(r'class="cdf-new"[^>]*points="([^"]+)"', svg)
    stable = re.search(r'class="cdf-stable"[^>]*points="([^"]+)"', svg)
    assert new and stable
    # the slower version's curve reaches half its samples further right
    assert x_at_half(new[1]) > x_at_half(stable[1])
    assert "new v4 (n 60)" in svg and "stable v3 (n 540)" in svg


def x_at_half(points: str) -> float:
    """Where a CDF polyline first reaches half (SVG y grows downwards)."""
    pairs = [tuple(map(float, p.split(","))) for p in points.split()]
    ys = [y for _, y in pairs]
    half = min(ys) + (max(ys) - min(ys)) / 2
    return min(x for x, y in pairs if y <= half)


def test_a_version_without_samples_draws_nothing():
    none = latency.durations(("4", []), ("3", [1.0, 2.0]), LatencyPolicy())
    assert none.outcome == "inconclusive" and distributions(none) == ""
