"""Table cells for a health check's numbers, shared by the single-rollout report (report.py)
and a release's (report_release.py); all text from the execution is escaped."""

from __future__ import annotations

from html import escape

from rollout_core.models import CheckResult, LogsSummary, VersionCounts

from rollout.view.run import CheckVerdict, check_verdict


def metrics_cell(metrics: VersionCounts | None) -> str:
    """A version's invocations, errors and error rate from the metrics."""
    if metrics is None:
        return "—"
    return (
        f"<b>v{escape(metrics.version)}</b> {metrics.errors}/{metrics.invocations} errors "
        f'<span class="rate">{metrics.rate:.2f}%</span>'
    )


def logs_line(logs: LogsSummary | None) -> str:
    """What the logs signal counted for the new version, as a line under the metrics."""
    if logs is None:
        return ""
    if not logs.enabled or logs.newVersion is None:
        return f'<div class="sub">logs {"not read" if logs.enabled else "off"}</div>'
    new = logs.newVersion
    return f'<div class="sub">logs: {new.failures}/{new.invocations} failed ({new.rate:.2f}%)</div>'


def traffic_cell(check: CheckResult) -> str:
    """Where the rollout stood when checked: the new version's percentage, or the bake."""
    where = f"{check.percentage:g}%" if check.percentage is not None else "—"
    return where + (" (bake)" if check.phase == "bake" else "")


PILLS = {
    CheckVerdict.HEALTHY: "good",
    CheckVerdict.LOW_TRAFFIC: "idle",
    CheckVerdict.NO_EVIDENCE: "idle",
    CheckVerdict.UNHEALTHY: "bad",
}


def pill_class(check: CheckResult) -> str:
    """A check's pill: good, bad, or "no evidence" and "low traffic" in the neutral tone,
    never green."""
    return PILLS[check_verdict(check)]
