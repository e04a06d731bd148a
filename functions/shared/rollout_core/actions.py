"""What Shift traffic, Check health and Promote do: move the aliases and the cursor, or
ask the judge (rollout_core.health) and what an inconclusive step does
(health/inconclusive.py), then the control channel, then whether the rollout must hold for
want of any signal (rollout_core.blind)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from . import aliases, blind, controls, progress, release
from .aliases import Position
from .deadline import CHECK_SECONDS, Deadline
from .errors import AliasDrift, ReleaseDrift
from .health import inconclusive
from .health.judge import judge
from .models import Progress, RolloutPlan, WaitEnd
from .names import CHECK_STATES, State
from .results import TelemetryStart


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


def check(
    plan: RolloutPlan,
    cursor: Progress,
    now: datetime,
    deadline: Deadline | None = None,
    telemetry: TelemetryStart | None = None,
    wake: WaitEnd | None = None,
) -> Progress:
    """One health check after a wait (`wake`: how it ended), the holds it opens (an
    inconclusive step, a rollout that reads nothing), then any operator control and approval
    gate (rollout_core.controls), which writes the channel last. Its reads end
    before `deadline` (Check health: its Lambda's own time left; else CHECK_SECONDS)."""
    state = CHECK_STATES.get(cursor.phase, State.CHECK_HEALTH)
    waited = progress.after_wait(cursor, plan.checkIntervalSeconds, wake)
    woken_by = wake.reason if wake is not None and wake.how == "evidence" else None
    reads = deadline or Deadline(CHECK_SECONDS)
    judged = judge(plan, waited, now, state, reads, telemetry, woken_by)
    held = blind.after_check(plan, inconclusive.after_check(plan, judged, now), now)
    return controls.after_check(plan, held, now, state)  # last: it writes the channel
