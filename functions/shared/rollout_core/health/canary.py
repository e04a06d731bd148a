"""The canary judge: every function's new version against its stable version, invocation
by invocation, as the telemetry's samples report them (health/samples.py). A signal like the
others (signal.py), whose checks are peers:

- errors (exact_errors.py): the rates compared by an exact test (with `compareToStable`);
- latency and coldStarts (latency.py): settled durations and init durations by a rank test
  within time slices (like with like in time, while the weight moves) with the tolerance
  of `health.latency` (with `latency: false`, neither);
- memory (memory.py): memory used near the configured limit is flagged.

Each check yields pass, marginal, fail or inconclusive with its numbers (verdict.py). A fail
is a reason; a marginal or an inconclusive that gates is a note. The check's result keeps
each function's `canary` judgement and the check's `verdict` (the worst function's), which
the end of a step reads (health/inconclusive.py).

Samples are pushed only: a version whose log group is polled (no subscription filter) has
none, and the judge says so in a note and judges nothing for it; the other signals still
judge its errors. A check at weight 0 (AllAtOnce before Promote) judges nothing.
"""

from __future__ import annotations

from .. import release
from ..deadline import READ_ERRORS, missed, unread
from ..models import RolloutPlan
from . import exact_errors, latency, memory, samples
from .samples import VersionSamples
from .signal import Check, Findings, Judged
from .verdict import SEVERITY, Judgement, Verdict, combine


def read(check: Check) -> Findings:
    found = release.for_all(check.plan, lambda member: _read(check, member))
    functions = [one.functions[0] for one in found]
    outcomes = [j.numbers["canary"].outcome for j in functions if "canary" in j.numbers]
    rollout = Judged()
    if outcomes:
        rollout.numbers["verdict"] = max(outcomes, key=SEVERITY.__getitem__)
    tried = [one.read for one in found if one.read is not None]
    return Findings(
        rollout=rollout,
        functions=functions,
        unread=[line for one in found for line in one.unread],
        read=any(tried) if tried else None,
    )


def _read(check: Check, member: RolloutPlan) -> Findings:
    if not check.judging_traffic:
        return Findings(functions=[Judged()], read=None)
    polled = [
        destination.logGroup
        for destination in map(member.log_destination, (member.targetVersion, member.stableVersion))
        if check.telemetry is None or not check.telemetry.pushes(destination.logGroup)
    ]
    if polled:
        note = (
            f"canary: log group {polled[0]} is polled, and samples are pushed only; "
            "latency, cold starts and memory not judged"
        )
        return Findings(functions=[Judged(notes=[note])], read=None)
    try:
        new, stable = (
            samples.read(member.functionName, version, check.since, check.deadline)
            for version in (member.targetVersion, member.stableVersion)
        )
    except READ_ERRORS as error:
        if not missed(error):
            raise
        return Findings(
            functions=[Judged()], unread=[unread("canary", "DynamoDB Query", error)], read=False
        )
    cursor = check.cursor
    return Findings(functions=[judge(member, new, stable, cursor.weight, cursor.checks)])


def judge(
    member: RolloutPlan,
    new: VersionSamples,
    stable: VersionSamples,
    weight: float = 0.5,
    look: int = 1,
) -> Judged:
    """One function's checks on its versions' samples: the reasons, notes and numbers;
    `weight` is the new version's share of traffic now, `look` the rollout's check number
    (the errors and latency tests spend their error over the checks: statistics.spent)."""
    checks = verdicts(member, new, stable, weight, look)
    outcome = combine(checks)
    judged = Judged(numbers={"canary": Judgement(outcome=outcome, checks=checks, look=look)})
    judged.reasons += [v.why for v in checks if v.outcome == "fail"]
    judged.notes += [
        v.why
        for v in checks
        if v.outcome == "marginal" or (v.outcome == "inconclusive" and v.gating)
    ]
    judged.notes += [
        f"canary: read the newest {len(found.samples)} samples of version {found.version}"
        for found in (new, stable)
        if found.capped
    ]
    return judged


def verdicts(
    member: RolloutPlan,
    new: VersionSamples,
    stable: VersionSamples,
    weight: float = 0.5,
    look: int = 1,
    slices: latency.Slicing | None = None,
) -> list[Verdict]:
    """Every check's verdict; latency and cold starts compared within `slices` (None: the
    plan's, latency.slicing)."""
    policy = member.health
    found: list[Verdict] = []
    if policy.compareToStable:
        found.append(
            exact_errors.judge(
                (new.version, new.failures, new.invocations),
                (stable.version, stable.failures, stable.invocations),
                policy,
                look,
            )
        )
    if policy.latency is not None:
        slices = slices or latency.slicing(member)
        new_settled = latency.settled_durations(new.samples, slices, new_version=True)
        stable_settled = latency.settled_durations(stable.samples, slices)
        gating = _waiting_helps(policy.minInvocations, new, stable_settled, weight)
        found.append(
            latency.durations(
                (new.version, new_settled),
                (stable.version, stable_settled),
                policy.latency,
                gating,
                look,
            )
        )
        found.append(
            latency.cold_starts(
                (new.version, latency.init_durations(new.samples, slices)),
                (stable.version, latency.init_durations(stable.samples, slices)),
                policy.latency,
                look,
            )
        )
    found.append(memory.judge((new.version, new.samples), (stable.version, stable.samples)))
    return found


def _waiting_helps(
    min_invocations: int, new: VersionSamples, stable_settled: latency.BySlice, weight: float
) -> bool:
    """Whether latency's inconclusive holds the step: more traffic could settle it. Below
    minInvocations, lowTraffic decides, as for the error rate; without any stable sample
    there is no baseline, and with the whole traffic on the new version (the bake) no
    slice to come holds both versions (latency compares within time slices)."""
    if new.invocations < min_invocations or not any(stable_settled.values()):
        return False
    return weight < 1
