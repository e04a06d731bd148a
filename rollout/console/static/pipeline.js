// One pipeline of waves, live: where it stands and why it holds, the controls (the CLI's, on
// the whole pipeline), its waves and targets each with its outcome and health and a way into
// its own rollout, and when each target moved on one time axis. Every value comes from the
// server's view model (views.pipeline_detail), worded as `rollout watch` words it.
import { follow } from "./api.js";
import { el, pill, replace, setBanner, summaryList, svg, utc } from "./dom.js";
import { controlsSection } from "./run.js";

const AXIS = { left: 230, width: 900, row: 22 };
// the report's colours (report_style.py): ok, bad, caught (restored), run, idle
const BARS = { succeeded: "#22c55e", failed: "#ef4444", restored: "#f97316" };

export function showPipeline(view, arn, identity) {
  const parts = {
    header: el("header", { className: "run-header" }),
    banner: el("p", { className: "problem", id: "problem", hidden: true }),
    summary: el("section", { className: "summary" }),
    controls: controlsSection(arn, identity),
    waves: el("div", { className: "waves" }),
    axis: el("div", { className: "graph-scroll" }),
    lines: el("pre", { id: "lines" }),
  };
  replace(
    view,
    el("p", { className: "crumbs" }, el("a", { href: "#/" }, "← Rollouts")),
    parts.header,
    parts.banner,
    parts.summary,
    parts.controls.node,
    el("section", { className: "waves" }, el("h2", {}, "Waves and targets"), parts.waves),
    el("section", { className: "axis" }, el("h2", {}, "When each target moved"), parts.axis),
    el("section", { className: "io" }, el("h2", {}, "As rollout watch prints it"), parts.lines),
  );

  function render(snapshot) {
    setBanner(parts.banner, snapshot.problem);
    const pipeline = snapshot.pipeline;
    if (!pipeline) return;
    document.title = `${pipeline.title} — rollout console`;
    renderHeader(parts.header, pipeline);
    renderSummary(parts.summary, pipeline);
    parts.controls.update(pipeline);
    renderWaves(parts.waves, pipeline);
    replace(parts.axis, timeAxis(pipeline));
    replace(parts.lines, pipeline.lines.join("\n"));
  }

  const close = follow(`execution=${encodeURIComponent(arn)}`, render, (trouble) => setBanner(parts.banner, trouble));
  return () => {
    close();
    parts.controls.close();
  };
}

function renderHeader(node, pipeline) {
  replace(
    node,
    el("div", {}, el("h1", {}, pipeline.title),
      el("p", { className: "sub" }, "execution ", el("code", {}, pipeline.arn))),
    el("div", { className: "status" }, pill(pipeline.label, pipeline.tone),
      el("p", { className: `reason ${pipeline.tone}`, id: "reason" }, pipeline.hold?.line || pipeline.reason || "")),
  );
}

function renderSummary(node, pipeline) {
  const targets = pipeline.waves.reduce((n, wave) => n + wave.targets.length, 0);
  const pairs = [
    ["Functions", pipeline.functions.join(", ") || "—"],
    ["Alias", pipeline.alias || "—"],
    ["Strategy", pipeline.strategy || "—"],
    ["Waves", `${pipeline.waves.length} waves, ${targets} targets`],
    ["Wave", pipeline.step || "—"],
    ["Health", el("span", { className: `health ${pipeline.healthTone || ""}` }, pipeline.health)],
    ["On failure", pipeline.onFailure || "—"],
    ["Started", utc(pipeline.startedAt)],
  ];
  replace(node, summaryList(pairs));
}

function renderWaves(node, pipeline) {
  const head = ["wave", "target", "outcome", "health", "moved", "its own rollout"];
  replace(
    node,
    el("table", { className: "checks", id: "waves" },
      el("thead", {}, el("tr", {}, head.map((c) => el("th", {}, c)))),
      el("tbody", {}, pipeline.waves.flatMap((wave, index) => wave.targets.map((target) =>
        el("tr", { className: "target", dataset: { target: target.name, wave: wave.name } },
          el("td", {}, `${wave.name} (${index + 1}/${pipeline.waves.length}), bake ${wave.bakeSeconds} s`),
          el("td", {}, target.name),
          el("td", { className: target.tone || "" }, target.verdict,
            target.why ? el("div", { className: "sub why" }, target.why) : null),
          el("td", { className: "health" }, target.health),
          el("td", {}, target.versions),
          el("td", {}, target.here
            ? el("a", { href: `#/run/${encodeURIComponent(target.execution)}` }, "open its rollout")
            : el("code", {}, target.watch))))))),
  );
}

// An SVG: one row per target (its rollout's span), one for the pipeline's holds and bakes,
// one horizontal scale from the pipeline's start to its end (or the last event read).
function timeAxis(pipeline) {
  const start = Date.parse(pipeline.axis.from);
  const span = Math.max(Date.parse(pipeline.axis.to) - start, 1000);
  const x = (iso) => AXIS.left + (AXIS.width - AXIS.left) * Math.min(Math.max((Date.parse(iso) - start) / span, 0), 1);
  const targets = pipeline.waves.flatMap((wave, w) => wave.targets.map((t) => ({ ...t, wave: w + 1 })));
  const height = AXIS.row * (targets.length + 2) + 10;
  const rows = targets.map((target, row) => {
    const y = AXIS.row * row + 4;
    const bar = target.movedAt
      ? svg("rect", { x: x(target.movedAt), y, height: AXIS.row - 8,
        width: Math.max(x(target.endedAt || pipeline.axis.to) - x(target.movedAt), 2),
        fill: BARS[target.verdict] || "#3b82f6", class: "moved" },
        svg("title", {}, `${target.verdict} ${target.movedAt} → ${target.endedAt || "running"}`))
      : null;
    return svg("g", { "data-target": target.name },
      svg("text", { x: 4, y: y + 13, "font-size": 12 }, `w${target.wave} ${target.name}`), bar);
  });
  const y = AXIS.row * targets.length + 4;
  const holds = pipeline.axis.holds.map((hold) =>
    svg("rect", { x: x(hold.from), y, height: AXIS.row - 8, width: Math.max(x(hold.to) - x(hold.from), 1),
      fill: hold.state === "Bake wave" ? "#94a3b8" : "#fbc02d" }, svg("title", {}, hold.state)));
  const scale = AXIS.row * (targets.length + 1) + 16;
  return svg("svg", { width: AXIS.width, height, class: "pipeline-axis", id: "axis" },
    rows,
    svg("text", { x: 4, y: y + 13, "font-size": 12 }, "holds and bakes"), holds,
    svg("text", { x: AXIS.left, y: scale, "font-size": 12 }, utc(pipeline.axis.from)),
    svg("text", { x: AXIS.width - 200, y: scale, "font-size": 12 }, utc(pipeline.axis.to)));
}
