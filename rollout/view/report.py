"""`rollout report`: one self-contained HTML page about one rollout execution.

Built only from the run model (DescribeExecution, DescribeStateMachineForExecution and
GetExecutionHistory), so it works for executions on AWS and on the local cloud. Inline CSS
and SVG, no script, no external resource: the file can be mailed or attached to a ticket.
Everything that comes from the execution (input, outputs, errors) is user data and escaped.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from rollout_core.models import CheckResult, ControlRecord, PriorRollback

from rollout.view import report_release, report_traffic, verdicts
from rollout.view.report_cells import logs_line, metrics_cell, pill_class, traffic_cell
from rollout.view.report_chart import Moment, clock, clock_at, error_rate_chart, weight_chart
from rollout.view.report_graph import NOT_REACHED, marks, render_graph, taken_edges
from rollout.view.report_style import CSS
from rollout.view.run import (
    CheckVerdict,
    Outcome,
    Run,
    StateVisit,
    VisitStatus,
    cause_summary,
    check_verdict,
)

UNCHANGED = "… unchanged"

_OUTCOME_TONE = {
    Outcome.RUNNING: "running",
    Outcome.SUCCEEDED: "good",
    Outcome.SKIPPED: "good",
    Outcome.NOOP: "good",
    Outcome.DUPLICATE: "good",
    Outcome.DRY_RUN: "good",
    Outcome.PIPELINE: "good",
}
_STATUS_LEGEND = [
    (VisitStatus.SUCCEEDED.value, "succeeded"),
    (VisitStatus.CAUGHT.value, "failed, caught"),
    (VisitStatus.FAILED.value, "failed"),
    (VisitStatus.RUNNING.value, "running"),
    (NOT_REACHED, "not reached"),
]


def default_path(run: Run) -> Path:
    """./rollout-report-<execution name>.html (names are already file-safe on AWS)."""
    return Path(f"rollout-report-{re.sub(r'[^A-Za-z0-9_.-]+', '-', run.name)}.html")


def build_report(run: Run, now: datetime | None = None) -> str:
    """The whole page; `now` ends the time axis of a run still going."""
    ended = run.stopped_at or now or datetime.now(UTC)
    title = f"Rollout {run.function or run.name}" + (f":{run.alias}" if run.alias else "")
    if run.is_release:
        title = run.title[0].upper() + run.title[1:]
    body = "".join(
        [
            _header(run, title),
            _summary(run, ended),
            report_release.functions_section(run) if run.is_release else "",
            report_traffic.sources_section(run),
            _traffic_and_health(run, ended),
            _workflow(run),
            _timeline(run, ended),
            f"<footer>Generated {escape(_iso(now or datetime.now(UTC)))} by <code>rollout report"
            f"</code> from {escape(run.execution_arn)}</footer>",
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} — {escape(run.name)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


# -- summary ----------------------------------------------------------------------------


def _header(run: Run, title: str) -> str:
    tone = _OUTCOME_TONE.get(run.outcome, "bad")
    return (
        f'<header><div><h1>{escape(title)}</h1><p class="sub">execution '
        f"<code>{escape(run.name)}</code>"
        + (f" of {escape(run.state_machine_name)}" if run.state_machine_name else "")
        + f'</p></div><span class="outcome {tone}">{escape(run.outcome.value)}</span></header>'
    )


def _summary(run: Run, ended: datetime) -> str:
    versions = f"{run.stable_version or '?'} → {run.target_version or '?'}"
    steps = " → ".join(f"{s.percentage:g}%" for s in run.steps)
    strategy = (run.strategy or "—") + (f" ({steps} → 100%)" if steps else "")
    duration = clock((ended - run.started_at).total_seconds())
    who = [
        ("Function", run.function or "—"),
        ("Alias", run.alias or "—"),
        ("Stable → new version", versions),
    ]
    if run.is_release:  # each function's alias and versions: the Functions table
        who = [("Release", f"{len(run.function_names)} functions, shifted together")]
    rows = [
        *who,
        ("Strategy", strategy),
        ("Outcome", run.outcome.value),
        ("Started", _iso(run.started_at)),
        ("Duration", duration + (" so far" if not run.outcome.finished else "")),
        ("Health checks", _check_count(run)),
        ("Alarms", ", ".join(run.plan.alarms if run.plan else []) or "none"),
        ("Started by", STARTED_BY[run.plan.source] if run.plan else "—"),
    ]
    priors = run.plan.rolledBackBefore if run.plan else []  # refused, or rolled out again
    rows += [("Rolled back before", "; ".join(map(_rolled_back_by, priors)))] if priors else []
    extended = verdicts.extensions(run)  # steps an inconclusive verdict extended
    rows += [("Extended", extended)] if extended else []
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in rows)
    return (
        f'<section class="summary"><dl>{items}</dl><p class="reason {_tone(run)}">'
        f"<strong>Reason</strong> {escape(run.reason)}</p></section>"
    )


# The plan's `source`: "console" is any StartExecution with a rollout input (the console,
# the CLI, CI, a pipeline); "eventbridge" the PublishVersion trigger's.
STARTED_BY = {
    "console": "StartExecution (console, CLI or CI)",
    "eventbridge": "EventBridge (a PublishVersion)",
}


def _rolled_back_by(prior: PriorRollback) -> str:
    return (
        f"{prior.functionName}:{prior.alias} version {prior.version} by {prior.executionId} "
        f"at {prior.at} ({prior.error})"
    )


def _check_count(run: Run) -> str:
    """Passed checks apart from those on low traffic or no evidence (health/evidence.py),
    never counted as passed."""
    verdicts = Counter(check_verdict(c) for c in run.checks)
    failed = verdicts[CheckVerdict.UNHEALTHY] + len(_failed_checks(run))
    if not run.checks and not failed:
        return "none"
    thin = [
        (CheckVerdict.LOW_TRAFFIC, "on low traffic"),
        (CheckVerdict.NO_EVIDENCE, "with no evidence"),
    ]
    return ", ".join(
        [f"{verdicts[CheckVerdict.HEALTHY]} passed"]
        + [f"{verdicts[kind]} {words}" for kind, words in thin if verdicts[kind]]
        + [f"{failed} failed"]
    )


def _tone(run: Run) -> str:
    return _OUTCOME_TONE.get(run.outcome, "bad")


# -- workflow graph ---------------------------------------------------------------------


def _workflow(run: Run) -> str:
    if not run.definition:
        return '<section class="workflow"><h2>Workflow</h2><p>No definition.</p></section>'
    graph = render_graph(run.definition, marks(run.visits), taken_edges(run.visits))
    legend = "".join(
        f'<li><span class="swatch {key.replace(" ", "-")}"></span>{escape(text)}</li>'
        for key, text in _STATUS_LEGEND
    )
    return (
        '<section class="workflow"><h2>Workflow</h2><div class="graph-box">'
        f'<div class="graph-scroll">{graph}</div><div class="graph-side"><ul class="legend">'
        f'{legend}<li><span class="line taken"></span>path taken</li>'
        '<li><span class="line"></span>not taken</li>'
        '<li><span class="line catch"></span>on error (Catch)</li>'
        '<li><span class="count">\u00d73</span>times run</li></ul>'
        '<p class="note">Drawn from the definition this execution ran. Hover a state or an '
        "edge for details.</p></div></div></section>"
    )


# -- traffic and health -----------------------------------------------------------------


def _traffic_and_health(run: Run, ended: datetime) -> str:
    if not run.weights and not run.checks and not _failed_checks(run):
        return (
            '<section class="traffic"><h2>Traffic and health</h2><p class="empty">No '
            "traffic was moved to the new version and no health check ran.</p></section>"
        )
    return (
        '<div class="columns">'
        + _traffic(run, ended)
        + _error_rates(run, ended)
        + "</div>"
        + _health(run)
        + verdicts.report_section(run)
    )


def _traffic(run: Run, ended: datetime) -> str:
    heading = f"Traffic on version {escape(run.target_version or '?')}"
    if run.is_release:
        heading = "Traffic on each function's new version"
    if not run.weights:
        return (
            f'<section class="traffic"><h2>{heading}</h2>'
            '<p class="empty">No traffic was moved to the new version.</p></section>'
        )
    moments = [Moment(c.at, c.healthy, _check_title(c, run)) for c in run.checks if c.at]
    moments += [
        Moment(v.exited_at or v.entered_at, False, cause_summary(v.cause))
        for v in _failed_checks(run)
    ]
    if run.is_release:
        chart = report_release.traffic_chart(run, ended, moments)
        return (
            f'<section class="traffic"><h2>{heading}</h2>{chart}<p class="note">Share of '
            "each alias's traffic on its new version, one line per function (every alias "
            "moves together: the lines are drawn a few pixels apart); dots under the axis "
            "are health checks (red: failed).</p></section>"
        )
    chart = weight_chart(run.weights, run.started_at, ended, not run.outcome.finished, moments)
    return (
        f'<section class="traffic"><h2>{heading}</h2>{chart}<p class="note">Share of the '
        "alias traffic on the new version; dots under the axis are health checks "
        "(red: failed).</p></section>"
    )


def _error_rates(run: Run, ended: datetime) -> str:
    heading = "<h2>Error rate at each health check</h2>"
    measured = sorted(
        [*run.checks, *run.failed_checks], key=lambda c: c.at or run.started_at
    )  # the failing check's numbers come from its error's data (run.failed_check)
    if not any(c.newVersion or c.stableVersion for c in measured):
        why = (
            "a failed check gives its numbers in its message (below)"
            if _failed_checks(run)
            else "no health check ran"
        )
        return (
            f'<section class="rates">{heading}<p class="empty">No measurements: {why}.</p>'
            "</section>"
        )
    if run.is_release:
        return _release_error_rates(run, ended, heading)
    threshold = run.plan.health.errorRatePercent if run.plan and run.plan.health else None
    chart = error_rate_chart(measured, run.started_at, ended, threshold)
    return (
        f'<section class="rates">{heading}{chart}<p class="note">Errors ÷ invocations in '
        "each check's window; the new version fails a check above the threshold (and, "
        "when compared to stable, above the stable version).</p></section>"
    )


def _release_error_rates(run: Run, ended: datetime, heading: str) -> str:
    chart = report_release.error_rate_chart(run, ended)
    if chart is None:
        return f'<section class="rates">{heading}<p class="empty">No measurements.</p></section>'
    return (
        f'<section class="rates">{heading}{chart}<p class="note">Errors ÷ invocations of '
        "each function's new version in each check's window; each is judged against its "
        "own stable version (the health checks below).</p></section>"
    )


def _health(run: Run) -> str:
    failed = _failed_checks(run)
    if not run.checks and not failed:
        return (
            '<section class="health"><h2>Health checks</h2>'
            '<p class="empty">No health check ran.</p></section>'
        )
    row = report_release.check_rows if run.is_release else _check_row
    rows = [(c.at or run.started_at, row(c, run, False)) for c in run.checks]
    rows += [
        (
            v.exited_at or v.entered_at,
            row(v.check, run, True) if v.check else _failed_row(v, run),
        )
        for v in failed
    ]
    head = (
        "<tr><th>at</th><th>traffic</th><th>result</th><th>alarms</th>"
        "<th>new version</th><th>stable version</th></tr>"
    )
    if run.is_release:
        head = report_release.CHECKS_HEAD
    body = "".join(row for _, row in sorted(rows, key=lambda pair: pair[0]))
    return (
        f'<section class="health"><h2>Health checks</h2>'
        f'<table class="checks"><thead>{head}</thead><tbody>{body}</tbody></table></section>'
    )


def _failed_checks(run: Run) -> list[StateVisit]:
    """Checks that raised HealthCheckFailed; their numbers, when the error carries them as
    data, are in `visit.check` (and `run.failed_checks`)."""
    return run.failed_check_visits


def _check_row(check: CheckResult, run: Run, failed: bool = False) -> str:
    """One check; `failed`: it raised HealthCheckFailed (its numbers came with the error)."""
    alarms = ", ".join(f"{name}: {state}" for name, state in check.alarms.items()) or "—"
    notes = "".join(f'<div class="note">{escape(n)}</div>' for n in [*check.reasons, *check.notes])
    result = "failed" if failed else check_verdict(check).value
    row = '<tr class="failed">' if failed else "<tr>"
    return (
        f"{row}<td>{escape(_at(check.at, run))}</td><td>{escape(traffic_cell(check))}</td>"
        f'<td><span class="pill {pill_class(check)}">{result}</span>{notes}</td>'
        f"<td>{escape(alarms)}</td><td>{metrics_cell(check.newVersion)}{logs_line(check.logs)}"
        f"</td><td>{metrics_cell(check.stableVersion)}</td></tr>"
    )


def _failed_row(visit: StateVisit, run: Run) -> str:
    return (
        f'<tr class="failed"><td>{escape(_at(visit.exited_at or visit.entered_at, run))}'
        f'</td><td>{escape(visit.name)}</td><td><span class="pill bad">failed</span></td>'
        f'<td colspan="{6 if run.is_release else 3}">{escape(cause_summary(visit.cause))}'
        "</td></tr>"
    )


def _check_title(check: CheckResult, run: Run) -> str:
    new = check.newVersion
    rate = f", new version {new.rate:.2f}% errors" if new else ""
    return f"check at {_at(check.at, run)}: {check_verdict(check).value}{rate}"


# -- timeline ---------------------------------------------------------------------------


def _timeline(run: Run, ended: datetime) -> str:
    rows = [_start_row(run)]
    previous_output: str | None = None
    actions = list(run.operator_actions)
    for visit in run.visits:
        while actions and _when(actions[0], run) <= visit.entered_at:
            rows.append(_operator_row(actions.pop(0), run))
        rows.append(_visit_row(visit, run, previous_output))
        previous_output = visit.output
    rows.extend(_operator_row(action, run) for action in actions)
    rows.append(_end_row(run, ended))
    return (
        '<section class="timeline"><h2>Timeline</h2><p class="note">Each state the run '
        "passed through. Outputs show what the state changed; unchanged keys are folded."
        f'</p><ol class="events">{"".join(rows)}</ol></section>'
    )


def _start_row(run: Run) -> str:
    return _row(
        run.started_at, run, "start", "Execution started", "", _details("input", _pretty(run.input))
    )


def _end_row(run: Run, ended: datetime) -> str:
    if not run.outcome.finished:
        return _row(ended, run, "running", "Still running", run.reason, "")
    details = _details("output", _pretty(run.output)) if run.output else ""
    if run.cause:
        details += _details("cause", _pretty_text(run.cause))
    label = f"Execution {run.status.lower().replace('_', ' ')}"
    return _row(run.stopped_at or run.started_at, run, _tone(run), label, run.reason, details)


def _visit_row(visit: StateVisit, run: Run, previous_output: str | None) -> str:
    took = ""
    if visit.exited_at is not None:
        took = f" · {clock((visit.exited_at - visit.entered_at).total_seconds())}"
    retries = f" · {visit.retries} retries" if visit.retries else ""
    title = (
        f'{escape(visit.name)} <span class="kind">{escape(visit.type)}{took}{retries}</span>'
        f'<span class="pill {visit.status.value}">{escape(visit.status.value)}</span>'
    )
    detail = ""
    if visit.error:
        detail = f"{visit.error}: {cause_summary(visit.cause)}" if visit.cause else visit.error
    details = ""
    if visit.input is not None and visit.input != previous_output:
        details += _details("input", _pretty_text(visit.input))
    if visit.output is not None:
        details += _details("output", _changes(visit.input, visit.output))
    if visit.cause and cause_summary(visit.cause) != visit.cause.strip():
        details += _details("error details", _pretty_text(visit.cause))
    return _row(visit.entered_at, run, visit.status.value, title, detail, details, raw_title=True)


def _operator_row(action: ControlRecord, run: Run) -> str:
    """An operator's control (or an approval gate's timeout): what, who, why, where."""
    title = f"Operator: {action.action}"
    where = f" in {action.state}" if action.state else ""
    detail = f"by {action.by}{where} — {action.reason} ({action.result})"
    return _row(_when(action, run), run, "operator", title, detail, "")


def _when(action: ControlRecord, run: Run) -> datetime:
    return action.appliedAt or run.started_at


def _row(
    at: datetime,
    run: Run,
    tone: str,
    title: str,
    detail: str,
    details: str,
    raw_title: bool = False,
) -> str:
    when = escape(_at(at, run))
    heading = title if raw_title else escape(title)
    text = f'<div class="detail">{escape(detail)}</div>' if detail else ""
    return (
        f'<li class="{escape(tone)}"><time>{when}</time><div class="what">'
        f'<div class="title">{heading}</div>{text}{details}</div></li>'
    )


def _details(label: str, text: str) -> str:
    return f"<details><summary>{escape(label)}</summary><pre>{escape(text)}</pre></details>"


def _changes(before: str | None, after: str) -> str:
    """The output with the top-level keys it shares unchanged with the input folded."""
    old, new = _loads(before), _loads(after)
    if not isinstance(new, dict):
        return _pretty_text(after)
    if not isinstance(old, dict):
        return _pretty(new)
    return _pretty({k: UNCHANGED if old.get(k, object()) == v else v for k, v in new.items()})


def _pretty_text(text: str) -> str:
    value = _loads(text)
    return text if value is None else _pretty(value)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


# -- small helpers ----------------------------------------------------------------------


def _at(at: datetime | None, run: Run) -> str:
    return "—" if at is None else clock_at(at, run.started_at)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
