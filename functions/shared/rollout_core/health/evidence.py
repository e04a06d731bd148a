"""Evidence: a new version that got no invocation is never judged healthy on that.

Read over what the other signals found (it reads nothing itself), per function:
- `evidence: "seen"`: the new version served invocations (the metrics' or its own logs');
- `evidence: "none"`: it served none. Low traffic decides as it always has
  (`health.lowTraffic`), and the views say "no evidence", never "healthy".
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
- Never promoted on no evidence: at the decisive check (the one whose pass promotes), a new
  version that served none while the stable version served some is not promoted, however
  likely chance explains it. The step is extended (`unseen`: health/inconclusive.py), up to
  MAX_EXTENSIONS times, which gives a slow first Init and sparse traffic time to reach it;
  still silent then, the check fails with a Cause that says so. Without any traffic to
  either version, `lowTraffic` decides, and the views say "no evidence".
- Not before INIT_SECONDS since the first shift: a new version's first invocations wait for
  their execution environment's Init phase, "limited to 10 seconds" (Lambda execution
  environment lifecycle, Lambda developer guide), while the stable version's warm
  environments serve theirs; silence that short is no evidence, not a bypass.
"""

from __future__ import annotations

from typing import Any

from ..models import LogsSummary, RolloutPlan, VersionCounts
from ..progress import MAX_EXTENSIONS
from .signal import Check, Findings, Judged

BYPASS_PROBABILITY = 1e-6
INIT_SECONDS = 10
UNSEEN = "unseen"  # the decisive check's functions whose new version served none, yet


def weigh(check: Check, findings: list[Findings]) -> Findings:
    """The evidence finding of each function, from the other signals' numbers. It reads
    nothing itself (`read=None`), so it never makes a check that read no signal look read."""
    weighed = [
        _weigh(check, member, _numbers(findings, index))
        for index, member in enumerate(check.members)
    ]
    unseen = [line for judged in weighed for line in judged.numbers.pop(UNSEEN, [])]
    rollout = Judged(numbers={UNSEEN: unseen} if unseen else {})
    return Findings(rollout=rollout, functions=weighed, read=None)


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
    judged = Judged(numbers={"evidence": "seen" if served else "none"})
    if served or not _in_steps(check) or logs is None or logs.stableVersion is None:
        return judged
    stable = logs.stableVersion.invocations
    silent = (
        f"version {member.targetVersion} received no invocation while stable version "
        f"{member.stableVersion} served {stable} since the first shift"
    )
    weight = _least_weight(check)
    if stable and _settled(check) and (1 - weight) ** stable < BYPASS_PROBABILITY:
        judged.reasons.append(
            f"evidence: {silent}; at {weight:.0%} or more of the alias's traffic that happens "
            f"by chance with probability below 1 in {round(1 / BYPASS_PROBABILITY):,}: "
            f"traffic reaches {member.functionName} around {member.alias} (the plan's "
            "traffic sources list what Prepare found)"
        )
    elif stable and check.decisive and check.cursor.extensions >= MAX_EXTENSIONS:
        judged.reasons.append(
            f"evidence: {silent}, and after {check.cursor.extensions} extension(s) of the "
            "last step; never promoted on no evidence"
        )
    elif stable and check.decisive:
        judged.numbers[UNSEEN] = [f"{member.functionName}: evidence: {silent}"]
    return judged


def _in_steps(check: Check) -> bool:
    return check.cursor.phase == "step" and check.judging_traffic


def _settled(check: Check) -> bool:
    return (check.now - check.since).total_seconds() >= INIT_SECONDS


def _least_weight(check: Check) -> float:
    """The new version's smallest weight since the first shift: the first step's."""
    steps = check.plan.steps
    return min((step.weight for step in steps), default=check.cursor.weight) or check.cursor.weight
