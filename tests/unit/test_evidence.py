"""Evidence (rollout_core/health/evidence.py): a check records whether the new version served
enough, some or nothing, and fails when its silence beside a busy stable version shows a bypass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rollout_core.deadline import Deadline
from rollout_core.health import evidence
from rollout_core.health.signal import Check, Findings, Judged
from rollout_core.models import LogCounts, LogsSummary, Plan, Progress, VersionCounts


@pytest.fixture
def check(load_event):
    """A check of the check_health sample (a 10 % canary, versions 3 → 4) in its step."""

    def make(phase: str = "step", weight: float = 0.1, since_seconds: float = 60) -> Check:
        event = load_event("functions/check_health.json")
        plan = Plan.model_validate(event["plan"]).rollout_ready()
        progress = Progress(**event["progress"]).model_copy(
            update={"phase": phase, "weight": weight}
        )
        now = datetime.now(UTC)
        since = now - timedelta(seconds=since_seconds)
        return Check(plan, progress, [plan], since, now, Deadline(10))

    return make


def found(new: int, stable: int, metrics_new: int = 0) -> list[Findings]:
    logs = LogsSummary(
        newVersion=LogCounts(version="4", invocations=new),
        stableVersion=LogCounts(version="3", invocations=stable),
    )
    metrics = {"newVersion": VersionCounts(version="4", invocations=metrics_new)}
    return [Findings(functions=[Judged(numbers={"logs": logs, **metrics})])]


def weighed(check: Check, findings: list[Findings]) -> Judged:
    (judged,) = evidence.weigh(check, findings).functions
    return judged


def test_a_new_version_that_served_min_invocations_is_seen(check) -> None:
    """The sample's minInvocations is 10: the logs' or the metrics' count, whichever is more."""
    assert weighed(check(), found(new=10, stable=30)).numbers == {"evidence": "seen"}
    assert weighed(check(), found(new=0, stable=30, metrics_new=12)).numbers["evidence"] == "seen"


def test_a_new_version_that_served_fewer_than_min_invocations_is_low(check) -> None:
    """Too few for the error rate or the judge's tests: low traffic decides, as with none."""
    assert weighed(check(), found(new=3, stable=30)).numbers == {"evidence": "low"}
    assert weighed(check(), found(new=0, stable=30, metrics_new=9)).numbers["evidence"] == "low"


def test_silence_within_what_chance_explains_is_no_evidence_not_a_failure(check) -> None:
    # at 10 %, 131 invocations all on the stable version: 0.9^131 = 1.01e-6 — chance
    judged = weighed(check(), found(new=0, stable=131))
    assert judged.numbers == {"evidence": "none"} and judged.reasons == []
    assert weighed(check(), found(new=0, stable=0)).reasons == []  # no traffic at all


def test_silence_beside_a_busy_stable_version_is_a_bypass(check) -> None:
    # 0.9^132 < 1e-6: the traffic doesn't reach version 4 through the alias
    (reason,) = weighed(check(), found(new=0, stable=132)).reasons
    assert reason.startswith(
        "evidence: version 4 received no invocation while stable version 3 served 132 since "
        "the first shift; at 10% or more of the alias's traffic"
    )


def test_judged_only_in_the_weighted_steps(check) -> None:
    assert weighed(check(phase="bake", weight=1.0), found(new=0, stable=500)).reasons == []
    assert weighed(check(weight=0.0), found(new=0, stable=500)).reasons == []  # AllAtOnce


def test_silence_within_a_cold_starts_init_of_the_first_shift_is_no_bypass(check) -> None:
    """The new version's first invocations wait for Init (up to 10 s) while the stable
    version's warm environments serve: silence that short is no evidence."""
    too_soon = weighed(check(since_seconds=evidence.INIT_SECONDS - 1), found(new=0, stable=132))
    assert too_soon.numbers == {"evidence": "none"} and too_soon.reasons == []
    settled = weighed(check(since_seconds=evidence.INIT_SECONDS), found(new=0, stable=132))
    assert settled.reasons
