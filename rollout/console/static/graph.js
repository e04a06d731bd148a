// The workflow graph: drawn once from the layout the report uses (report_graph.draw, sent
// by /api/graph), then coloured on every update from the run's marks, as the report and the
// Step Functions console colour each state. The styles are the report's (report.css).
import { svg } from "./dom.js";

export const STATUSES = [
  ["succeeded", "succeeded"],
  ["caught", "failed, caught"],
  ["failed", "failed"],
  ["running", "running"],
  ["not-reached", "not reached"],
];

export class Graph {
  constructor(layout) {
    this.states = new Map();
    this.edges = new Map();
    const { width, height } = layout;
    this.node = svg("svg", {
      class: "graph",
      role: "img",
      "aria-label": "workflow graph",
      width: Math.round(width),
      height: Math.round(height),
      viewBox: `0 0 ${Math.round(width)} ${Math.round(height)}`,
    });
    this.node.append(defs());
    for (const edge of layout.edges) this.node.append(this.edge(edge));
    for (const state of layout.states) this.node.append(this.state(state));
    if (layout.start) {
      const { x, y } = layout.start;
      this.node.append(
        svg("g", { class: "start" }, svg("title", {}, "Start"),
          svg("circle", { cx: x, cy: y - 22, r: 6 }),
          svg("path", { d: `M${x},${y - 16} L${x},${y}` })),
      );
    }
  }

  edge(edge) {
    const title = `${edge.source} → ${edge.target}${edge.label ? ` (${edge.label})` : ""}`;
    const group = svg("g", { class: "edge idle" }, svg("title", {}, title), svg("path", { d: edge.path }));
    if (edge.labelAt) {
      const [x, y, anchor] = edge.labelAt;
      group.append(svg("text", { class: "edge-label", x, y, "text-anchor": anchor }, edge.label));
    }
    this.edges.set(key(edge.source, edge.target, edge.catch), { group, edge });
    return group;
  }

  state(state) {
    const shape = state.points.length
      ? svg("polygon", { points: state.points.map(([x, y]) => `${x},${y}`).join(" ") })
      : svg("rect", { x: state.x, y: state.y, width: state.right - state.x, height: (state.middle - state.y) * 2, rx: state.radius });
    const title = svg("title", {});
    const badge = svg("g", { class: "badge" });
    const group = svg(
      "g",
      { "data-state": state.name },
      title,
      shape,
      svg("text", { class: "name", x: state.centre, y: state.middle + 4.5 }, state.name),
      badge,
    );
    this.states.set(state.name, { group, title, badge, state });
    return group;
  }

  // marks: {state: {status, count, retries, error}}; taken: [[from, to, caught], …]
  colour(marks, taken) {
    for (const { group, title, badge, state } of this.states.values()) {
      const mark = marks[state.name];
      const status = mark ? mark.status : "not reached";
      group.setAttribute("class", `state ${status.replace(" ", "-")} ${state.shape} type-${state.kind}`);
      const words = [`${state.name} (${state.kind}) — ${status}`];
      if (mark && mark.count > 1) words.push(`ran ${mark.count} times`);
      if (mark && mark.retries) words.push(`retried ${mark.retries} times`);
      if (mark && mark.error) words.push(mark.error);
      if (state.comment) words.push(state.comment);
      title.textContent = words.join(" · ");
      badge.replaceChildren();
      if (mark && mark.count > 1) {
        const width = 18 + 7 * String(mark.count).length;
        const left = state.right + 10 - width;
        badge.append(
          svg("rect", { x: left, y: state.y - 9, width, height: 17, rx: 8.5 }),
          svg("text", { x: left + width / 2, y: state.y + 3.5 }, `×${mark.count}`),
        );
      }
    }
    const used = new Set(taken.map(([from, to, caught]) => key(from, to, caught)));
    for (const [name, { group, edge }] of this.edges) {
      const classes = ["edge", used.has(name) ? "taken" : "idle", edge.catch ? "catch" : ""];
      group.setAttribute("class", classes.join(" ").trim());
    }
  }
}

function key(from, to, caught) {
  return JSON.stringify([from, to, Boolean(caught)]);
}

function defs() {
  const marker = (id, size) =>
    svg("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: size, markerHeight: size, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z" }));
  return svg("defs", {}, marker("arrow-taken", 4), marker("arrow-idle", 6));
}
