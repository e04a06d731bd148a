"""Version clean-up: which published versions of a function may go, and deleting them.

One set of rules for the "Clean up old versions" state and `rollout prune`. Of the
published versions up to the newest allowed one (a rollout's target), the newest
`keep` are kept by count; an older one is deleted unless something still uses it:

- an alias points at it (`FunctionVersion` or a routing weight);
- it is this rollout's stable or target version;
- it has a provisioned concurrency config;
- an event source mapping names it by qualified ARN.

`$LATEST` is never a candidate, nor a version newer than the newest allowed one (it was
published while this rollout ran: someone else's next rollout). `keep` 0 deletes
nothing. Deleting goes on past an error on one version (an alias moved onto it meanwhile:
ResourceConflictException; a Lambda@Edge replica; throttling after the client's
retries): that version is kept and the error noted. Only qualified deletes are ever
sent, so a whole function can't be deleted here (and IAM grants only `function:NAME:*`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from . import clients, notify, release, scope
from .errors import RolloutError
from .models import RolloutPlan, dump
from .results import FinalizeSummary

Decision = Literal["delete", "keep"]


@dataclass(frozen=True)
class Version:
    number: int
    code_size: int
    last_modified: str


@dataclass(frozen=True)
class Usage:
    """What protects versions of one function, read from the account."""

    aliases: dict[str, list[str]] = field(default_factory=dict)  # version → alias reasons
    provisioned: set[str] = field(default_factory=set)
    mappings: dict[str, str] = field(default_factory=dict)  # version → mapping UUID


@dataclass(frozen=True)
class Verdict:
    version: Version
    decision: Decision
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": str(self.version.number),
            "codeSize": self.version.code_size,
            "lastModified": self.version.last_modified,
            "reason": self.reason,
        }


@dataclass
class Result:
    function: str
    keep: int
    dry_run: bool
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def deleted(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.decision == "delete"]

    @property
    def kept(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.decision == "keep"]

    @property
    def bytes_freed(self) -> int:
        return 0 if self.dry_run else sum(v.version.code_size for v in self.deleted)

    def as_dict(self) -> dict[str, Any]:
        """The record in the execution output and the success notification."""
        return {
            "functionName": self.function,
            "keepVersions": self.keep,
            "dryRun": self.dry_run,
            "deleted": [v.as_dict() for v in self.deleted],
            "kept": [v.as_dict() for v in self.kept],
            "bytesFreed": self.bytes_freed,
            "notes": self.notes,
        }


def decide(
    versions: Iterable[Version],
    usage: Usage,
    keep: int,
    *,
    protected: dict[str, str] | None = None,
    newest_allowed: int | None = None,
) -> list[Verdict]:
    """Every published version with its decision and reason, newest first. Pure."""
    protected = protected or {}
    ordered = sorted(versions, key=lambda v: v.number, reverse=True)
    verdicts: list[Verdict] = []
    counted = 0
    for version in ordered:
        key = str(version.number)
        if newest_allowed is not None and version.number > newest_allowed:
            reason = f"newer than version {newest_allowed}, published during this rollout"
            verdicts.append(Verdict(version, "keep", reason))
            continue
        counted += 1
        reason = _protected_by(key, usage, protected)
        if reason:
            verdicts.append(Verdict(version, "keep", reason))
        elif keep == 0:
            verdicts.append(Verdict(version, "keep", "keepVersions is 0: clean-up is off"))
        elif counted <= keep:
            verdicts.append(Verdict(version, "keep", f"among the newest {keep}"))
        else:
            verdicts.append(Verdict(version, "delete", f"older than the newest {keep}, unused"))
    return verdicts


def _protected_by(version: str, usage: Usage, protected: dict[str, str]) -> str | None:
    reasons = [*usage.aliases.get(version, [])]
    if version in protected:
        reasons.append(protected[version])
    if version in usage.provisioned:
        reasons.append("provisioned concurrency")
    if version in usage.mappings:
        reasons.append(f"event source mapping {usage.mappings[version]}")
    return "; ".join(reasons) or None


# -- reading the account ---------------------------------------------------------------


def _pages(paginator: Any, key: str, **args: Any) -> list[dict[str, Any]]:
    return [item for page in paginator.paginate(**args) for item in page.get(key, [])]


def published(function: str) -> list[Version]:
    found = _pages(
        clients.lambda_().get_paginator("list_versions_by_function"),
        "Versions",
        FunctionName=function,
    )
    return [
        Version(int(v["Version"]), int(v.get("CodeSize") or 0), str(v.get("LastModified", "")))
        for v in found
        if str(v["Version"]).isdigit()
    ]


def usage(function: str) -> Usage:
    aliases: dict[str, list[str]] = {}
    for alias in _pages(
        clients.lambda_().get_paginator("list_aliases"), "Aliases", FunctionName=function
    ):
        aliases.setdefault(str(alias["FunctionVersion"]), []).append(f"alias {alias['Name']}")
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        for version, weight in weights.items():
            share = f"{float(weight) * 100:g}%"
            aliases.setdefault(str(version), []).append(f"alias {alias['Name']} ({share})")
    configs = _pages(
        clients.lambda_().get_paginator("list_provisioned_concurrency_configs"),
        "ProvisionedConcurrencyConfigs",
        FunctionName=function,
    )
    provisioned = {c["FunctionArn"].rsplit(":", 1)[-1] for c in configs}
    # ListEventSourceMappings has no resource-level permission; list all, keep this function's
    mappings = {
        m["FunctionArn"].split(":")[7]: m["UUID"]
        for m in _pages(
            clients.lambda_().get_paginator("list_event_source_mappings"), "EventSourceMappings"
        )
        if m.get("FunctionArn", "").count(":") == 7 and m["FunctionArn"].split(":")[6] == function
    }
    return Usage(aliases, provisioned, mappings)


# -- deleting ----------------------------------------------------------------------------


def _delete_version(function: str, version: str) -> None:
    clients.lambda_().delete_function(FunctionName=function, Qualifier=version)


def clean_up(
    function: str,
    keep: int,
    *,
    dry_run: bool = False,
    protected: dict[str, str] | None = None,
    newest_allowed: int | None = None,
    delete: Callable[[str, str], None] = _delete_version,
) -> Result:
    """Decide, then delete (unless `dry_run`); never raises for one version's error.

    An error reading the account (versions, aliases, …) deletes nothing: without the full
    picture no version is known to be unused. It is raised for the caller to note.
    """
    scope.recheck("functionName", function)
    result = Result(function, keep, dry_run)
    if keep == 0:
        # off: still list, so the record says what is there and why it stays
        result.verdicts = decide(published(function), Usage(), 0, protected=protected)
        return result
    verdicts = decide(
        published(function),
        usage(function),
        keep,
        protected=protected,
        newest_allowed=newest_allowed,
    )
    for verdict in verdicts:
        if verdict.decision == "delete" and not dry_run:
            verdict = _try_delete(function, verdict, result.notes, delete)
        result.verdicts.append(verdict)
    return result


def _try_delete(
    function: str, verdict: Verdict, notes: list[str], delete: Callable[[str, str], None]
) -> Verdict:
    version = str(verdict.version.number)
    try:
        delete(function, version)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "ResourceNotFoundException":  # already gone: nothing stored, nothing freed
            note = f"version {version} was already deleted"
            notes.append(note)
            return Verdict(
                Version(verdict.version.number, 0, verdict.version.last_modified), "delete", note
            )
        message = error.response["Error"].get("Message", "")
        notes.append(f"version {version} not deleted: {code}: {message}")
        return Verdict(verdict.version, "keep", f"delete refused: {code}: {message}")
    except BotoCoreError as error:
        notes.append(f"version {version} not deleted: {error}")
        return Verdict(verdict.version, "keep", f"delete failed: {error}")
    return verdict


# -- the "Clean up old versions" state -----------------------------------------------------


def after_rollout(plan: RolloutPlan, summary: FinalizeSummary) -> dict[str, Any]:
    """Clean up after a successful rollout (each function of a release) and announce the
    success with the record.

    Never raises for what the account answers: the rollout already succeeded, so a
    clean-up problem becomes a note in the record, not a failed or rolled-back rollout.
    """
    records = [_clean_up_after(member) for member in release.members(plan)]
    record = records[0] if len(records) == 1 else _release_record(plan, records)
    notified = notify.publish("succeeded", {**dump(summary), "cleanup": record})
    return {**record, "notified": notified}


def _clean_up_after(plan: RolloutPlan) -> dict[str, Any]:
    protected = {
        plan.stableVersion: "this rollout's stable version",
        plan.targetVersion: "this rollout's target version",
    }
    try:
        return clean_up(
            plan.functionName,
            plan.keepVersions,
            protected=protected,
            newest_allowed=int(plan.targetVersion),
        ).as_dict()
    except (ClientError, BotoCoreError, RolloutError) as error:
        record = Result(plan.functionName, plan.keepVersions, False).as_dict()
        record["notes"] = [f"clean-up skipped, nothing deleted: {error}"]
        return record


def _release_record(plan: RolloutPlan, records: list[dict[str, Any]]) -> dict[str, Any]:
    """One record for a release: each function's, and the totals the state's metrics use."""

    def named(record: dict[str, Any], key: str) -> list[dict[str, Any]]:
        return [item | {"functionName": record["functionName"]} for item in record[key]]

    return {
        "functionName": release.label(plan),
        "keepVersions": plan.keepVersions,
        "dryRun": False,
        "deleted": [item for record in records for item in named(record, "deleted")],
        "kept": [item for record in records for item in named(record, "kept")],
        "bytesFreed": sum(record["bytesFreed"] for record in records),
        "notes": [
            f"{record['functionName']}: {note}" for record in records for note in record["notes"]
        ],
        "functions": records,
    }
