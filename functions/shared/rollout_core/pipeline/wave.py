"""Close wave: what the wave's targets did, and what comes next.

Every target of a wave runs to its own end (a failing one rolls itself back; the others
are not cut short: each is judged on its own health). Then the wave closes: a pending
abort ends the pipeline (PipelineAborted), a failed target ends it (TargetFailed, its
Cause naming the target and its rollout's reason), otherwise the wave's bake starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import controls
from .errors import PipelineErrorDetails, TargetFailed
from .hold import where
from .models import PipelineCursor, PipelinePlan, TargetOutcome
from .summary import wave_label


def close(
    plan: PipelinePlan, cursor: PipelineCursor, results: list[dict[str, Any]], now: datetime
) -> PipelineCursor:
    outcomes = [TargetOutcome.model_validate(result) for result in results]
    cursor = cursor.model_copy(update={"outcomes": merge(cursor.outcomes, outcomes)})
    controls.write(plan, phase="bake", running=[])
    _, control = controls.read(plan)
    if control is not None and control.action == "abort":
        controls.write(plan, consumed=control)
        raise controls.aborted(control, now, where(plan, cursor))
    failed = [outcome for outcome in outcomes if outcome.status == "failed"]
    if failed:
        raise failure(plan, cursor, failed)
    wave = plan.waves[cursor.waveIndex]
    return cursor.model_copy(
        update={
            "phase": "bake",
            "ready": False,
            "bakeUntil": now + timedelta(seconds=wave.bakeSeconds),
            "hasNextWave": cursor.waveIndex + 1 < len(plan.waves),
        }
    )


def failure(
    plan: PipelinePlan, cursor: PipelineCursor, failed: list[TargetOutcome]
) -> TargetFailed:
    first = failed[0]
    others = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    label = wave_label(plan, cursor.waveIndex)
    return TargetFailed(
        f"{label[0].upper()}{label[1:]}: the rollout in {first.label} failed{others}: "
        f"{first.error}: {first.cause}",
        PipelineErrorDetails(target=first),
    )


def merge(known: list[TargetOutcome], new: list[TargetOutcome]) -> list[TargetOutcome]:
    """Every target's outcome once (a retried task may bring the same wave twice)."""
    by_target = {(o.wave, o.index): o for o in [*known, *new]}
    return [by_target[key] for key in sorted(by_target)]
