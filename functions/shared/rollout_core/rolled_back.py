"""Versions rolled back on an alias, remembered so that nothing rolls one out there again
unasked (README, "One publish starts one rollout").

PublishVersion hands back the existing version when nothing changed since the last publish,
and CloudTrail records the call all the same, so the PublishVersion trigger (and `rollout
release`, which publishes) would otherwise roll out again a version that was just rolled
back. Every ending that puts the stable version back records the version: Notify rollback
(a failed check, an abort, a reject, an unanswered approval gate), Release lock (a failed
pre-traffic check) and the guard when it restores the alias. Prepare then ends a rollout
of that version on that alias in *Previously rolled back*, naming the execution that
rolled it back and when, unless the input says `retryRolledBack` (what `rollout start
--version N` sends); the success of such a retry forgets the record.

One item per function, alias and version in the rollout table, beside the lock items
(`<function>:<alias>`), keyed `rolled-back:<function>:<alias>:<version>`. It has no `owner`
(the lock's scans skip it) and no `expiresAt`: a version never changes, so neither does
the verdict on it. Like channel.py for the lock, one class owns the item's attributes,
its read and its writes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import clients, clock, release
from .channel import KEY  # the table's partition key
from .errors import read_cause
from .models import Plan, PriorRollback

PREFIX = "rolled-back"
MAX_CAUSE = 1000  # characters of the ending's Cause kept: its first line is what people read
UNKNOWN = {
    "executionId": "an earlier execution",
    "at": "an unknown time",
    "error": "?",
    "cause": "",
}
# Finalize's outcomes that put the stable version back (a failed rollback leaves that to
# the guard, which records what it restores).
ROLLED_BACK_OUTCOMES = frozenset({"rolled_back", "check_failed"})


def key(function: str, alias: str, version: str) -> str:
    return f"{PREFIX}:{function}:{alias}:{version}"


class RolledBackVersions:
    """The rollout table's rolled-back items, through one DynamoDB client."""

    def __init__(self, table: str, ddb: Any) -> None:
        self.table = table
        self._ddb = ddb

    def find_record(self, function: str, alias: str, version: str) -> PriorRollback | None:
        raw = self._ddb.get_item(
            TableName=self.table,
            Key={KEY: {"S": key(function, alias, version)}},
            ConsistentRead=True,  # an ending writes it just before it releases the lock
        ).get("Item")
        if not raw:
            return None
        # what the key says, then what the item says (a hand-written one may say less)
        known = {"functionName": function, "alias": alias, "version": version}
        written = {name: value["S"] for name, value in raw.items() if "S" in value}
        return PriorRollback.model_validate(UNKNOWN | written | known)

    def put_record(self, record: PriorRollback) -> None:
        """Unconditional: a later rollback of the same version is the one to name."""
        item = {name: {"S": value} for name, value in record.model_dump().items() if value}
        item[KEY] = {"S": key(record.functionName, record.alias, record.version)}
        self._ddb.put_item(TableName=self.table, Item=item)

    def delete_record(self, record: PriorRollback) -> None:
        self._ddb.delete_item(
            TableName=self.table,
            Key={KEY: {"S": key(record.functionName, record.alias, record.version)}},
        )


def of(table: str) -> RolledBackVersions:
    return RolledBackVersions(table, clients.dynamodb())


# -- Prepare ----------------------------------------------------------------------------


def find(table: str | None, function: str, alias: str, version: str) -> PriorRollback | None:
    """The ending that rolled `version` back on `function:alias`, if one did."""
    return of(table).find_record(function, alias, version) if table else None


def found(table: str | None, members: list[Any]) -> list[PriorRollback]:
    """The records of the members' targets (a release's members, in order)."""
    priors = [find(table, m.functionName, m.alias, m.targetVersion) for m in members]
    return [prior for prior in priors if prior is not None]


def refusing(priors: list[PriorRollback], *, several: bool) -> list[PriorRollback]:
    """The records that refuse the rollout: any, for one function; for a release of several,
    those rolled back on their own. A release's rollback doesn't say which member was at
    fault, so it doesn't stop another release with that member's version."""
    return [prior for prior in priors if not (several and prior.withRelease)]


def refusal(priors: list[PriorRollback], common: dict[str, Any], *, several: bool) -> Plan:
    """The plan that ends in *Previously rolled back*: nothing touched, no lock taken."""
    said = "; ".join(_rolled_back(prior) for prior in priors)
    first = priors[0]
    how = (
        'input "retryRolledBack": true'
        if several
        else f"rollout start --function {first.functionName} --alias {first.alias} --version "
        f'{first.version} (input "retryRolledBack": true)'
    )
    reason = f"{said}; not rolled out again. To try it again: {how}"
    return Plan(action="previouslyRolledBack", reason=reason, rolledBackBefore=priors, **common)


def retry_notes(priors: list[PriorRollback]) -> list[str]:
    return [
        f"{_rolled_back(prior, cause=False)}; rolled out again (a success forgets it)"
        for prior in priors
    ]


def _rolled_back(prior: PriorRollback, *, cause: bool = True) -> str:
    where = f"{prior.functionName}:{prior.alias}"
    why = f"{prior.error}: {prior.cause}" if cause and prior.cause else prior.error
    within = f" with the release of {prior.withRelease}" if prior.withRelease else ""
    return (
        f"version {prior.version} was rolled back on {where}{within} by {prior.executionId} at "
        f"{prior.at} ({why})"
    )


# -- the endings ------------------------------------------------------------------------


def remember(plan: Plan, outcome: str, error: str, cause: str) -> list[str]:
    """At Finalize's `outcome`: record each alias's target when the ending put the stable
    version back; forget the records a successful rollout rolled out again. Before the lock
    goes, so a publish racing the ending meets the lock or the record. Notes of what could
    not be written: the lock is released whatever happens here."""
    if plan.lock is None:
        return []
    table = plan.lock.table
    if outcome in ROLLED_BACK_OUTCOMES:
        members = plan.functions or [plan]
        return record(table, plan.executionId, members, error, cause, release_of(plan))
    if outcome != "succeeded":
        return []
    return [
        note
        for prior in plan.rolledBackBefore
        for note in _best_effort(partial(of(table).delete_record, prior), "forget", prior)
    ]


def release_of(plan: Plan) -> str:
    """What a record says of the release it was rolled back with ("" for one function)."""
    return release.label(plan) if release.is_release(plan) else ""


def record(
    table: str, execution: str, members: list[Any], error: str, cause: str, within: str = ""
) -> list[str]:
    """Record the target of each member (a plan, or a release's member) as rolled back on
    its alias by `execution` (`within` a release); notes of what could not be written."""
    at = clock.iso(clock.now())
    notes: list[str] = []
    for member in members:
        entry = PriorRollback(
            functionName=member.functionName,
            alias=member.alias,
            version=member.targetVersion,
            executionId=execution,
            at=at,
            error=error,
            cause=_first_line(cause),
            withRelease=within or None,
        )
        notes += _best_effort(partial(of(table).put_record, entry), "record", entry)
    return notes


def _best_effort(write: Callable[[], None], verb: str, entry: PriorRollback) -> list[str]:
    try:
        write()
    except (ClientError, BotoCoreError) as problem:
        where = f"{entry.functionName}:{entry.alias}"
        return [f"could not {verb} version {entry.version} as rolled back on {where}: {problem}"]
    return []


def _first_line(cause: str) -> str:
    line = read_cause(cause)[0]
    return line if len(line) <= MAX_CAUSE else line[: MAX_CAUSE - 1] + "…"
