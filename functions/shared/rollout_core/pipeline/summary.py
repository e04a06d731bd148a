"""What a pipeline's notifications say about it (SNS and EventBridge, rollout_core.notify):
which pipeline, what it rolls out, where it stands."""

from __future__ import annotations

from typing import Any

from .models import PipelineCursor, PipelinePlan


def of(plan: PipelinePlan, cursor: PipelineCursor) -> dict[str, Any]:
    moved = {m.name for target in plan.targets for m in target.functions}
    first = plan.rollout.get("functionName") or next(iter(sorted(moved)), "?:?").split(":")[0]
    index = _clamped(plan, cursor.waveIndex)
    return {
        "executionId": plan.executionId,
        "pipeline": plan.name,
        "functionName": first,
        "alias": plan.rollout.get("alias") or "(release)",
        "functions": sorted(moved),
        "wave": plan.waves[index].name,
        "waveNumber": index + 1,
        "waves": len(plan.waves),
        "targets": len(plan.targets),
    }


def wave_label(plan: PipelinePlan, index: int) -> str:
    """`wave eu (2/3)`: a wave as people read it."""
    index = _clamped(plan, index)
    return f"wave {plan.waves[index].name} ({index + 1}/{len(plan.waves)})"


def _clamped(plan: PipelinePlan, index: int) -> int:
    """A wave's index within the plan's waves: the first before any began (-1)."""
    return min(max(index, 0), len(plan.waves) - 1)
