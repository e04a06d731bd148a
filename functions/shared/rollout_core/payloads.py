"""What the state machine passes each task (docs/workflow.md, "Task Lambdas")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .models import Plan, Progress, WaitEnd
from .results import FinalizeSummary, RollbackRecord, TelemetryStart


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    executionId: str


class PreparePayload(_Payload):
    input: Any = None
    startTime: str | None = None


class CheckPayload(_Payload):
    plan: Plan
    phase: Literal["preTraffic", "postTraffic"]


class StepPayload(_Payload):
    plan: Plan
    progress: Progress


class HealthPayload(StepPayload):
    phase: Literal["step", "bake"] = "step"
    telemetry: TelemetryStart | None = None  # $.telemetry (None: a run from before)
    wake: WaitEnd | None = None  # $.wake: how the wait before this check ended


class HoldPayload(StepPayload):
    phase: Literal["step", "bake"] = "step"
    telemetry: TelemetryStart | None = None


class WaitPayload(StepPayload):
    phase: Literal["step", "bake"] = "step"
    token: str  # $$.Task.Token


class TelemetryPayload(_Payload):
    plan: Plan


class RollbackPayload(StepPayload):
    failure: dict[str, Any] | None = None


class FinalizePayload(_Payload):
    plan: Plan
    outcome: Literal["succeeded", "rolled_back", "rollback_failed", "check_failed", "drifted"]
    rollback: RollbackRecord | None = None
    failure: dict[str, Any] | None = None
    # false: the success is announced by "Clean up old versions", with what it deleted
    announce: bool = True


class CleanUpPayload(_Payload):
    plan: Plan
    summary: FinalizeSummary


class PrepareFailedPayload(_Payload):
    outcome: Literal["prepare_failed"]
    failure: dict[str, Any] | None = None
