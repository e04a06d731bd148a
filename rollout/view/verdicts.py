"""The canary judge's verdicts (rollout_core.health.verdict) as the views show them: each
check's outcome with its numbers, the steps extended for want of evidence, and the
report's section. `watch`, `status` and `report` all read them from here."""

from __future__ import annotations

from html import escape

from rollout_core.health import user_metrics, verdict
from rollout_core.models import CheckResult

from rollout.view.report_cdf import distributions
from rollout.view.run import Run

MARKS = {"pass": "✔", "marginal": "~", "fail": "✖", "inconclusive": "?"}
# The check's keys these lines show (a view that lists a check's other numbers skips them)
SHOWN_AS_LINES = frozenset({"canary", "verdict", "userMetrics"})


def lines(check: CheckResult) -> list[str]:
    """One line per check of each function, and per user metric: outcome, then its
    numbers."""
    return [
        f"{MARKS[v.outcome]} {v.outcome} " + (f"{name}: " if name else "") + v.why
        for name, judged in verdict.judgements(check)
        for v in judged.checks
    ] + [
        f"{MARKS[m.outcome]} {m.outcome}{' (dry run)' if m.dryRun else ''} "
        + (f"{name}: " if name else "")
        + m.why
        for name, m in user_metrics.of(check)
    ]


def signals(check: CheckResult) -> str | None:
    """`errors ✔ · latency ✖ · coldStarts ? · memory ✔ · p95 ✔ (dry run)`: each of the
    judge's signals' verdict in this check (and each user metric's), per function in a
    release."""
    found: dict[str | None, list[str]] = {}
    for name, judged in verdict.judgements(check):
        found.setdefault(name, []).extend(f"{v.check} {MARKS[v.outcome]}" for v in judged.checks)
    for name, metric in user_metrics.of(check):
        dry = " (dry run)" if metric.dryRun else ""
        found.setdefault(name, []).append(f"{metric.name} {MARKS[metric.outcome]}{dry}")
    parts = [(f"{name}: " if name else "") + " · ".join(items) for name, items in found.items()]
    return " | ".join(parts) if parts else None


def headline(check: CheckResult | None) -> str | None:
    """`verdict inconclusive` and the checks that made it, for one-line views."""
    found = verdict.of(check) if check is not None else None
    if check is None or found is None:
        return None
    named = sorted(
        {v.check for _, j in verdict.judgements(check) for v in j.checks if v.outcome == found}
    )
    return f"verdict {found}" + (f" ({', '.join(named)})" if named else "")


def extensions(run: Run) -> str | None:
    """`step 1 +2 checks (20 s)`: the steps an inconclusive verdict extended."""
    if not run.extensions:
        return None
    interval = run.plan.checkIntervalSeconds if run.plan else None
    parts = []
    for index, count in sorted(run.extensions.items()):
        where = "bake" if index >= len(run.steps) else f"step {index + 1}"
        seconds = f" ({count * interval} s)" if interval else ""
        parts.append(f"{where} +{count} check{'s' if count != 1 else ''}{seconds}")
    return ", ".join(parts)


def report_section(run: Run) -> str:
    """The report's table: every check the judge gave a verdict, why, with the numbers."""
    checks = [c for c in [*run.checks, *run.failed_checks] if verdict.of(c) is not None]
    if not checks:
        return ""
    ordered = sorted(checks, key=lambda c: c.at or run.started_at)
    rows = "".join(_row(check, run) for check in ordered)
    extended = extensions(run)
    note = f'<p class="note">Extended: {escape(extended)}</p>' if extended else ""
    return (
        '<section class="verdicts"><h2>Canary judge</h2>'
        '<p class="note">Each check compares the new version with the stable one on every '
        "invocation both served in the window: errors by an exact test, settled durations "
        "and init durations by a Mann-Whitney U test within time slices (each new duration "
        "against the stable ones served at the same time) with the tolerance, memory against "
        "its limit. Beside each check, both versions' distributions over the whole window "
        f'(cumulative, from the quantiles it keeps).</p>{note}<table class="checks"><thead>'
        "<tr><th>at</th><th>verdict</th><th>why</th><th>distributions</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


_TONE = {"pass": "good", "marginal": "caught", "inconclusive": "caught", "fail": "bad"}


def _row(check: CheckResult, run: Run) -> str:
    found = verdict.of(check) or "pass"
    at = check.at or run.started_at
    why = "".join(f'<div class="note">{escape(line)}</div>' for line in lines(check))
    charts = "".join(
        distributions(v)
        for _, judged in verdict.judgements(check)
        for v in judged.checks
        if v.check in ("latency", "coldStarts")
    )
    return (
        f"<tr><td>{escape(f'{at:%H:%M:%S}')}</td>"
        f'<td><span class="pill {_TONE[found]}">{escape(found)}</span></td><td>{why}</td>'
        f'<td class="cdfs">{charts}</td></tr>'
    )
