"""The plan (written once by Prepare) and the progress cursor, as the ASL carries them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    # Documents travel through the state machine; tolerate keys added by later versions.
    model_config = ConfigDict(extra="ignore")


class Step(_Doc):
    percentage: int | float
    weight: float
    waitSeconds: int


class CheckConfig(_Doc):
    readiness: bool = False  # the version is Active and accepts a DryRun invoke
    payload: Any = None
    invoke: bool = False  # invoke with `payload` (which may legitimately be null)
    expect: Any = None
    hookFunction: str | None = None


class HealthPolicy(_Doc):
    errorRatePercent: float
    minInvocations: int
    compareToStable: bool = True
    lowTraffic: Literal["pass", "fail"] = "pass"
    logs: bool = True  # the logs signal (logs_signal.py) beside the metrics


class LockRef(_Doc):
    table: str
    key: str
    owner: str


class StrategyRef(_Doc):
    name: str
    kind: str


class ApprovalPolicy(_Doc):
    before: Literal["promote", "each-step"]
    timeoutSeconds: int  # scaled by timeScale like every wait
    onTimeout: Literal["rollback", "proceed"] = "rollback"


class Member(_Doc):
    """One function of a release (rollout_core.release): what a single rollout's plan says
    about its function, alias and checks; everything else is the release's."""

    functionName: str
    functionArn: str
    alias: str
    aliasArn: str
    stableVersion: str
    targetVersion: str
    preTraffic: CheckConfig | None = None
    postTraffic: CheckConfig | None = None
    lockKey: str


class Plan(_Doc):
    action: Literal["rollout", "skip", "noop", "duplicate", "dryRun"]
    reason: str | None = None
    source: Literal["console", "eventbridge"] = "console"
    executionId: str
    functionName: str | None = None
    functionArn: str | None = None
    alias: str | None = None
    aliasArn: str | None = None
    stableVersion: str | None = None
    targetVersion: str | None = None
    strategy: StrategyRef | None = None
    timeScale: float = 1
    checkIntervalSeconds: int = 10
    steps: list[Step] = Field(default_factory=list)
    totalWaitSeconds: int = 0
    alarms: list[str] = Field(default_factory=list)
    ignoredAlarms: list[str] = Field(default_factory=list)
    insufficientData: Literal["ignore", "fail"] = "ignore"
    health: HealthPolicy | None = None
    preTraffic: CheckConfig | None = None
    postTraffic: CheckConfig | None = None
    bakeSeconds: int = 0
    keepVersions: int = 0  # after success: rollout_core.versions; 0 = delete nothing
    approval: ApprovalPolicy | None = None
    lock: LockRef | None = None
    notes: list[str] = Field(default_factory=list)
    rolledOutBy: str | None = None  # duplicate: the execution already rolling this version out
    # A release of several functions (rollout_core.release); empty for one function. The
    # fields above name the first member, whose lock item is the release's control channel.
    functions: list[Member] = Field(default_factory=list)

    def rollout_ready(self) -> RolloutPlan:
        """The plan with the fields a rollout needs, checked once instead of everywhere."""
        return RolloutPlan.model_validate(self.model_dump())


class RolloutPlan(Plan):
    functionName: str
    functionArn: str
    alias: str
    aliasArn: str
    stableVersion: str
    targetVersion: str
    strategy: StrategyRef
    health: HealthPolicy


class Progress(_Doc):
    phase: Literal["pending", "step", "bake", "done"] = "pending"
    stepIndex: int = -1
    stepCount: int = 0
    percentage: int | float = 0
    weight: float = 0
    stepStartedAt: str | None = None
    stepWaitSeconds: int = 0
    waitedSeconds: int = 0
    nextWaitSeconds: int = 0
    stepComplete: bool = False
    hasNextStep: bool = False
    checks: int = 0
    lastCheck: dict[str, Any] | None = None
    rearmedAlarms: list[str] = Field(default_factory=list)  # ignored alarms that left ALARM
    # Operator controls (rollout_core.controls): why the rollout holds its weight now
    # (a pause or an approval gate, or None), and the last control it acted on.
    hold: dict[str, Any] | None = None
    lastControl: dict[str, Any] | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
