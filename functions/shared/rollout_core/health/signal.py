"""The interface every health signal implements: `read(check) -> Findings`.

A signal reads the whole check at once (every function of a release, the same window) so
it can batch its reads across functions; it says what it found about each function and
about the rollout as a whole, each with the numbers the check's result keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models import Progress, RolloutPlan


@dataclass(frozen=True)
class Check:
    """One health check: the rollout (or release) where it stands, over the window."""

    plan: RolloutPlan
    cursor: Progress  # after the wait that preceded the check
    members: list[RolloutPlan]  # one single-function plan per function ([plan] for one)
    since: datetime  # from the first traffic shift (progress.window_start)
    now: datetime

    @property
    def judging_traffic(self) -> bool:
        """The new versions have a share of traffic to judge (AllAtOnce's check before
        Promote has none)."""
        return self.cursor.weight > 0


@dataclass
class Judged:
    """What a signal found about one function, or about the whole rollout."""

    reasons: list[str] = field(default_factory=list)  # why unhealthy; empty: no objection
    notes: list[str] = field(default_factory=list)
    # What the check's result keeps: its keys are CheckResult's (rollout-wide) or
    # FunctionCheck's (per function), e.g. {"logs": LogsSummary(...)}.
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass
class Findings:
    """A signal's answer for one check."""

    rollout: Judged = field(default_factory=Judged)
    functions: list[Judged] = field(default_factory=list)  # per member, in order; or none
    # Ignored alarms that left ALARM: watched again from now on (progress.rearmedAlarms).
    rearmed: list[str] = field(default_factory=list)


Signal = Callable[[Check], Findings]
