"""Evidence: a new version that got no invocation is never judged healthy on that.

Read over what the other signals found (it reads nothing itself), per function:
- `evidence: "seen"`: the new version served at least `health.minInvocations` invocations
  (the metrics' or its own logs');
- `evidence: "low"`: it served some, fewer than that: too few for the error rate (and the
  judge's tests) to say much. Low traffic decides as it always has (`health.lowTraffic`),
  and the views say "low traffic", never "healthy";
- `evidence: "none"`: it served none. Low traffic decides here too, and the views say "no
  evidence".
- A bypass: the new version served none while the stable version served many, more than the
  alias's weights could plausibly have sent all to the stable version. From the first shift
  the new version has had at least the first step's weight w, so n invocations all going to
  the stable version through the alias has probability at most (1 - w)^n; below
  BYPASS_PROBABILITY, one in a million, the check fails: the traffic doesn't reach the new
  version through the alias (a source bypasses it, plan.traffic lists what Prepare found, or
  the routing is broken). Judged in the weighted steps only, and from the logs signal's
  counts, whose window starts at the first shift to the millisecond: the metrics' first
  minute also holds what the stable version served before the shift. One in a million, not
  one in a hundred: a healthy 10 % canary's first 44 invocations all go to the stable
  version about once in a hundred rollouts, and a suite or a fleet runs hundreds; one in a
  million takes 132 invocations at 10 %, 20 at 50 %.
- Not before INIT_SECONDS since the first shift: a new version's first invocations wait for
  their execution environment's Init phase, "limited to 10 seconds" (Lambda execution
  environment lifecycle, Lambda developer guide), while the stable version's warm
  environments serve theirs; silence that short is no evidence, not a bypass.
"""

from __future__ import annotations

from typing import Any

from ..models import LogsSummary, RolloutPlan, VersionCounts
from .signal import Check, Findings, Judged

BYPASS_PROBABILITY = 1e-6
INIT_SECONDS = 10


def weigh(check: Check, findings: list[Findings]) -> Findings:
    """The evidence finding of each function, from the other signals' numbers. It reads
    nothing itself (`read=None`), so it never makes a check that read no signal look read."""
    return Findings(
        functions=[
            _weigh(check, member, _numbers(findings, index))
            for index, member in enumerate(check.members)
        ],
        read=None,
    )


def _numbers(findings: list[Findings], index: int) -> dict[str, Any]:
    numbers: dict[str, Any] = {}
    for found in findings:
        if len(found.functions) > index:
            numbers |= found.functions[index].numbers
    return numbers


def _weigh(check: Check, member: RolloutPlan, numbers: dict[str, Any]) -> Judged:
    new_metrics: VersionCounts | None = numbers.get("newVersion")
    logs: LogsSummary | None = numbers.get("logs")
    served = max(
        new_metrics.invocations if new_metrics else 0,
        logs.newVersion.invocations if logs and logs.newVersion else 0,
    )
    judged = Judged(numbers={"evidence": _evidence(served, member.health.minInvocations)})
    if served or not _judging(check) or logs is None or logs.stableVersion is None:
        return judged
    stable = logs.stableVersion.invocations
    weight = _least_weight(check)
    if stable and (1 - weight) ** stable < BYPASS_PROBABILITY:
        judged.reasons.append(
            f"evidence: version {member.targetVersion} received no invocation while stable "
            f"version {member.stableVersion} served {stable} since the first shift; at "
            f"{weight:.0%} or more of the alias's traffic that happens by chance with "
            f"probability below 1 in {round(1 / BYPASS_PROBABILITY):,}: traffic reaches "
            f"{member.functionName} around {member.alias} (the plan's traffic sources list "
            "what Prepare found)"
        )
    return judged


def _evidence(served: int, min_invocations: int) -> str:
    if not served:
        return "none"
    return "seen" if served >= min_invocations else "low"


def _judging(check: Check) -> bool:
    settled = (check.now - check.since).total_seconds() >= INIT_SECONDS
    return check.cursor.phase == "step" and check.judging_traffic and settled


def _least_weight(check: Check) -> float:
    """The new version's smallest weight since the first shift: the first step's."""
    steps = check.plan.steps
    return min((step.weight for step in steps), default=check.cursor.weight) or check.cursor.weight
