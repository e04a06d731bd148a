"""The judge: asks every signal about one check and combines their findings into the
check's result (models.CheckResult), or raises HealthCheckFailed with it.

The signals read at once (each is a few calls that mostly wait), every read before the
check's deadline. The check fails on any signal's reason. Reasons and notes keep the order
of signals(): rollout-wide findings first, then each function's, every signal in turn; in
a release each function's are prefixed with its name. What a signal could not read is in
`unread` (and a note): the check judges what it did read, and counts the checks in a row
that read nothing at all (`blindChecks`; rollout_core.blind holds the rollout on it).
HealthCheckFailed's message names the state, where the rollout stood and every reason; its
details are the failing check.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from .. import clock, release
from ..deadline import Deadline, not_judged
from ..errors import HealthCheckFailed
from ..models import CheckResult, FunctionCheck, Progress, RolloutPlan
from ..progress import where, window_start
from ..results import TelemetryStart
from . import alarms, canary, evidence, logs, metrics, user_metrics
from .signal import Check, Findings, Judged, Signal


def signals() -> tuple[Signal, ...]:
    """Each signal, in the order its reasons are listed. A new signal: one module, one entry.
    (A function, not a constant: what imports the judge doesn't reach every signal's reads.)"""
    return (alarms.read, metrics.read, logs.read, canary.read, user_metrics.read)


def judge(
    plan: RolloutPlan,
    cursor: Progress,
    now: datetime,
    state: str,
    deadline: Deadline,
    telemetry: TelemetryStart | None = None,
    woken_by: str | None = None,
) -> Progress:
    """The cursor with this check's result (`lastCheck`) and the alarms it watches again;
    HealthCheckFailed, carrying the result, when any signal gave a reason."""
    since = window_start(cursor, now, plan.checkIntervalSeconds)
    check = Check(plan, cursor, release.members(plan), since, now, deadline, telemetry)
    with ThreadPoolExecutor(max_workers=len(signals())) as pool:
        findings = list(pool.map(lambda signal: signal(check), signals()))
    findings.append(evidence.weigh(check, findings))  # over what the signals found
    result = _combine(check, findings)
    if woken_by:
        result = result.model_copy(update={"wokenBy": woken_by})
    if not result.healthy:
        raise HealthCheckFailed(f"{state}, {where(cursor)}: {'; '.join(result.reasons)}", result)
    rearmed = [name for found in findings for name in found.rearmed]
    return cursor.model_copy(
        update={"lastCheck": result, "rearmedAlarms": [*cursor.rearmedAlarms, *rearmed]}
    )


def _combine(check: Check, findings: list[Findings]) -> CheckResult:
    is_release = release.is_release(check.plan)
    per_function = _per_function(check, findings)
    rows = [_row(member, own) for member, own in zip(check.members, per_function, strict=True)]
    reasons = [r for found in findings for r in found.rollout.reasons]
    notes = [n for found in findings for n in found.rollout.notes]
    for member, own in zip(check.members, per_function, strict=True):
        prefix = f"{member.functionName}: " if is_release else ""
        reasons += [prefix + reason for reason in own.reasons]
        notes += [prefix + note for note in own.notes]
    numbers = {k: v for found in findings for k, v in found.rollout.numbers.items()}
    primary = {k: getattr(rows[0], k) for k in rows[0].model_fields_set - _MEMBER_ONLY}
    unread = [line for found in findings for line in found.unread]
    return CheckResult.model_validate(
        {
            "at": clock.iso_ms(check.now),
            "since": clock.iso(check.since),  # the window, from the first shift
            "healthy": not reasons,
            **numbers,
            **primary,
            "notes": [*notes, *(not_judged(line) for line in unread)],
            "reasons": reasons,
            "unread": unread,
            "blindChecks": _blind(check.cursor, findings),
            "phase": check.cursor.phase,
            "percentage": check.cursor.percentage,
            "functions": rows if is_release else [],
        }
    )


def _blind(cursor: Progress, findings: list[Findings]) -> int | None:
    """Checks in a row that read no signal, this one included; None when one read."""
    tried = [found.read for found in findings if found.read is not None]
    if not tried or any(tried):
        return None
    before = cursor.lastCheck.blindChecks if cursor.lastCheck else None
    return (before or 0) + 1


# A function's row keeps these; the check's own are the whole rollout's.
_MEMBER_ONLY = frozenset({"functionName", "alias", "healthy", "reasons"})


def _per_function(check: Check, findings: list[Findings]) -> list[Judged]:
    """Each function's findings of every signal, in the order of signals()."""
    combined = [Judged() for _ in check.members]
    for found in (found for found in findings if found.functions):
        for own, judged in zip(combined, found.functions, strict=True):
            own.reasons += judged.reasons
            own.notes += judged.notes
            own.numbers |= judged.numbers
    return combined


def _row(member: RolloutPlan, own: Judged) -> FunctionCheck:
    return FunctionCheck.model_validate(
        {
            "functionName": member.functionName,
            "alias": member.alias,
            "healthy": not own.reasons,
            "reasons": own.reasons,
            **own.numbers,
        }
    )
