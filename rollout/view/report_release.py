"""The report's parts for a release of several functions: the Functions table (one row per
function: versions, weight, health, verdict, rollback), the traffic chart with one line per
function, each function's error rate, and the health checks with a row per function.

Rows come from rollout/view/release.py, like `rollout watch` and `rollout status`; all
text from the execution is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from rollout_core.models import CheckResult, FunctionCheck

from rollout.view.release import FunctionRow, Verdict, function_rows, own_check
from rollout.view.report_cells import logs_line, metrics_cell, pill_class, traffic_cell
from rollout.view.report_chart import (
    Moment,
    clock_at,
    function_class,
    release_error_rate_chart,
    release_weight_chart,
)
from rollout.view.run import Run, check_verdict

_VERDICT_TONE = {
    Verdict.HEALTHY: "good",
    Verdict.LOW_TRAFFIC: "idle",
    Verdict.NO_EVIDENCE: "idle",
    Verdict.FAILED: "bad",
    Verdict.PENDING: "running",
    Verdict.NOT_JUDGED: "idle",
}


def functions_section(run: Run) -> str:
    """One row per function; left-out entries (already live) are listed under it."""
    rows = function_rows(run)
    head = (
        "<tr><th>function:alias</th><th>stable → new</th><th>weight</th>"
        "<th>health (last check)</th><th>verdict</th><th>rollback</th></tr>"
    )
    body = "".join(_function_row(index, row) for index, row in enumerate(rows))
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in _left_out(run))
    empty = '<p class="empty">No function left to roll out.</p>' if not rows else ""
    return (
        f'<section class="functions"><h2>Functions ({len(rows)})</h2>{empty}'
        f'<table class="functions"><thead>{head}</thead><tbody>{body}</tbody></table>'
        f"{notes}</section>"
    )


def _left_out(run: Run) -> list[str]:
    return [note for note in (run.plan.notes if run.plan else []) if "left out" in note]


def _function_row(index: int, row: FunctionRow) -> str:
    weight = "?" if row.weight is None else f"{row.weight * 100:g}%"
    reasons = "".join(f'<div class="why">{escape(r)}</div>' for r in row.reasons)
    failed = ' class="failed"' if row.verdict is Verdict.FAILED else ""
    return (
        f'<tr{failed}><td class="name {function_class(index)}"><span class="key"></span>'
        f"{escape(row.name)}</td>"
        f"<td>{escape(row.stable_version or '?')} → {escape(row.target_version or '?')}</td>"
        f"<td>{escape(weight)}</td><td>{_health_cell(row.check)}</td>"
        f'<td><span class="pill {_VERDICT_TONE[row.verdict]}">{escape(row.verdict.value)}'
        f"</span>{reasons}</td><td>{_rollback_cell(row)}</td></tr>"
    )


def _health_cell(check: FunctionCheck | None) -> str:
    if check is None:
        return '<span class="sub">no check yet</span>'
    return metrics_cell(check.newVersion) + logs_line(check.logs)


def _rollback_cell(row: FunctionRow) -> str:
    if row.restored is None and row.restore_detail is None:
        return "—"
    label = {True: "restored", False: "NOT restored", None: "see cause"}[row.restored]
    tone = "good" if row.restored else "bad"
    detail = f'<div class="sub">{escape(row.restore_detail)}</div>' if row.restore_detail else ""
    return f'<span class="pill {tone}">{label}</span>{detail}'


# -- charts -----------------------------------------------------------------------------


def traffic_chart(run: Run, ended: datetime, moments: list[Moment]) -> str:
    """One line per function, labelled in the legend under the chart."""
    rows = function_rows(run)
    lines = [(row.name, row.weights) for row in rows]
    chart = release_weight_chart(
        lines, run.started_at, ended, not run.outcome.finished, run.weights, moments
    )
    return chart + legend([row.name for row in rows])


def error_rate_chart(run: Run, ended: datetime) -> str | None:
    """Each function's new version's error rate at each check; None before any check."""
    checks = sorted(
        (c for c in [*run.checks, *run.failed_checks] if c.functions),
        key=lambda c: c.at or run.started_at,
    )
    rows = function_rows(run)
    series = [(row.name, _rates(checks, row)) for row in rows]
    if not any(values for _, values in series):
        return None
    limit = run.plan.health.errorRatePercent if run.plan and run.plan.health else None
    chart = release_error_rate_chart(series, run.started_at, ended, limit)
    return chart + legend([row.name for row in rows], "new version of ")


def _rates(checks: list[CheckResult], row: FunctionRow) -> list[tuple[datetime | None, float]]:
    values = []
    for check in checks:
        own = own_check(check, row)
        if own is not None and own.newVersion is not None:
            values.append((check.at, own.newVersion.rate))
    return values


def legend(names: list[str], prefix: str = "") -> str:
    items = "".join(
        f'<li class="{function_class(index)}"><span class="key"></span>{escape(prefix + name)}</li>'
        for index, name in enumerate(names)
    )
    return f'<ul class="fn-legend">{items}</ul>'


# -- health checks ----------------------------------------------------------------------


def check_rows(check: CheckResult, run: Run, failed: bool) -> str:
    """One check of a release: its time, traffic, result and alarms once, then a line per
    function with its own numbers and reasons."""
    rows = function_rows(run)
    own = [own_check(check, row) for row in rows]
    span = max(len(rows), 1)
    result = "failed" if failed else check_verdict(check).value
    alarms = ", ".join(f"{name}: {state}" for name, state in check.alarms.items()) or "—"
    notes = "".join(
        f'<div class="note">{escape(n)}</div>'
        for n in [*check.reasons, *check.notes]
        if not any(n.endswith(r) for f in own if f for r in f.reasons)
    )
    first = (
        f'<td rowspan="{span}">{escape(clock_at(check.at, run.started_at) if check.at else "—")}'
        f'</td><td rowspan="{span}">{escape(traffic_cell(check))}</td><td rowspan="{span}">'
        f'<span class="pill {pill_class(check)}">{result}</span>{notes}</td>'
        f'<td rowspan="{span}">{escape(alarms)}</td>'
    )
    lines = []
    for index, (row, mine) in enumerate(zip(rows, own, strict=True)):
        lines.append(_check_line(index, row, mine, first if index == 0 else "", failed))
    return "".join(lines) or f'<tr class="failed">{first}<td colspan="4">—</td></tr>'


def _check_line(
    index: int, row: FunctionRow, own: FunctionCheck | None, first: str, failed: bool
) -> str:
    """A function's line of a check; tinted when it failed (a failed check without this
    function's numbers tints every line: which one failed is then in its message)."""
    bad = own is not None and not own.healthy
    reasons = "".join(f'<div class="note">{escape(r)}</div>' for r in (own.reasons if own else ()))
    tone = ' class="failed"' if bad or (failed and own is None) else ""
    return (
        f'<tr{tone}>{first}<td class="fn-cell {function_class(index)}">{escape(row.name)}'
        f"{reasons}</td><td>{metrics_cell(own.newVersion if own else None)}</td>"
        f"<td>{metrics_cell(own.stableVersion if own else None)}</td>"
        f"<td>{logs_line(own.logs if own else None) or '—'}</td></tr>"
    )


CHECKS_HEAD = (
    "<tr><th>at</th><th>traffic</th><th>result</th><th>alarms</th><th>function</th>"
    "<th>new version</th><th>stable version</th><th>logs</th></tr>"
)
