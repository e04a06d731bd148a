"""The report's "Traffic sources" section: how each rolled function is invoked, as Prepare
found it (`plan.traffic`), bypasses marked; what could not be read is in the plan's notes."""

from __future__ import annotations

from html import escape

from rollout_core.models import FunctionTraffic, TrafficSource

from rollout.view.run import Run
from rollout.view.traffic import is_bypass


def sources_section(run: Run) -> str:
    plan = run.plan
    if plan is None or not plan.traffic:
        return ""
    rows = [
        "<tr>"
        f"<td>{escape(f'{found.functionName}:{found.alias}')}</td>"
        f"<td>{escape(source.source)}"
        + (f'<div class="sub">{escape(source.detail)}</div>' if source.detail else "")
        + f"</td><td>{escape(source.kind)}</td><td>{escape(source.qualifier)}</td>"
        f"<td>{_pill(found, source)}</td></tr>"
        for found in plan.traffic
        for source in found.sources
    ]
    unread = [note for found in plan.traffic for note in found.unread]
    notes = "".join(f'<div class="note">not read: {escape(note)}</div>' for note in unread)
    if not rows:
        body = '<p class="empty">No source found: only direct invokes reach the functions.</p>'
    else:
        head = "<tr><th>function</th><th>source</th><th>kind</th><th>invokes</th><th></th></tr>"
        body = f'<table class="checks"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
    return (
        f'<section class="sources"><h2>Traffic sources</h2><p class="note">How Prepare found '
        f"each function invoked (bypass: {escape(plan.bypass)}); a source on another "
        f"qualifier than the alias bypasses the rollout's weights.</p>{body}{notes}</section>"
    )


def _pill(found: FunctionTraffic, source: TrafficSource) -> str:
    if not source.enabled:
        return '<span class="pill idle">disabled</span>'
    if is_bypass(found, source):
        return '<span class="pill bad">bypass</span>'
    return '<span class="pill good">through the alias</span>'
