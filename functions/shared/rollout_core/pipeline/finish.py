"""How a pipeline ends: every wave rolled out, or stopped and (per `onFailure`) restored.

After any failure (a target's rollout failed, an abort, blockers that never cleared, an
unanswered gate) Plan restore lists the completed targets: with `rollback-all` (the
default) every one is restored, newest wave first (targets of a wave side by side), to the
versions it had; with `stop` they keep their new versions. Notify failure then closes the
pipeline's channel, announces the outcome and gives the Fail state its Error and Cause:
the failure's own line, then what was restored and what was left.
"""

from __future__ import annotations

from typing import Any

from .. import notify
from ..names import ErrorName
from ..outcome import failure_parts
from . import controls
from .models import Moved, PipelineCursor, PipelinePlan, PipelineTarget, Restored, TargetOutcome
from .summary import of
from .wave import merge

RESTORING = "restoring"  # the channel's state once the pipeline stops: no control applies


def plan_restore(
    plan: PipelinePlan,
    cursor: PipelineCursor,
    results: list[dict[str, Any]] | None,
    failure: dict[str, Any] | None,
) -> dict[str, Any]:
    """`$.restore`: the error, its first line, and the completed targets to restore, in
    waves newest first (none with onFailure stop)."""
    outcomes = merge(cursor.outcomes, [TargetOutcome.model_validate(r) for r in results or []])
    error, line = failure_parts(failure)
    controls.write(plan, state=RESTORING)
    done = [o for o in outcomes if o.status == "succeeded" and o.moved]
    waves: list[dict[str, Any]] = []
    if plan.onFailure == "rollback-all":
        for index in sorted({o.wave for o in done}, reverse=True):
            items = [
                {"target": _target(plan, o).model_dump(mode="json"), "moved": _dump(o.moved)}
                for o in done
                if o.wave == index
            ]
            waves.append({"wave": index, "name": plan.waves[index].name, "targets": items})
    return {
        "error": error,
        "cause": line,
        "waves": waves,
        "kept": [] if waves else [o.model_dump(mode="json") for o in done],
        "outcomes": [o.model_dump(mode="json") for o in outcomes],
    }


def _target(plan: PipelinePlan, outcome: TargetOutcome) -> PipelineTarget:
    return plan.waves[outcome.wave].targets[outcome.index]


def _dump(moved: list[Moved]) -> list[dict[str, Any]]:
    return [member.model_dump(mode="json") for member in moved]


def failed(
    plan: PipelinePlan,
    cursor: PipelineCursor,
    restore: dict[str, Any],
    restored: list[list[dict[str, Any]]] | None,
    failure: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Close the channel, announce, and the Fail state's Error and Cause."""
    done = [Restored.model_validate(r) for wave in restored or [] for r in wave]
    kept = [TargetOutcome.model_validate(o) for o in restore.get("kept", [])]
    error, line = (
        (restore["error"], restore["cause"]) if "error" in restore else failure_parts(failure)
    )
    if any(not r.ok for r in done):
        error = ErrorName.ROLLBACK_FAILED.value
    cause = f"{line} — {_afterwards(plan, done, kept)}"
    controls.close(plan)
    kind = "pipeline_rolled_back" if done else "pipeline_stopped"
    detail = of(plan, cursor) | {
        "outcome": kind.removeprefix("pipeline_"),
        "error": error,
        "cause": cause,
        "restored": [r.model_dump(mode="json") for r in done],
    }
    return {
        "outcome": detail["outcome"],
        "error": error,
        "cause": cause,
        "notified": notify.publish(kind, detail),
    }


def _afterwards(plan: PipelinePlan, done: list[Restored], kept: list[TargetOutcome]) -> str:
    if done:
        lines = [f"{r.region} in {r.account}: {r.error or _aliases(r)}" for r in done]
        head = (
            "every completed target restored"
            if all(r.ok for r in done)
            else "NOT every target restored"
        )
        return f"{head}, newest wave first: {'; '.join(lines)}"
    if kept:
        lines = [
            f"{o.label}: {', '.join(f'{m.name} v{m.targetVersion}' for m in o.moved)}" for o in kept
        ]
        return f"onFailure is stop: completed targets keep their new versions: {'; '.join(lines)}"
    return "no target had completed: nothing to restore"


def _aliases(restored: Restored) -> str:
    return ", ".join(
        f"{a.functionName}:{a.alias} v{a.version}"
        + ("" if a.result == "restored" else f" ({a.result})")
        for a in restored.aliases
    )


def succeeded(plan: PipelinePlan, cursor: PipelineCursor) -> dict[str, Any]:
    """Every wave rolled out and baked: close the channel and announce it."""
    controls.close(plan)
    detail = of(plan, cursor) | {
        "outcome": "succeeded",
        "moved": [
            {"account": o.account, "region": o.region, "functions": _dump(o.moved)}
            for o in cursor.outcomes
        ],
    }
    return {"outcome": "succeeded", "notified": notify.publish("pipeline_succeeded", detail)}
