"""What Shift traffic, Check health and Promote do to the alias and the cursor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import aliases, clock, controls, health, progress, release
from .aliases import Position
from .errors import AliasDrift, HealthCheckFailed, ReleaseDrift
from .models import Progress, RolloutPlan

STATE_NAMES = {"step": "Check health", "bake": "Check bake health"}
# Keys of a member's row in lastCheck.functions that the top level of lastCheck has its own of.
MEMBER_ONLY = frozenset({"functionName", "alias", "healthy", "reasons"})


def current_position(plan: RolloutPlan, cursor: Progress) -> Position:
    """Where this rollout left the alias at this point of the cursor."""
    if cursor.phase == "bake":
        return Position(plan.targetVersion)
    return aliases.split(plan.stableVersion, plan.targetVersion, cursor.weight)


def shift(plan: RolloutPlan, cursor: Progress, now: datetime) -> Progress:
    """Every alias of the rollout (or release) to the next step's weight."""
    index = cursor.stepIndex + 1
    if index >= len(plan.steps):
        return progress.nothing_to_shift(cursor)
    weight = plan.steps[index].weight
    _move_all(
        plan,
        cursor,
        lambda member: aliases.split(member.stableVersion, member.targetVersion, weight),
    )
    return progress.start_step(plan, cursor, index, now)


def promote(plan: RolloutPlan, cursor: Progress, now: datetime) -> Progress:
    _move_all(plan, cursor, lambda member: Position(member.targetVersion))
    return progress.start_bake(plan, cursor, now)


def _move_all(plan: RolloutPlan, cursor: Progress, new: Callable[[RolloutPlan], Position]) -> None:
    """Move each member from where this rollout left it. In a release, an alias changed
    by someone else (AliasDrift) after others moved is a ReleaseDrift: the workflow then
    rolls every alias back instead of leaving the others split."""

    def move(member: RolloutPlan) -> None:
        aliases.move(
            member.functionName, member.alias, [current_position(member, cursor)], new(member)
        )

    try:
        release.for_all(plan, move)
    except AliasDrift as drift:
        if not release.is_release(plan):
            raise
        raise ReleaseDrift(f"{drift}; rolling back every alias of the release") from None


def check(plan: RolloutPlan, cursor: Progress, now: datetime) -> Progress:
    """One health check after a wait, then any operator control (rollout_core.controls)."""
    state = STATE_NAMES.get(cursor.phase, "Check health")
    judged = judge(plan, progress.after_wait(cursor, plan.checkIntervalSeconds), now, state)
    return controls.after_check(plan, judged, now, state)


def judge(plan: RolloutPlan, advanced: Progress, now: datetime, state: str) -> Progress:
    """One health check: the alarms once, then each function (one, or every member of a
    release) against its own stable version; HealthCheckFailed names the state, the step
    and every reason, each with its function in a release."""
    states = health.alarm_states(plan.alarms)
    since = progress.window_start(advanced, now, plan.checkIntervalSeconds)
    verdict = health.Verdict()
    health.judge_alarms(plan, advanced, states, verdict)
    checked = release.for_all(plan, lambda member: _judge_member(member, advanced, (since, now)))
    primary = checked[0]
    for member, (member_verdict, _) in zip(release.members(plan), checked, strict=True):
        prefix = f"{member.functionName}: " if release.is_release(plan) else ""
        verdict.reasons += [prefix + reason for reason in member_verdict.reasons]
        verdict.notes += [prefix + note for note in member_verdict.notes]
    last = {
        "at": clock.iso(now),
        "since": clock.iso(since),  # the window, from the first shift (progress.window_start)
        "healthy": verdict.healthy,
        "alarms": states,
        **{k: v for k, v in primary[1].items() if k not in MEMBER_ONLY},
        "notes": verdict.notes,
    }
    if release.is_release(plan):
        last["functions"] = [row for _, row in checked]
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


def _judge_member(
    member: RolloutPlan, advanced: Progress, window: tuple[datetime, datetime]
) -> tuple[health.Verdict, dict[str, Any]]:
    """One function's own signals: its new version's metrics and logs against its stable
    version's; the row `lastCheck` keeps for it."""
    versions = [member.targetVersion, member.stableVersion]
    stats = health.version_stats(member.functionName, member.alias, versions, *window)
    verdict = health.judge_version(member, advanced, stats, window)
    row = {
        "functionName": member.functionName,
        "alias": member.alias,
        "healthy": verdict.healthy,
        "reasons": verdict.reasons,
        "newVersion": stats[member.targetVersion].as_dict(),
        "stableVersion": stats[member.stableVersion].as_dict(),
        **verdict.signals,
    }
    return verdict, row
