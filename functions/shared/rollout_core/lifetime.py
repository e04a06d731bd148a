"""How long a rollout can last, and so how long its lock lives (rollout_core.lock) and the
telemetry items that watch it (rollout_core.telemetry): the waits, the bake, every approval
gate and every extension of an inconclusive step, plus a margin.

Prepare takes the lock for this long, Start telemetry and Wait for operator renew items for
as long; none of them re-plans, so this module needs the plan only, not the planning.
"""

from __future__ import annotations

from .health.inconclusive import extension_checks
from .models import ApprovalPolicy, RolloutPlan

LOCK_MARGIN_SECONDS = 3600


def approval_gates(approval: ApprovalPolicy | None, steps: int, bake: int) -> int:
    """How many times the rollout may wait for approval: once before Promote, or at the end
    of every weighted step (AllAtOnce: its one check) and of the bake."""
    if approval is None:
        return 0
    if approval.before == "promote":
        return 1
    return max(steps, 1) + (1 if bake else 0)


def lock_ttl(plan: RolloutPlan) -> int:
    """Seconds the lock lives: the waits, the bake, every approval gate and every extension
    of an inconclusive step, plus a margin (a pause renews it: rollout_core.controls)."""
    gates = approval_gates(plan.approval, len(plan.steps), plan.bakeSeconds)
    waiting = gates * plan.approval.timeoutSeconds if plan.approval else 0
    extending = plan.checkIntervalSeconds * extension_checks(
        plan.health, len(plan.steps), plan.bakeSeconds
    )
    return plan.totalWaitSeconds + plan.bakeSeconds + waiting + extending + LOCK_MARGIN_SECONDS
