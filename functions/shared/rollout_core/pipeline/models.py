"""A pipeline's documents, as statemachine/pipeline.asl.json carries them and every view
reads them back (docs/workflow.md, "Pipelines"): the plan (written once by Prepare
pipeline), the cursor (where the pipeline stands, what each target's rollout did), and
what a restore did. Like rollout_core.models, every document tolerates keys it doesn't
know.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from ..models import ApprovalGate, ControlRecord, Document, LockRef, Pause, PipelineRef

PipelinePhase = Literal["pending", "gate", "wave", "bake", "done"]


class Place(Document):
    account: str
    region: str

    def __str__(self) -> str:
        return f"{self.region} in {self.account}"


class Moved(Document):
    """One function:alias a target's rollout moves, from the version it had."""

    functionName: str
    alias: str
    stableVersion: str
    targetVersion: str

    @property
    def name(self) -> str:
        return f"{self.functionName}:{self.alias}"


class PipelineTarget(Place):
    """One account and Region of a wave, as Prepare pipeline resolved it."""

    wave: int
    index: int
    roleArn: str  # the target role there, which the pipeline assumes
    stateMachineArn: str  # the rollout state machine there
    table: str  # its rollout table (locks and control channels)
    executionName: str  # the name of the rollout started there
    sameRegion: bool  # the pipeline's own Region: started by Step Functions' integration
    controlKey: str | None = None  # the rollout's channel key (None: nothing to move)
    functions: list[Moved] = Field(default_factory=list)  # what its dry run planned to move
    childInput: dict[str, Any] = Field(default_factory=dict)  # {"pipeline": PipelineRef}

    @property
    def ref(self) -> PipelineRef:
        return PipelineRef.model_validate(self.childInput["pipeline"])

    @property
    def executionArn(self) -> str:
        return execution_arn(self.stateMachineArn, self.executionName)

    @property
    def place(self) -> Place:
        return Place(account=self.account, region=self.region)


class Wave(Document):
    name: str
    bakeSeconds: int  # scaled by timeScale
    targets: list[PipelineTarget]


class BlockerAlarm(Place):
    alarmName: str
    roleArn: str | None = None  # None: the pipeline's own account and Region


class Window(Document):
    days: list[str]
    start: str
    end: str
    timeZone: str


class Blockers(Document):
    alarms: list[BlockerAlarm] = Field(default_factory=list)
    windows: list[Window] = Field(default_factory=list)
    timeoutSeconds: int = 86400  # scaled by timeScale


class WaveApproval(Document):
    timeoutSeconds: int  # scaled by timeScale
    onTimeout: Literal["rollback", "proceed"] = "rollback"


class PipelinePlan(Document):
    action: Literal["pipeline", "dryRun"]
    executionId: str
    name: str
    home: Place
    onFailure: Literal["rollback-all", "stop"] = "rollback-all"
    waves: list[Wave]
    blockers: Blockers = Field(default_factory=Blockers)
    approval: WaveApproval | None = None
    checkIntervalSeconds: int = 10  # how often blockers are read while held
    rollout: dict[str, Any]  # the input every target's rollout starts with
    channel: LockRef  # the pipeline's item in the home rollout table (controls)
    historyEvents: int = 0  # the most events the pipeline's history can reach, planned
    channelSeconds: int = 86400  # the channel item's lifetime, renewed by every hold
    notes: list[str] = Field(default_factory=list)

    @property
    def targets(self) -> list[PipelineTarget]:
        return [target for wave in self.waves for target in wave.targets]


# -- where the pipeline stands --------------------------------------------------------------


class Blocked(Document):
    """Blockers hold the next wave: an alarm in ALARM, or outside every window."""

    kind: Literal["blocked"] = "blocked"
    since: AwareDatetime
    deadline: AwareDatetime  # then the pipeline gives up (PipelineBlocked)
    reasons: list[str]
    notified: dict[str, bool | None] | bool = False


PipelineHold = Annotated[Pause | ApprovalGate | Blocked, Field(discriminator="kind")]


class TargetOutcome(Place):
    """What one target's rollout did (Record target)."""

    wave: int
    index: int
    executionArn: str
    status: Literal["succeeded", "failed"]
    childStatus: str | None = None  # its execution's: SUCCEEDED, FAILED, ABORTED, TIMED_OUT
    action: str | None = None  # its plan's: rollout, noop, duplicate
    error: str | None = None
    cause: str | None = None  # the first line of its Cause
    moved: list[Moved] = Field(default_factory=list)  # what it moved (restored on failure)
    startedAt: str | None = None
    stoppedAt: str | None = None

    @property
    def label(self) -> str:
        return f"{self.region} in {self.account}"


class AliasRestore(Document):
    functionName: str
    alias: str
    version: str  # the version it was put back on (its stable version)
    result: str  # "restored", "already there", "left alone: …" (changed by someone else)
    at: AwareDatetime | None = None

    @property
    def ok(self) -> bool:
        return self.result in ("restored", "already there")


class Restored(Place):
    """Restore target: one completed target put back on the versions it had."""

    wave: int
    index: int
    aliases: list[AliasRestore] = Field(default_factory=list)
    error: str | None = None  # the restore itself failed (Restore failed)

    @property
    def ok(self) -> bool:
        return self.error is None and all(alias.ok for alias in self.aliases)


class PipelineCursor(Document):
    phase: PipelinePhase = "pending"
    waveIndex: int = -1  # the wave at its gate, running or baking
    waveCount: int = 0
    hasNextWave: bool = True
    ready: bool = False  # Before wave: the wave may start; Bake wave: the bake is over
    hold: PipelineHold | None = None
    approved: bool = False  # this wave's gate was approved
    bakeUntil: AwareDatetime | None = None
    waveStartedAt: AwareDatetime | None = None
    wave: Wave | None = None  # the wave rolling out: Roll out wave maps over its targets
    outcomes: list[TargetOutcome] = Field(default_factory=list)
    lastControl: ControlRecord | None = None
    blockers: list[str] = Field(default_factory=list)  # what blocked at the last read
    blockedChecks: int = 0  # blocker reads so far

    @property
    def succeeded(self) -> list[TargetOutcome]:
        return [o for o in self.outcomes if o.status == "succeeded"]


def execution_arn(state_machine_arn: str, name: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
