"""How the rolled functions are invoked, as `rollout plan` and `rollout watch` show it: the
plan's traffic sources (rollout_core.traffic), one row per source, bypasses marked."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from rollout_core.models import FunctionTraffic, Plan, TrafficSource


def is_bypass(found: FunctionTraffic, source: TrafficSource) -> bool:
    return source in found.bypasses


def traffic_table(plan: Plan) -> Table | None:
    """Every source of every function of the plan; None when Prepare read none (a noop)."""
    if not plan.traffic:
        return None
    several = len(plan.traffic) > 1
    table = Table(box=None, pad_edge=False)
    for column in [*(["function"] if several else []), "source", "kind", "invokes", ""]:
        table.add_column(column, overflow="fold")
    for found in plan.traffic:
        for source in found.sources:
            row = [_source(source), source.kind, source.qualifier, _verdict(found, source)]
            table.add_row(*([f"{found.functionName}:{found.alias}"] if several else []), *row)
    return table


def summary(plan: Plan) -> str:
    """One line: how many sources, how many bypass, what the plan does about them."""
    sources = sum(len(found.sources) for found in plan.traffic)
    bypasses = sum(len(found.bypasses) for found in plan.traffic)
    rolled = ", ".join(f"{f.functionName}:{f.alias}" for f in plan.traffic)
    if not sources:
        return f"traffic sources of {rolled}: none found (direct invokes only)"
    verdict = f", {bypasses} bypass{'es' if bypasses != 1 else ''} the alias" if bypasses else ""
    return f"traffic sources of {rolled}{verdict} (bypass: {plan.bypass}):"


def _source(source: TrafficSource) -> Text:
    text = Text(source.source)
    if source.detail:
        text.append(f" ({source.detail})", style="dim")
    return text


def _verdict(found: FunctionTraffic, source: TrafficSource) -> Text:
    if not source.enabled:
        return Text("disabled", style="dim")
    if is_bypass(found, source):
        return Text("✖ bypass", style="red")
    return Text("✔", style="green")
