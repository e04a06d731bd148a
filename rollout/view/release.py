"""A release of several functions as rows, one per function: what `rollout watch`,
`rollout status` and the report show for it, built in one place from the run model.

Everything comes from the execution (the data contract of issue 15): the members from
`plan.functions`, each one's health from the latest check's `functions` (a passed check's
`progress.lastCheck`, or the data a failed one raised with), a failed pre/post-traffic
check from its error (which names its function), what the rollback restored from
`$.rollback.aliases`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rollout.view.run import (
    ROLL_BACK,
    FunctionCheck,
    HealthCheck,
    Run,
    WeightPoint,
    cause_summary,
    short_function_name,
)

# The errors of a failed pre- or post-traffic check: their message names its function.
TRAFFIC_CHECK_ERRORS = frozenset({"PreTrafficCheckFailed", "PostTrafficCheckFailed"})


class Verdict(StrEnum):
    PENDING = "pending"  # no check of its own yet, while the release runs
    NOT_JUDGED = "not judged"  # the release ended before this function was judged
    HEALTHY = "healthy"
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


def latest_release_check(run: Run) -> HealthCheck | None:
    """The latest check that judged each function: passed (lastCheck) or failed."""
    judged = [c for c in [*run.checks, *run.failed_checks] if c.functions]
    if not judged:
        return None
    return max(judged, key=lambda c: c.at or run.started_at)


def _row(run: Run, member: dict[str, Any], check: HealthCheck | None) -> FunctionRow:
    function = short_function_name(str(member.get("functionName", "?")))
    alias = str(member.get("alias", "?"))
    own = next(
        (
            f
            for f in (check.functions if check else ())
            if (f.function, f.alias) == (function, alias)
        ),
        None,
    )
    verdict, reasons = _verdict(run, function, member, own)
    restored, detail = _restore(run, function, alias)
    weights = [p for p in run.weights if p.state != ROLL_BACK or restored is not False]
    return FunctionRow(
        function=function,
        alias=alias,
        stable_version=_str(member.get("stableVersion")),
        target_version=_str(member.get("targetVersion")),
        weight=_weight(run, restored),
        check=own,
        verdict=verdict,
        reasons=reasons,
        restored=restored,
        restore_detail=detail,
        weights=weights,
    )


def _verdict(
    run: Run, function: str, member: dict[str, Any], own: FunctionCheck | None
) -> tuple[Verdict, tuple[str, ...]]:
    """Failed when its own check failed or a traffic check that names it failed; healthy
    when its latest check (or the whole run) passed; else pending, or not judged once the
    release ended (another function failed first)."""
    if own is not None and not own.healthy:
        return Verdict.FAILED, own.reasons
    failed = _failed_traffic_check(run, function, _str(member.get("targetVersion")))
    if failed:
        return Verdict.FAILED, (failed,)
    if own is not None or (run.outcome.good and run.outcome.finished):
        return Verdict.HEALTHY, ()
    return (Verdict.NOT_JUDGED if run.outcome.finished else Verdict.PENDING), ()


def _failed_traffic_check(run: Run, function: str, version: str | None) -> str | None:
    """The message of a failed pre/post-traffic check of this function's new version:
    the first failure stops the phase, and its message says `<fn> version <v> failed`."""
    name = rf"(?<![\w-]){re.escape(function)}"  # not the end of another name (api, my-api)
    pattern = re.compile(rf"{name} version {re.escape(version or '?')} failed")
    for visit in run.visits:
        message = cause_summary(visit.cause)
        if visit.error in TRAFFIC_CHECK_ERRORS and pattern.search(message):
            return message
    return None


def _restore(run: Run, function: str, alias: str) -> tuple[bool | None, str | None]:
    """What the rollback did to this alias: `$.rollback.aliases` for a release. When Roll
    back itself failed (RollbackFailed: its Catch goes on with `$.failure`), which aliases
    it restored is only in its message: each row is unknown and points to it."""
    failed = next((v for v in reversed(run.visits) if v.name == ROLL_BACK and v.error), None)
    if failed is not None:
        return None, cause_summary(failed.cause) or failed.error
    rollback = run.rollback
    if not rollback:
        return None, None
    for entry in rollback.get("aliases") or []:
        name = short_function_name(str(entry.get("functionName", "")))
        if (name, str(entry.get("alias"))) == (function, alias):
            return bool(entry.get("restored")), _str(entry.get("detail"))
    return (True, None) if rollback.get("restored") is True else (None, None)


def _weight(run: Run, restored: bool | None) -> float | None:
    """The release's weight; after a rollback 0 where restored, else not known."""
    rolled_back = run.rollback is not None or any(v.name == ROLL_BACK for v in run.visits)
    if not rolled_back:
        return run.weight
    return 0.0 if restored else None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
