"""Roll back and Finalize: restore the alias, release the lock, tell people what happened.

Every failure ends with an Error (the name of what failed) and a Cause: one human line
followed by the details, which the Fail states show in the console.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from . import aliases, lock, notify, release, rolled_back, settings
from .aliases import Position
from .errors import AliasDrift, RollbackFailed, split_details
from .models import Plan, Progress, RolloutPlan, dump
from .names import ErrorName, State
from .progress import where
from .results import AliasPosition, FinalizeSummary, MemberVersions, RestoredAlias, RollbackRecord
from .telemetry import lifecycle

# The state a named error comes from, for the Cause's details.
FAILED_STATES = {
    ErrorName.HEALTH_CHECK_FAILED: State.CHECK_HEALTH,
    ErrorName.POST_TRAFFIC_CHECK_FAILED: State.POST_TRAFFIC_CHECK,
    ErrorName.PRE_TRAFFIC_CHECK_FAILED: State.PRE_TRAFFIC_CHECK,
    ErrorName.ALIAS_DRIFT: f"{State.SHIFT_TRAFFIC} / {State.PROMOTE}",
}


def failure_parts(failure: dict[str, Any] | None) -> tuple[str, str]:
    """(error, message) of a Catch's {Error, Cause}; Lambda's Cause is JSON with errorMessage."""
    failure = failure or {}
    error = str(failure.get("Error") or "UnknownError")
    cause = failure.get("Cause") or ""
    try:
        decoded = json.loads(cause)
    except (TypeError, json.JSONDecodeError):
        decoded = None
    if isinstance(decoded, dict) and decoded.get("errorMessage"):
        return error, split_details(str(decoded["errorMessage"]))[0]
    return error, str(cause) or "no cause given"


def roll_back(
    plan: RolloutPlan, cursor: Progress, failure: dict[str, Any] | None
) -> RollbackRecord:
    """Put every alias (one, or each member of a release) back on its stable version with
    no routing, from a position this rollout could have left it in; anything else is
    someone else's change: left alone. An alias that can't be restored doesn't stop the
    others; RollbackFailed then names it (and the guard tries again)."""
    error, message = failure_parts(failure)
    details = _details(plan, cursor, error)
    done = release.each(plan, lambda member: _restore(member, cursor), (AliasDrift, ClientError))
    if done.errors:
        raise RollbackFailed(_not_restored(plan, done, f"{error} ({message})", details))
    return RollbackRecord(
        error=error,
        cause=f"{_rolled_back(plan)}: {message} — {details}",
        restored=True,
        foundAt=done.results[0][1],
        alias=AliasPosition(version=plan.stableVersion),
        stableVersion=plan.stableVersion,
        targetVersion=plan.targetVersion,
        # one row per alias restored: one for a rollout, each member's for a release
        aliases=[row for row, _ in done.results],
    )


def _restore(member: RolloutPlan, cursor: Progress) -> tuple[RestoredAlias, str]:
    """The alias's row, and where it was found."""
    target = Position(member.stableVersion)
    found = aliases.move(member.functionName, member.alias, own_positions(member, cursor), target)
    row = RestoredAlias(
        functionName=member.functionName,
        alias=member.alias,
        restored=True,
        detail=f"restored from {found.describe()} to version {member.stableVersion}",
    )
    return row, found.describe()


def _not_restored(
    plan: RolloutPlan, done: release.Each[tuple[RestoredAlias, str]], after: str, details: str
) -> str:
    """Which aliases could not be put back, and why; for a release, which ones were."""
    failed = done.errors
    names = ", ".join(release.key(member) for member, _ in failed)
    why = "; ".join(str(problem) for _, problem in failed)
    restored = ", ".join(
        release.key(member) for member, row in done.outcomes if not isinstance(row, Exception)
    )
    also = f"; restored {restored}" if restored else ""
    return f"Could not roll back {names} after {after}: {why}{also} — {details}"


def _rolled_back(plan: RolloutPlan) -> str:
    if release.is_release(plan):
        return (
            f"Rolled back every alias of the release ({release.label(plan)}) to its stable version"
        )
    return f"Rolled back {plan.functionName}:{plan.alias} to version {plan.stableVersion}"


def own_positions(plan: RolloutPlan, cursor: Progress) -> list[Position]:
    """Every position this rollout could have left the alias in (the guard uses it too)."""
    # Any planned weight, not just the cursor's: the failure may have come between the
    # alias update and the cursor being written.
    weights = [cursor.weight, *(step.weight for step in plan.steps)]
    candidates = [aliases.split(plan.stableVersion, plan.targetVersion, w) for w in weights]
    unique: list[Position] = []
    for position in [*candidates, Position(plan.targetVersion)]:
        if not any(position.same_as(seen) for seen in unique):
            unique.append(position)
    return unique


def _details(plan: RolloutPlan, cursor: Progress, error: str) -> str:
    state = FAILED_STATES.get(error)
    if error == ErrorName.HEALTH_CHECK_FAILED and cursor.phase == "bake":
        state = State.CHECK_BAKE_HEALTH
    parts = [f"state: {state}"] if state else []
    # a release's members each have their own new version: the weight is on each of them
    on = "each new version" if release.is_release(plan) else f"version {plan.targetVersion}"
    parts += [
        where(cursor),
        f"weight {cursor.weight * 100:g}% on {on}",
        f"strategy {plan.strategy.name}",
    ]
    return "; ".join(parts)


def finalize(
    plan: Plan,
    outcome: str,
    rollback: RollbackRecord | None,
    failure: dict[str, Any] | None,
    *,
    announce: bool = True,
) -> FinalizeSummary:
    """Stop the rollout's telemetry, remember a version rolled back (rollout_core.rolled_back),
    release the lock (owner only) and notify; returns the summary for `$.outcome`.

    `announce=False` leaves the notification to the next state (the clean-up after a
    success, which adds what it deleted)."""
    notes = lifecycle.stop(plan.rollout_ready()) if plan.action == "rollout" else []
    ended = _error_and_cause(plan, outcome, rollback, failure)
    notes += rolled_back.remember(plan, outcome, ended.get("error", ""), ended.get("cause", ""))
    summary = FinalizeSummary.model_validate(
        {
            "outcome": outcome,
            "executionId": plan.executionId,
            "functionName": plan.functionName,
            "alias": plan.alias,
            "stableVersion": plan.stableVersion,
            "targetVersion": plan.targetVersion,
            "strategy": plan.strategy.name if plan.strategy else None,
            "lockReleased": _release_locks(plan),
            "functions": [
                MemberVersions.model_validate(member.model_dump()) for member in plan.functions
            ],
            **ended,
            "notes": notes,
        }
    )
    if announce:
        notified = notify.publish(outcome, dump(summary))
        summary = summary.model_copy(update={"notified": notified})
    return summary


def _release_locks(plan: Plan) -> bool:
    """Release every lock the plan holds (each only if still ours); True if any was."""
    released = [lock.release(ref.table, ref.key, ref.owner) for ref in release.lock_refs(plan)]
    return any(released)


def release_after_prepare_failure(execution_id: str) -> dict[str, Any]:
    """Prepare failed unexpectedly, perhaps after it took the lock: release the locks this
    execution holds (only its own), so the alias needn't wait for the lock to expire."""
    table = settings.load().lock_table
    released = lock.release_held_by(table, execution_id) if table else []
    return {
        "outcome": "prepare_failed",
        "executionId": execution_id,
        "lockReleased": bool(released),
        "released": released,
    }


def _error_and_cause(
    plan: Plan, outcome: str, rollback: RollbackRecord | None, failure: dict[str, Any] | None
) -> dict[str, str]:
    if outcome == "succeeded":
        return {"detail": _now_runs(plan)}
    if outcome == "rolled_back" and rollback and rollback.error:
        return {"error": rollback.error, "cause": rollback.cause}
    error, message = failure_parts(failure)
    lines = (
        _release_lines(plan)
        if release.is_release(plan)
        else {
            "check_failed": f"Version {plan.targetVersion} of {plan.functionName} failed its "
            f"pre-traffic check; {plan.alias} stays on version {plan.stableVersion}",
            "drifted": f"{plan.functionName}:{plan.alias} was changed by someone else; "
            "the rollout stopped and left it as they set it",
            "rollback_failed": f"{plan.functionName}:{plan.alias} could not be restored to "
            f"version {plan.stableVersion}; check the alias by hand",
        }
    )
    line = lines.get(outcome, f"Rollout of {release.label(plan)} ended: {outcome}")
    return {"error": error, "cause": f"{line} — {message}"}


def _now_runs(plan: Plan) -> str:
    members = plan.functions or [plan]
    return "; ".join(
        f"{member.functionName}:{member.alias} now runs version {member.targetVersion}"
        for member in members
    )


def _release_lines(plan: Plan) -> dict[str, str]:
    every = f"the release ({release.label(plan)})"
    return {
        "check_failed": f"A pre-traffic check of {every} failed; no alias moved",
        "rollback_failed": f"Not every alias of {every} could be restored to its stable "
        "version; the guard tries again: check the aliases named below",
    }
