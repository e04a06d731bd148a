"""What Shift traffic, Check health and Promote do to the alias and the cursor."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import aliases, clock, controls, health, progress
from .aliases import Position
from .errors import HealthCheckFailed
from .models import Progress, RolloutPlan

STATE_NAMES = {"step": "Check health", "bake": "Check bake health"}


def current_position(plan: RolloutPlan, cursor: Progress) -> Position:
    """Where this rollout left the alias at this point of the cursor."""
    if cursor.phase == "bake":
        return Position(plan.targetVersion)
    return aliases.split(plan.stableVersion, plan.targetVersion, cursor.weight)


def shift(plan: RolloutPlan, cursor: Progress, now: datetime) -> Progress:
    index = cursor.stepIndex + 1
    if index >= len(plan.steps):
        return progress.nothing_to_shift(cursor)
    weight = plan.steps[index].weight
    new = aliases.split(plan.stableVersion, plan.targetVersion, weight)
    aliases.move(plan.functionName, plan.alias, [current_position(plan, cursor)], new)
    return progress.start_step(plan, cursor, index, now)


def promote(plan: RolloutPlan, cursor: Progress, now: datetime) -> Progress:
    new = Position(plan.targetVersion)
    aliases.move(plan.functionName, plan.alias, [current_position(plan, cursor)], new)
    return progress.start_bake(plan, cursor, now)


def check(plan: RolloutPlan, cursor: Progress, now: datetime) -> Progress:
    """One health check after a wait, then any operator control (rollout_core.controls)."""
    state = STATE_NAMES.get(cursor.phase, "Check health")
    judged = judge(plan, progress.after_wait(cursor, plan.checkIntervalSeconds), now, state)
    return controls.after_check(plan, judged, now, state)


def judge(plan: RolloutPlan, advanced: Progress, now: datetime, state: str) -> Progress:
    """One health check; HealthCheckFailed names the state, the step and every reason."""
    states = health.alarm_states(plan.alarms)
    since = (
        clock.parse(advanced.stepStartedAt)
        if advanced.stepStartedAt
        else now - timedelta(seconds=plan.checkIntervalSeconds)
    )
    versions = [plan.targetVersion, plan.stableVersion]
    stats = health.version_stats(plan.functionName, plan.alias, versions, since, now)
    verdict = health.judge(plan, advanced, states, stats, (since, now))
    last = {
        "at": clock.iso(now),
        "healthy": verdict.healthy,
        "alarms": states,
        "newVersion": stats[plan.targetVersion].as_dict(),
        "stableVersion": stats[plan.stableVersion].as_dict(),
        "notes": verdict.notes,
        **verdict.signals,
    }
    if not verdict.healthy:
        # the failing check travels as data too, with where the rollout stood (the report)
        failed = last | {
            "reasons": verdict.reasons,
            "phase": advanced.phase,
            "percentage": advanced.percentage,
        }
        raise HealthCheckFailed(
            f"{state}, {progress.where(advanced)}: {'; '.join(verdict.reasons)}", failed
        )
    rearmed = [*advanced.rearmedAlarms, *verdict.rearmed]
    return advanced.model_copy(update={"lastCheck": last, "rearmedAlarms": rearmed})
