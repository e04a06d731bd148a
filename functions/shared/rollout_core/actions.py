"""What Shift traffic and Promote do: move every alias of the rollout from where it left
them, and the cursor. They read no health signal (Check health: rollout_core.checking)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from . import aliases, progress, release
from .aliases import Position
from .errors import AliasDrift, ReleaseDrift
from .models import Progress, RolloutPlan


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
