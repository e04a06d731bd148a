"""User metrics (`health.metrics`, user_metrics.py) replayed for `rollout analyze`
(replay.py): each metric's verdict then, as a check recorded it (`userMetrics`, with its
values for both versions), and now, those values judged by user_metrics.judge under the
new configuration's metric of the same name (its threshold, maxIncreasePercent, dryRun).

No CloudWatch call: what the run did not read is never judged, and never passes silently.
- A metric the new configuration drops is not judged now.
- A metric only the new configuration has, or whose query (its metric, expression, the
  expression's metrics, their dimensions or statistic) changed since the run, is not
  replayable: the recorded values answer another question.
- A metric the run had but recorded no value of in a check (its read missed the
  deadline) has nothing to judge, then as now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import UserMetric
from .user_metrics import MetricVerdict, acts, judge

DROPPED = "not in this configuration: not judged now"
NEVER_READ = "not in the run's configuration: the run never read it"
QUERY_CHANGED = "its query changed since the run: the recorded values answer another"
UNRECORDED = "the run recorded no value of it in this check"
QUERY_FIELDS = frozenset({"metric", "expression", "metrics"})


@dataclass(frozen=True)
class MetricReplayed:
    """One user metric of one function in one check, then and now."""

    name: str
    then: MetricVerdict | None  # None: the run recorded no verdict of it in this check
    now: MetricVerdict | None  # None: not judged now, for `unjudged`
    unjudged: str | None = None
    replayable: bool = True  # False: the configuration asks what the run never read


def replay(
    ran: list[UserMetric],
    configured: list[UserMetric],
    recorded: list[MetricVerdict],
    versions: tuple[str, str],
) -> list[MetricReplayed]:
    """Each metric of `configured` judged again on the values `recorded` under the run's
    metrics `ran`, then each recorded metric `configured` drops; versions: (new, stable)."""
    before = {metric.name: metric for metric in ran}
    then = {verdict.name: verdict for verdict in recorded}
    found = [
        _again(metric, before.get(metric.name), then.get(metric.name), versions)
        for metric in configured
    ]
    kept = {metric.name for metric in configured}
    return found + [
        MetricReplayed(verdict.name, verdict, None, DROPPED)
        for verdict in recorded
        if verdict.name not in kept
    ]


def _again(
    metric: UserMetric,
    ran: UserMetric | None,
    then: MetricVerdict | None,
    versions: tuple[str, str],
) -> MetricReplayed:
    if ran is None:
        return MetricReplayed(metric.name, then, None, NEVER_READ, replayable=False)
    if _query(ran) != _query(metric):
        return MetricReplayed(metric.name, then, None, QUERY_CHANGED, replayable=False)
    if then is None:
        return MetricReplayed(metric.name, None, None, UNRECORDED)
    new_version, stable_version = versions
    now = judge(metric, new_version, then.new, stable_version, then.stable)
    return MetricReplayed(metric.name, then, now)


def _query(metric: UserMetric) -> dict[str, Any]:
    """What the metric reads, as opposed to how its value is judged."""
    return metric.model_dump(include=QUERY_FIELDS)


def changed(row: MetricReplayed) -> bool:
    """A different outcome, or a fail that acts where it did not (dryRun), or no answer."""
    return not row.replayable or _effect(row.then) != _effect(row.now)


def _effect(verdict: MetricVerdict | None) -> tuple[str, bool] | None:
    return None if verdict is None else (verdict.outcome, acts(verdict))
