"""What statemachine/pipeline.asl.json passes each pipeline task (docs/workflow.md,
"Pipelines")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import Moved, PipelineCursor, PipelinePlan, PipelineTarget


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")
    executionId: str


class PreparePayload(_Payload):
    input: Any = None


class HoldPayload(_Payload):
    plan: PipelinePlan
    cursor: PipelineCursor
    phase: Literal["gate", "bake"]


class TargetPayload(_Payload):
    """Start target, Follow target, Record target, Restore target."""

    action: Literal["start", "follow", "record", "restore"]
    target: PipelineTarget
    input: dict[str, Any] = Field(default_factory=dict)  # start: the rollout's input
    run: dict[str, Any] | None = None  # record: what Run target or Follow target returned
    moved: list[Moved] = Field(default_factory=list)  # restore: what to put back


class WavePayload(_Payload):
    plan: PipelinePlan
    cursor: PipelineCursor
    results: list[dict[str, Any]]


class FinishPayload(_Payload):
    action: Literal["succeeded", "plan-restore", "failed"]
    plan: PipelinePlan
    cursor: PipelineCursor
    results: list[dict[str, Any]] | None = None
    failure: dict[str, Any] | None = None
    restore: dict[str, Any] | None = None
    restored: list[list[dict[str, Any]]] | None = None


class ControlPayload(BaseModel):
    """`rollout abort|pause|resume|promote|approve|reject` on a pipeline."""

    model_config = ConfigDict(extra="forbid")
    executionArn: str
    action: Literal["abort", "pause", "resume", "promote", "approve", "reject"]
    reason: str = Field(min_length=1, max_length=1000)
    by: str = Field(min_length=1, max_length=2048)
