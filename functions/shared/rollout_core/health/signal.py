"""The interface every health signal implements: `read(check) -> Findings`.

A signal reads the whole check at once (every function of a release, the same window) so
it can batch its reads across functions; it says what it found about each function and
about the rollout as a whole, each with the numbers the check's result keeps. Its reads end
before `check.deadline` (rollout_core.deadline); what it could not read in time is
`unread`, one line per read naming the API and the error, and the check judges the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..deadline import Deadline
from ..models import Progress, RolloutPlan
from ..results import TelemetryStart


@dataclass(frozen=True)
class Check:
    """One health check: the rollout (or release) where it stands, over the window."""

    plan: RolloutPlan
    cursor: Progress  # after the wait that preceded the check
    members: list[RolloutPlan]  # one single-function plan per function ([plan] for one)
    since: datetime  # from the first traffic shift (progress.window_start)
    now: datetime
    deadline: Deadline  # every read ends before it
    telemetry: TelemetryStart | None = None  # None: nothing pushed (a run from before)

    @property
    def judging_traffic(self) -> bool:
        """The new versions have a share of traffic to judge (AllAtOnce's check before
        Promote has none)."""
        return self.cursor.weight > 0

    @property
    def decisive(self) -> bool:
        """This check's pass moves on to something that isn't a traffic step: Promote after
        the last step, Finalize after the bake."""
        return self.cursor.stepComplete and not self.cursor.hasNextStep


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
    # Reads that did not make it, each naming its API and error ("metrics: GetMetricData
    # throttled (Throttling)"); whether the signal read anything at all: None when it had
    # nothing to read (no alarms, logs off), which never counts as blind.
    unread: list[str] = field(default_factory=list)
    read: bool | None = True


Signal = Callable[[Check], Findings]
