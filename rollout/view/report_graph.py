"""The state machine drawn as inline SVG from its own ASL, coloured by what one run did.

Layout: states in rows by longest path from StartAt once loop edges are set aside, so
every ordinary edge points down and Catch edges flow down to the failure branch; within a
row, states sit under their predecessors, the Next/Default successor first. Edges between
neighbouring rows are curves; longer ones run in lanes beside the graph (forward edges on
the right, loops on the left), turning in the gaps between rows so they never cross a state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import Any

from rollout.view.run import StateVisit, VisitStatus

NODE_W, NODE_H = 188.0, 34.0
COL_STEP, ROW_STEP = 212.0, 64.0  # node size plus the gaps between columns and rows
LANE_STEP, MARGIN = 12.0, 24.0
LABEL_CHAR = 5.8  # average width of a character of an edge label, for room beside loops
NOT_REACHED = "not reached"
_SHAPE_CLASS = {"Choice": "choice", "Wait": "wait", "Succeed": "end", "Fail": "end", "Pass": "pass"}

# What the reader sees first: which edges are the happy path (drawn and ranked first).
_MAIN_KINDS = ("next", "default")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # "next" | "default" | "choice" | "catch"
    label: str

    @property
    def dashed(self) -> bool:
        return self.kind == "catch"


@dataclass(frozen=True)
class Mark:
    """What happened in one state during the run."""

    status: str  # a VisitStatus value, or NOT_REACHED
    count: int = 0
    retries: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Box:
    x: float  # centre
    y: float  # top

    @property
    def left(self) -> float:
        return self.x - NODE_W / 2

    @property
    def right(self) -> float:
        return self.x + NODE_W / 2

    @property
    def bottom(self) -> float:
        return self.y + NODE_H

    @property
    def mid(self) -> float:
        return self.y + NODE_H / 2


# -- what happened ----------------------------------------------------------------------


def marks(visits: list[StateVisit]) -> dict[str, Mark]:
    """Per state: how many times it ran and the most telling status among its visits."""
    rank = {
        VisitStatus.SUCCEEDED: 0,
        VisitStatus.CAUGHT: 1,
        VisitStatus.FAILED: 2,
        VisitStatus.RUNNING: 3,
    }
    result: dict[str, Mark] = {}
    for visit in visits:
        seen = result.get(visit.name)
        status = visit.status
        if seen is not None and rank[VisitStatus(seen.status)] > rank[status]:
            status = VisitStatus(seen.status)
        result[visit.name] = Mark(
            status=status.value,
            count=(seen.count if seen else 0) + 1,
            retries=(seen.retries if seen else 0) + visit.retries,
            error=visit.error or (seen.error if seen else None),
        )
    return result


def taken_edges(visits: list[StateVisit]) -> set[tuple[str, str, bool]]:
    """(from, to, through a Catch) for each transition the run made: a Next and a Catch can
    lead to the same state, and only the one used is highlighted."""
    return {(a.name, b.name, a.status is VisitStatus.CAUGHT) for a, b in pairwise(visits)}


# -- the graph --------------------------------------------------------------------------


def edges(definition: dict[str, Any]) -> list[Edge]:
    """Transitions in reading order: Next and Default first, then Choices, then Catches."""
    found: list[Edge] = []
    for name, state in definition.get("States", {}).items():
        if "Next" in state:
            found.append(Edge(name, state["Next"], "next", ""))
        if "Default" in state:
            found.append(Edge(name, state["Default"], "default", "otherwise"))
        for rule in state.get("Choices", []):
            found.append(Edge(name, rule["Next"], "choice", rule.get("Comment") or "match"))
        for catcher in state.get("Catch", []):
            found.append(Edge(name, catcher["Next"], "catch", ", ".join(catcher["ErrorEquals"])))
    states = definition.get("States", {})
    return [e for e in found if e.target in states]


def loop_edges(start: str, names: list[str], all_edges: list[Edge]) -> set[Edge]:
    """Edges back to a state still on the depth-first path from StartAt (the loops)."""
    out: dict[str, list[Edge]] = {name: [] for name in names}
    for edge in all_edges:
        out[edge.source].append(edge)
    loops: set[Edge] = set()
    on_path: set[str] = set()
    done: set[str] = set()
    stack: list[tuple[str, int]] = [(start, 0)] if start in out else []
    on_path.update(n for n, _ in stack)
    while stack:  # iterative DFS: no recursion limit on big definitions
        name, index = stack.pop()
        if index < len(out[name]):
            stack.append((name, index + 1))
            edge = out[name][index]
            if edge.target in on_path:
                loops.add(edge)
            elif edge.target not in done:
                on_path.add(edge.target)
                stack.append((edge.target, 0))
        else:
            on_path.discard(name)
            done.add(name)
    return loops


def rows(start: str, names: list[str], forward: list[Edge]) -> dict[str, int]:
    """Longest path from StartAt over the loop-free edges; unreachable states go last."""
    incoming = {name: 0 for name in names}
    for edge in forward:
        incoming[edge.target] += 1
    row = dict.fromkeys(names, 0)
    queue = deque(name for name in names if incoming[name] == 0)
    while queue:  # Kahn's order: a state is placed once every predecessor is
        name = queue.popleft()
        for edge in (e for e in forward if e.source == name):
            row[edge.target] = max(row[edge.target], row[name] + 1)
            incoming[edge.target] -= 1
            if incoming[edge.target] == 0:
                queue.append(edge.target)
    reachable = _reachable(start, forward)
    last = max((row[n] for n in reachable), default=-1)
    for offset, name in enumerate(n for n in names if n not in reachable):
        row[name] = last + 1 + offset
    return row


def _reachable(start: str, forward: list[Edge]) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        name = queue.popleft()
        for edge in forward:
            if edge.source == name and edge.target not in seen:
                seen.add(edge.target)
                queue.append(edge.target)
    return seen


def columns(names: list[str], row: dict[str, int], forward: list[Edge]) -> dict[str, float]:
    """Row by row, each state under the mean of its predecessors, pushed right when taken."""
    column: dict[str, float] = {}
    for current in sorted(set(row.values())):

        def key(name: str) -> tuple[float, int, int]:
            preds = [e for e in forward if e.target == name and e.source in column]
            wanted = sum(column[e.source] for e in preds) / len(preds) if preds else 0.0
            side = 0 if any(e.kind in _MAIN_KINDS for e in preds) or not preds else 1
            return wanted, side, names.index(name)

        placed: float | None = None
        for name in sorted((n for n in names if row[n] == current), key=key):
            wanted = key(name)[0]
            placed = wanted if placed is None else max(wanted, placed + 1)
            column[name] = placed
    return column


# -- drawing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedState:
    """One state where the layout put it, and the shape it is drawn with."""

    name: str
    kind: str  # the ASL Type
    box: Box
    comment: str | None = None

    @property
    def shape(self) -> str:
        return _SHAPE_CLASS.get(self.kind, "task")

    @property
    def points(self) -> list[tuple[float, float]]:
        """A Choice's outline (a stretched hexagon: the console's decision shape, compact);
        [] for the rounded rectangle of every other kind."""
        if self.kind != "Choice":
            return []
        box, d = self.box, 12.0
        return [
            (box.left, box.mid),
            (box.left + d, box.y),
            (box.right - d, box.y),
            (box.right, box.mid),
            (box.right - d, box.bottom),
            (box.left + d, box.bottom),
        ]

    @property
    def radius(self) -> float:
        return NODE_H / 2 if self.kind in ("Wait", "Succeed", "Fail") else 6


@dataclass(frozen=True)
class PlacedEdge:
    """One transition: its SVG path and, for a Choice rule or a Default, where its label
    goes (x, y, text-anchor)."""

    edge: Edge
    path: str
    label_at: tuple[float, float, str] | None


@dataclass(frozen=True)
class Drawing:
    """The whole graph laid out from the ASL, independent of any run: the report renders it
    to SVG here; the console (rollout/console) draws the same layout in the browser."""

    width: float
    height: float
    states: list[PlacedState]
    edges: list[PlacedEdge]
    start: Box | None


def draw(definition: dict[str, Any]) -> Drawing:
    """Lay out the workflow: rows by longest path, columns under predecessors, lanes."""
    states: dict[str, dict[str, Any]] = definition.get("States", {})
    names = list(states)
    start = str(definition.get("StartAt", names[0] if names else ""))
    all_edges = edges(definition)
    loops = loop_edges(start, names, all_edges)
    forward = [e for e in all_edges if e not in loops]
    row = rows(start, names, forward)
    column = columns(names, row, forward)
    layout = _Layout(row, column, all_edges, loops)
    return Drawing(
        width=layout.width,
        height=layout.height,
        states=[
            PlacedState(
                name,
                str(states[name].get("Type", "Task")),
                layout.boxes[name],
                str(states[name]["Comment"]) if states[name].get("Comment") else None,
            )
            for name in names
        ],
        edges=[_place_edge(edge, layout) for edge in all_edges],
        start=layout.boxes.get(start),
    )


def render_graph(
    definition: dict[str, Any], mark: dict[str, Mark], taken: set[tuple[str, str, bool]]
) -> str:
    """An <svg> of the workflow: states coloured by `mark`, the run's path (`taken`) bold."""
    drawing = draw(definition)
    parts = [
        _draw_edge(placed, (placed.edge.source, placed.edge.target, placed.edge.dashed) in taken)
        for placed in drawing.edges
    ]
    parts += [_draw_state(state, mark.get(state.name)) for state in drawing.states]
    parts.append(_draw_start(drawing.start))
    return (
        f'<svg class="graph" role="img" '
        f'aria-label="workflow graph" width="{drawing.width:.0f}" '
        f'height="{drawing.height:.0f}" '
        f'viewBox="0 0 {drawing.width:.0f} {drawing.height:.0f}">{_DEFS}{"".join(parts)}</svg>'
    )


class _Layout:
    """Node boxes and edge lanes in SVG coordinates."""

    def __init__(
        self,
        row: dict[str, int],
        column: dict[str, float],
        all_edges: list[Edge],
        loops: set[Edge],
    ) -> None:
        self.long_forward = [
            e for e in all_edges if e not in loops and row[e.target] - row[e.source] > 1
        ]
        self.loops = [e for e in all_edges if e in loops]
        # Loop labels sit left of their source, between the nodes and the lanes.
        self.label_room = max(
            (len(e.label) * LABEL_CHAR + 14 for e in self.loops if e.kind == "choice"), default=0.0
        )
        top = MARGIN + 20  # room for the start marker
        boxes = {name: Box(column[name] * COL_STEP, top + row[name] * ROW_STEP) for name in row}
        lanes = {
            **_lanes(self.loops, row, boxes, -1, self.label_room),
            **_lanes(self.long_forward, row, boxes, 1, 0.0),
        }
        left = min([*lanes.values(), *(b.left for b in boxes.values())], default=0.0)
        shift = MARGIN - left
        self.boxes = {name: Box(b.x + shift, b.y) for name, b in boxes.items()}
        self.lane_x = {edge: x + shift for edge, x in lanes.items()}
        right = max([*self.lane_x.values(), *(b.right for b in self.boxes.values())], default=0)
        self.width = right + MARGIN
        self.height = top + (max(row.values(), default=0) + 1) * ROW_STEP + MARGIN
        self.gap_offset = {
            e: 6.0 + 4.0 * (i % 4) for i, e in enumerate(self.long_forward + self.loops)
        }


def _lanes(
    lane_edges: list[Edge], row: dict[str, int], boxes: dict[str, Box], side: int, room: float
) -> dict[Edge, float]:
    """A lane's x for each edge, on the right (side 1) or the left (-1) of the states in the
    rows it spans. One lane per target (edges into the same state share it, like a bus);
    shorter lanes are placed first, so that longer ones pass outside them."""
    spans: dict[str, tuple[int, int]] = {}
    for edge in lane_edges:
        low, high = sorted((row[edge.source], row[edge.target]))
        old = spans.get(edge.target, (low, high))
        spans[edge.target] = (min(old[0], low), max(old[1], high))
    placed: list[tuple[int, int, float]] = []
    lane_of: dict[str, float] = {}
    for target, (low, high) in sorted(spans.items(), key=lambda s: (s[1][1] - s[1][0], s[0])):
        edges_of_rows = [
            b.right if side > 0 else -b.left for n, b in boxes.items() if low <= row[n] <= high
        ]
        inner = [x for lo, hi, x in placed if lo <= high and low <= hi]
        x = max([max(edges_of_rows, default=0.0) + room, *(side * v for v in inner)])
        x += LANE_STEP
        lane_of[target] = side * x
        placed.append((low, high, side * x))
    return {edge: lane_of[edge.target] for edge in lane_edges}


def _place_edge(edge: Edge, layout: _Layout) -> PlacedEdge:
    a, b = layout.boxes[edge.source], layout.boxes[edge.target]
    if edge in layout.lane_x:  # beside the source, where the edge leaves it
        on_left = layout.lane_x[edge] < a.x
        path = _lane_path(edge, a, b, layout)
        x, anchor = (a.left - 10, "end") if on_left else (a.right + 10, "start")
        label_at = (x, a.mid - 5, anchor)
    else:  # just above the arrow's tip, right of it
        path, label_at = _curve_path(a, b, edge), (b.x + 7, b.y - 5, "start")
    labelled = edge.kind == "choice" or (edge.kind == "default" and edge not in layout.lane_x)
    return PlacedEdge(edge, path, label_at if labelled else None)


def _draw_edge(placed: PlacedEdge, taken: bool) -> str:
    edge = placed.edge
    classes = " ".join(["edge", "taken" if taken else "idle", "catch" if edge.dashed else ""])
    title = f"{edge.source} → {edge.target}" + (f" ({edge.label})" if edge.label else "")
    label = ""
    if placed.label_at is not None:
        x, y, anchor = placed.label_at
        label = (
            f'<text class="edge-label" x="{x:.1f}" y="{y:.1f}" '
            f'text-anchor="{anchor}">{escape(edge.label)}</text>'
        )
    return (
        f'<g class="{classes.strip()}"><title>{escape(title)}</title>'
        f'<path d="{placed.path}"/>{label}</g>'
    )


def _curve_path(a: Box, b: Box, edge: Edge) -> str:
    shift = 8.0 if edge.dashed and abs(a.x - b.x) < 1 else 0.0  # beside a Next to the same state
    x1, y1, x2, y2 = a.x + shift, a.bottom, b.x + shift, b.y
    mid = (y1 + y2) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"


def _lane_path(edge: Edge, a: Box, b: Box, layout: _Layout) -> str:
    """Out of the source's side, down into the gap below it, along the lane, then through
    the gap above the target into its top."""
    lane, offset = layout.lane_x[edge], layout.gap_offset[edge]
    on_right = lane > a.x
    side = a.right if on_right else a.left
    step_out = side + (6 if on_right else -6)
    below = a.bottom + (ROW_STEP - NODE_H) / 2 - 4 + offset / 2
    above = b.y - (ROW_STEP - NODE_H) / 2 + offset / 2
    entry = b.x + (NODE_W / 4 if on_right else -NODE_W / 4)
    points = [
        (side, a.mid),
        (step_out, a.mid),
        (step_out, below),
        (lane, below),
        (lane, above),
        (entry, above),
        (entry, b.y),
    ]
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)


def _draw_state(state: PlacedState, mark: Mark | None) -> str:
    status = mark.status if mark else NOT_REACHED
    name, kind, box = state.name, state.kind, state.box
    title = [f"{name} ({kind}) — {status}"]
    if mark and mark.count > 1:
        title.append(f"ran {mark.count} times")
    if mark and mark.retries:
        title.append(f"retried {mark.retries} times")
    if mark and mark.error:
        title.append(mark.error)
    if state.comment:
        title.append(state.comment)
    badge = ""
    if mark and mark.count > 1:
        width = 18 + 7 * len(str(mark.count))  # room for the count at 11px bold
        left = box.right + 10 - width
        badge = (
            f'<g class="badge"><rect x="{left:.1f}" y="{box.y - 9:.1f}" width="{width}" '
            f'height="17" rx="8.5"/><text x="{left + width / 2:.1f}" '
            f'y="{box.y + 3.5:.1f}">\u00d7{mark.count}</text></g>'
        )
    css = f"state {status.replace(' ', '-')} {state.shape} type-{kind}"
    return (
        f'<g class="{css}" data-state="{escape(name)}"><title>{escape(" · ".join(title))}</title>'
        f'{_shape(state)}<text class="name" x="{box.x:.1f}" y="{box.mid + 4.5:.1f}">'
        f"{escape(name)}</text>{badge}</g>"
    )


def _shape(state: PlacedState) -> str:
    if state.points:
        return '<polygon points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in state.points) + '"/>'
    box = state.box
    return (
        f'<rect x="{box.left:.1f}" y="{box.y:.1f}" width="{NODE_W:.0f}" height="{NODE_H:.0f}" '
        f'rx="{state.radius:.0f}"/>'
    )


def _draw_start(box: Box | None) -> str:
    if box is None:
        return ""
    return (
        f'<g class="start"><title>Start</title><circle cx="{box.x:.1f}" cy="{box.y - 22:.1f}" '
        f'r="6"/><path d="M{box.x:.1f},{box.y - 16:.1f} L{box.x:.1f},{box.y:.1f}"/></g>'
    )


_DEFS = (
    "<defs>"
    '<marker id="arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="4" '
    'markerHeight="4" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
    '<marker id="arrow-idle" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
    'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
    "</defs>"
)
