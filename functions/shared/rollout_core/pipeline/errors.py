"""A pipeline's named errors and the details they carry (as rollout_core.errors does for a
rollout: one human line, then the details as JSON on a second line, in the same
`present()` shape)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..errors import RolloutError
from ..models import ControlRecord, Document, dump
from .models import TargetOutcome


class PipelineErrorDetails(Document):
    target: TargetOutcome | None = None  # TargetFailed: the target whose rollout failed
    control: ControlRecord | None = None  # PipelineAborted: who, why, where
    reasons: list[str] = Field(default_factory=list)  # PipelineBlocked: what held the wave

    def present(self) -> dict[str, Any]:
        return {name: dump(v) if hasattr(v, "model_dump") else v for name, v in self if v}


class _PipelineError(RolloutError):
    def __init__(self, message: str, details: PipelineErrorDetails | None = None) -> None:
        super().__init__(message, details)  # type: ignore[arg-type]  # same present() shape


class TargetFailed(_PipelineError):
    """A target's rollout failed (it rolled itself back); the pipeline stops there."""


class PipelineAborted(_PipelineError):
    """An operator aborted the pipeline, or rejected a wave at its approval gate."""


class PipelineBlocked(_PipelineError):
    """Blockers held a wave longer than `blockers.timeoutSeconds`."""
