"""What Check health and Check bake health do: ask the judge (rollout_core.health), then
what an inconclusive step does (health/inconclusive.py), then whether the rollout must
hold for want of any signal (rollout_core.blind), then the control channel.

Apart from actions.py (Shift traffic, Promote), so that only the tasks that judge import
the health wing."""

from __future__ import annotations

from datetime import datetime

from . import blind, controls, progress
from .deadline import CHECK_SECONDS, Deadline
from .health import inconclusive
from .health.judge import judge
from .models import Progress, RolloutPlan, WaitEnd
from .names import CHECK_STATES, State
from .results import TelemetryStart


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
