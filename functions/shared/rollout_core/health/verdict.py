"""What the canary judge (health/canary.py) concludes, with the numbers behind it: the typed
documents a check's result keeps (`canary` per function, `verdict` for the check) and the
views read back.

Each of its checks (errors, latency, cold starts, memory) ends in one of four outcomes:
- pass: the new version is no worse than the stable one, within the tolerance;
- marginal: worse, but within the tolerance (or memory near its limit): shown, never acted on;
- fail: worse beyond the tolerance, with the confidence asked for: the check fails;
- inconclusive: not enough evidence either way. A *gating* check's inconclusive (latency)
  holds the step at its end (health/inconclusive.py); the others' are shown only.
"""

from __future__ import annotations

from typing import Literal

from ..models import CheckResult, Document, unless_set

Outcome = Literal["pass", "marginal", "fail", "inconclusive"]
CheckName = Literal["errors", "latency", "coldStarts", "memory"]
SEVERITY: dict[Outcome, int] = {"pass": 0, "marginal": 1, "inconclusive": 2, "fail": 3}


class Spread(Document):
    """One version's sample of what a check compares: its size and quantiles (ms or MB),
    or for errors its invocations and failures."""

    version: str
    n: int = 0
    median: float | None = unless_set()
    p90: float | None = unless_set()
    p99: float | None = unless_set()
    failures: int | None = unless_set()
    ratePercent: float | None = unless_set()
    # the distribution at QUANTILES (health/latency.py), for the report's CDFs: bounded,
    # where the samples themselves never leave the check
    quantiles: list[float] | None = unless_set()


class Verdict(Document):
    """One check of one function's new version against its stable version."""

    check: CheckName
    outcome: Outcome
    why: str  # one line, with the numbers people act on
    new: Spread | None = None
    stable: Spread | None = None
    test: str | None = unless_set()  # "Mann-Whitney U by time slice", "Fisher exact"
    statistic: float | None = unless_set()
    p: float | None = unless_set()  # the p-value the outcome rests on
    # latency, coldStarts: the time slices both versions served in, which the test compares
    # within (health/latency.py); `new` and `stable` are pooled over the window, for display
    strata: int | None = unless_set()
    tolerance: str | None = unless_set()  # "+25% and +10 ms at 98% confidence"
    gating: bool = False  # its inconclusive holds the step (health/inconclusive.py)


class Judgement(Document):
    """The canary judge's view of one function in one check (`canary`)."""

    outcome: Outcome
    checks: list[Verdict]
    look: int | None = unless_set()  # the rollout's check number (statistics.spent)

    @property
    def holding(self) -> list[Verdict]:
        """The inconclusive checks that hold a step at its end."""
        return [v for v in self.checks if v.outcome == "inconclusive" and v.gating]


def combine(checks: list[Verdict]) -> Outcome:
    """A function's outcome: its worst check, an inconclusive counting only where it gates."""
    worst: Outcome = "pass"
    for verdict in checks:
        outcome = verdict.outcome
        if outcome == "inconclusive" and not verdict.gating:
            continue
        if SEVERITY[outcome] > SEVERITY[worst]:
            worst = outcome
    return worst


def judgements(check: CheckResult) -> list[tuple[str | None, Judgement]]:
    """Each function's judgement in a check, (function name or None for one function)."""
    if check.functions:
        return [
            (row.functionName, Judgement.model_validate(row.model_extra["canary"]))
            for row in check.functions
            if row.model_extra and row.model_extra.get("canary")
        ]
    found = (check.model_extra or {}).get("canary")
    return [(None, Judgement.model_validate(found))] if found else []


def of(check: CheckResult) -> Outcome | None:
    """The check's verdict (`verdict`): its worst function's; None when nothing judged."""
    found = (check.model_extra or {}).get("verdict")
    return found if found in SEVERITY else None
