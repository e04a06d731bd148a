"""Roll back and Finalize: restore the alias, release the lock, tell people what happened.

Every failure ends with an Error (the name of what failed) and a Cause: one human line
followed by the details, which the Fail states show in the console.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from . import aliases, lock, notify, settings
from .aliases import Position
from .errors import AliasDrift, RollbackFailed, split_details
from .models import Plan, Progress, RolloutPlan
from .progress import where

FAILED_STATES = {
    "HealthCheckFailed": "Check health",
    "PostTrafficCheckFailed": "Post-traffic check",
    "PreTrafficCheckFailed": "Pre-traffic check",
    "AliasDrift": "Shift traffic / Promote",
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


def roll_back(plan: RolloutPlan, cursor: Progress, failure: dict[str, Any] | None) -> dict:
    """Put the alias back on the stable version with no routing, from a position this
    rollout could have left it in; anything else is someone else's change: left alone."""
    error, message = failure_parts(failure)
    details = _details(plan, cursor, error)
    target = Position(plan.stableVersion)
    try:
        found = aliases.move(plan.functionName, plan.alias, own_positions(plan, cursor), target)
    except AliasDrift as drift:
        raise RollbackFailed(
            f"Could not roll back {plan.functionName}:{plan.alias} after {error} ({message}): "
            f"{drift} — {details}"
        ) from None
    except ClientError as client_error:
        raise RollbackFailed(
            f"Could not roll back {plan.functionName}:{plan.alias} after {error} ({message}): "
            f"{client_error} — {details}"
        ) from None
    cause = (
        f"Rolled back {plan.functionName}:{plan.alias} to version {plan.stableVersion}: "
        f"{message} — {details}"
    )
    return {
        "error": error,
        "cause": cause,
        "restored": True,
        "foundAt": found.describe(),
        "alias": {"version": plan.stableVersion, "routing": {}},
        "stableVersion": plan.stableVersion,
        "targetVersion": plan.targetVersion,
    }


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
    if error == "HealthCheckFailed" and cursor.phase == "bake":
        state = "Check bake health"
    parts = [f"state: {state}"] if state else []
    parts += [
        where(cursor),
        f"weight {cursor.weight * 100:g}% on version {plan.targetVersion}",
        f"strategy {plan.strategy.name}",
    ]
    return "; ".join(parts)


def finalize(
    plan: Plan,
    outcome: str,
    rollback: dict[str, Any] | None,
    failure: dict[str, Any] | None,
    *,
    announce: bool = True,
) -> dict[str, Any]:
    """Release the lock (owner only) and notify; returns the summary for `$.outcome`.

    `announce=False` leaves the notification to the next state (the clean-up after a
    success, which adds what it deleted)."""
    released = lock.release(plan.lock.table, plan.lock.key, plan.lock.owner) if plan.lock else False
    summary: dict[str, Any] = {
        "outcome": outcome,
        "executionId": plan.executionId,
        "functionName": plan.functionName,
        "alias": plan.alias,
        "stableVersion": plan.stableVersion,
        "targetVersion": plan.targetVersion,
        "strategy": plan.strategy.name if plan.strategy else None,
        "lockReleased": released,
    }
    summary |= _error_and_cause(plan, outcome, rollback, failure)
    if announce:
        summary["notified"] = notify.publish(outcome, summary)
    return summary


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
    plan: Plan, outcome: str, rollback: dict[str, Any] | None, failure: dict[str, Any] | None
) -> dict[str, str]:
    if outcome == "succeeded":
        return {"detail": f"{plan.functionName}:{plan.alias} now runs version {plan.targetVersion}"}
    if outcome == "rolled_back" and rollback and rollback.get("error"):
        return {"error": rollback["error"], "cause": rollback["cause"]}
    error, message = failure_parts(failure)
    lines = {
        "check_failed": f"Version {plan.targetVersion} of {plan.functionName} failed its "
        f"pre-traffic check; {plan.alias} stays on version {plan.stableVersion}",
        "drifted": f"{plan.functionName}:{plan.alias} was changed by someone else; "
        "the rollout stopped and left it as they set it",
        "rollback_failed": f"{plan.functionName}:{plan.alias} could not be restored to "
        f"version {plan.stableVersion}; check the alias by hand",
    }
    line = lines.get(outcome, f"Rollout of {plan.functionName}:{plan.alias} ended: {outcome}")
    return {"error": error, "cause": f"{line} — {message}"}
