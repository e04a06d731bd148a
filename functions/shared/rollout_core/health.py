"""Health: the rollout's alarms plus the new version's own error rate.

Errors are counted with ExecutedVersion bound to each version, so the stable version's
errors never fail a healthy new version (the anchors' most common mistake). Further
signals (signals(): the logs signal, logs_signal.py) read their own data and can only add
reasons; every reason names its signal.

Every check reads from the rollout's first traffic shift (progress.window_start says why:
Lambda's metrics are readable a minute or more late, so a per-step window would never
judge a failure near a step's end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import clients, error_rate, logs_signal
from .models import Progress, RolloutPlan

MISSING = "MISSING"  # an alarm deleted during the rollout


@dataclass(frozen=True)
class VersionStats:
    version: str
    invocations: float
    errors: float

    @property
    def rate(self) -> float | None:
        return 100 * self.errors / self.invocations if self.invocations else None

    def as_dict(self) -> dict[str, Any]:
        rate = self.rate
        return {
            "version": self.version,
            "invocations": int(self.invocations),
            "errors": int(self.errors),
            "errorRatePercent": None if rate is None else round(rate, 2),
        }


@dataclass
class Verdict:
    reasons: list[str] = field(default_factory=list)  # why unhealthy; empty = healthy
    notes: list[str] = field(default_factory=list)
    rearmed: list[str] = field(default_factory=list)
    signals: dict[str, Any] = field(default_factory=dict)  # what each further signal read

    @property
    def healthy(self) -> bool:
        return not self.reasons


def alarm_states(names: list[str]) -> dict[str, str]:
    """State of each named alarm (metric or composite); MISSING when it doesn't exist."""
    if not names:
        return {}
    found = clients.cloudwatch().describe_alarms(
        AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    states = {
        alarm["AlarmName"]: alarm["StateValue"]
        for kind in ("MetricAlarm", "CompositeAlarm")
        for alarm in found.get(f"{kind}s", [])
    }
    return {name: states.get(name, MISSING) for name in names}


def version_stats(
    function: str, alias: str, versions: list[str], start: datetime, end: datetime
) -> dict[str, VersionStats]:
    """Invocations and Errors (Sum, 60 s) of each version behind the alias in [start, end)."""
    start = start.replace(second=0, microsecond=0)
    end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    queries = [
        _query(f"{metric[0].lower()}{index}", function, alias, version, metric)
        for index, version in enumerate(versions)
        for metric in ("Invocations", "Errors")
    ]
    sums = _sums(queries, start, end)
    return {
        version: VersionStats(version, sums[f"i{index}"], sums[f"e{index}"])
        for index, version in enumerate(versions)
    }


def _query(query_id: str, function: str, alias: str, version: str, metric: str) -> dict[str, Any]:
    dimensions = {
        "FunctionName": function,
        "Resource": f"{function}:{alias}",
        "ExecutedVersion": version,
    }
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            },
            "Period": 60,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


def _sums(queries: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, float]:
    sums = {query["Id"]: 0.0 for query in queries}
    paginator = clients.cloudwatch().get_paginator("get_metric_data")
    for page in paginator.paginate(MetricDataQueries=queries, StartTime=start, EndTime=end):
        for result in page["MetricDataResults"]:
            sums[result["Id"]] += sum(result.get("Values", []))
    return sums


def signals() -> dict[str, Any]:
    """The further signals, by name; each reads its own data for (plan, progress, since,
    now) and returns (reasons, notes, summary). A new signal is one module and one entry."""
    return {"logs": logs_signal.check}


def judge_version(
    plan: RolloutPlan,
    progress: Progress,
    stats: dict[str, VersionStats],
    window: tuple[datetime, datetime],
) -> Verdict:
    """One function's new version: its error rate, then every further signal over the
    check's `window` (since, now); low traffic is judged at the end of a step only."""
    verdict = Verdict()
    _judge_rate(plan, progress, stats, verdict)
    for name, signal in signals().items():
        reasons, notes, summary = signal(plan, progress, *window)
        verdict.reasons += reasons
        verdict.notes += notes
        verdict.signals[name] = summary
    return verdict


def judge_alarms(
    plan: RolloutPlan, progress: Progress, states: dict[str, str], verdict: Verdict
) -> None:
    """The rollout's (or release's) alarms, once per check, into `verdict`."""
    for name, state in states.items():
        if name in plan.ignoredAlarms and name not in progress.rearmedAlarms:
            if state == "ALARM":
                verdict.notes.append(f"alarm {name} still in ALARM (ignored since the start)")
            else:
                verdict.rearmed.append(name)
                verdict.notes.append(f"alarm {name} left ALARM; watching it again")
        elif state == "ALARM":
            verdict.reasons.append(f"alarm {name} is in ALARM")
        elif state in ("INSUFFICIENT_DATA", MISSING):
            line = f"alarm {name} is {state}"
            target = verdict.reasons if plan.insufficientData == "fail" else verdict.notes
            target.append(line)


def _judge_rate(
    plan: RolloutPlan, progress: Progress, stats: dict[str, VersionStats], verdict: Verdict
) -> None:
    policy = plan.health
    new = stats[plan.targetVersion]
    stable = stats.get(plan.stableVersion)
    if progress.weight <= 0:
        # AllAtOnce checks once before promotion, when the new version gets no traffic:
        # there is nothing to judge, and low traffic there must not fail the rollout.
        verdict.notes.append(
            f"version {new.version} has no traffic share yet; error rate not judged"
        )
        return
    judgement = error_rate.judge(
        "metrics",
        new.version,
        new.errors,
        new.invocations,
        policy,
        (stable.version, stable.rate) if stable and policy.compareToStable else None,
    )
    if not judgement.judged:
        line = (
            f"low traffic: version {new.version} had "
            f"{error_rate.too_few(new.invocations, policy.minInvocations)}"
        )
        if progress.stepComplete and policy.lowTraffic == "fail":
            verdict.reasons.append(line)
        else:
            verdict.notes.append(f"{line}; error rate not judged")
    verdict.reasons += [judgement.reason] if judgement.reason else []
    verdict.notes += [judgement.note] if judgement.note else []
