"""The report's latency distributions: for one check, the new and the stable version's
durations side by side as cumulative distributions (CDF), drawn from the quantiles the
judge keeps (rollout_core.health.latency.QUANTILES; the samples never leave the check).
Plain SVG, no script, so the report works offline."""

from __future__ import annotations

from html import escape

from rollout_core.health.latency import QUANTILES
from rollout_core.health.verdict import Spread, Verdict

WIDTH, HEIGHT = 300.0, 150.0
LEFT, RIGHT, TOP, BOTTOM = 34.0, 10.0, 22.0, 28.0
COLOURS = {"new": "#d9480f", "stable": "#1c7ed6"}
UNITS = {"latency": "ms", "coldStarts": "ms", "memory": "MB"}


def distributions(verdict: Verdict) -> str:
    """The check's CDFs, or "" when either version has no samples."""
    new, stable = verdict.new, verdict.stable
    if new is None or stable is None or not new.quantiles or not stable.quantiles:
        return ""
    top = max(new.quantiles[-1], stable.quantiles[-1]) * 1.05 or 1.0
    unit = UNITS.get(verdict.check, "")
    curves = (("stable", stable), ("new", new))
    lines = "".join(_curve(spread, role, top) for role, spread in curves)
    title = f"{verdict.check}: v{new.version} (new) and v{stable.version} (stable), {unit}"
    return (
        f'<svg class="cdf" role="img" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" width="{WIDTH:g}" '
        f'height="{HEIGHT:g}"><title>{escape(title)}</title>'
        f'<text x="{LEFT:g}" y="14" font-size="11">{escape(title)}</text>'
        f"{_axes(top, unit)}{lines}{_legend(new, stable)}</svg>"
    )


def _x(value: float, top: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * min(max(value, 0.0), top) / top


def _y(share: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - share)


def _curve(spread: Spread, role: str, top: float) -> str:
    """A step through (value at q, q) for each kept quantile."""
    assert spread.quantiles is not None
    points = [(0.0, 0.0), *zip(spread.quantiles, QUANTILES, strict=True)]
    steps: list[str] = []
    previous_share = 0.0
    for value, share in points:
        steps.append(f"{_x(value, top):.1f},{_y(previous_share):.1f}")
        steps.append(f"{_x(value, top):.1f},{_y(share):.1f}")
        previous_share = share
    steps.append(f"{_x(top, top):.1f},{_y(previous_share):.1f}")
    return (
        f'<polyline class="cdf-{role}" fill="none" stroke="{COLOURS[role]}" '
        f'stroke-width="2" points="{" ".join(steps)}"/>'
    )


def _axes(top: float, unit: str) -> str:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    return (
        f'<line x1="{LEFT:g}" y1="{bottom:g}" x2="{right:g}" y2="{bottom:g}" stroke="#888"/>'
        f'<line x1="{LEFT:g}" y1="{TOP:g}" x2="{LEFT:g}" y2="{bottom:g}" stroke="#888"/>'
        f'<text x="{LEFT:g}" y="{bottom + 12:g}" font-size="10">0</text>'
        f'<text x="{right:g}" y="{bottom + 12:g}" font-size="10" text-anchor="end">'
        f"{top:.3g} {escape(unit)}</text>"
        f'<text x="{LEFT - 4:g}" y="{TOP + 4:g}" font-size="10" text-anchor="end">100%</text>'
        f'<text x="{LEFT - 4:g}" y="{bottom:g}" font-size="10" text-anchor="end">0%</text>'
    )


def _legend(new: Spread, stable: Spread) -> str:
    y = HEIGHT - 6
    return (
        f'<text x="{LEFT:g}" y="{y:g}" font-size="10" fill="{COLOURS["new"]}">'
        f"new v{escape(new.version)} (n {new.n})</text>"
        f'<text x="{WIDTH / 2 + 10:g}" y="{y:g}" font-size="10" fill="{COLOURS["stable"]}">'
        f"stable v{escape(stable.version)} (n {stable.n})</text>"
    )
