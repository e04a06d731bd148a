// The weight and health timeline: the new version's share of traffic over time (a step
// line, each shift labelled), and each health check as a dot under the axis (red: failed),
// with the new version's error rate above it when the metrics had one.
import { percent, svg } from "./dom.js";

const WIDTH = 640;
const HEIGHT = 220;
const LEFT = 44;
const RIGHT = 16;
const TOP = 18;
const BOTTOM = 42;

export function timeline(run, now = Date.now()) {
  const start = Date.parse(run.startedAt);
  const end = run.stoppedAt ? Date.parse(run.stoppedAt) : now;
  const span = Math.max(end - start, 1000);
  const x = (iso) => LEFT + ((WIDTH - LEFT - RIGHT) * Math.min(Math.max(Date.parse(iso) - start, 0), span)) / span;
  const y = (weight) => TOP + (HEIGHT - TOP - BOTTOM) * (1 - weight);
  const chart = svg("svg", { class: "chart timeline", width: WIDTH, height: HEIGHT, viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": "weight and health over time" });
  for (const level of [0, 0.25, 0.5, 0.75, 1]) {
    chart.append(
      svg("line", { class: "grid", x1: LEFT, x2: WIDTH - RIGHT, y1: y(level), y2: y(level) }),
      svg("text", { class: "axis", x: LEFT - 6, y: y(level) + 4, "text-anchor": "end" }, percent(level)),
    );
  }
  const points = run.weights.length ? run.weights : [{ at: run.startedAt, weight: 0, state: "start" }];
  let path = `M${x(points[0].at)},${y(points[0].weight)}`;
  for (const point of points.slice(1)) path += ` H${x(point.at)} V${y(point.weight)}`;
  path += ` H${x(new Date(end).toISOString())}`;
  chart.append(svg("path", { class: `line${run.running ? " running" : ""}`, d: path }));
  for (const point of points.filter((p) => p.state !== "start")) {
    const label = point.state === "Shift traffic" ? `step ${point.step}: ${percent(point.weight)}` : `${point.state}: ${percent(point.weight)}`;
    chart.append(svg("circle", { class: "shift", cx: x(point.at), cy: y(point.weight), r: 3.5 }, svg("title", {}, label)));
  }
  const axis = HEIGHT - BOTTOM + 14;
  for (const check of run.checkMarks) {
    chart.append(svg("circle", { class: `check ${check.healthy ? "good" : "bad"}`, cx: x(check.at), cy: axis, r: 3 }));
  }
  chart.append(
    svg("text", { class: "axis", x: LEFT, y: HEIGHT - 6 }, "0:00"),
    svg("text", { class: "axis", x: WIDTH - RIGHT, y: HEIGHT - 6, "text-anchor": "end" }, run.running ? "now" : "end"),
    svg("text", { class: "axis", x: LEFT + 4, y: axis + 16 }, "health checks"),
  );
  return chart;
}
