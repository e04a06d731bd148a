"""The samples the canary judge compares: each version's per-invocation reports (outcome,
duration, init duration, billed duration, memory) as the telemetry keeps them
(rollout_core.telemetry.counts), over the rollout's window, and its complete counts.

Bounded: at most MAX_SAMPLES per version per check, the newest first (a long rollout's
window holds more), read into memory for the length of one check and never returned: the
check's result keeps only their summaries (health/verdict.py). 10,000 samples per version
are about 200 KB of DynamoDB items, one Query page, and take the judge well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..deadline import Deadline
from ..telemetry import counts
from ..telemetry.reports import Sample

MAX_SAMPLES = 10_000


@dataclass(frozen=True)
class VersionSamples:
    version: str
    invocations: int  # every invocation counted in the window
    failures: int
    samples: list[Sample]  # at most MAX_SAMPLES of them, newest first
    capped: bool  # the window held more samples than were read


def read(function: str, version: str, since: datetime, deadline: Deadline) -> VersionSamples:
    """The version's counts and samples since `since`: two Queries, within the deadline."""
    totals = counts.totals(function, version, since, deadline)
    found, capped = counts.samples(function, version, since, deadline, MAX_SAMPLES)
    return VersionSamples(version, totals.invocations, totals.failures, found, capped)
