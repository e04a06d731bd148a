"""Inline SVG charts for the run report: the new version's traffic share over time, and the
error rates each health check saw. Plain SVG, no script, so the report works offline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from rollout_core.models import CheckResult
from rollout_core.names import State

from rollout.view.run import WeightPoint

WIDTH, HEIGHT = 600.0, 230.0
LEFT, RIGHT, TOP, BOTTOM = 48.0, 20.0, 26.0, 40.0  # plot margins: axis labels live here


@dataclass(frozen=True)
class Moment:
    """Something to mark on the time axis (a health check, a failed check)."""

    at: datetime
    ok: bool
    text: str


@dataclass(frozen=True)
class _Scale:
    seconds: float
    top: float  # the y value at the top of the plot

    def x(self, seconds: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * min(max(seconds, 0.0), self.seconds) / self.seconds

    def y(self, value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - min(value, self.top) / self.top)


def weight_chart(
    points: Sequence[WeightPoint],
    started: datetime,
    ended: datetime,
    running: bool,
    moments: Sequence[Moment] = (),
) -> str:
    """The share of traffic on the new version as a step line, each change labelled;
    `moments` (health checks) are dots under the time axis, red when a check failed."""
    scale = _Scale(max((ended - started).total_seconds(), 1.0), 100.0)
    parts = [_grid(scale, [0, 25, 50, 75, 100], "%")]
    line = _step_line(points, started, ended, scale)
    parts.append(
        f'<path class="area" d="{line} L{scale.x(scale.seconds):.1f},{scale.y(0):.1f} '
        f'L{scale.x(0):.1f},{scale.y(0):.1f} Z"/>'
    )
    parts.append(f'<path class="line{" running" if running else ""}" d="{line}"/>')
    parts.extend(_weight_marker(p, started, scale) for p in points if p.state != "start")
    parts.extend(_moment(m, started, scale) for m in moments)
    return _svg("traffic chart", "".join(parts))


FUNCTION_COLOURS = 10  # CSS classes fn-0 … fn-9 (report_style); more functions reuse them
SPREAD = 8.0  # px: identical weights of several aliases drawn side by side, not on top


def function_class(index: int) -> str:
    """The colour class of a release's `index`th function, in charts and their legends."""
    return f"fn-{index % FUNCTION_COLOURS}"


def release_weight_chart(
    lines: Sequence[tuple[str, Sequence[WeightPoint]]],
    started: datetime,
    ended: datetime,
    running: bool,
    markers: Sequence[WeightPoint] = (),
    moments: Sequence[Moment] = (),
) -> str:
    """A release: one step line per function (`lines`: label, its weights), each in its own
    colour and titled with its function:alias. Every alias moves to the same weight, so the
    lines are drawn a few pixels apart to stay visible; the release's weight changes
    (`markers`) are labelled once."""
    scale = _Scale(max((ended - started).total_seconds(), 1.0), 100.0)
    parts = [_grid(scale, [0, 25, 50, 75, 100], "%")]
    for index, (label, points) in enumerate(lines):
        offset = _offset(index, len(lines))
        line = _step_line(points, started, ended, scale)
        parts.append(
            f'<g class="function {function_class(index)}" transform="translate(0 {offset:.1f})">'
            f"<title>{escape(label)}</title>"
            f'<path class="line{" running" if running else ""}" d="{line}"/></g>'
        )
    parts.extend(_weight_marker(p, started, scale) for p in markers if p.state != "start")
    parts.extend(_moment(m, started, scale) for m in moments)
    return _svg("traffic chart, one line per function", "".join(parts))


def _offset(index: int, count: int) -> float:
    if count < 2:
        return 0.0
    step = min(3.0, SPREAD / (count - 1))
    return (index - (count - 1) / 2) * step


def release_error_rate_chart(
    series: Sequence[tuple[str, Sequence[tuple[datetime | None, float]]]],
    started: datetime,
    ended: datetime,
    threshold: float | None,
) -> str:
    """A release: each function's new version's error rate at each check (`series`: label,
    (at, rate) pairs), in the colours of the traffic chart, with the plan's threshold."""
    rates = [rate for _, values in series for _, rate in values]
    top = _nice_top(max([*rates, threshold or 0.0, 1.0]))
    scale = _Scale(max((ended - started).total_seconds(), 1.0), top)
    parts = [_grid(scale, [top * i / 4 for i in range(5)], "%")]
    if threshold is not None:
        parts.append(_threshold(scale, threshold))
    for index, (label, values) in enumerate(series):
        drawn = _series(f"fn {function_class(index)}", values, started, scale)
        parts.append(drawn.replace(">", f"><title>{escape(label)}</title>", 1) if drawn else "")
    return _svg("error rate chart, one series per function", "".join(parts))


def error_rate_chart(
    checks: Sequence[CheckResult],
    started: datetime,
    ended: datetime,
    threshold: float | None,
) -> str:
    """New against stable error rate at each check, with the plan's threshold."""
    timed = [c for c in checks if c.at is not None]
    rates = [m.rate for c in timed for m in (c.newVersion, c.stableVersion) if m is not None]
    top = _nice_top(max([*rates, threshold or 0.0, 1.0]))
    scale = _Scale(max((ended - started).total_seconds(), 1.0), top)
    parts = [_grid(scale, [top * i / 4 for i in range(5)], "%")]
    if threshold is not None:
        parts.append(_threshold(scale, threshold))
    for series, pick in (("stable", lambda c: c.stableVersion), ("new", lambda c: c.newVersion)):
        values = [(c.at, pick(c).rate) for c in timed if pick(c) is not None]
        parts.append(_series(series, values, started, scale))
    parts.append(_legend([("new", "new version"), ("stable", "stable version")]))
    return _svg("error rate chart", "".join(parts))


# -- pieces -----------------------------------------------------------------------------


def _svg(label: str, body: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" width="{WIDTH:.0f}" height="{HEIGHT:.0f}">'
        f"{body}</svg>"
    )


def _threshold(scale: _Scale, threshold: float) -> str:
    y = scale.y(threshold)
    return (
        f'<path class="threshold" d="M{LEFT:.1f},{y:.1f} H{WIDTH - RIGHT:.1f}"/>'
        f'<text class="threshold-label" x="{WIDTH - RIGHT:.1f}" y="{y - 4:.1f}">'
        f"threshold {threshold:g}%</text>"
    )


def _grid(scale: _Scale, levels: Sequence[float], unit: str) -> str:
    parts = []
    for level in levels:
        y = scale.y(level)
        parts.append(
            f'<path class="grid" d="M{LEFT:.1f},{y:.1f} H{WIDTH - RIGHT:.1f}"/>'
            f'<text class="axis y" x="{LEFT - 6:.1f}" y="{y + 4:.1f}">'
            f"{level:g}{unit}</text>"
        )
    for tick in _time_ticks(scale.seconds):
        x = scale.x(tick)
        parts.append(
            f'<path class="tick" d="M{x:.1f},{scale.y(0):.1f} v4"/>'
            f'<text class="axis x" x="{x:.1f}" y="{scale.y(0) + 16:.1f}">'
            f"{clock(tick)}</text>"
        )
    return "".join(parts)


def _step_line(
    points: Sequence[WeightPoint], started: datetime, ended: datetime, scale: _Scale
) -> str:
    x, y = scale.x(0), scale.y(0)
    segments = [f"M{x:.1f},{y:.1f}"]
    for point in points:
        x = scale.x((point.at - started).total_seconds())
        segments.append(f"H{x:.1f} V{scale.y(point.weight * 100):.1f}")
    segments.append(f"H{scale.x((ended - started).total_seconds()):.1f}")
    return " ".join(segments)


def _weight_marker(point: WeightPoint, started: datetime, scale: _Scale) -> str:
    x, y = scale.x((point.at - started).total_seconds()), scale.y(point.weight * 100)
    rolled_back = point.state == State.ROLL_BACK
    text = "rolled back" if rolled_back else f"{point.weight * 100:g}%"
    kind = "rollback" if rolled_back else "promote" if point.state == State.PROMOTE else "shift"
    near_end = x > WIDTH - RIGHT - 70  # keep the label inside the chart
    label_x, anchor = (x - 7, "end") if near_end else (x + 6, "start")
    return (
        f'<g class="marker {kind}"><title>{escape(point.state)} at '
        f"{clock_at(point.at, started)} → {point.weight * 100:g}% on the new version</title>"
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5"/><text x="{label_x:.1f}" '
        f'y="{max(y - 7, 12):.1f}" text-anchor="{anchor}">{escape(text)}</text></g>'
    )


def _moment(moment: Moment, started: datetime, scale: _Scale) -> str:
    x = scale.x((moment.at - started).total_seconds())
    return (
        f'<g class="moment {"ok" if moment.ok else "bad"}"><title>{escape(moment.text)}'
        f'</title><circle cx="{x:.1f}" cy="{HEIGHT - 8:.1f}" r="3.5"/></g>'
    )


def _series(
    name: str,
    values: Sequence[tuple[datetime | None, float]],
    started: datetime,
    scale: _Scale,
) -> str:
    coords = [(scale.x((at - started).total_seconds()), scale.y(v)) for at, v in values if at]
    if not coords:
        return ""
    line = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in coords)
    return f'<g class="series {name}"><path d="{line}"/>{dots}</g>'


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    parts, x = [], LEFT
    for series, text in entries:
        parts.append(
            f'<g class="series {series}"><path d="M{x:.1f},12 h16"/>'
            f'<circle cx="{x + 8:.1f}" cy="12" r="3"/></g>'
            f'<text class="legend-text" x="{x + 22:.1f}" y="16">{escape(text)}</text>'
        )
        x += 30 + 7 * len(text)
    return "".join(parts)


# -- numbers ----------------------------------------------------------------------------


def _time_ticks(seconds: float) -> list[float]:
    """About five round tick positions (1, 2 or 5 times a power of ten seconds, or minutes)."""
    raw = seconds / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if step >= 60:
        step = 60 * max(1, round(step / 60))
    count = int(seconds // step)
    return [i * step for i in range(count + 1)]


def _nice_top(value: float) -> float:
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= value)


def clock(seconds: float) -> str:
    """`+1:05` (minutes:seconds); hours when it runs that long."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clock_at(at: datetime, started: datetime) -> str:
    return "+" + clock((at - started).total_seconds())
