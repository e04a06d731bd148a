// One rollout's page, live: where it stands, the controls, the graph, the weight and health
// timeline with every check's numbers, the operator's actions and the event history. Each
// snapshot the server sends redraws the data; the controls and what was typed stay.
import { follow, get, post } from "./api.js";
import { timeline } from "./chart.js";
import { age, clock, el, pill, replace, setBanner, since, summaryList, utc, weightBar } from "./dom.js";
import { Graph, STATUSES } from "./graph.js";

// The controls, in the order an operator reaches for them; `applies` says when the CLI's
// rules accept each (the others are still offered, and refused with the CLI's message).
const CONTROLS = [
  { action: "pause", label: "Pause", applies: (run) => !run.hold },
  { action: "resume", label: "Resume", applies: (run) => run.hold?.kind === "pause" },
  { action: "approve", label: "Approve", applies: (run) => run.hold?.kind === "approval" },
  { action: "reject", label: "Reject", danger: true, applies: (run) => run.hold?.kind === "approval" },
  { action: "promote", label: "Promote step", applies: (run) => run.hold?.kind !== "approval" },
  { action: "promote-full", label: "Promote fully", applies: (run) => run.hold?.kind !== "approval" },
  { action: "abort", label: "Abort", danger: true, applies: () => true },
];

export function showRun(view, arn, identity) {
  let run = null;
  let graph = null;
  let graphAsked = false;
  const parts = {
    header: el("header", { className: "run-header" }),
    banner: el("p", { className: "problem", id: "problem", hidden: true }),
    summary: el("section", { className: "summary" }),
    controls: controlsSection(arn, identity),
    functions: el("section", { className: "functions", hidden: true }),
    graph: el("div", { className: "graph-scroll" }, el("p", { className: "empty" }, "Reading the definition…")),
    timeline: el("div", { className: "timeline-chart" }),
    checks: el("div", { className: "checks" }),
    actions: el("div", { className: "actions" }),
    events: el("div", { className: "events" }),
    io: el("div", { className: "io" }),
  };
  replace(
    view,
    el("p", { className: "crumbs" }, el("a", { href: "#/" }, "← Rollouts")),
    parts.header,
    parts.banner,
    parts.summary,
    parts.controls.node,
    parts.functions,
    el("section", { className: "workflow" }, el("h2", {}, "Workflow"),
      el("div", { className: "graph-box" }, parts.graph, graphLegend())),
    el("section", { className: "health" }, el("h2", {}, "Weight and health"), parts.timeline, parts.checks),
    el("section", { className: "operator" }, el("h2", {}, "Operator actions"), parts.actions),
    el("section", { className: "history" }, el("h2", {}, "Event history"), parts.events),
    el("section", { className: "io" }, el("h2", {}, "Input and output"), parts.io),
  );

  async function drawGraph() {
    if (graphAsked || !run || !run.graph.drawn) return;
    graphAsked = true;
    try {
      graph = new Graph(await get(`/api/graph?execution=${encodeURIComponent(arn)}`));
      replace(parts.graph, graph.node);
      graph.colour(run.graph.marks, run.graph.taken);
    } catch (error) {
      replace(parts.graph, error.message);
    }
  }

  function render(snapshot) {
    setBanner(parts.banner, snapshot.problem);
    if (!snapshot.run) return;
    run = snapshot.run;
    document.title = `${run.title} — rollout console`;
    renderHeader(parts.header, run);
    renderSummary(parts.summary, run);
    parts.controls.update(run);
    renderFunctions(parts.functions, run);
    if (graph) graph.colour(run.graph.marks, run.graph.taken);
    else drawGraph();
    replace(parts.timeline, timeline(run));
    renderChecks(parts.checks, run);
    renderActions(parts.actions, run);
    renderEvents(parts.events, run);
    renderIo(parts.io, run);
  }

  const tick = setInterval(() => {
    if (run) renderClocks(parts.summary, run);
    if (run && run.running) replace(parts.timeline, timeline(run));
  }, 1000);
  const close = follow(`execution=${encodeURIComponent(arn)}`, render, (trouble) => setBanner(parts.banner, trouble));
  return () => {
    clearInterval(tick);
    close();
    parts.controls.close();
  };
}

// -- where it stands ----------------------------------------------------------------------

function renderHeader(node, run) {
  const reason = run.hold ? holdLine(run.hold) : run.reason;
  replace(
    node,
    el("div", {},
      el("h1", {}, run.release ? run.title : `${run.functions[0] || "?"}:${run.alias || "?"}`),
      el("p", { className: "sub" }, "execution ", el("code", {}, run.name),
        run.stateMachine ? ` of ${run.stateMachine}` : "")),
    el("div", { className: "status" }, pill(run.label, run.tone), el("p", { className: `reason ${run.tone}`, id: "reason" }, reason || "")),
  );
}

function holdLine(hold) {
  if (hold.kind === "pause") return `paused by ${hold.by} (resume, promote or abort it)`;
  const left = Math.max((Date.parse(hold.deadline) - Date.now()) / 1000, 0);
  return `awaiting approval before ${hold.before} (approve with: ${hold.approve}; reject with: ${hold.reject}) — ${clock(left)} left, then ${hold.onTimeout}`;
}

function renderSummary(node, run) {
  const steps = run.steps.map((s) => `${s.percentage}%`).concat(["100%"]).join(" → ");
  const pairs = [
    ...(run.release ? [["Release", `${run.functions.length} functions, shifted together`]]
      : [["Function", run.functions[0] || "—"], ["Alias", run.alias || "—"], ["Stable → new version", run.versions || "—"]]),
    ["Strategy", run.strategy ? `${run.strategy}${run.steps.length ? ` (${steps})` : ""}` : "—"],
    ["Step", run.steps.length ? `${run.stepNumber}/${run.stepCount}` : "—"],
    ["Weight", weightBar(run.weight)],
    ["Next", el("span", { className: "next" }, "")],
    ["Health", el("span", { className: `health ${run.healthTone || ""}` }, run.health)],
    ["Started", `${utc(run.startedAt)}`],
    ["Duration", el("span", { className: "duration" }, "")],
    ["Started by", run.startedBy],
    ...run.settings,
  ];
  replace(node, summaryList(pairs));
  renderClocks(node, run);
}

function renderClocks(node, run) {
  const next = node.querySelector(".next");
  const duration = node.querySelector(".duration");
  const now = Date.now();
  if (duration) {
    const end = run.stoppedAt ? Date.parse(run.stoppedAt) : now;
    duration.textContent = clock((end - Date.parse(run.startedAt)) / 1000) + (run.running ? " so far" : "");
  }
  if (!next) return;
  if (!run.running) next.textContent = "—";
  else if (run.hold) next.textContent = holdLine(run.hold);
  else {
    const words = [];
    if (run.nextStepAt) words.push(`next step in ${clock((Date.parse(run.nextStepAt) - now) / 1000)}`);
    if (run.nextCheckAt) words.push(`next check in ${clock((Date.parse(run.nextCheckAt) - now) / 1000)}`);
    next.textContent = words.join(" · ") || (run.currentState ? `in ${run.currentState}` : "—");
  }
}

function renderFunctions(node, run) {
  node.hidden = !run.release;
  if (!run.release) return;
  replace(
    node,
    el("h2", {}, "Functions"),
    el("table", { className: "checks" },
      el("thead", {}, el("tr", {}, ["function:alias", "versions", "weight", "health", "verdict"].map((c) => el("th", {}, c)))),
      el("tbody", {}, run.members.map((m) => el("tr", {},
        el("td", {}, m.name), el("td", {}, m.versions), el("td", {}, m.weight),
        el("td", {}, m.health), el("td", { className: m.tone || "" }, m.verdict))))),
  );
}

// -- the controls -------------------------------------------------------------------------

export function controlsSection(arn, identity) {
  const result = el("p", { className: "control-result", id: "control-result", role: "status" });
  const buttons = CONTROLS.map((control) => {
    const button = el("button", { type: "button", className: control.danger ? "danger" : "", dataset: { action: control.action } }, control.label);
    button.addEventListener("click", () => ask(control));
    return { control, button };
  });
  const ended = el("p", { className: "note", hidden: true }, "This rollout has ended: controls no longer apply.");
  const node = el("section", { className: "controls", id: "controls" },
    el("h2", {}, "Controls"),
    el("div", { className: "buttons" }, buttons.map((b) => b.button)),
    ended,
    result,
    el("p", { className: "note" }, "Sent as ", el("code", {}, identity?.identity || "?"),
      ", exactly as `rollout ACTION EXECUTION --reason …` sends it; the workflow acts at its next check."));
  const dialog = confirmDialog();
  document.body.append(dialog.node);
  let current = null;

  async function ask(control) {
    const reason = await dialog.ask(control, current, identity);
    if (reason === null) return;
    result.className = "control-result";
    replace(result, `Sending ${control.action}…`);
    try {
      const sent = await post("/api/control", { execution: arn, action: control.action, reason });
      result.className = "control-result good";
      replace(result, sent.message);
    } catch (error) {
      result.className = "control-result bad";
      replace(result, error.message);
    }
  }

  return {
    node,
    update(run) {
      current = run;
      ended.hidden = run.running;
      for (const { control, button } of buttons) {
        button.hidden = !run.running;
        button.classList.toggle("applies", run.running && control.applies(run));
      }
    },
    close() {
      dialog.node.remove();
    },
  };
}

function confirmDialog() {
  const title = el("h2", {});
  const what = el("p", {});
  const reason = el("textarea", { name: "reason", rows: 2, required: true, placeholder: "why (recorded with your identity)" });
  const confirm = el("button", { type: "button", className: "danger", value: "confirm", disabled: true }, "Confirm");
  const cancel = el("button", { type: "button", value: "cancel" }, "Cancel");
  const node = el("dialog", { className: "confirm", id: "confirm" }, title, what,
    el("label", {}, "Reason", reason), el("div", { className: "buttons" }, cancel, confirm));
  reason.addEventListener("input", () => (confirm.disabled = !reason.value.trim()));
  let settle = null;
  const done = (value) => {
    node.close();
    if (settle) settle(value);
    settle = null;
  };
  confirm.addEventListener("click", () => done(reason.value.trim()));
  cancel.addEventListener("click", () => done(null));
  node.addEventListener("cancel", () => done(null));
  return {
    node,
    ask(control, run, identity) {
      const target = run ? (run.release || run.pipeline ? run.title : `${run.functions[0]}:${run.alias}`) : "this rollout";
      replace(title, `${control.label}: ${target}?`);
      replace(what, (identity?.controls || {})[control.action] || control.action);
      reason.value = "";
      confirm.disabled = true;
      confirm.className = control.danger ? "danger" : "primary";
      node.showModal();
      reason.focus();
      return new Promise((resolve) => (settle = resolve));
    },
  };
}

// -- the graph's legend, the checks, the actions, the history -----------------------------

function graphLegend() {
  return el("div", { className: "graph-side" },
    el("ul", { className: "legend" }, STATUSES.map(([key, label]) =>
      el("li", {}, el("span", { className: `swatch ${key}` }), label))),
    el("p", { className: "note" }, "Drawn from the definition this execution runs, as the report draws it."));
}

function renderChecks(node, run) {
  if (!run.checks.length) {
    replace(node, el("p", { className: "empty" }, "No health check yet."));
    return;
  }
  const older = run.checkCount - run.checks.length;
  replace(
    node,
    el("table", { className: "checks", id: "checks" },
      el("thead", {}, el("tr", {}, ["at", "traffic", "verdict", "alarms", "new version", "stable version"].map((c) => el("th", {}, c)))),
      el("tbody", {}, run.checks.slice().reverse().map((check) => checkRow(check, run)))),
    older > 0 ? el("p", { className: "note" }, `${older} older checks not shown (rollout report has them all).`) : null,
  );
}

function checkRow(check, run) {
  // the server's words (view/run.py check_verdict): a pass on no evidence is never "healthy"
  const verdict = check.verdict || (check.failed ? "failed" : check.healthy ? "healthy" : "unhealthy");
  const thin = verdict === "no evidence" || verdict === "low traffic";
  const tone = verdict === "healthy" ? "good" : thin ? "idle" : "bad";
  const lines = [...(check.verdicts || []), ...check.reasons, ...check.notes].map((line) => el("div", { className: "note" }, line));
  const signals = check.signals.map(([name, value]) => el("div", { className: "sub" }, `${name}: ${value}`));
  const functions = check.functions.map((f) => el("div", { className: `sub ${f.healthy ? "" : "bad"}` }, `${f.name}: ${f.health}`));
  return el("tr", { className: check.failed ? "failed" : "" },
    el("td", {}, check.at ? since(check.at, run.startedAt) : "—"),
    el("td", {}, check.where || "—"),
    el("td", {}, pill(verdict, tone), lines),
    el("td", {}, check.alarms.map(([name, state]) => `${name}: ${state}`).join(", ") || "—"),
    el("td", {}, check.newVersion || "—", check.logs ? el("div", { className: "sub" }, check.logs) : null, signals, functions),
    el("td", {}, check.stableVersion || "—"),
  );
}

function renderActions(node, run) {
  if (!run.actions.length) {
    replace(node, el("p", { className: "empty" }, "No operator action yet."));
    return;
  }
  replace(node, el("ol", { className: "events", id: "operator-actions" }, run.actions.map((a) =>
    el("li", { className: "operator" },
      el("time", {}, a.appliedAt ? since(a.appliedAt, run.startedAt) : "sent"),
      el("div", { className: "what" }, el("div", { className: "title" }, `${a.action}`),
        el("div", { className: "detail" }, `by ${a.by}${a.state ? ` in ${a.state}` : ""} — ${a.reason} (${a.result})`))))));
}

function renderEvents(node, run) {
  const older = run.eventCount - run.events.length;
  replace(
    node,
    el("ol", { className: "events", id: "events" }, run.events.slice().reverse().map((event) =>
      el("li", { className: `${event.kind}${event.important ? " important" : ""}` },
        el("time", {}, since(event.at, run.startedAt)),
        el("div", { className: "what" },
          el("div", { className: "title" }, event.text),
          event.cause ? el("details", {}, el("summary", {}, "cause"), el("pre", { className: "cause" }, event.cause)) : null)))),
    older > 0 ? el("p", { className: "note" }, `${older} older events not shown (rollout report has them all).`) : null,
  );
}

function renderIo(node, run) {
  replace(
    node,
    run.cause ? el("details", { open: true }, el("summary", {}, `${run.error || "Error"}: cause`), el("pre", { className: "cause", id: "cause" }, run.cause)) : null,
    el("details", {}, el("summary", {}, "input"), el("pre", {}, run.input)),
    run.output ? el("details", {}, el("summary", {}, "output"), el("pre", {}, run.output)) : null,
    el("p", { className: "note" }, `Started ${age(run.startedAt)} ago. For a record to keep: rollout report ${run.name}`),
  );
}
