"""A release of several functions as rows, one per function: what `rollout watch`,
`rollout status` and the report show for it, built in one place from the run model.

Everything comes from the execution, read with the workflow's typed contract: the members
from `plan.functions`, each one's health from the latest check's `functions` (a passed
check's `progress.lastCheck`, or the details a failed one raised with), a failed pre/post-
traffic check from its error (which names its function), what the rollback restored from
`$.rollback.aliases`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rollout_core.errors import read_cause
from rollout_core.models import CheckResult, FunctionCheck
from rollout_core.names import TRAFFIC_CHECK_FAILURES, State

from rollout.view.run import (
    CheckVerdict,
    RolledAlias,
    Run,
    WeightPoint,
    cause_summary,
    check_verdict,
    short_function_name,
)


class Verdict(StrEnum):
    PENDING = "pending"  # no check of its own yet, while the release runs
    NOT_JUDGED = "not judged"  # the release ended before this function was judged
    HEALTHY = "healthy"
    LOW_TRAFFIC = "low traffic"  # its checks passed, on fewer invocations than minInvocations
    NO_EVIDENCE = "no evidence"  # its checks passed, but its new version served nothing
    FAILED = "failed"


@dataclass(frozen=True)
class FunctionRow:
    """One function of a release: where its alias stands and how its new version fares."""

    function: str
    alias: str
    stable_version: str | None
    target_version: str | None
    weight: float | None  # share on the new version now; None: not known (restore failed)
    check: FunctionCheck | None  # its part of the latest health check
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    restored: bool | None = None  # the rollback put it back (None: no rollback, or unknown)
    restore_detail: str | None = None
    weights: list[WeightPoint] = field(default_factory=list, compare=False)

    @property
    def name(self) -> str:
        return f"{self.function}:{self.alias}"


def function_rows(run: Run) -> list[FunctionRow]:
    """One row per function of a release; [] for a single-function rollout (its views
    show the run itself)."""
    if not run.is_release:
        return []
    check = latest_release_check(run)
    return [_row(run, member, check) for member in run.members]


def latest_release_check(run: Run) -> CheckResult | None:
    """The latest check that judged each function: passed (lastCheck) or failed."""
    judged = [c for c in [*run.checks, *run.failed_checks] if c.functions]
    if not judged:
        return None
    return max(judged, key=lambda c: c.at or run.started_at)


def own_check(check: CheckResult | None, member: RolledAlias | FunctionRow) -> FunctionCheck | None:
    """This function's row of a release's check (matched by its short name and alias)."""
    return next(
        (
            row
            for row in (check.functions if check else ())
            if (short_function_name(row.functionName), row.alias) == (member.function, member.alias)
        ),
        None,
    )


def _row(run: Run, member: RolledAlias, check: CheckResult | None) -> FunctionRow:
    function, alias = member.function, member.alias
    own = own_check(check, member)
    verdict, reasons = _verdict(run, member, own)
    restored, detail = _restore(run, function, alias)
    weights = [p for p in run.weights if p.state != State.ROLL_BACK or restored is not False]
    return FunctionRow(
        function=function,
        alias=alias,
        stable_version=member.stable_version,
        target_version=member.target_version,
        weight=_weight(run, restored),
        check=own,
        verdict=verdict,
        reasons=reasons,
        restored=restored,
        restore_detail=detail,
        weights=weights,
    )


def _verdict(
    run: Run, member: RolledAlias, own: FunctionCheck | None
) -> tuple[Verdict, tuple[str, ...]]:
    """Failed when its own check failed or a traffic check that names it failed; no
    evidence (low traffic) when its latest check passed with its new version serving
    nothing (fewer than minInvocations); healthy when its latest check (or the whole run)
    passed; else pending, or not judged once the release ended (another function failed
    first)."""
    if own is not None and not own.healthy:
        return Verdict.FAILED, tuple(own.reasons)
    failed = _failed_traffic_check(run, member)
    if failed:
        return Verdict.FAILED, (failed,)
    thin = _THIN.get(check_verdict(own)) if own is not None else None
    if thin is not None:
        return thin, ()
    if own is not None or (run.outcome.good and run.outcome.finished):
        return Verdict.HEALTHY, ()
    return (Verdict.NOT_JUDGED if run.outcome.finished else Verdict.PENDING), ()


_THIN = {
    CheckVerdict.NO_EVIDENCE: Verdict.NO_EVIDENCE,
    CheckVerdict.LOW_TRAFFIC: Verdict.LOW_TRAFFIC,
}


def _failed_traffic_check(run: Run, member: RolledAlias) -> str | None:
    """The message of a failed pre/post-traffic check of this function's new version: the
    first failure stops the phase, and its error's details name the function it checked
    (an older run's don't: its message is then in the run's reason only)."""
    for visit in run.visits:
        if visit.error not in TRAFFIC_CHECK_FAILURES:
            continue
        line, details = read_cause(visit.cause)
        checked = details.trafficCheck if details else None
        if checked is not None and (
            short_function_name(checked.functionName),
            checked.alias,
            checked.version,
        ) == (member.function, member.alias, member.target_version):
            return line
    return None


def _restore(run: Run, function: str, alias: str) -> tuple[bool | None, str | None]:
    """What the rollback did to this alias: `$.rollback.aliases` for a release. When Roll
    back itself failed (RollbackFailed: its Catch goes on with `$.failure`), which aliases
    it restored is only in its message: each row is unknown and points to it."""
    failed = next((v for v in reversed(run.visits) if v.name == State.ROLL_BACK and v.error), None)
    if failed is not None:
        return None, cause_summary(failed.cause) or failed.error
    rollback = run.rollback
    if rollback is None:
        return None, None
    for entry in rollback.aliases:
        if (short_function_name(entry.functionName), entry.alias) == (function, alias):
            return entry.restored, entry.detail
    return (True, None) if rollback.restored else (None, None)


def _weight(run: Run, restored: bool | None) -> float | None:
    """The release's weight; after a rollback 0 where restored, else not known."""
    rolled_back = run.rollback is not None or any(v.name == State.ROLL_BACK for v in run.visits)
    if not rolled_back:
        return run.weight
    return 0.0 if restored else None
