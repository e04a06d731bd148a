"""What the tasks return beside the cursor (docs/workflow.md, "Task Lambdas"): a traffic
check's result (`$.checks.<phase>`), how the telemetry started (`$.telemetry`), the
rollback record (`$.rollback`) and the Finalize summary (`$.outcome`, the notifications'
detail). Read back by the views with the same
models; keys a reader doesn't know are ignored, keys a document leaves out keep defaults.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from .models import Document, unless_set

# -- $.checks.<phase> -----------------------------------------------------------------------


class CheckStep(Document):
    """One part of a traffic check: readiness, invoke, or `hook <function>`."""

    name: str
    passed: bool
    detail: str


class TrafficCheckResult(Document):
    """Pre- or post-traffic check of one function: its steps in order, up to the first that
    failed (a failure raises the phase's named error instead of returning)."""

    phase: Literal["preTraffic", "postTraffic"]
    version: str | None = unless_set()
    results: list[CheckStep] = Field(default_factory=list)
    passed: bool = True
    skipped: bool = False


class MemberCheckResult(TrafficCheckResult):
    functionName: str
    alias: str


class ReleaseCheckResult(Document):
    """A release's traffic check: every member's own, in order."""

    phase: Literal["preTraffic", "postTraffic"]
    passed: bool = True
    skipped: bool = False
    functions: list[MemberCheckResult] = Field(default_factory=list)


# -- $.telemetry --------------------------------------------------------------------------


class TelemetryStart(Document):
    """What Start telemetry set up: the log groups whose events a subscription filter now
    pushes to the telemetry, and those read by polling instead (each with a note saying
    why). Shaped so a Catch's {Error, Cause} reads as "nothing pushed"."""

    pushed: list[str] = Field(default_factory=list)
    polled: list[str] = Field(default_factory=list)
    alarmsWatched: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _caught(cls, data: Any) -> Any:
        """Start telemetry failed: every log group is polled, and the notes say why."""
        if isinstance(data, dict) and "Error" in data and "pushed" not in data:
            line = str(data.get("Cause") or "")[:300]
            return {"notes": [f"telemetry not started ({data['Error']}: {line}); logs polled"]}
        return data

    def pushes(self, log_group: str) -> bool:
        return log_group in self.pushed


# -- $.rollback ---------------------------------------------------------------------------


class AliasPosition(Document):
    version: str
    routing: dict[str, float] = Field(default_factory=dict)


class RestoredAlias(Document):
    """One alias Roll back put back on its stable version (each member's, for a release)."""

    functionName: str
    alias: str
    restored: bool = True
    detail: str | None = None


class RollbackRecord(Document):
    """What Roll back did: the Error and Cause the Fail state ends with, and where it found
    and left each alias."""

    error: str
    cause: str
    restored: bool = True
    foundAt: str | None = None
    alias: AliasPosition | None = None
    stableVersion: str | None = None
    targetVersion: str | None = None
    aliases: list[RestoredAlias] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _older_catch(cls, data: Any) -> Any:
        """Older definitions' Roll back Catch wrote its {Error, Cause} here: not restored."""
        if isinstance(data, dict) and "Error" in data and "error" not in data:
            return {"error": data["Error"], "cause": data.get("Cause") or "", "restored": False}
        return data


# -- $.outcome ------------------------------------------------------------------------------

Outcome = Literal["succeeded", "rolled_back", "rollback_failed", "check_failed", "drifted"]


class MemberVersions(Document):
    functionName: str
    alias: str
    stableVersion: str
    targetVersion: str


class FinalizeSummary(Document):
    """How the rollout ended, for `$.outcome` and the notification's detail: a success has
    `detail`, anything else `error` and `cause`."""

    outcome: Outcome
    executionId: str
    functionName: str | None = None
    alias: str | None = None
    stableVersion: str | None = None
    targetVersion: str | None = None
    strategy: str | None = None
    lockReleased: bool = False
    functions: list[MemberVersions] = unless_set([])  # a release's members
    detail: str | None = unless_set()
    error: str | None = unless_set()
    cause: str | None = unless_set()
    notified: dict[str, bool | None] | None = unless_set()  # {sns, eventBridge}
    notes: list[str] = unless_set([])  # what the ending could not tidy (the telemetry's)
