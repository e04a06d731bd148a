"""The safety net: clean up after an execution that ended without finishing or rolling back.

A rollout stopped from the console (ABORTED), one that ran past the state machine's
TimeoutSeconds (TIMED_OUT), or one whose rollback (or the notification after it) failed
leaves the alias split or on the new version, and the lock held. EventBridge sends the
execution's status change to the guard, which reads the plan back from the execution
history (Prepare's output) and then:

- restores the alias to the stable version with no routing, only if it is at a position
  this rollout could have set (a planned weight, or the target after promotion); anything
  else is someone else's change and is left alone, with a notification saying so;
- records each version it put back as rolled back on its alias (rollout_core.rolled_back);
- releases the lock, only if this execution owns it;
- stops the rollout's telemetry (its subscription filters, watch items), as every ending does;
- sends a critical notification: "Rollout Guard Restored Alias" or "... Needs Attention".

Executions whose workflow already cleaned up (rolled back, drift, pre-traffic failure,
rejected requests) are recognised from their history and left alone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from . import aliases, clients, lock, notify, release, rolled_back, settings
from .aliases import Position
from .errors import AliasDrift
from .models import Plan, Progress, RolloutPlan
from .names import REJECTIONS, State
from .outcome import own_positions
from .telemetry import lifecycle

log = logging.getLogger(__name__)

WATCHED = frozenset({"ABORTED", "TIMED_OUT", "FAILED"})
# States whose successful exit means the workflow released the lock and left the alias
# where it belongs (rolled back, untouched, or left to whoever changed it).
CLEANED_UP_BY = frozenset(
    {State.NOTIFY_ROLLBACK, State.NOTIFY_DRIFT, State.RELEASE_LOCK, State.FINALIZE}
)
# Entered only once every check passed at 100 %: the new version stays, even if Finalize
# (lock release, notification) then fails.
PASSED_AT = State.FINALIZE


class StatusChange(BaseModel):
    """The `detail` of a "Step Functions Execution Status Change" event."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    executionArn: str
    status: str
    error: str | None = None
    cause: str | None = None


class StatusChangeEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    detail: StatusChange


@dataclass
class ExecutionRecord:
    """What the guard needs from DescribeExecution and GetExecutionHistory."""

    arn: str
    input: Any
    plan: Plan | None
    exited: set[str] = field(default_factory=set)
    entered: set[str] = field(default_factory=set)

    @property
    def cleaned_up(self) -> bool:
        return bool(self.exited & CLEANED_UP_BY)


def read_execution(arn: str) -> ExecutionRecord:
    sfn = clients.stepfunctions()
    described = sfn.describe_execution(executionArn=arn)
    record = ExecutionRecord(arn, _json(described.get("input")), None)
    for event in _history(sfn, arn):
        if "stateEnteredEventDetails" in event:
            record.entered.add(event["stateEnteredEventDetails"]["name"])
        exited = event.get("stateExitedEventDetails")
        if not exited:
            continue
        record.exited.add(exited["name"])
        if exited["name"] == State.PREPARE and record.plan is None:
            output = _json(exited.get("output"))
            if isinstance(output, dict) and isinstance(output.get("plan"), dict):
                record.plan = Plan.model_validate(output["plan"])
    return record


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    args: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**args)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        args["nextToken"] = page["nextToken"]


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return None


def guard(change: StatusChange) -> dict[str, Any]:
    """Look at one ended execution and clean up after it; returns what was done."""
    summary: dict[str, Any] = {
        "executionId": change.executionArn,
        "status": change.status,
        "error": change.error,
    }
    # Prepare's refusals come before the lock is taken: nothing to clean up.
    if change.status not in WATCHED or change.error in REJECTIONS:
        return summary | {"action": "none", "reason": "nothing to clean up"}
    record = read_execution(change.executionArn)
    if change.status == "FAILED" and record.cleaned_up:
        return summary | {"action": "none", "reason": "the workflow already cleaned up"}
    if record.plan is None or record.plan.action != "rollout":
        return summary | _release_unplanned_lock(record)
    plan = record.plan.rollout_ready()
    telemetry = lifecycle.stop(plan)  # whatever else: nothing watches this run any more
    summary |= {"telemetryNotes": telemetry} if telemetry else {}
    if PASSED_AT in record.entered:
        return summary | {
            "action": "none",
            "reason": "the new version passed every check",
            "lockReleased": _release(plan),
        }
    return summary | _clean_up(plan, change)


def _clean_up(plan: RolloutPlan, change: StatusChange) -> dict[str, Any]:
    """Restore each alias (every member of a release, even when one fails), release the
    locks, notify; re-raise a failed restore so Lambda retries the guard."""
    summary: dict[str, Any] = {
        "functionName": plan.functionName,
        "alias": plan.alias,
        "stableVersion": plan.stableVersion,
        "targetVersion": plan.targetVersion,
    }
    done = release.each(plan, restore, (ClientError, BotoCoreError, AliasDrift))
    rows = [_row(member, outcome) for member, outcome in done.outcomes]
    summary |= _combined(rows)
    if release.is_release(plan):
        summary["aliases"] = rows
    notes = _remember_restored(plan, done, change)  # before the lock goes, as Finalize does
    summary |= {"notes": notes} if notes else {}
    summary["lockReleased"] = _release(plan)
    if done.errors:
        _notify("guard_attention", summary, change)
        raise done.errors[0][1]  # Lambda retries; the alias still needs it
    if summary["action"] == "restored":
        summary["notified"] = _notify("guard_restored", summary, change)
    elif summary["action"] in ("left", "missing"):
        summary["notified"] = _notify("guard_attention", summary, change)
    return summary


def _remember_restored(
    plan: RolloutPlan, done: release.Each[dict[str, str]], change: StatusChange
) -> list[str]:
    """Each alias put back on its stable version: its target was rolled back there
    (rollout_core.rolled_back), so no publish rolls it out again unasked."""
    outcomes = done.outcomes
    restored = [m for m, row in outcomes if isinstance(row, dict) and row["action"] == "restored"]
    if not (restored and plan.lock):
        return []
    error = change.error or change.status
    cause = change.cause or f"the execution ended {change.status}; the guard restored the alias"
    within = rolled_back.release_of(plan)
    return rolled_back.record(plan.lock.table, plan.executionId, restored, error, cause, within)


def _row(member: RolloutPlan, outcome: dict[str, str] | Exception) -> dict[str, str]:
    """One alias's line of the summary: what restore did, or why it could not."""
    found = (
        {"action": "failed", "detail": f"could not restore the alias: {outcome}"}
        if isinstance(outcome, Exception)
        else outcome
    )
    return found | {"functionName": member.functionName, "alias": member.alias}


# The summary's action for several aliases: the most pressing one's.
_URGENCY = ("failed", "left", "missing", "restored", "none")


def _combined(rows: list[dict[str, str]]) -> dict[str, str]:
    action = min((row["action"] for row in rows), key=_URGENCY.index)
    detail = "; ".join(row["detail"] for row in rows)
    return {"action": action, "detail": detail}


def restore(plan: RolloutPlan) -> dict[str, str]:
    """Put the alias back on the stable version if this rollout left it elsewhere."""
    stable = Position(plan.stableVersion)
    try:
        current = aliases.read(plan.functionName, plan.alias).position
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return {
            "action": "missing",
            "detail": f"{plan.functionName}:{plan.alias} no longer exists; nothing restored",
        }
    if current.same_as(stable):
        return {"action": "none", "detail": f"already on version {plan.stableVersion}"}
    own = own_positions(plan, Progress())
    if not any(current.same_as(position) for position in own):
        return {
            "action": "left",
            "detail": f"{plan.functionName}:{plan.alias} is at {current.describe()}, "
            "not where this rollout left it; someone else changed it, so it is left alone",
        }
    aliases.move(plan.functionName, plan.alias, own, stable)
    return {
        "action": "restored",
        "detail": f"{plan.functionName}:{plan.alias} restored from {current.describe()} "
        f"to version {plan.stableVersion} with no routing",
    }


def _release(plan: RolloutPlan) -> bool:
    """Release every lock the plan holds (only the ones still ours); True if any was."""
    return any([lock.release(ref.table, ref.key, ref.owner) for ref in release.lock_refs(plan)])


def _release_unplanned_lock(record: ExecutionRecord) -> dict[str, Any]:
    """Prepare failed after taking the lock (e.g. it timed out): free it if it is ours.

    Only console input names the function and alias; an EventBridge event names them
    through tags, which Prepare would have to read again.
    """
    table = settings.load().lock_table
    document = record.input if isinstance(record.input, dict) else {}
    entries = document.get("functions", [document])  # a release names one lock per entry
    entries = entries if isinstance(entries, list) else []
    keys = [key for entry in entries if isinstance(entry, dict) and (key := _lock_key(entry))]
    if not (table and keys):
        return {"action": "none", "reason": "no plan and no lock to look for"}
    released = [lock.release(table, key, record.arn) for key in keys]
    return {"action": "none", "reason": "no plan", "lockReleased": any(released)}


def _lock_key(entry: dict[str, Any]) -> str | None:
    function, alias = entry.get("functionName"), entry.get("alias")
    if not (isinstance(function, str) and isinstance(alias, str)):
        return None
    return lock.lock_key(lock.function_key(function), alias)


def _notify(outcome: str, summary: dict[str, Any], change: StatusChange) -> Any:
    document = summary | {
        "outcome": outcome,
        "executionStatus": change.status,
        "executionError": change.error,
        "executionCause": change.cause,
    }
    log.warning("Guard notification", extra={"outcome": outcome, "summary": document})
    return notify.publish(outcome, document)
