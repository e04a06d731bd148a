"""The canary judge replayed over a finished rollout's samples (`rollout analyze`): each
check's verdict then (as the run recorded it) and now (the judge again, with another
health configuration), as Kayenta's retrospective analysis tunes a canary's thresholds
without a deploy. It reads the telemetry table and changes nothing.

Each check is replayed on the samples it could have read: both versions' samples from the
window's start (`since`) to the check's moment (`at`), by when Lambda logged them
(Sample.at_ms), and the invocations and failures among them, compared within the same time
slices as the run's checks (the plan's, counted on the clock: latency.slicing). The samples
are what the telemetry kept (counts.SAMPLES_PER_ITEM per item, at most samples.MAX_SAMPLES
per version), and they expire with the table's items (table.KEEP_SECONDS): a replay of an
older run finds none and says so.

The user's metrics are replayed beside the judge, from the values each check recorded of
them (metric_replay.py): no CloudWatch call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from .. import release
from ..deadline import Deadline
from ..errors import InvalidRolloutRequest
from ..models import CheckResult, HealthPolicy, RolloutPlan, UserMetric
from ..plan import latency_policy
from ..request import HealthSpec, describe
from ..telemetry import counts
from . import canary, metric_replay, samples, user_metrics
from .metric_replay import MetricReplayed
from .samples import VersionSamples
from .verdict import Judgement, Outcome, combine, judgements

READ_SECONDS = 20.0  # each version's Query, on the caller's clock


@dataclass(frozen=True)
class Replayed:
    """One check of one function: what the run concluded and what the judge says now."""

    at: datetime
    function: str
    percentage: float
    then: Judgement | None  # None: the run's judge judged nothing here
    now: Judgement | None  # None: the check was at weight 0, where nothing is judged
    metrics: list[MetricReplayed] = field(default_factory=list)  # the user's, then and now


def replay(plan: RolloutPlan, checks: list[CheckResult], health: HealthPolicy) -> list[Replayed]:
    """Every judged check of `plan`'s run, oldest first, judged again under `health`."""
    judged = sorted((c for c in checks if c.at is not None and c.since is not None), key=_at)
    found = (
        _row(plan, member, check, ordinal, health)
        for ordinal, check in enumerate(judged, start=1)
        for member in release.members(plan)
    )
    return [row for row in found if row is not None]


def _row(
    plan: RolloutPlan, member: RolloutPlan, check: CheckResult, ordinal: int, health: HealthPolicy
) -> Replayed | None:
    """`member`'s row of `check` (a release's rows are keyed by function, else None)."""
    key = member.functionName if check.functions else None
    then = dict(judgements(check)).get(key)
    look = then.look if then is not None and then.look else ordinal
    now = _again(member.model_copy(update={"health": health}), check, look)
    recorded = [verdict for name, verdict in user_metrics.of(check) if name == key]
    if then is None and now is None and not recorded:
        return None
    versions = (member.targetVersion, member.stableVersion)
    metrics = metric_replay.replay(plan.health.metrics, health.metrics, recorded, versions)
    weight = (check.percentage or 0) / 100
    return Replayed(_at(check), member.functionName, weight * 100, then, now, metrics)


def _again(member: RolloutPlan, check: CheckResult, look: int) -> Judgement | None:
    assert check.at is not None and check.since is not None
    new, stable = (
        until(member.functionName, version, check.since, check.at)
        for version in (member.targetVersion, member.stableVersion)
    )
    weight = (check.percentage or 0) / 100
    if not weight:  # the run's judge judges only a version that has traffic (canary._read)
        return None
    checks = canary.verdicts(member, new, stable, weight, look)
    return Judgement(outcome=combine(checks), checks=checks)


def until(function: str, version: str, since: datetime, at: datetime) -> VersionSamples:
    """The version's samples logged between `since`'s bucket and `at`."""
    read, capped = counts.samples(
        function, version, since, Deadline(READ_SECONDS), samples.MAX_SAMPLES, until=at
    )
    last_ms = at.timestamp() * 1000
    kept = [s for s in read if s.at_ms is None or s.at_ms <= last_ms]
    failures = sum(s.failed for s in kept)
    return VersionSamples(version, len(kept), failures, kept, capped)


def _at(check: CheckResult) -> datetime:
    assert check.at is not None
    return check.at


def changed(row: Replayed) -> bool:
    """The canary's outcome differs, or any user metric's (metric_replay.changed)."""
    then: Outcome | None = row.then.outcome if row.then else None
    now: Outcome | None = row.now.outcome if row.now else None
    return then != now or any(metric_replay.changed(metric) for metric in row.metrics)


def reconfigured(policy: HealthPolicy, document: dict[str, Any]) -> HealthPolicy:
    """The run's health policy with what `document` (shaped like the rollout input) says
    in its `health` key, validated as Prepare validates it (InvalidRolloutRequest with
    Prepare's message); the rest as the run had it."""
    try:
        spec = HealthSpec.model_validate(document.get("health") or {})
    except ValidationError as error:
        raise InvalidRolloutRequest(describe(error, within=("health",))) from None
    given = {name: getattr(spec, name) for name in spec.model_fields_set}
    if "latency" in given:
        given["latency"] = latency_policy(given["latency"])
    if "metrics" in given:  # replayed on each check's recorded values (metric_replay.py)
        given["metrics"] = [UserMetric.model_validate(m.model_dump()) for m in spec.metrics]
    return policy.model_copy(update=given)
