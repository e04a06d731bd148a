"""`rollout report` of a pipeline of waves: one self-contained HTML page. A summary, a table
of waves and targets (each outcome and health, what it moved, and the command that reports its own
rollout), and one time axis on which every target's rollout, every bake and every hold is
drawn, so when each target moved reads across the whole pipeline."""

from __future__ import annotations

from datetime import datetime
from html import escape

from rollout_core.pipeline.names import PipelineState as S

from rollout.view.pipeline import PipelineRun, lines

ROW, LEFT, WIDTH = 24, 240, 960
COLOURS = {"succeeded": "#2e7d32", "failed": "#c62828", "restored": "#ef6c00"}


def build_pipeline_report(run: PipelineRun) -> str:
    name = run.name
    summary = "".join(f"<li>{escape(line)}</li>" for line in lines(run))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Pipeline {escape(name)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left}code{font-size:90%}</style></head><body>"
        f"<h1>Pipeline {escape(name)}</h1><p>{escape(run.status)}"
        + (f": {escape(run.error or '')} — {escape(run.cause or '')}" if run.error else "")
        + f"</p><ul>{summary}</ul>"
        + _table(run)
        + "<h2>When each target moved</h2>"
        + _time_axis(run)
        + "</body></html>"
    )


def _table(run: PipelineRun) -> str:
    rows = []
    for name, bake, targets in run.waves():
        for view in targets:
            rows.append(
                f"<tr><td>{escape(name)} (bake {bake} s)</td><td>{escape(view.label)}</td>"
                f"<td>{escape(view.verdict)}</td><td>{escape(view.health)}</td>"
                f"<td>{escape(view.versions)}</td><td>{escape(view.why or '')}</td>"
                f"<td><code>rollout report {escape(view.target.executionArn)}</code></td></tr>"
            )
    head = (
        "<tr><th>wave</th><th>target</th><th>outcome</th><th>health</th><th>moved</th><th>why</th>"
    )
    return f"<table>{head}<th>its own rollout</th></tr>{''.join(rows)}</table>"


def _time_axis(run: PipelineRun) -> str:
    """An SVG: a row per target (its rollout's span), a row for the pipeline's holds and
    bakes; one horizontal scale from the pipeline's start to its end (or now)."""
    if run.started is None:
        return "<p>not started</p>"
    start = run.started
    end = run.end or start
    span = max((end - start).total_seconds(), 1.0)

    def x(moment: datetime | None) -> float:
        seconds = 0.0 if moment is None else (moment - start).total_seconds()
        return LEFT + (WIDTH - LEFT) * max(0.0, min(seconds / span, 1.0))

    views = [view for _, _, targets in run.waves() for view in targets]
    height = ROW * (len(views) + 3)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}'>"]
    for row, view in enumerate(views):
        y = ROW * row + 4
        label = f"w{view.target.wave + 1} {view.label}"
        parts.append(f"<text x='4' y='{y + 14}' font-size='12'>{escape(label)}</text>")
        if view.moved_at is not None:
            left, right = x(view.moved_at), x(view.ended_at or end)
            colour = COLOURS.get(view.verdict, "#1565c0")
            parts.append(
                f"<rect x='{left:.1f}' y='{y}' width='{max(right - left, 2):.1f}' "
                f"height='{ROW - 8}' fill='{colour}'><title>{escape(view.verdict)}</title></rect>"
            )
    y = ROW * len(views) + 4
    parts.append(f"<text x='4' y='{y + 14}' font-size='12'>bakes and holds</text>")
    for state, moment, after in run.holds():
        colour = "#9e9e9e" if state == S.BAKE_WAVE else "#fbc02d"
        parts.append(
            f"<rect x='{x(moment):.1f}' y='{y}' width='{max(x(after) - x(moment), 1):.1f}' "
            f"height='{ROW - 8}' fill='{colour}'><title>{escape(state)}</title></rect>"
        )
    axis = ROW * (len(views) + 1) + 16
    parts.append(
        f"<text x='{LEFT}' y='{axis}' font-size='12'>{start:%H:%M:%S}</text>"
        f"<text x='{WIDTH - 60}' y='{axis}' font-size='12'>{end:%H:%M:%S}</text></svg>"
    )
    return "".join(parts)
